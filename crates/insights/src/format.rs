//! Numbers on the wire: exact ratio and money formatting, and the formatted insights row.
//!
//! Everything is integer arithmetic (i128, with a 256-bit fallback for extreme inputs) with explicit
//! round-half-away-from-zero; there is no floating point in this crate.

use std::fmt::Write as _;

use crate::currency::Currency;
use crate::query::Row;

/// `numerator × scale / denominator`, rounded half away from zero to 6 decimals, trailing zeros and a
/// trailing dot removed: `"79.419238"`, `"0.5"`, `"100"`. A zero denominator gives `"0"`. Exact for every
/// input.
pub fn format_ratio(numerator: i128, denominator: i128, scale: i128) -> String {
    if denominator == 0 {
        return "0".to_string();
    }
    let negative = (numerator < 0) ^ (scale < 0) ^ (denominator < 0);
    let (n, s, d) = (
        numerator.unsigned_abs(),
        scale.unsigned_abs(),
        denominator.unsigned_abs(),
    );
    // Fast path: everything fits in 64 bits (counts and rates always do); 128-bit division is much slower.
    let small = u64::try_from(n)
        .ok()
        .zip(u64::try_from(s).ok())
        .zip(u64::try_from(d).ok())
        .and_then(|((n, s), d)| n.checked_mul(s)?.checked_mul(1_000_000).map(|p| (p, d)));
    if let Some((p, d)) = small {
        let mut q = p / d;
        let r = p % d;
        if r >= d - r {
            q += 1;
        }
        let int_part = (q / 1_000_000).to_string();
        let millionths = (q % 1_000_000) as u32;
        return decimal_string(negative && (q != 0), &int_part, millionths, 6);
    }
    let (int_part, millionths) = match n.checked_mul(s).and_then(|p| p.checked_mul(1_000_000)) {
        Some(p) => {
            let mut q = p / d;
            let r = p % d;
            if r >= d - r {
                q += 1;
            }
            (WideInt::Small(q / 1_000_000), (q % 1_000_000) as u32)
        }
        None => wide::ratio_millionths(n, s, d),
    };
    let digits = wide_int_to_string(int_part);
    decimal_string(
        negative && (digits != "0" || millionths != 0),
        &digits,
        millionths,
        6,
    )
}

/// Money in micro-units shown in the currency's major unit, rounded half away from zero to its minor-unit
/// digits and trimmed: 38_870_000 USD -> `"38.87"`, 38_800_000 -> `"38.8"`, 0 -> `"0"`, 1_500_000 JPY -> `"2"`.
pub fn format_money(micros: i64, currency: &Currency) -> String {
    let digits = u32::from(currency.minor_digits().min(6));
    let unit = 10u128.pow(6 - digits);
    let abs = u128::from(micros.unsigned_abs());
    let mut minor = abs / unit;
    let r = abs % unit;
    if r >= unit - r {
        minor += 1;
    }
    let scale = 10u128.pow(digits);
    let int_part = (minor / scale).to_string();
    let frac = (minor % scale) as u32;
    decimal_string(micros < 0 && minor != 0, &int_part, frac, digits)
}

/// `[-]int[.frac]` with `frac` written on `width` digits and trailing zeros (and the dot) trimmed.
fn decimal_string(negative: bool, int_part: &str, frac: u32, width: u32) -> String {
    let mut out = String::with_capacity(int_part.len() + 8);
    if negative {
        out.push('-');
    }
    out.push_str(int_part);
    if frac != 0 {
        let mut f = String::with_capacity(6);
        let _ = write!(f, "{:0width$}", frac, width = width as usize);
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// Integer part of a ratio, which may exceed `u128` in the 256-bit fallback.
enum WideInt {
    Small(u128),
    Big(wide::U256),
}

fn wide_int_to_string(v: WideInt) -> String {
    match v {
        WideInt::Small(v) => v.to_string(),
        WideInt::Big(v) => v.to_decimal(),
    }
}

/// 256-bit fallback for ratios whose intermediate product does not fit in 128 bits.
mod wide {
    use super::WideInt;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) struct U256 {
        hi: u128,
        lo: u128,
    }

    impl U256 {
        fn mul(a: u128, b: u128) -> U256 {
            let mask = u128::from(u64::MAX);
            let (a1, a0) = (a >> 64, a & mask);
            let (b1, b0) = (b >> 64, b & mask);
            let p00 = a0 * b0;
            let p01 = a0 * b1;
            let p10 = a1 * b0;
            let p11 = a1 * b1;
            let mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
            let lo = (p00 & mask) | (mid << 64);
            let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
            U256 { hi, lo }
        }

        fn is_zero(&self) -> bool {
            self.hi == 0 && self.lo == 0
        }

        /// Quotient and remainder by a non-zero `d` (restoring binary long division).
        pub(super) fn divrem(self, d: u128) -> (U256, u128) {
            let mut q = U256 { hi: 0, lo: 0 };
            let mut r: u128 = 0;
            for i in (0..256).rev() {
                let bit = if i >= 128 {
                    (self.hi >> (i - 128)) & 1
                } else {
                    (self.lo >> i) & 1
                };
                // r < d <= 2^127 after each step, so `r << 1 | bit` cannot overflow... unless d > 2^127:
                let carry = r >> 127;
                r = (r << 1) | bit;
                if carry == 1 || r >= d {
                    r = r.wrapping_sub(d);
                    if i >= 128 {
                        q.hi |= 1 << (i - 128);
                    } else {
                        q.lo |= 1 << i;
                    }
                }
            }
            (q, r)
        }

        pub(super) fn to_decimal(self) -> String {
            if self.is_zero() {
                return "0".to_string();
            }
            let mut chunks = Vec::new();
            let mut v = self;
            while !v.is_zero() {
                let (q, r) = v.divrem(1_000_000_000_000_000_000);
                chunks.push(r);
                v = q;
            }
            let mut out = String::new();
            for (i, c) in chunks.iter().rev().enumerate() {
                if i == 0 {
                    out.push_str(&c.to_string());
                } else {
                    out.push_str(&format!("{c:018}"));
                }
            }
            out
        }
    }

    /// `n × s / d` as (integer part, rounded millionths), rounding half away from zero.
    pub(super) fn ratio_millionths(n: u128, s: u128, d: u128) -> (WideInt, u32) {
        let (q, r) = U256::mul(n, s).divrem(d);
        let (f, r2) = U256::mul(r, 1_000_000).divrem(d);
        // f < 10^6 because r < d.
        let mut millionths = f.lo as u32;
        let mut int_part = q;
        if r2 >= d - r2 {
            millionths += 1;
            if millionths == 1_000_000 {
                millionths = 0;
                let (lo, carry) = int_part.lo.overflowing_add(1);
                int_part = U256 {
                    hi: int_part.hi + u128::from(carry),
                    lo,
                };
            }
        }
        let int_part = if int_part.hi == 0 {
            WideInt::Small(int_part.lo)
        } else {
            WideInt::Big(int_part)
        };
        (int_part, millionths)
    }
}

/// Optional count fields a request can add with `Fields` (Meta's other marketing-message counts).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct ExtraFields {
    pub sent: bool,
    pub read: bool,
    pub failed: bool,
    pub spend_currency: bool,
}

/// A `Fields` entry that names no known field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Fields: unknown field `{0}`")]
pub struct FieldsError(pub String);

/// Wire names always present in a row.
pub const ALWAYS_FIELDS: [&str; 10] = [
    "MarketingMessagesLinkBtnClick",
    "MarketingMessagesSpend",
    "MarketingMessagesDelivered",
    "DateStop",
    "MarketingMessagesReadRate",
    "MarketingMessagesCostPerDelivered",
    "DateStart",
    "MarketingMessagesDeliveryRate",
    "MarketingMessagesLinkBtnClickRate",
    "MarketingMessagesCostPerLinkBtnClick",
];

impl ExtraFields {
    /// All four extra fields.
    pub fn all() -> ExtraFields {
        ExtraFields {
            sent: true,
            read: true,
            failed: true,
            spend_currency: true,
        }
    }

    /// Parses a comma list of wire names (case-insensitive, blanks ignored). Names of always-present fields
    /// are accepted and change nothing; anything else is an error.
    pub fn parse(list: &str) -> Result<ExtraFields, FieldsError> {
        let mut out = ExtraFields::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let is = |wire: &str| name.eq_ignore_ascii_case(wire);
            if is("MarketingMessagesSent") {
                out.sent = true;
            } else if is("MarketingMessagesRead") {
                out.read = true;
            } else if is("MarketingMessagesFailed") {
                out.failed = true;
            } else if is("MarketingMessagesSpendCurrency") {
                out.spend_currency = true;
            } else if !ALWAYS_FIELDS.iter().any(|w| is(w)) && !is("Country") {
                return Err(FieldsError(crate::text::clip(name).into_owned()));
            }
        }
        Ok(out)
    }
}

/// One insights row with every value as its wire string.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FormattedRow {
    pub date_start: String,
    pub date_stop: String,
    /// Country code, or `"unknown"`; `None` when the query had no breakdown.
    pub country: Option<String>,
    pub delivered: String,
    pub delivery_rate: String,
    pub read_rate: String,
    pub link_btn_click: String,
    pub link_btn_click_rate: String,
    pub spend: String,
    pub cost_per_delivered: String,
    pub cost_per_link_btn_click: String,
    pub sent: String,
    pub read: String,
    pub failed: String,
    pub spend_currency: String,
}

impl FormattedRow {
    /// The documented fields (plus `Country` when broken down), with their exact wire names.
    pub fn wire_fields(&self) -> Vec<(&'static str, String)> {
        self.wire_fields_with(&ExtraFields::default())
    }

    /// [`FormattedRow::wire_fields`] plus the requested extra fields.
    pub fn wire_fields_with(&self, extra: &ExtraFields) -> Vec<(&'static str, String)> {
        self.clone().into_wire_fields(extra)
    }

    /// [`FormattedRow::wire_fields_with`], moving the strings out instead of copying them.
    pub fn into_wire_fields(self, extra: &ExtraFields) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(16);
        out.extend([
            ("MarketingMessagesLinkBtnClick", self.link_btn_click),
            ("MarketingMessagesSpend", self.spend),
            ("MarketingMessagesDelivered", self.delivered),
            ("DateStop", self.date_stop),
            ("MarketingMessagesReadRate", self.read_rate),
            ("MarketingMessagesCostPerDelivered", self.cost_per_delivered),
            ("DateStart", self.date_start),
            ("MarketingMessagesDeliveryRate", self.delivery_rate),
            (
                "MarketingMessagesLinkBtnClickRate",
                self.link_btn_click_rate,
            ),
            (
                "MarketingMessagesCostPerLinkBtnClick",
                self.cost_per_link_btn_click,
            ),
        ]);
        if extra.sent {
            out.push(("MarketingMessagesSent", self.sent));
        }
        if extra.read {
            out.push(("MarketingMessagesRead", self.read));
        }
        if extra.failed {
            out.push(("MarketingMessagesFailed", self.failed));
        }
        if extra.spend_currency {
            out.push(("MarketingMessagesSpendCurrency", self.spend_currency));
        }
        if let Some(country) = self.country {
            out.push(("Country", country));
        }
        out
    }
}

/// `YYYY-MM-DD` (years outside 0..=9999, which no valid range reaches, are written as chrono does).
fn ymd(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.to_string()
    }
}

impl Row {
    /// The wire strings of this row (`docs/metrics.md`, "The metrics" and "Numbers on the wire").
    pub fn format(&self, currency: &Currency) -> FormattedRow {
        let sent = i128::from(self.sent);
        let delivered = i128::from(self.delivered);
        let read = i128::from(self.read);
        let clicks = i128::from(self.link_clicks);
        let spend = i128::from(self.spend_micros);
        FormattedRow {
            date_start: ymd(self.date_start),
            date_stop: ymd(self.date_stop),
            country: self
                .country
                .map(|c| c.map_or_else(|| "unknown".to_string(), |c| c.to_string())),
            delivered: self.delivered.to_string(),
            delivery_rate: format_ratio(delivered, sent, 100),
            read_rate: format_ratio(read, delivered, 100),
            link_btn_click: self.link_clicks.to_string(),
            link_btn_click_rate: format_ratio(clicks, delivered, 100),
            spend: format_money(self.spend_micros, currency),
            cost_per_delivered: format_ratio(spend, delivered * 1_000_000, 1),
            cost_per_link_btn_click: format_ratio(spend, clicks * 1_000_000, 1),
            sent: self.sent.to_string(),
            read: self.read.to_string(),
            failed: self.failed.to_string(),
            spend_currency: currency.code().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap_or_else(|| panic!("{code}"))
    }

    #[test]
    fn ratios() {
        assert_eq!(format_ratio(1, 2, 100), "50");
        assert_eq!(format_ratio(1, 2, 1), "0.5");
        assert_eq!(format_ratio(5, 5, 100), "100");
        assert_eq!(format_ratio(0, 5, 100), "0");
        assert_eq!(format_ratio(5, 0, 100), "0");
        assert_eq!(format_ratio(0, 0, 100), "0");
        assert_eq!(format_ratio(2188, 2755, 100), "79.419238");
        assert_eq!(format_ratio(268, 2755, 100), "9.727768");
        assert_eq!(format_ratio(38_870_000, 2755 * 1_000_000, 1), "0.014109");
        assert_eq!(format_ratio(38_870_000, 268 * 1_000_000, 1), "0.145037");
        assert_eq!(format_ratio(1, 4, 1), "0.25");
        assert_eq!(format_ratio(1, 8, 1), "0.125");
        assert_eq!(format_ratio(1, 3, 1), "0.333333");
        assert_eq!(format_ratio(2, 3, 1), "0.666667");
        assert_eq!(format_ratio(3, 2, 100), "150");
        assert_eq!(format_ratio(10, 1, 1), "10");
    }

    #[test]
    fn ratio_rounds_half_away_from_zero_at_the_seventh_digit() {
        // 0.0000005 exactly -> 0.000001; 0.00000049.. -> 0
        assert_eq!(format_ratio(5, 10_000_000, 1), "0.000001");
        assert_eq!(format_ratio(49, 100_000_000, 1), "0");
        assert_eq!(format_ratio(-5, 10_000_000, 1), "-0.000001");
        assert_eq!(format_ratio(-49, 100_000_000, 1), "0");
        assert_eq!(format_ratio(1_2345675, 10_000_000, 1), "1.234568");
        assert_eq!(format_ratio(1_2345674, 10_000_000, 1), "1.234567");
        assert_eq!(format_ratio(9_9999995, 10_000_000, 1), "10");
        assert_eq!(format_ratio(1, -2, 1), "-0.5");
        assert_eq!(format_ratio(-1, -2, 1), "0.5");
    }

    #[test]
    fn trailing_zero_trims() {
        assert_eq!(format_ratio(1_100_000, 1_000_000, 1), "1.1");
        assert_eq!(format_ratio(120, 100, 1), "1.2");
        assert_eq!(format_ratio(1_000_001, 1_000_000, 1), "1.000001");
        assert_eq!(format_ratio(200, 100, 1), "2");
    }

    #[test]
    fn extreme_inputs_are_exact() {
        let max = i128::MAX;
        assert_eq!(format_ratio(max, max, 1), "1");
        assert_eq!(format_ratio(max, 1, 1), max.to_string());
        assert_eq!(format_ratio(max, 2, 2), max.to_string());
        assert_eq!(format_ratio(max, max, max), max.to_string());
        assert_eq!(format_ratio(i128::MIN, 1, 1), i128::MIN.to_string());
        assert_eq!(format_ratio(max, 3, 1), format!("{}.333333", max / 3));
        assert_eq!(format_ratio(1, max, 1), "0");
        // 2^254 / 3 = …, checked against the u128 path via a factor that keeps it small
        assert_eq!(format_ratio(max, max / 2, 1), "2");
        let big = format_ratio(max, 1, max);
        assert_eq!(big.len(), 77);
    }

    #[test]
    fn money() {
        assert_eq!(format_money(38_870_000, &cur("USD")), "38.87");
        assert_eq!(format_money(38_800_000, &cur("USD")), "38.8");
        assert_eq!(format_money(0, &cur("USD")), "0");
        assert_eq!(format_money(4_999, &cur("USD")), "0");
        assert_eq!(format_money(5_000, &cur("USD")), "0.01");
        assert_eq!(format_money(38_875_000, &cur("USD")), "38.88");
        assert_eq!(format_money(1_500_000, &cur("JPY")), "2");
        assert_eq!(format_money(1_499_999, &cur("JPY")), "1");
        assert_eq!(format_money(250_000_000, &cur("JPY")), "250");
        assert_eq!(format_money(1_234_500, &cur("KWD")), "1.235");
        assert_eq!(format_money(1_200_000, &cur("KWD")), "1.2");
        assert_eq!(format_money(14_100, &cur("KWD")), "0.014");
        assert_eq!(format_money(-5_000, &cur("USD")), "-0.01");
        assert_eq!(format_money(-4_000, &cur("USD")), "0");
        assert_eq!(format_money(i64::MAX, &cur("USD")), "9223372036854.78");
        assert_eq!(format_money(i64::MIN, &cur("USD")), "-9223372036854.78");
        assert_eq!(format_money(12_345_678, &cur("CLF")), "12.3457");
    }

    #[test]
    fn extra_fields_parse() {
        assert_eq!(ExtraFields::parse(""), Ok(ExtraFields::default()));
        assert_eq!(
            ExtraFields::parse(
                "MarketingMessagesSent, marketingmessagesfailed,,MarketingMessagesDelivered"
            ),
            Ok(ExtraFields {
                sent: true,
                failed: true,
                ..ExtraFields::default()
            })
        );
        assert_eq!(
            ExtraFields::parse("MarketingMessagesBogus").map_err(|e| e.to_string()),
            Err("Fields: unknown field `MarketingMessagesBogus`".to_string())
        );
    }
}
