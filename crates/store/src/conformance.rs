//! One test suite for every backend.
//!
//! A backend's test file calls [`store_conformance_tests!`] with a function that opens its store in
//! a directory; every test below then runs against it, unchanged. The expectations for metrics come
//! from [`insights::reference::evaluate`], never from the backend itself.

use std::path::Path;

use chrono::NaiveDate;
use insights::{
    Breakdown, CountryCode, Currency, DateRange, EngineConfig, Event, EventKind, Query, RateCard,
    TimeIncrement,
};

use crate::*;

/// Opens a store in a directory (the same directory again reopens it).
pub type Opener<'a> = &'a dyn Fn(&Path) -> Store;

/// Generates one `#[test]` per conformance test for a backend.
#[macro_export]
macro_rules! store_conformance_tests {
    ($open:expr) => {
        $crate::store_conformance_tests!(@tests $open;
            campaigns_create_get_delete,
            campaigns_list_filters_and_pages,
            events_match_the_reference,
            duplicates_and_reappends_change_nothing,
            writes_survive_reopen,
            writes_survive_reopen_after_checkpoint,
            accounts_are_isolated,
            recipient_directory_sets_countries,
            rate_cards_price_unpriced_messages,
            sync_registers_campaigns_from_events,
            concurrent_appends_all_land,
            concurrent_deletes_succeed_once,
            restore_and_reset_replace_the_whole_state,
        );
    };
    (@tests $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let dir = tempfile::tempdir().unwrap();
                $crate::conformance::$name(&$open, dir.path());
            }
        )*
    };
}

/// A conformance test: a name and the function that runs it with an opener and a fresh directory.
pub type Test = (&'static str, fn(Opener, &Path));

/// Every conformance test, for backends whose tests share one expensive fixture (a NATS cluster) and so
/// run them in sequence inside one test.
pub const ALL: &[Test] = &[
    ("campaigns_create_get_delete", campaigns_create_get_delete),
    (
        "campaigns_list_filters_and_pages",
        campaigns_list_filters_and_pages,
    ),
    ("events_match_the_reference", events_match_the_reference),
    (
        "duplicates_and_reappends_change_nothing",
        duplicates_and_reappends_change_nothing,
    ),
    ("writes_survive_reopen", writes_survive_reopen),
    (
        "writes_survive_reopen_after_checkpoint",
        writes_survive_reopen_after_checkpoint,
    ),
    ("accounts_are_isolated", accounts_are_isolated),
    (
        "recipient_directory_sets_countries",
        recipient_directory_sets_countries,
    ),
    (
        "rate_cards_price_unpriced_messages",
        rate_cards_price_unpriced_messages,
    ),
    (
        "sync_registers_campaigns_from_events",
        sync_registers_campaigns_from_events,
    ),
    ("concurrent_appends_all_land", concurrent_appends_all_land),
    (
        "concurrent_deletes_succeed_once",
        concurrent_deletes_succeed_once,
    ),
    (
        "restore_and_reset_replace_the_whole_state",
        restore_and_reset_replace_the_whole_state,
    ),
];

const ACCOUNT: &str = "1000000000000001";
const OTHER: &str = "1000000000000002";

fn placement(account: &str, page: &str) -> Placement {
    Placement {
        account_uid: account.into(),
        cust_space_id: format!("cams-{account}"),
        page_id: page.into(),
        ad_account_id: format!("ad-{page}"),
    }
}

fn new_campaign(account: &str, page: &str, name: &str, t: i64) -> NewCampaign {
    NewCampaign {
        placement: placement(account, page),
        name: name.into(),
        budget_type: BudgetType::Lifetime,
        budget: 30_000,
        create_time_ms: t,
    }
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

fn july_query(breakdown: Breakdown, increment: TimeIncrement) -> Query {
    Query {
        tz: chrono_tz::America::New_York,
        currency: usd(),
        range: DateRange::new(date(2025, 7, 1), date(2025, 7, 31)).unwrap(),
        increment,
        breakdown,
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const JULY_1: i64 = 1_751_328_000_000; // 2025-07-01T00:00:00Z

/// A deterministic, varied stream: several countries (excluded ones too), duplicates, out of order,
/// clicks, failures, prices and unpriced deliveries.
fn events(campaign: &str, n: u32) -> Vec<Event> {
    let countries = ["US", "BR", "DE", "JP", "AR", "IN", "GB", "TR"];
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(n);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let recipient = format!("psid-{i}");
        let t0 = JULY_1 + (next() % (25 * 86_400_000)) as i64;
        let country = if i % 11 == 0 {
            None
        } else {
            Some(countries[(next() % 8) as usize])
        };
        let price = if i % 3 == 0 {
            None
        } else {
            Some(10_000 + (next() % 5_000) as i64)
        };
        let ev = |kind, t: i64, id: Option<String>, price: Option<i64>| Event {
            campaign_id: campaign.into(),
            recipient: recipient.clone(),
            kind,
            timestamp_ms: t,
            country: country.map(|c| c.parse().unwrap()),
            event_id: id,
            price_micros: price,
        };
        out.push(ev(EventKind::Sent, t0, None, None));
        match next() % 10 {
            0 => out.push(ev(EventKind::Failed, t0 + 60_000, None, None)),
            _ => {
                out.push(ev(EventKind::Delivered, t0 + 30_000, None, price));
                if next() % 10 < 7 {
                    out.push(ev(EventKind::Read, t0 + 3_600_000, None, None));
                }
                if next() % 10 == 0 {
                    out.push(ev(
                        EventKind::Click,
                        t0 + 7_200_000,
                        Some(format!("c-{i}-1")),
                        None,
                    ));
                    out.push(ev(
                        EventKind::Click,
                        t0 + 7_300_000,
                        Some(format!("c-{i}-2")),
                        None,
                    ));
                }
            }
        }
    }
    // Duplicates and disorder.
    let dups: Vec<Event> = out.iter().step_by(7).cloned().collect();
    out.extend(dups);
    let len = out.len();
    for i in 0..len / 2 {
        let j = (next() % len as u64) as usize;
        out.swap(i, j);
    }
    out
}

fn reference(
    events: &[Event],
    directory: &[(String, CountryCode)],
    campaign: &str,
    q: &Query,
    rates: &RateCard,
) -> Vec<insights::Row> {
    insights::reference::evaluate(
        events,
        directory,
        &EngineConfig::default(),
        campaign,
        q,
        rates,
    )
}

fn all_queries() -> Vec<Query> {
    vec![
        july_query(Breakdown::None, TimeIncrement::AllDays),
        july_query(Breakdown::None, TimeIncrement::Days(1)),
        july_query(Breakdown::None, TimeIncrement::Days(7)),
        july_query(Breakdown::Country, TimeIncrement::AllDays),
        july_query(Breakdown::None, TimeIncrement::Monthly),
    ]
}

pub fn campaigns_create_get_delete(open: Opener, dir: &Path) {
    let s = open(dir);
    let c = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "Summer", 1000))).unwrap();
    assert!(c.campaign_id.bytes().all(|b| b.is_ascii_digit()) && c.campaign_id.len() >= 10);
    assert_eq!(c.status, CampaignStatus::Available);
    assert_eq!(s.campaign(&c.campaign_id).as_deref(), Some(&c));
    // Another account cannot delete it.
    assert!(!wait(s.delete_campaign(OTHER, &c.campaign_id)).unwrap());
    assert!(wait(s.delete_campaign(ACCOUNT, &c.campaign_id)).unwrap());
    assert_eq!(
        s.campaign(&c.campaign_id).unwrap().status,
        CampaignStatus::Deleted
    );
    // Deleting twice: not found the second time.
    assert!(!wait(s.delete_campaign(ACCOUNT, &c.campaign_id)).unwrap());
    assert!(!wait(s.delete_campaign(ACCOUNT, "999")).unwrap());
}

pub fn campaigns_list_filters_and_pages(open: Opener, dir: &Path) {
    let s = open(dir);
    let mut ids = Vec::new();
    for i in 0..25 {
        let page = if i % 2 == 0 { "p1" } else { "p2" };
        let c = wait(s.create_campaign(new_campaign(
            ACCOUNT,
            page,
            &format!("Campaign {i}"),
            1000 + i,
        )))
        .unwrap();
        ids.push(c.campaign_id);
    }
    wait(s.create_campaign(new_campaign(OTHER, "p1", "Theirs", 5000))).unwrap();
    let filter = CampaignFilter {
        account_uid: ACCOUNT.into(),
        cust_space_id: format!("cams-{ACCOUNT}"),
        ..Default::default()
    };
    let all = s.list_campaigns(&filter, 0, 100);
    assert_eq!(all.total, 25);
    // Newest first.
    assert_eq!(all.campaigns[0].campaign_id, ids[24]);
    let page2 = s.list_campaigns(&filter, 10, 10);
    assert_eq!(page2.total, 25);
    assert_eq!(page2.campaigns.len(), 10);
    assert_eq!(page2.campaigns[0].campaign_id, ids[14]);
    let last = s.list_campaigns(&filter, 20, 10);
    assert_eq!(last.campaigns.len(), 5);
    let beyond = s.list_campaigns(&filter, 100, 10);
    assert!(beyond.campaigns.is_empty());
    assert_eq!(beyond.total, 25);
    let p2 = s.list_campaigns(
        &CampaignFilter {
            page_id: Some("p2".into()),
            ..filter.clone()
        },
        0,
        100,
    );
    assert_eq!(p2.total, 12);
    let named = s.list_campaigns(
        &CampaignFilter {
            name_contains: Some("campaign 1".into()),
            ..filter.clone()
        },
        0,
        100,
    );
    assert_eq!(named.total, 11); // 1, 10..19
    let one = s.list_campaigns(
        &CampaignFilter {
            campaign_id: Some(ids[3].clone()),
            ..filter.clone()
        },
        0,
        100,
    );
    assert_eq!(one.total, 1);
    wait(s.delete_campaign(ACCOUNT, &ids[3])).unwrap();
    assert_eq!(s.list_campaigns(&filter, 0, 100).total, 24);
    let deleted = s.list_campaigns(
        &CampaignFilter {
            status: Some(CampaignStatus::Deleted),
            ..filter
        },
        0,
        100,
    );
    assert_eq!(deleted.total, 1);
}

pub fn events_match_the_reference(open: Opener, dir: &Path) {
    let s = open(dir);
    let evs = events("120200000000000001", 3000);
    for chunk in evs.chunks(500) {
        let r = wait(s.append(ACCOUNT, None, chunk.to_vec())).unwrap();
        assert_eq!(r.accepted, chunk.len() as u64);
    }
    let rates = s.rate_card();
    let headline = s.insights(ACCOUNT, "120200000000000001", &all_queries()[0]);
    assert!(
        headline[0].delivered > 1000 && headline[0].link_clicks > 0 && headline[0].spend_micros > 0,
        "{headline:?}"
    );
    for q in all_queries() {
        assert_eq!(
            s.insights(ACCOUNT, "120200000000000001", &q),
            reference(&evs, &[], "120200000000000001", &q, &rates),
            "{q:?}"
        );
    }
    assert_eq!(
        s.campaign_ids_with_events(ACCOUNT),
        vec!["120200000000000001".to_string()]
    );
    assert!(s.campaign_ids_with_events(OTHER).is_empty());
    assert_eq!(
        s.first_event_ms(ACCOUNT, "120200000000000001"),
        evs.iter().map(|e| e.timestamp_ms).min()
    );
    assert!(s.stats().messages >= 3000);
}

pub fn duplicates_and_reappends_change_nothing(open: Opener, dir: &Path) {
    let s = open(dir);
    let evs = events("120200000000000002", 500);
    wait(s.append(ACCOUNT, None, evs.clone())).unwrap();
    let q = july_query(Breakdown::None, TimeIncrement::AllDays);
    let before = s.insights(ACCOUNT, "120200000000000002", &q);
    let again = wait(s.append(ACCOUNT, None, evs.clone())).unwrap();
    assert_eq!(
        again.changed, 0,
        "re-appending the same events changes nothing"
    );
    assert_eq!(s.insights(ACCOUNT, "120200000000000002", &q), before);
}

pub fn writes_survive_reopen(open: Opener, dir: &Path) {
    let evs = events("120200000000000003", 800);
    let q = july_query(Breakdown::Country, TimeIncrement::Days(3));
    let (before, id) = {
        let s = open(dir);
        for chunk in evs.chunks(100) {
            wait(s.append(ACCOUNT, None, chunk.to_vec())).unwrap();
        }
        let c = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "Kept", 42))).unwrap();
        (s.insights(ACCOUNT, "120200000000000003", &q), c.campaign_id)
    };
    let s = open(dir);
    assert_eq!(s.insights(ACCOUNT, "120200000000000003", &q), before);
    assert_eq!(
        before,
        reference(&evs, &[], "120200000000000003", &q, &RateCard::empty())
    );
    assert_eq!(s.campaign(&id).unwrap().name, "Kept");
}

pub fn writes_survive_reopen_after_checkpoint(open: Opener, dir: &Path) {
    let evs = events("120200000000000004", 600);
    let q = july_query(Breakdown::None, TimeIncrement::Days(1));
    {
        let s = open(dir);
        wait(s.append(ACCOUNT, None, evs[..300].to_vec())).unwrap();
        wait(s.checkpoint()).unwrap();
        wait(s.append(ACCOUNT, None, evs[300..].to_vec())).unwrap();
    }
    let s = open(dir);
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000004", &q),
        reference(&evs, &[], "120200000000000004", &q, &RateCard::empty())
    );
    // And it keeps going after the restart.
    let more = events("120200000000000004", 700);
    wait(s.append(ACCOUNT, None, more.clone())).unwrap();
    let all: Vec<Event> = evs.into_iter().chain(more).collect();
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000004", &q),
        reference(&all, &[], "120200000000000004", &q, &RateCard::empty())
    );
}

pub fn accounts_are_isolated(open: Opener, dir: &Path) {
    let s = open(dir);
    let mine = events("120200000000000005", 300);
    let theirs = events("120200000000000005", 900);
    wait(s.append(ACCOUNT, None, mine.clone())).unwrap();
    wait(s.append(OTHER, None, theirs.clone())).unwrap();
    wait(s.set_recipient_countries(OTHER, vec![("psid-0".into(), "JP".parse().unwrap())])).unwrap();
    let q = july_query(Breakdown::Country, TimeIncrement::AllDays);
    let rates = RateCard::empty();
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000005", &q),
        reference(&mine, &[], "120200000000000005", &q, &rates)
    );
    assert_eq!(
        s.insights(OTHER, "120200000000000005", &q),
        reference(
            &theirs,
            &[("psid-0".into(), "JP".parse().unwrap())],
            "120200000000000005",
            &q,
            &rates
        )
    );
    assert_eq!(
        s.first_event_ms("1000000000000009", "120200000000000005"),
        None
    );
}

pub fn recipient_directory_sets_countries(open: Opener, dir: &Path) {
    let s = open(dir);
    let evs = events("120200000000000006", 400);
    // psid-0, psid-11, ... have no country in their events.
    let directory: Vec<(String, CountryCode)> = (0..400)
        .step_by(11)
        .map(|i| {
            (
                format!("psid-{i}"),
                if i % 2 == 0 { "DE" } else { "MX" }.parse().unwrap(),
            )
        })
        .collect();
    wait(s.append(ACCOUNT, None, evs[..200].to_vec())).unwrap();
    wait(s.set_recipient_countries(ACCOUNT, directory.clone())).unwrap();
    wait(s.append(ACCOUNT, None, evs[200..].to_vec())).unwrap();
    let q = july_query(Breakdown::Country, TimeIncrement::AllDays);
    let expected = reference(
        &evs,
        &directory,
        "120200000000000006",
        &q,
        &RateCard::empty(),
    );
    assert_eq!(s.insights(ACCOUNT, "120200000000000006", &q), expected);
    drop(s);
    let s = open(dir);
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000006", &q),
        expected,
        "after reopen"
    );
}

pub fn rate_cards_price_unpriced_messages(open: Opener, dir: &Path) {
    let s = open(dir);
    let evs = events("120200000000000007", 500);
    wait(s.append(ACCOUNT, None, evs.clone())).unwrap();
    let csv = "country,currency,price\nUS,USD,0.0250\nBR,USD,0.0125\nDefault,USD,0.0400\n";
    wait(s.add_rate_card(csv, date(2025, 7, 10))).unwrap();
    assert!(
        wait(s.add_rate_card("nonsense", date(2025, 7, 1))).is_err(),
        "a bad card is refused"
    );
    let mut rates = RateCard::empty();
    rates.add_csv(csv, date(2025, 7, 10)).unwrap();
    assert_eq!(*s.rate_card(), rates);
    let q = july_query(Breakdown::Country, TimeIncrement::Days(5));
    let expected = reference(&evs, &[], "120200000000000007", &q, &rates);
    assert_eq!(s.insights(ACCOUNT, "120200000000000007", &q), expected);
    drop(s);
    let s = open(dir);
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000007", &q),
        expected,
        "after reopen"
    );
}

pub fn sync_registers_campaigns_from_events(open: Opener, dir: &Path) {
    let s = open(dir);
    wait(s.append(ACCOUNT, Some("p1"), events("120200000000000008", 10))).unwrap();
    wait(s.append(ACCOUNT, Some("p2"), events("120200000000000009", 10))).unwrap();
    wait(s.append(ACCOUNT, None, events("120200000000000010", 10))).unwrap();
    wait(s.append(ACCOUNT, None, events("not-a-number", 10))).unwrap();
    wait(s.append(OTHER, Some("p1"), events("120200000000000011", 10))).unwrap();
    let registered = wait(s.sync_campaigns(placement(ACCOUNT, "p1"), 7)).unwrap();
    let mut ids: Vec<String> = registered.iter().map(|c| c.campaign_id.clone()).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            "120200000000000008".to_string(),
            "120200000000000010".to_string()
        ]
    );
    assert_eq!(
        s.campaign("120200000000000008").unwrap().placement,
        placement(ACCOUNT, "p1")
    );
    // Nothing new the second time.
    assert!(wait(s.sync_campaigns(placement(ACCOUNT, "p1"), 8))
        .unwrap()
        .is_empty());
    assert!(s.campaign("120200000000000011").is_none());
}

pub fn concurrent_appends_all_land(open: Opener, dir: &Path) {
    let s = std::sync::Arc::new(open(dir));
    let evs = events("120200000000000012", 2000);
    let chunks: Vec<Vec<Event>> = evs.chunks(50).map(|c| c.to_vec()).collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let s = s.clone();
            std::thread::spawn(move || wait(s.append(ACCOUNT, None, chunk)).unwrap())
        })
        .collect();
    let mut seqs: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap().seq).collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(
        seqs.len(),
        evs.len().div_ceil(50),
        "every batch got its own log entry"
    );
    let q = july_query(Breakdown::None, TimeIncrement::AllDays);
    assert_eq!(
        s.insights(ACCOUNT, "120200000000000012", &q),
        reference(&evs, &[], "120200000000000012", &q, &RateCard::empty())
    );
}

pub fn concurrent_deletes_succeed_once(open: Opener, dir: &Path) {
    let s = std::sync::Arc::new(open(dir));
    let c = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "Once", 1))).unwrap();
    // Submitted together, so a group-committing backend sees them in one transaction.
    let pending: Vec<_> = (0..16)
        .map(|_| s.delete_campaign(ACCOUNT, &c.campaign_id))
        .collect();
    let wins = pending
        .into_iter()
        .map(|p| wait(p).unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1, "exactly one delete wins");
}

/// A saved state restored later gives exactly the answers it had, through the log (so after a reopen
/// too); a reset empties everything; bytes that are not a state are refused and change nothing.
pub fn restore_and_reset_replace_the_whole_state(open: Opener, dir: &Path) {
    let q = july_query(Breakdown::Country, TimeIncrement::Days(1));
    let answers = |s: &Store, ids: &[&str]| -> Vec<Vec<insights::Row>> {
        ids.iter().map(|id| s.insights(ACCOUNT, id, &q)).collect()
    };
    let filter = CampaignFilter {
        account_uid: ACCOUNT.into(),
        cust_space_id: format!("cams-{ACCOUNT}"),
        ..CampaignFilter::default()
    };
    let s = open(dir);
    let c = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "Saved", 1))).unwrap();
    wait(s.append(ACCOUNT, Some("p1"), events(&c.campaign_id, 300))).unwrap();
    wait(s.add_rate_card(
        "country,currency,price\nDefault,USD,0.0100\n",
        date(2025, 1, 1),
    ))
    .unwrap();
    let saved = wait(s.saved_state()).unwrap();
    let before = answers(&s, &[&c.campaign_id]);
    let listed_before = s.list_campaigns(&filter, 0, 100);

    // Change everything: a new campaign, more events, another account.
    let d = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "Later", 2))).unwrap();
    wait(s.append(ACCOUNT, None, events(&c.campaign_id, 500))).unwrap();
    wait(s.append(OTHER, None, events("120200000000000077", 50))).unwrap();
    assert_ne!(answers(&s, &[&c.campaign_id]), before);

    // Bytes that are not a state: refused, nothing changes.
    let after_change = answers(&s, &[&c.campaign_id, &d.campaign_id]);
    assert!(s.restore(b"CAMSCKP2 but not really".to_vec()).is_err());
    assert!(s.restore(saved[..saved.len() / 2].to_vec()).is_err());
    assert_eq!(answers(&s, &[&c.campaign_id, &d.campaign_id]), after_change);

    assert!(wait(s.restore(saved.clone()).unwrap()).unwrap());
    assert_eq!(answers(&s, &[&c.campaign_id]), before);
    assert!(
        s.campaign(&d.campaign_id).is_none(),
        "the later campaign is gone"
    );
    assert_eq!(s.list_campaigns(&filter, 0, 100), listed_before);
    assert!(s.campaign_ids_with_events(OTHER).is_empty());
    // Writes after a restore apply to the restored state, and new ids stay fresh.
    let e = wait(s.create_campaign(new_campaign(ACCOUNT, "p1", "After", 3))).unwrap();
    assert_ne!(e.campaign_id, c.campaign_id);
    drop(s);

    // Through a reopen: the same.
    let s = open(dir);
    assert_eq!(answers(&s, &[&c.campaign_id]), before);
    assert!(s.campaign(&e.campaign_id).is_some());

    assert!(wait(s.reset()).unwrap());
    assert!(s.campaign(&c.campaign_id).is_none());
    assert!(s.campaign_ids_with_events(ACCOUNT).is_empty());
    drop(s);
    let s = open(dir);
    assert!(
        s.campaign(&c.campaign_id).is_none(),
        "the reset survives a reopen"
    );
    assert!(s.campaign_ids_with_events(ACCOUNT).is_empty());
}
