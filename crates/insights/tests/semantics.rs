//! The message-state rules of docs/metrics.md and the crate's decisions, one example each.

mod common;

use common::*;
use insights::{
    reference, Applied, Breakdown, CountryCode, Engine, EngineConfig, Event, EventKind, RateCard,
    Row,
};

const T0: &str = "2025-07-10T12:00:00Z";

fn at(minutes: i64) -> i64 {
    ms(T0) + minutes * 60_000
}

fn run(events: &[Event], directory: &[(String, CountryCode)]) -> (Engine, Row) {
    let mut engine = Engine::new(EngineConfig::default());
    for e in events {
        engine.apply(e);
    }
    for (r, c) in directory {
        engine.set_recipient_country(r, *c);
    }
    let q = query("UTC", "2025-07-01", "2025-07-31");
    let rows = engine.query("c", &q, &RateCard::empty());
    assert_eq!(
        rows,
        reference::evaluate(
            events,
            directory,
            engine.config(),
            "c",
            &q,
            &RateCard::empty()
        )
    );
    assert!(engine.aggregates_consistent());
    let row = rows[0];
    (engine, row)
}

fn ev(recipient: &str, kind: EventKind, minutes: i64) -> Event {
    event("c", recipient, kind, at(minutes))
}

#[test]
fn read_implies_delivered_and_sent() {
    let (_, row) = run(&[ev("psid-1", EventKind::Read, 0)], &[]);
    assert_eq!((row.sent, row.delivered, row.read), (1, 1, 1));
}

#[test]
fn failed_counts_only_without_delivery_and_implies_sent() {
    let (_, row) = run(&[ev("psid-1", EventKind::Failed, 0)], &[]);
    assert_eq!((row.sent, row.failed, row.delivered), (1, 1, 0));
    let (_, row) = run(
        &[
            ev("psid-1", EventKind::Failed, 0),
            ev("psid-1", EventKind::Delivered, 5),
        ],
        &[],
    );
    assert_eq!((row.sent, row.failed, row.delivered), (1, 0, 1));
}

#[test]
fn late_earlier_delivery_moves_the_fact_to_its_day() {
    // Read on July 10 implies delivery July 10; the real delivery, arriving later, was on June 30.
    let mut real = ev("psid-1", EventKind::Delivered, 0);
    real.timestamp_ms = ms("2025-06-30T23:00:00Z");
    let (engine, row) = run(&[ev("psid-1", EventKind::Read, 0), real], &[]);
    assert_eq!((row.delivered, row.read), (0, 1));
    let june = engine.query(
        "c",
        &query("UTC", "2025-06-30", "2025-06-30"),
        &RateCard::empty(),
    );
    assert_eq!((june[0].sent, june[0].delivered), (1, 1));
}

#[test]
fn duplicates_and_superseded_events_change_nothing() {
    let mut engine = Engine::new(EngineConfig::default());
    let read = ev("psid-1", EventKind::Read, 0);
    assert_eq!(engine.apply(&read), Applied::Changed);
    assert_eq!(engine.apply(&read), Applied::Duplicate);
    assert_eq!(
        engine.apply(&ev("psid-1", EventKind::Delivered, 10)),
        Applied::Duplicate
    );
    assert_eq!(
        engine.apply(&ev("psid-1", EventKind::Delivered, -10)),
        Applied::Changed
    );
    assert_eq!(engine.event_count(), 2);
    // Invalid events are ignored.
    let mut bad = ev("psid-1", EventKind::Read, 0);
    bad.timestamp_ms = 0;
    assert_eq!(engine.apply(&bad), Applied::Duplicate);
    bad = ev("", EventKind::Read, 0);
    assert_eq!(engine.apply(&bad), Applied::Duplicate);
    assert_eq!(engine.message_count(), 1);
}

#[test]
fn clicks_are_distinct_events() {
    let click = |id: Option<&str>, minutes: i64| {
        let mut e = ev("psid-1", EventKind::Click, minutes);
        e.event_id = id.map(str::to_string);
        e
    };
    let (_, row) = run(
        &[
            click(Some("a"), 5),
            click(Some("a"), 3), // same click seen again, earlier: counts once
            click(Some("b"), 5),
            click(None, 5), // no id: identity is the timestamp, distinct from the id'd ones
            click(None, 5),
            click(None, 6),
        ],
        &[],
    );
    assert_eq!((row.link_clicks, row.delivered), (4, 1));
    let f = row.format(&currency("USD"));
    assert_eq!(f.link_btn_click_rate, "400", "click rate is not capped");
}

#[test]
fn country_rules() {
    let with_country = |recipient: &str, kind, minutes, code: &str| {
        let mut e = ev(recipient, kind, minutes);
        e.country = Some(country(code));
        e
    };
    // Earliest event with a country wins; ties go to the smaller code.
    let events = [
        with_country("psid-1", EventKind::Delivered, 10, "FR"),
        with_country("psid-1", EventKind::Sent, 0, "US"),
        with_country("psid-2", EventKind::Delivered, 0, "US"),
        with_country("psid-2", EventKind::Delivered, 0, "JP"),
    ];
    let (engine, _) = run(&events, &[]);
    let mut q = query("UTC", "2025-07-01", "2025-07-31");
    q.breakdown = Breakdown::Country;
    let rows = engine.query("c", &q, &RateCard::empty());
    let codes: Vec<Option<Option<CountryCode>>> = rows.iter().map(|r| r.country).collect();
    assert_eq!(
        codes,
        [Some(Some(country("JP"))), Some(Some(country("US")))]
    );

    // Directory beats the phone number; an event's own country beats the directory.
    let events = [
        ev("+33612345678", EventKind::Delivered, 0), // FR by phone (excluded) ...
        ev("+14155550100", EventKind::Delivered, 0), // US by phone
        with_country("+14155550101", EventKind::Delivered, 0, "BR"),
        ev("psid-7", EventKind::Delivered, 0), // unknown: never excluded
    ];
    let (_, row) = run(&events, &[]);
    assert_eq!(row.delivered, 3);
    let directory = [
        ("+33612345678".to_string(), country("BR")), // ... until the directory says BR
        ("+14155550101".to_string(), country("FR")), // own country wins: stays BR
        ("+14155550100".to_string(), country("JP")), // moves to JP: excluded
    ];
    let (engine, row) = run(&events, &directory);
    assert_eq!(row.delivered, 3);
    assert_eq!(
        engine.recipient_country("+14155550100"),
        Some(country("JP"))
    );
}

#[test]
fn price_rules() {
    let priced = |recipient: &str, kind, minutes, price| {
        let mut e = ev(recipient, kind, minutes);
        e.price_micros = Some(price);
        e
    };
    let (_, row) = run(
        &[
            priced("psid-1", EventKind::Delivered, 10, 30_000),
            priced("psid-1", EventKind::Sent, 0, 20_000), // earliest priced event wins
            priced("psid-2", EventKind::Delivered, 0, 50_000),
            priced("psid-2", EventKind::Read, 0, 40_000), // tie: smaller price
            priced("psid-3", EventKind::Sent, 0, 90_000), // never delivered: no spend
        ],
        &[],
    );
    assert_eq!(row.spend_micros, 60_000);
    // Spend counts excluded countries too.
    let mut fr = priced("+33612345678", EventKind::Delivered, 0, 10_000);
    fr.country = Some(country("FR"));
    let (_, row) = run(&[fr], &[]);
    assert_eq!((row.delivered, row.spend_micros), (0, 10_000));
    assert_eq!(row.format(&currency("USD")).cost_per_delivered, "0");
}

#[test]
fn campaign_bookkeeping() {
    let mut engine = Engine::new(EngineConfig::default());
    assert_eq!(engine.first_event_ms("c"), None);
    engine.apply(&ev("psid-1", EventKind::Read, 10));
    engine.apply(&event("b", "psid-1", EventKind::Sent, at(0)));
    engine.apply(&ev("psid-2", EventKind::Sent, -5));
    assert_eq!(engine.first_event_ms("c"), Some(at(-5)));
    assert_eq!(engine.campaign_ids(), ["b", "c"]);
    assert_eq!(engine.message_count(), 3);
    assert!(engine.heap_bytes_estimate() > 0);
}
