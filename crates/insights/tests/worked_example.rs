//! Meta's worked example (docs/metrics.md): delivered 2755, read rate 79.419238, 268 clicks, spend 38.87.

mod common;

use common::*;
use insights::{
    reference, Applied, Breakdown, Engine, EngineConfig, Event, EventKind, ExtraFields, RateCard,
    TimeIncrement,
};

/// Events for the example plus noise that must not change it.
fn example_events() -> Vec<Event> {
    let mut events = Vec::new();
    let campaign = "2390001";
    let day = |d: u32, h: u32| ms(&format!("2025-07-{d:02}T{h:02}:15:00Z"));
    for i in 0..2755u32 {
        let r = format!("psid-{i}");
        let d = 1 + i % 28;
        let mut sent = event(campaign, &r, EventKind::Sent, day(d, 9));
        sent.country = Some(country("BR"));
        events.push(sent);
        let mut delivered = event(campaign, &r, EventKind::Delivered, day(d, 10));
        // 2754 × 0.0141 + 0.0386 = 38.87 exactly.
        delivered.price_micros = Some(if i == 0 { 38_600 } else { 14_100 });
        events.push(delivered);
        if i < 2188 {
            events.push(event(campaign, &r, EventKind::Read, day(d, 11)));
        }
    }
    // 268 distinct clicks: 200 messages with one click, 34 with two.
    for i in 0..234u32 {
        let r = format!("psid-{i}");
        let d = 1 + i % 28;
        let mut click = event(campaign, &r, EventKind::Click, day(d, 12));
        click.event_id = Some(format!("click-{i}-a"));
        events.push(click);
        if i < 34 {
            let mut second = event(campaign, &r, EventKind::Click, day(d, 13));
            second.event_id = Some(format!("click-{i}-b"));
            events.push(second);
        }
    }
    // 245 failed messages: sent 3000 in all.
    for i in 0..245u32 {
        let mut failed = event(
            campaign,
            &format!("failed-{i}"),
            EventKind::Failed,
            day(2 + i % 20, 9),
        );
        failed.country = Some(country("BR"));
        events.push(failed);
    }
    // Excluded traffic: French messages (E2) with clicks and no price, Japanese ones likewise.
    for (code, n) in [("FR", 40u32), ("JP", 15)] {
        for i in 0..n {
            let r = format!("{code}-{i}");
            let mut delivered = event(campaign, &r, EventKind::Delivered, day(3, 10));
            delivered.country = Some(country(code));
            delivered.price_micros = Some(0);
            events.push(delivered);
            events.push(event(campaign, &r, EventKind::Click, day(3, 12)));
        }
    }
    // Outside the range (July 30) and another campaign: ignored.
    events.push(event(campaign, "late", EventKind::Read, day(30, 12)));
    events.push(event("999", "psid-1", EventKind::Click, day(5, 12)));
    events
}

#[test]
fn meta_worked_example_is_reproduced_exactly() {
    let events = example_events();
    let mut engine = Engine::new(EngineConfig::default());
    for e in &events {
        engine.apply(e);
    }
    // Duplicates change nothing.
    for e in events.iter().take(500) {
        assert_eq!(engine.apply(e), Applied::Duplicate);
    }
    let q = query("UTC", "2025-07-01", "2025-07-29");
    let rates = RateCard::empty();
    let rows = engine.query("2390001", &q, &rates);
    assert_eq!(rows.len(), 1);
    let row = rows[0];
    assert_eq!(
        (
            row.sent,
            row.delivered,
            row.read,
            row.link_clicks,
            row.failed
        ),
        (3000, 2755, 2188, 268, 245)
    );
    assert_eq!(row.spend_micros, 38_870_000);

    let f = row.format(&q.currency);
    assert_eq!(f.delivered, "2755");
    assert_eq!(f.read_rate, "79.419238");
    assert_eq!(f.link_btn_click, "268");
    assert_eq!(f.spend, "38.87");
    assert_eq!(f.cost_per_delivered, "0.014109");
    assert_eq!(f.link_btn_click_rate, "9.727768");
    assert_eq!(f.cost_per_link_btn_click, "0.145037");
    assert_eq!(f.delivery_rate, "91.833333");
    assert_eq!(f.date_start, "2025-07-01");
    assert_eq!(f.date_stop, "2025-07-29");

    let wire = f.wire_fields();
    let names: Vec<&str> = wire.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, insights::ALWAYS_FIELDS.to_vec());
    let extra = f.wire_fields_with(&ExtraFields::all());
    let get = |name: &str| {
        extra
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("MarketingMessagesSent"), Some("3000"));
    assert_eq!(get("MarketingMessagesRead"), Some("2188"));
    assert_eq!(get("MarketingMessagesFailed"), Some("245"));
    assert_eq!(get("MarketingMessagesSpendCurrency"), Some("USD"));
    assert_eq!(get("Country"), None);

    // The reference evaluator agrees.
    let expected = reference::evaluate(&events, &[], engine.config(), "2390001", &q, &rates);
    assert_eq!(rows, expected);
}

#[test]
fn breakdown_and_increments_of_the_example_add_up() {
    let events = example_events();
    let mut engine = Engine::new(EngineConfig::default());
    for e in &events {
        engine.apply(e);
    }
    let rates = RateCard::empty();
    let mut q = query("UTC", "2025-07-01", "2025-07-29");
    q.breakdown = Breakdown::Country;
    let rows = engine.query("2390001", &q, &rates);
    let countries: Vec<String> = rows
        .iter()
        .map(|r| r.format(&q.currency).country.unwrap_or_default())
        .collect();
    assert_eq!(countries, ["BR", "FR", "JP"]);
    assert_eq!(rows[1].delivered, 0, "FR is excluded from counts");
    assert_eq!(rows[1].link_clicks, 0, "FR is excluded from clicks");
    assert_eq!(rows[0].spend_micros, 38_870_000);

    q.breakdown = Breakdown::None;
    q.increment = TimeIncrement::Days(7);
    let weekly = engine.query("2390001", &q, &rates);
    assert_eq!(weekly.len(), 5);
    assert_eq!(weekly[4].date_start, date("2025-07-29"));
    assert_eq!(weekly.iter().map(|r| r.delivered).sum::<u64>(), 2755);
    assert_eq!(
        weekly.iter().map(|r| r.spend_micros).sum::<i64>(),
        38_870_000
    );
    assert_eq!(
        weekly,
        reference::evaluate(&events, &[], engine.config(), "2390001", &q, &rates)
    );
}

#[test]
fn unpriced_messages_use_the_rate_card_of_their_delivery_date() {
    let mut engine = Engine::new(EngineConfig::default());
    let mut rates = RateCard::empty();
    rates
        .add_csv(
            "Market,Currency,Marketing\nBR,USD,0.0625\nDefault,USD,0.05\n",
            date("2025-07-01"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    rates
        .add_csv(
            "Market,Currency,Marketing\nBR,USD,0.07\n",
            date("2025-07-10"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut a = event(
        "1",
        "+5511987654321",
        EventKind::Delivered,
        ms("2025-07-05T12:00:00Z"),
    ); // BR by phone
    let b = event(
        "1",
        "+14155550100",
        EventKind::Delivered,
        ms("2025-07-05T12:00:00Z"),
    ); // US: default row
    let c = event(
        "1",
        "+5511987654322",
        EventKind::Delivered,
        ms("2025-07-12T12:00:00Z"),
    ); // BR, later file
    let mut d = event(
        "1",
        "psid-9",
        EventKind::Delivered,
        ms("2025-07-12T12:00:00Z"),
    ); // unknown: default
    d.price_micros = None;
    a.price_micros = None;
    for e in [&a, &b, &c, &d] {
        engine.apply(e);
    }
    let q = query("UTC", "2025-07-01", "2025-07-31");
    let rows = engine.query("1", &q, &rates);
    assert_eq!(rows[0].spend_micros, 62_500 + 50_000 + 70_000 + 50_000);
    assert_eq!(
        rows,
        reference::evaluate(&[a, b, c, d], &[], engine.config(), "1", &q, &rates)
    );
    // In JPY there is no row at all: spend 0.
    let mut q_jpy = q;
    q_jpy.currency = currency("JPY");
    assert_eq!(engine.query("1", &q_jpy, &rates)[0].spend_micros, 0);
}

#[test]
fn unknown_campaign_gives_zero_rows() {
    let engine = Engine::new(EngineConfig::default());
    let mut q = query("UTC", "2025-07-01", "2025-07-03");
    q.increment = TimeIncrement::Days(1);
    let rows = engine.query("nope", &q, &RateCard::empty());
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r.delivered == 0 && r.spend_micros == 0 && r.country.is_none()));
    let f = rows[0].format(&q.currency);
    assert_eq!(
        (
            f.delivery_rate.as_str(),
            f.cost_per_delivered.as_str(),
            f.spend.as_str()
        ),
        ("0", "0", "0")
    );
    q.breakdown = Breakdown::Country;
    assert!(engine.query("nope", &q, &RateCard::empty()).is_empty());
}
