//! Dates in the ad account's time zone: date ranges, time increments, local-day boundaries.
//!
//! A local date `D` in zone `tz` covers the UTC instants `[start(D), start(D+1))`, where `start(D)` is the
//! first instant whose local date-time is `D 00:00` or later: the instant of local midnight, the earlier one
//! when midnight occurs twice, and the end of the gap when midnight is skipped by a DST jump (so days may last
//! 23, 24 or 25 hours, and a date skipped entirely — Samoa's 2011-12-30 — is empty).

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
};
use chrono_tz::Tz;

use crate::model::MIN_TIMESTAMP_MS;
use crate::text::clip;

/// Longest accepted range, in calendar months.
pub const MAX_RANGE_MONTHS: u32 = 37;

/// Quarter-hours in a UTC day.
pub(crate) const QH_PER_DAY: u32 = 96;
/// Milliseconds in a quarter-hour.
const QH_MS: i64 = 900_000;
/// Quarter-hours from 2000-01-01T00:00Z to 2100-01-01T00:00Z: the span events can fall into.
pub(crate) const QH_SPAN: u32 = 36_525 * QH_PER_DAY;

/// An inclusive range of local dates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DateRange {
    pub start: NaiveDate,
    pub stop: NaiveDate,
}

/// Why `DateStart`/`DateStop` were rejected; `param()` names the request parameter to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{param}: malformed date `{value}` (expected YYYY-MM-DD)")]
    Malformed { param: &'static str, value: String },
    #[error("{param}: DateStart {start} is after DateStop {stop}")]
    StartAfterStop {
        param: &'static str,
        start: NaiveDate,
        stop: NaiveDate,
    },
    #[error("{param}: the range {start} to {stop} is longer than 37 months")]
    TooLong {
        param: &'static str,
        start: NaiveDate,
        stop: NaiveDate,
    },
}

impl RangeError {
    /// `"DateStart"` or `"DateStop"`.
    pub fn param(&self) -> &'static str {
        match self {
            RangeError::Malformed { param, .. }
            | RangeError::StartAfterStop { param, .. }
            | RangeError::TooLong { param, .. } => param,
        }
    }
}

impl DateRange {
    /// A checked range: `start <= stop` and at most 37 calendar months.
    pub fn new(start: NaiveDate, stop: NaiveDate) -> Result<DateRange, RangeError> {
        if start > stop {
            return Err(RangeError::StartAfterStop {
                param: "DateStart",
                start,
                stop,
            });
        }
        if !within_max_span(start, stop) {
            return Err(RangeError::TooLong {
                param: "DateStart",
                start,
                stop,
            });
        }
        Ok(DateRange { start, stop })
    }

    /// The single day `date`.
    pub fn day(date: NaiveDate) -> DateRange {
        DateRange {
            start: date,
            stop: date,
        }
    }

    /// Number of days in the range (0 when `start > stop`).
    pub fn len_days(&self) -> i64 {
        (self.stop - self.start).num_days().max(-1) + 1
    }

    /// The consecutive periods of this range for an increment: `Days(n)` gives n-day periods from `start`
    /// (the last may be shorter; `Days(0)` counts as `Days(1)`), `Monthly` gives calendar months clipped to
    /// the range. Empty when `start > stop`.
    pub fn periods(&self, increment: TimeIncrement) -> Vec<DateRange> {
        let mut out = Vec::new();
        let mut cur = self.start;
        while cur <= self.stop {
            let end = match increment {
                TimeIncrement::AllDays => self.stop,
                TimeIncrement::Days(n) => cur
                    .checked_add_days(Days::new(u64::from(n.max(1)) - 1))
                    .unwrap_or(self.stop),
                TimeIncrement::Monthly => last_day_of_month(cur),
            }
            .min(self.stop);
            out.push(DateRange {
                start: cur,
                stop: end,
            });
            match end.succ_opt() {
                Some(next) => cur = next,
                None => break,
            }
        }
        out
    }
}

fn last_day_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1)
        .and_then(|first| first.checked_add_months(Months::new(1)))
        .and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// Whether `start..=stop` covers at most 37 calendar months, i.e. `stop < start + 37 months`.
pub fn within_max_span(start: NaiveDate, stop: NaiveDate) -> bool {
    start
        .checked_add_months(Months::new(MAX_RANGE_MONTHS))
        .is_none_or(|limit| stop < limit)
}

/// The earliest start whose range up to `stop` is within 37 months.
fn earliest_start(stop: NaiveDate) -> NaiveDate {
    let mut c = stop
        .checked_sub_months(Months::new(MAX_RANGE_MONTHS))
        .and_then(|d| d.succ_opt())
        .unwrap_or(NaiveDate::MIN);
    // `within_max_span` is monotone in `start`; end-of-month clamping can shift the answer by a few days.
    while let Some(p) = c.pred_opt().filter(|p| within_max_span(*p, stop)) {
        c = p;
    }
    while !within_max_span(c, stop) {
        match c.succ_opt() {
            Some(n) => c = n,
            None => break,
        }
    }
    c
}

/// How a range is split into rows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum TimeIncrement {
    /// One row for the whole range (the documented behaviour).
    #[default]
    AllDays,
    /// One row per N days (1..=90).
    Days(u32),
    /// One row per calendar month.
    Monthly,
}

/// A `TimeIncrement` value that is not `all_days`, `monthly` or an integer 1–90.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "TimeIncrement: invalid value `{0}` (expected all_days, monthly or an integer from 1 to 90)"
)]
pub struct IncrementError(pub String);

impl FromStr for TimeIncrement {
    type Err = IncrementError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("all_days") {
            return Ok(TimeIncrement::AllDays);
        }
        if s.eq_ignore_ascii_case("monthly") {
            return Ok(TimeIncrement::Monthly);
        }
        if (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n @ 1..=90) = s.parse::<u32>() {
                return Ok(TimeIncrement::Days(n));
            }
        }
        Err(IncrementError(clip(s).into_owned()))
    }
}

/// Parses a strict `YYYY-MM-DD` date.
pub fn parse_ymd(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

/// The range of a request: `DateStart`/`DateStop` when given (strict `YYYY-MM-DD`), each missing one taken
/// from `default`. Errors name the parameter: malformed date, start after stop, over 37 months.
pub fn parse_date_range(
    start: Option<&str>,
    stop: Option<&str>,
    default: DateRange,
) -> Result<DateRange, RangeError> {
    let parse = |param: &'static str, value: &str| {
        parse_ymd(value).ok_or_else(|| RangeError::Malformed {
            param,
            value: clip(value).into_owned(),
        })
    };
    let s = match start {
        Some(v) => parse("DateStart", v)?,
        None => default.start,
    };
    let e = match stop {
        Some(v) => parse("DateStop", v)?,
        None => default.stop,
    };
    // Blame the parameter the caller gave when only one was given.
    let param = if start.is_none() && stop.is_some() {
        "DateStop"
    } else {
        "DateStart"
    };
    if s > e {
        return Err(RangeError::StartAfterStop {
            param,
            start: s,
            stop: e,
        });
    }
    if !within_max_span(s, e) {
        return Err(RangeError::TooLong {
            param,
            start: s,
            stop: e,
        });
    }
    Ok(DateRange { start: s, stop: e })
}

/// The default range: from the earlier of the campaign's create date and its first event's date to today,
/// all as local dates in `tz`, starting at most 37 months back.
pub fn default_range(
    create_ms: i64,
    first_event_ms: Option<i64>,
    now_ms: i64,
    tz: Tz,
) -> DateRange {
    let today = local_date(now_ms, tz);
    let created = local_date(create_ms, tz);
    let start = first_event_ms.map_or(created, |ms| local_date(ms, tz).min(created));
    let start = start.min(today).max(earliest_start(today));
    DateRange { start, stop: today }
}

/// The local date of an instant (ms since the Unix epoch) in `tz`.
pub fn local_date(ms: i64, tz: Tz) -> NaiveDate {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&tz).date_naive(),
        None if ms < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

/// The first instant (ms since the Unix epoch) of local date `date` in `tz`; see the module docs.
pub fn day_start_ms(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(ms) = earliest_instant(midnight, tz) {
        return ms;
    }
    // Midnight falls in a DST gap: the day starts at the first local time after the gap.
    (1..=48 * 60)
        .filter_map(|minute| midnight.checked_add_signed(chrono::TimeDelta::minutes(minute)))
        .find_map(|local| earliest_instant(local, tz))
        .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
}

fn earliest_instant(local: NaiveDateTime, tz: Tz) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.timestamp_millis()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp_millis().min(b.timestamp_millis())),
        LocalResult::None => None,
    }
}

/// Quarter-hour index (since 2000-01-01T00:00Z) of an instant used as a range boundary, clamped to the span
/// events can occupy. Every boundary of a local day in 2000–2099 falls on a quarter-hour (all zone offsets of
/// that era are multiples of 15 minutes); were one not to, it would be rounded down to the quarter-hour.
pub(crate) fn boundary_qh(ms: i64) -> u32 {
    let qh = (ms - MIN_TIMESTAMP_MS).div_euclid(QH_MS);
    qh.clamp(0, i64::from(QH_SPAN)) as u32
}

/// `[first, end)` quarter-hour indices covering the local dates of `range` in `tz`.
pub(crate) fn range_qh(range: DateRange, tz: Tz) -> (u32, u32) {
    let from = boundary_qh(day_start_ms(range.start, tz));
    let to = match range.stop.succ_opt() {
        Some(next) => boundary_qh(day_start_ms(next, tz)),
        None => QH_SPAN,
    };
    (from, to.max(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_ymd(s).unwrap_or(NaiveDate::MIN)
    }

    fn range(a: &str, b: &str) -> DateRange {
        DateRange {
            start: d(a),
            stop: d(b),
        }
    }

    #[test]
    fn strict_dates() {
        assert_eq!(parse_ymd("2025-07-01"), NaiveDate::from_ymd_opt(2025, 7, 1));
        for bad in [
            "2025-7-01",
            "2025/07/01",
            "2025-02-30",
            "20250701",
            "2025-07-01 ",
            "+025-07-01",
            "",
        ] {
            assert_eq!(parse_ymd(bad), None, "{bad}");
        }
    }

    #[test]
    fn increments_parse() {
        assert_eq!("all_days".parse(), Ok(TimeIncrement::AllDays));
        assert_eq!("monthly".parse(), Ok(TimeIncrement::Monthly));
        assert_eq!("1".parse(), Ok(TimeIncrement::Days(1)));
        assert_eq!("90".parse(), Ok(TimeIncrement::Days(90)));
        for bad in ["0", "91", "-1", "7.0", "", "weekly", "100", "+7"] {
            assert!(bad.parse::<TimeIncrement>().is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_split_and_clip() {
        let r = range("2025-07-01", "2025-07-10");
        let p = r.periods(TimeIncrement::Days(4));
        assert_eq!(
            p,
            vec![
                range("2025-07-01", "2025-07-04"),
                range("2025-07-05", "2025-07-08"),
                range("2025-07-09", "2025-07-10")
            ]
        );
        assert_eq!(r.periods(TimeIncrement::AllDays), vec![r]);
        let m = range("2025-01-15", "2025-03-02").periods(TimeIncrement::Monthly);
        assert_eq!(
            m,
            vec![
                range("2025-01-15", "2025-01-31"),
                range("2025-02-01", "2025-02-28"),
                range("2025-03-01", "2025-03-02")
            ]
        );
        assert!(range("2025-01-02", "2025-01-01")
            .periods(TimeIncrement::AllDays)
            .is_empty());
        assert_eq!(
            range("2025-01-01", "2025-01-03")
                .periods(TimeIncrement::Days(0))
                .len(),
            3
        );
    }

    #[test]
    fn date_range_parameters() {
        let default = range("2025-07-01", "2025-07-29");
        assert_eq!(parse_date_range(None, None, default), Ok(default));
        assert_eq!(
            parse_date_range(Some("2025-07-05"), None, default),
            Ok(range("2025-07-05", "2025-07-29"))
        );
        assert_eq!(
            parse_date_range(None, Some("2025-07-05"), default),
            Ok(range("2025-07-01", "2025-07-05"))
        );
        let e = parse_date_range(Some("2025-7-5"), None, default).unwrap_err();
        assert_eq!(e.param(), "DateStart");
        assert_eq!(
            e.to_string(),
            "DateStart: malformed date `2025-7-5` (expected YYYY-MM-DD)"
        );
        let e = parse_date_range(None, Some("2025-06-01"), default).unwrap_err();
        assert_eq!(e.param(), "DateStop");
        assert_eq!(
            e.to_string(),
            "DateStop: DateStart 2025-07-01 is after DateStop 2025-06-01"
        );
        let ok = parse_date_range(Some("2022-07-01"), Some("2025-07-31"), default);
        assert_eq!(ok, Ok(range("2022-07-01", "2025-07-31")));
        let e = parse_date_range(Some("2022-06-30"), Some("2025-07-31"), default).unwrap_err();
        assert!(matches!(e, RangeError::TooLong { .. }));
        assert_eq!(
            e.to_string(),
            "DateStart: the range 2022-06-30 to 2025-07-31 is longer than 37 months"
        );
    }

    #[test]
    fn default_range_uses_earlier_of_create_and_first_event_and_clamps() {
        let tz: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let ms = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0)
        };
        let now = ms("2025-07-29T12:00:00Z");
        let r = default_range(
            ms("2025-07-03T12:00:00Z"),
            Some(ms("2025-07-01T02:00:00Z")),
            now,
            tz,
        );
        assert_eq!(r, range("2025-06-30", "2025-07-29")); // 02:00Z is the evening before in New York
        let r = default_range(ms("2025-07-03T12:00:00Z"), None, now, tz);
        assert_eq!(r, range("2025-07-03", "2025-07-29"));
        let r = default_range(ms("2015-01-01T12:00:00Z"), None, now, tz);
        assert_eq!(r, range("2022-06-30", "2025-07-29"));
        assert!(within_max_span(r.start, r.stop));
        assert!(!within_max_span(
            r.start.pred_opt().unwrap_or(r.start),
            r.stop
        ));
        // Created "after now" (clock skew): a one-day range.
        let r = default_range(ms("2025-08-03T12:00:00Z"), None, now, tz);
        assert_eq!(r, range("2025-07-29", "2025-07-29"));
    }

    #[test]
    fn earliest_start_is_exact_around_month_ends() {
        let mut stop = d("2024-01-01");
        for _ in 0..800 {
            let s = earliest_start(stop);
            assert!(within_max_span(s, stop));
            assert!(!within_max_span(s.pred_opt().unwrap_or(s), stop), "{stop}");
            stop = stop.succ_opt().unwrap_or(stop);
        }
    }

    #[test]
    fn day_starts_in_dst_zones() {
        let tz = |name: &str| name.parse::<Tz>().unwrap_or(Tz::UTC);
        let ms = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0)
        };
        // New York spring forward 2024-03-10 (02:00 -> 03:00): a 23-hour day.
        let ny = tz("America/New_York");
        assert_eq!(
            day_start_ms(d("2024-03-10"), ny),
            ms("2024-03-10T05:00:00Z")
        );
        assert_eq!(
            day_start_ms(d("2024-03-11"), ny),
            ms("2024-03-11T04:00:00Z")
        );
        // Santiago: clocks jump from 2024-09-08 00:00 to 01:00; the day starts at the jump.
        let scl = tz("America/Santiago");
        assert_eq!(
            day_start_ms(d("2024-09-08"), scl),
            ms("2024-09-08T04:00:00Z")
        );
        // Santiago fall back 2024-04-07 00:00 -> 2024-04-06 23:00: midnight happens once, 25-hour day before.
        assert_eq!(
            day_start_ms(d("2024-04-07"), scl),
            ms("2024-04-07T04:00:00Z")
        );
        assert_eq!(
            day_start_ms(d("2024-04-06"), scl),
            ms("2024-04-06T03:00:00Z")
        );
        // Kathmandu +5:45 and Chatham +13:45 are quarter-hour aligned.
        assert_eq!(
            day_start_ms(d("2024-06-01"), tz("Asia/Kathmandu")),
            ms("2024-05-31T18:15:00Z")
        );
        assert_eq!(
            day_start_ms(d("2024-01-01"), tz("Pacific/Chatham")),
            ms("2023-12-31T10:15:00Z")
        );
        // Samoa skipped 2011-12-30 entirely.
        let apia = tz("Pacific/Apia");
        assert_eq!(
            day_start_ms(d("2011-12-30"), apia),
            day_start_ms(d("2011-12-31"), apia)
        );
    }

    /// Every local-day boundary from 2000 to 2099 of every zone falls on a UTC quarter-hour, which is what
    /// makes quarter-hour aggregates exact. Slow (all zones, every day): run with `--ignored`.
    #[test]
    #[ignore]
    fn all_zone_day_boundaries_are_quarter_hour_aligned() {
        for tz in chrono_tz::TZ_VARIANTS {
            let mut date = d("2000-01-01");
            while date < d("2100-01-02") {
                let ms = day_start_ms(date, tz);
                assert_eq!(ms.rem_euclid(QH_MS), 0, "{tz} {date}");
                date = date.succ_opt().unwrap_or(NaiveDate::MAX);
            }
        }
    }
}
