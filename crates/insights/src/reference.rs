//! A naive evaluator that recomputes a query from the full event list.
//!
//! Written directly from `docs/metrics.md` and the crate-level decisions, sharing none of the engine's data
//! structures (no interning, no packed selections, no buckets, no aggregates): it groups events by message,
//! takes minima, converts each instant to its local date with chrono, and counts. It is the oracle the
//! engine is tested against (and other crates may use it in their tests). It costs O(events × periods).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::country::CountryCode;
use crate::dates::TimeIncrement;
use crate::engine::EngineConfig;
use crate::model::{Event, EventKind};
use crate::phone;
use crate::query::{Breakdown, Query, Row};
use crate::rates::RateCard;

/// Identity of a click within a message.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum ClickIdentity<'a> {
    EventId(&'a str),
    Timestamp(i64),
}

/// Everything a message contributes, recomputed from its events.
struct MessageFacts {
    country: Option<CountryCode>,
    sent: Option<i64>,
    delivered: Option<i64>,
    read: Option<i64>,
    failed: Option<i64>,
    price: Option<i64>,
    click_times: Vec<i64>,
}

#[derive(Default, Clone, Copy)]
struct Totals {
    sent: u64,
    delivered: u64,
    read: u64,
    failed: u64,
    clicks: u64,
    spend: i128,
}

/// The rows of `q` for `campaign_id` given every event ever received (any order, duplicates allowed) and
/// the directory updates in the order they were made (later entries win).
pub fn evaluate(
    events: &[Event],
    directory: &[(String, CountryCode)],
    config: &EngineConfig,
    campaign_id: &str,
    q: &Query,
    rates: &RateCard,
) -> Vec<Row> {
    let mut dir: HashMap<&str, CountryCode> = HashMap::new();
    for (recipient, country) in directory {
        dir.insert(recipient.as_str(), *country);
    }
    let mut by_recipient: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.campaign_id == campaign_id && e.is_valid())
    {
        by_recipient
            .entry(e.recipient.as_str())
            .or_default()
            .push(e);
    }
    let messages: Vec<MessageFacts> = by_recipient
        .iter()
        .map(|(recipient, evs)| message_facts(recipient, evs, &dir))
        .collect();

    let periods = periods(q.range.start, q.range.stop, q.increment);
    let local = |ms: i64| local_date(ms, q.tz);
    let mut table: Vec<BTreeMap<Option<CountryCode>, Totals>> = Vec::new();
    for &(start, stop) in &periods {
        let inside = |t: Option<i64>| t.is_some_and(|ms| (start..=stop).contains(&local(ms)));
        let mut per_country: BTreeMap<Option<CountryCode>, Totals> = BTreeMap::new();
        for m in &messages {
            let t = per_country.entry(m.country).or_default();
            if inside(m.sent) {
                t.sent += 1;
            }
            if let Some(delivered) = m.delivered.filter(|&d| inside(Some(d))) {
                t.delivered += 1;
                let price = m
                    .price
                    .or_else(|| rates.price(m.country, &q.currency, local(delivered)))
                    .unwrap_or(0);
                t.spend += i128::from(price);
            }
            if inside(m.read) {
                t.read += 1;
            }
            if m.delivered.is_none() && inside(m.failed) {
                t.failed += 1;
            }
            t.clicks += m.click_times.iter().filter(|&&c| inside(Some(c))).count() as u64;
        }
        table.push(per_country);
    }

    let exclusions = &config.exclusions;
    let add = |row: &mut Row, country: Option<CountryCode>, t: &Totals| {
        if !exclusions.excludes_counts(country) {
            row.sent += t.sent;
            row.delivered += t.delivered;
            row.read += t.read;
            row.failed += t.failed;
        }
        if !exclusions.excludes_clicks(country) {
            row.link_clicks += t.clicks;
        }
        let spend = i128::from(row.spend_micros) + t.spend;
        row.spend_micros =
            i64::try_from(spend).unwrap_or(if spend < 0 { i64::MIN } else { i64::MAX });
    };
    let zero_row = |start: NaiveDate, stop: NaiveDate, country| Row {
        date_start: start,
        date_stop: stop,
        country,
        sent: 0,
        delivered: 0,
        read: 0,
        failed: 0,
        link_clicks: 0,
        spend_micros: 0,
    };

    match q.breakdown {
        Breakdown::None => periods
            .iter()
            .zip(&table)
            .map(|(&(start, stop), per_country)| {
                let mut row = zero_row(start, stop, None);
                for (country, t) in per_country {
                    add(&mut row, *country, t);
                }
                row
            })
            .collect(),
        Breakdown::Country => {
            let active: BTreeSet<Option<CountryCode>> = table
                .iter()
                .flat_map(|pc| pc.iter())
                .filter(|(_, t)| t.sent + t.delivered + t.read + t.failed + t.clicks > 0)
                .map(|(c, _)| *c)
                .collect();
            // Known countries alphabetically, then unknown.
            let ordered: Vec<Option<CountryCode>> = active
                .iter()
                .filter(|c| c.is_some())
                .chain(active.iter().filter(|c| c.is_none()))
                .copied()
                .collect();
            let mut rows = Vec::new();
            for (&(start, stop), per_country) in periods.iter().zip(&table) {
                for &country in &ordered {
                    let mut row = zero_row(start, stop, Some(country));
                    if let Some(t) = per_country.get(&country) {
                        add(&mut row, country, t);
                    }
                    rows.push(row);
                }
            }
            rows
        }
    }
}

fn message_facts(
    recipient: &str,
    events: &[&Event],
    dir: &HashMap<&str, CountryCode>,
) -> MessageFacts {
    let earliest = |pred: &dyn Fn(EventKind) -> bool| {
        events
            .iter()
            .filter(|e| pred(e.kind))
            .map(|e| e.timestamp_ms)
            .min()
    };
    let own_country = events
        .iter()
        .filter_map(|e| e.country.map(|c| (e.timestamp_ms, c)))
        .min()
        .map(|(_, c)| c);
    let country = own_country
        .or_else(|| dir.get(recipient).copied())
        .or_else(|| {
            if phone::is_phone_number(recipient) {
                phone::country_of(recipient)
            } else {
                None
            }
        });
    let price = events
        .iter()
        .filter_map(|e| e.price_micros.map(|p| (e.timestamp_ms, p)))
        .min()
        .map(|(_, p)| p);
    let mut clicks: BTreeMap<ClickIdentity<'_>, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Click) {
        let identity = match &e.event_id {
            Some(id) => ClickIdentity::EventId(id),
            None => ClickIdentity::Timestamp(e.timestamp_ms),
        };
        let t = clicks.entry(identity).or_insert(e.timestamp_ms);
        *t = (*t).min(e.timestamp_ms);
    }
    MessageFacts {
        country,
        sent: earliest(&|_| true),
        delivered: earliest(&|k| {
            matches!(k, EventKind::Delivered | EventKind::Read | EventKind::Click)
        }),
        read: earliest(&|k| k == EventKind::Read),
        failed: earliest(&|k| k == EventKind::Failed),
        price,
        click_times: clicks.into_values().collect(),
    }
}

/// The local date of an instant, straight from chrono.
fn local_date(ms: i64, tz: Tz) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .map_or(NaiveDate::MIN, |t| t.with_timezone(&tz).date_naive())
}

/// Periods by walking the days of the range and starting a new period whenever the period key changes.
fn periods(
    start: NaiveDate,
    stop: NaiveDate,
    increment: TimeIncrement,
) -> Vec<(NaiveDate, NaiveDate)> {
    let key = |d: NaiveDate| -> i64 {
        match increment {
            TimeIncrement::AllDays => 0,
            TimeIncrement::Days(n) => (d - start).num_days() / i64::from(n.max(1)),
            TimeIncrement::Monthly => i64::from(d.year()) * 12 + i64::from(d.month()),
        }
    };
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    let mut d = start;
    while d <= stop {
        match out.last_mut() {
            Some(last) if key(last.0) == key(d) => last.1 = d,
            _ => out.push((d, d)),
        }
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    out
}
