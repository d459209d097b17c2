//! Queries: what is asked (range, increment, breakdown, zone, currency) and the rows answered, computed
//! from the aggregates.

use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::aggregates::{
    CampaignSeries, Counters, CLICKS, DELIVERED, FAILED, READ, SENT, SPEND, UNPRICED,
};
use crate::country::CountryCode;
use crate::currency::Currency;
use crate::dates::{boundary_qh, day_start_ms, range_qh, DateRange, TimeIncrement, QH_SPAN};
use crate::exclusions::Exclusions;
use crate::rates::RateCard;

/// Whether rows are split by country.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Breakdown {
    #[default]
    None,
    Country,
}

/// A `Breakdowns` value other than `country` (or empty / `none`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Breakdowns: unsupported value `{0}` (expected country)")]
pub struct BreakdownError(pub String);

impl FromStr for Breakdown {
    type Err = BreakdownError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            Ok(Breakdown::None)
        } else if s.eq_ignore_ascii_case("country") {
            Ok(Breakdown::Country)
        } else {
            Err(BreakdownError(crate::text::clip(s).into_owned()))
        }
    }
}

/// An insights query for one campaign.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Query {
    /// The ad account's time zone: dates are local dates there.
    pub tz: Tz,
    /// The ad account's currency: rate card prices are looked up in it, spend is formatted in it.
    pub currency: Currency,
    pub range: DateRange,
    pub increment: TimeIncrement,
    pub breakdown: Breakdown,
}

/// One answer row, unformatted. Counts exclude E2 (clicks E5) countries; spend excludes nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Row {
    pub date_start: NaiveDate,
    pub date_stop: NaiveDate,
    /// `None` without breakdown; `Some(None)` is the "unknown" country row.
    pub country: Option<Option<CountryCode>>,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub failed: u64,
    pub link_clicks: u64,
    pub spend_micros: i64,
}

impl Row {
    /// A row of zeros.
    pub fn zero(period: DateRange, country: Option<Option<CountryCode>>) -> Row {
        Row {
            date_start: period.start,
            date_stop: period.stop,
            country,
            sent: 0,
            delivered: 0,
            read: 0,
            failed: 0,
            link_clicks: 0,
            spend_micros: 0,
        }
    }

    /// Adds one country's contribution, applying the exclusions.
    pub(crate) fn add_country(
        &mut self,
        country: Option<CountryCode>,
        counts: &CountryTotals,
        exclusions: &Exclusions,
    ) {
        if !exclusions.excludes_counts(country) {
            self.sent = self.sent.wrapping_add(counts.sent);
            self.delivered = self.delivered.wrapping_add(counts.delivered);
            self.read = self.read.wrapping_add(counts.read);
            self.failed = self.failed.wrapping_add(counts.failed);
        }
        if !exclusions.excludes_clicks(country) {
            self.link_clicks = self.link_clicks.wrapping_add(counts.clicks);
        }
        self.spend_micros = saturate(i128::from(self.spend_micros) + counts.spend_micros);
    }
}

/// One country's raw totals over a period (no exclusions), with spend already priced.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct CountryTotals {
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub failed: u64,
    pub clicks: u64,
    pub spend_micros: i128,
}

impl CountryTotals {
    pub(crate) fn has_activity(&self) -> bool {
        self.sent != 0
            || self.delivered != 0
            || self.read != 0
            || self.failed != 0
            || self.clicks != 0
    }
}

pub(crate) fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Non-negative count from a counter (never negative in a consistent state).
fn count(c: &Counters, i: usize) -> u64 {
    u64::try_from(c.0[i]).unwrap_or(0)
}

/// The rows of a query from a campaign's aggregates (`None`: the campaign has no data).
pub(crate) fn rows_from_series(
    series: Option<&CampaignSeries>,
    q: &Query,
    rates: &RateCard,
    exclusions: &Exclusions,
) -> Vec<Row> {
    let periods = q.range.periods(q.increment);
    let bounds = period_bounds(&periods, q.tz);
    let n_countries = series.map_or(0, CampaignSeries::len);
    let mut countries: Vec<u16> = Vec::with_capacity(n_countries);
    // totals[country position * periods + period]
    let mut totals: Vec<CountryTotals> = Vec::with_capacity(n_countries * periods.len());
    let card = rates.for_currency(&q.currency);
    if let Some(series) = series {
        for (country_index, s) in series.iter() {
            let country = CountryCode::from_index(country_index);
            // Usually one rate applies to the whole range; only split periods when it changes inside.
            let constant_price = match card {
                Some(card) => card.constant_price(country, q.range.start, q.range.stop),
                None => Some(None),
            };
            countries.push(country_index);
            for (period, &(from, to)) in periods.iter().zip(&bounds) {
                let c = s.range_sum(from, to);
                let mut spend = i128::from(c.0[SPEND]);
                let unpriced = c.0[UNPRICED];
                if unpriced != 0 {
                    match constant_price {
                        Some(price) => {
                            spend += i128::from(unpriced) * i128::from(price.unwrap_or(0))
                        }
                        None => {
                            for seg in
                                rates.segments(country, &q.currency, period.start, period.stop)
                            {
                                let Some(price) = seg.price_micros else {
                                    continue;
                                };
                                let (a, b) = range_qh(
                                    DateRange {
                                        start: seg.start,
                                        stop: seg.stop,
                                    },
                                    q.tz,
                                );
                                spend +=
                                    i128::from(s.range_sum(a, b).0[UNPRICED]) * i128::from(price);
                            }
                        }
                    }
                }
                totals.push(CountryTotals {
                    sent: count(&c, SENT),
                    delivered: count(&c, DELIVERED),
                    read: count(&c, READ),
                    failed: count(&c, FAILED),
                    clicks: count(&c, CLICKS),
                    spend_micros: spend,
                });
            }
        }
    }
    assemble_rows(&periods, &countries, &totals, q.breakdown, exclusions)
}

/// Quarter-hour bounds of consecutive periods; each shared boundary is converted from local time once.
fn period_bounds(periods: &[DateRange], tz: chrono_tz::Tz) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(periods.len());
    let mut prev_end: Option<(NaiveDate, u32)> = None;
    for p in periods {
        let start = match prev_end {
            Some((date, qh)) if date == p.start => qh,
            _ => boundary_qh(day_start_ms(p.start, tz)),
        };
        let end = match p.stop.succ_opt() {
            Some(next) => boundary_qh(day_start_ms(next, tz)),
            None => QH_SPAN,
        }
        .max(start);
        if let Some(next) = p.stop.succ_opt() {
            prev_end = Some((next, end));
        }
        out.push((start, end));
    }
    out
}

/// Builds rows from per-country totals (`totals[c * periods.len() + p]` for `countries[c]`, ascending:
/// alphabetical with unknown last).
fn assemble_rows(
    periods: &[DateRange],
    countries: &[u16],
    totals: &[CountryTotals],
    breakdown: Breakdown,
    exclusions: &Exclusions,
) -> Vec<Row> {
    let n = periods.len();
    let of = |c: usize| &totals[c * n..(c + 1) * n];
    match breakdown {
        Breakdown::None => periods
            .iter()
            .enumerate()
            .map(|(p, period)| {
                let mut row = Row::zero(*period, None);
                for (c, &country_index) in countries.iter().enumerate() {
                    row.add_country(
                        CountryCode::from_index(country_index),
                        &of(c)[p],
                        exclusions,
                    );
                }
                row
            })
            .collect(),
        Breakdown::Country => {
            let active: Vec<usize> = (0..countries.len())
                .filter(|&c| of(c).iter().any(CountryTotals::has_activity))
                .collect();
            let mut rows = Vec::with_capacity(n * active.len());
            for (p, period) in periods.iter().enumerate() {
                for &c in &active {
                    let country = CountryCode::from_index(countries[c]);
                    let mut row = Row::zero(*period, Some(country));
                    row.add_country(country, &of(c)[p], exclusions);
                    rows.push(row);
                }
            }
            rows
        }
    }
}
