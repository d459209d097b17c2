//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use insights::{
    Breakdown, CountryCode, Currency, DateRange, Event, EventKind, Query, TimeIncrement,
};

pub fn ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp_millis()
}

pub fn date(s: &str) -> NaiveDate {
    insights::dates::parse_ymd(s).unwrap_or_else(|| panic!("bad date {s}"))
}

pub fn tz(name: &str) -> Tz {
    name.parse().unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn country(code: &str) -> CountryCode {
    code.parse().unwrap_or_else(|e| panic!("{e}"))
}

pub fn currency(code: &str) -> Currency {
    Currency::from_code(code).unwrap_or_else(|| panic!("unknown currency {code}"))
}

pub fn event(campaign: &str, recipient: &str, kind: EventKind, timestamp_ms: i64) -> Event {
    Event {
        campaign_id: campaign.to_string(),
        recipient: recipient.to_string(),
        kind,
        timestamp_ms,
        country: None,
        event_id: None,
        price_micros: None,
    }
}

pub fn query(tz_name: &str, start: &str, stop: &str) -> Query {
    Query {
        tz: tz(tz_name),
        currency: currency("USD"),
        range: DateRange {
            start: date(start),
            stop: date(stop),
        },
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    }
}
