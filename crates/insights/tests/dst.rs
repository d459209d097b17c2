//! Local days around DST transitions: events just before and after local midnight land on the right dates,
//! and days last 23, 23.5, 24 or 25 hours as the zone says.

mod common;

use common::*;
use insights::{dates, reference, Engine, EngineConfig, Event, EventKind, RateCard, TimeIncrement};

/// Applies one `sent` event per instant and returns the per-day sent counts over `start..=stop` in `zone`,
/// checking the reference evaluator agrees.
fn daily_sent(zone: &str, instants: &[&str], start: &str, stop: &str) -> Vec<(String, u64)> {
    let events: Vec<Event> = instants
        .iter()
        .enumerate()
        .map(|(i, t)| event("c", &format!("r{i}"), EventKind::Sent, ms(t)))
        .collect();
    let mut engine = Engine::new(EngineConfig::default());
    for e in &events {
        engine.apply(e);
    }
    let mut q = query(zone, start, stop);
    q.increment = TimeIncrement::Days(1);
    let rows = engine.query("c", &q, &RateCard::empty());
    assert_eq!(
        rows,
        reference::evaluate(&events, &[], engine.config(), "c", &q, &RateCard::empty())
    );
    rows.iter()
        .map(|r| (r.date_start.to_string(), r.sent))
        .collect()
}

fn day_hours(zone: &str, day: &str) -> i64 {
    let d = date(day);
    let next = d.succ_opt().unwrap_or(d);
    (dates::day_start_ms(next, tz(zone)) - dates::day_start_ms(d, tz(zone))) / 60_000
}

#[test]
fn new_york_spring_forward_is_a_23_hour_day() {
    assert_eq!(day_hours("America/New_York", "2024-03-10"), 23 * 60);
    let got = daily_sent(
        "America/New_York",
        &[
            "2024-03-10T04:30:00Z", // 03-09 23:30 EST
            "2024-03-10T05:30:00Z", // 03-10 00:30 EST
            "2024-03-11T03:30:00Z", // 03-10 23:30 EDT
            "2024-03-11T04:30:00Z", // 03-11 00:30 EDT
        ],
        "2024-03-09",
        "2024-03-11",
    );
    assert_eq!(
        got,
        [
            ("2024-03-09".into(), 1),
            ("2024-03-10".into(), 2),
            ("2024-03-11".into(), 1)
        ]
    );
}

#[test]
fn new_york_fall_back_is_a_25_hour_day() {
    assert_eq!(day_hours("America/New_York", "2024-11-03"), 25 * 60);
    let got = daily_sent(
        "America/New_York",
        &[
            "2024-11-03T03:30:00Z", // 11-02 23:30 EDT
            "2024-11-03T04:30:00Z", // 11-03 00:30 EDT
            "2024-11-03T05:30:00Z", // 11-03 01:30 EDT (first)
            "2024-11-03T06:30:00Z", // 11-03 01:30 EST (second)
            "2024-11-04T04:30:00Z", // 11-03 23:30 EST
            "2024-11-04T05:30:00Z", // 11-04 00:30 EST
        ],
        "2024-11-02",
        "2024-11-04",
    );
    assert_eq!(
        got,
        [
            ("2024-11-02".into(), 1),
            ("2024-11-03".into(), 4),
            ("2024-11-04".into(), 1)
        ]
    );
}

#[test]
fn london_spring_forward_and_fall_back() {
    assert_eq!(day_hours("Europe/London", "2024-03-31"), 23 * 60);
    assert_eq!(day_hours("Europe/London", "2024-10-27"), 25 * 60);
    let got = daily_sent(
        "Europe/London",
        &[
            "2024-03-30T23:30:00Z", // 03-30 23:30 GMT
            "2024-03-31T00:30:00Z", // 03-31 00:30 GMT
            "2024-03-31T22:30:00Z", // 03-31 23:30 BST
            "2024-03-31T23:30:00Z", // 04-01 00:30 BST
        ],
        "2024-03-30",
        "2024-04-01",
    );
    assert_eq!(
        got,
        [
            ("2024-03-30".into(), 1),
            ("2024-03-31".into(), 2),
            ("2024-04-01".into(), 1)
        ]
    );
}

#[test]
fn santiago_midnight_that_does_not_exist() {
    // 2024-09-08 00:00 is skipped (clocks go to 01:00); the day starts at the jump and has 23 hours.
    assert_eq!(day_hours("America/Santiago", "2024-09-08"), 23 * 60);
    assert_eq!(day_hours("America/Santiago", "2024-04-06"), 25 * 60);
    let got = daily_sent(
        "America/Santiago",
        &[
            "2024-09-08T03:59:59.999Z",
            "2024-09-08T04:00:00Z",
            "2024-09-09T02:59:59.999Z",
            "2024-09-09T03:00:00Z",
        ],
        "2024-09-07",
        "2024-09-09",
    );
    assert_eq!(
        got,
        [
            ("2024-09-07".into(), 1),
            ("2024-09-08".into(), 2),
            ("2024-09-09".into(), 1)
        ]
    );
}

#[test]
fn lord_howe_half_hour_dst() {
    // +10:30 -> +11 on 2024-10-06: a 23.5-hour day.
    assert_eq!(day_hours("Australia/Lord_Howe", "2024-10-06"), 23 * 60 + 30);
    let got = daily_sent(
        "Australia/Lord_Howe",
        &[
            "2024-10-05T13:29:00Z",
            "2024-10-05T13:30:00Z",
            "2024-10-06T12:59:00Z",
            "2024-10-06T13:00:00Z",
        ],
        "2024-10-05",
        "2024-10-07",
    );
    assert_eq!(
        got,
        [
            ("2024-10-05".into(), 1),
            ("2024-10-06".into(), 2),
            ("2024-10-07".into(), 1)
        ]
    );
}

#[test]
fn kathmandu_and_chatham_quarter_hour_offsets() {
    let got = daily_sent(
        "Asia/Kathmandu",
        &["2024-06-01T18:14:59.999Z", "2024-06-01T18:15:00Z"],
        "2024-06-01",
        "2024-06-02",
    );
    assert_eq!(got, [("2024-06-01".into(), 1), ("2024-06-02".into(), 1)]);
    // Chatham ends DST on 2024-04-07 (03:45 +13:45 -> 02:45 +12:45): a 25-hour day.
    assert_eq!(day_hours("Pacific/Chatham", "2024-04-07"), 25 * 60);
    let got = daily_sent(
        "Pacific/Chatham",
        &[
            "2024-04-06T10:14:00Z",
            "2024-04-06T10:15:00Z",
            "2024-04-07T11:14:00Z",
            "2024-04-07T11:15:00Z",
        ],
        "2024-04-06",
        "2024-04-08",
    );
    assert_eq!(
        got,
        [
            ("2024-04-06".into(), 1),
            ("2024-04-07".into(), 2),
            ("2024-04-08".into(), 1)
        ]
    );
}

#[test]
fn changing_the_zone_rebuckets_history() {
    let instants = ["2024-06-01T23:30:00Z"];
    assert_eq!(
        daily_sent("UTC", &instants, "2024-06-01", "2024-06-02"),
        [("2024-06-01".into(), 1), ("2024-06-02".into(), 0)]
    );
    assert_eq!(
        daily_sent("Asia/Tokyo", &instants, "2024-06-01", "2024-06-02"),
        [("2024-06-01".into(), 0), ("2024-06-02".into(), 1)]
    );
}
