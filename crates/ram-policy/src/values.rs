//! Typed condition values: exact decimals, instants, IP networks and booleans.
//!
//! The same parsers read policy values (at load time, where a failure is a load error) and request
//! values (at evaluation time, where a failure means the request value satisfies nothing).

use std::cmp::Ordering;
use std::net::IpAddr;

/// An exact decimal number: `0.d₁d₂d₃… × 10^exponent`, with no leading or trailing zero digits,
/// so equal numbers have equal representations (`1`, `1.0`, `01`, `0.1e1` are one value) and
/// comparison needs no arithmetic and no floating point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    /// ASCII digits `1..=9` first and last; empty for zero.
    digits: Box<[u8]>,
    exponent: i64,
}

/// Exponents beyond this are refused rather than risk overflow in arithmetic on them.
const MAX_EXPONENT: i64 = 1_000_000_000;

impl Decimal {
    /// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` and `[+-].digits…` (at least one digit in
    /// the mantissa). No whitespace, no hexadecimal, no `NaN`/`Infinity`.
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let mut at = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let mut all_digits: Vec<u8> = Vec::new();
        let mut integer_digit_count: i64 = 0;
        while let Some(&byte) = bytes.get(at).filter(|byte| byte.is_ascii_digit()) {
            all_digits.push(byte);
            integer_digit_count += 1;
            at += 1;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            while let Some(&byte) = bytes.get(at).filter(|byte| byte.is_ascii_digit()) {
                all_digits.push(byte);
                at += 1;
            }
        }
        if all_digits.is_empty() {
            return None;
        }
        let mut written_exponent: i64 = 0;
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            let exponent_negative = match bytes.get(at) {
                Some(b'-') => {
                    at += 1;
                    true
                }
                Some(b'+') => {
                    at += 1;
                    false
                }
                _ => false,
            };
            let exponent_start = at;
            while let Some(&byte) = bytes.get(at).filter(|byte| byte.is_ascii_digit()) {
                written_exponent = written_exponent * 10 + i64::from(byte - b'0');
                if written_exponent > MAX_EXPONENT {
                    return None;
                }
                at += 1;
            }
            if at == exponent_start {
                return None;
            }
            if exponent_negative {
                written_exponent = -written_exponent;
            }
        }
        if at != bytes.len() {
            return None;
        }
        let leading_zeros = all_digits
            .iter()
            .take_while(|digit| **digit == b'0')
            .count();
        let trailing_zeros = all_digits[leading_zeros..]
            .iter()
            .rev()
            .take_while(|digit| **digit == b'0')
            .count();
        let significant = &all_digits[leading_zeros..all_digits.len() - trailing_zeros];
        if significant.is_empty() {
            return Some(Decimal {
                negative: false,
                digits: Box::new([]),
                exponent: 0,
            });
        }
        // Digit counts are bounded by the input length, far below i64 limits.
        let leading_zeros = i64::try_from(leading_zeros).ok()?;
        Some(Decimal {
            negative,
            digits: significant.into(),
            exponent: integer_digit_count - leading_zeros + written_exponent,
        })
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            // Both normalised with a non-zero first digit: the exponent decides, then the digits
            // read as a fraction (lexicographic order on digit strings is fraction order).
            (false, false) => self
                .exponent
                .cmp(&other.exponent)
                .then_with(|| self.digits.cmp(&other.digits)),
        }
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        match (self.negative, other.negative) {
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An instant: seconds since 1970-01-01T00:00:00Z plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    seconds: i64,
    nanos: u32,
}

impl Instant {
    /// Accepts:
    /// - ISO 8601 / RFC 3339 date-times `YYYY-MM-DDTHH:MM[:SS[.fraction]][zone]` where zone is
    ///   `Z`, `±HH:MM`, `±HHMM` or `±HH`; without a zone the time is taken as UTC;
    /// - a date alone `YYYY-MM-DD`, meaning midnight UTC;
    /// - epoch seconds `digits[.fraction]`.
    ///
    /// `T` and `Z` may be lowercase. Fractions carry at most 9 digits (nanoseconds), so that equal
    /// written instants are equal exactly.
    pub(crate) fn parse(text: &str) -> Option<Instant> {
        let bytes = text.as_bytes();
        if bytes.first().is_some_and(u8::is_ascii_digit) && bytes.get(4) != Some(&b'-') {
            return Self::parse_epoch(text);
        }
        let year = digits_value(bytes.get(0..4)?)?;
        if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let month = digits_value(bytes.get(5..7)?)?;
        let day = digits_value(bytes.get(8..10)?)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let mut seconds_of_day: i64 = 0;
        let mut nanos: u32 = 0;
        let mut offset_seconds: i64 = 0;
        let rest = &bytes[10..];
        if !rest.is_empty() {
            if !matches!(rest[0], b'T' | b't') {
                return None;
            }
            let time = &rest[1..];
            let hour = digits_value(time.get(0..2)?)?;
            if time.get(2) != Some(&b':') {
                return None;
            }
            let minute = digits_value(time.get(3..5)?)?;
            let mut at = 5;
            let mut second = 0;
            if time.get(at) == Some(&b':') {
                second = digits_value(time.get(at + 1..at + 3)?)?;
                at += 3;
                if time.get(at) == Some(&b'.') {
                    at += 1;
                    let fraction_start = at;
                    while time.get(at).is_some_and(u8::is_ascii_digit) {
                        at += 1;
                    }
                    nanos = fraction_nanos(&time[fraction_start..at])?;
                }
            }
            if hour > 23 || minute > 59 || second > 59 {
                return None;
            }
            seconds_of_day = hour * 3600 + minute * 60 + second;
            offset_seconds = parse_zone(&time[at..])?;
        }
        let seconds = days_from_civil(year, month, day) * 86_400 + seconds_of_day - offset_seconds;
        Some(Instant { seconds, nanos })
    }

    fn parse_epoch(text: &str) -> Option<Instant> {
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        // Twelve digits reach beyond year 9999; more would only invite overflow.
        if whole.is_empty() || whole.len() > 12 {
            return None;
        }
        let seconds = digits_value(whole.as_bytes())?;
        let nanos = match fraction {
            Some(fraction) => fraction_nanos(fraction.as_bytes())?,
            None => 0,
        };
        Some(Instant { seconds, nanos })
    }
}

/// Value of a non-empty run of ASCII digits (short runs only: callers bound the length).
fn digits_value(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0')),
    )
}

/// Nanoseconds from the digits after a decimal point: 1 to 9 digits.
fn fraction_nanos(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let value = digits_value(digits)?;
    let scale = 10i64.pow(9 - u32::try_from(digits.len()).ok()?);
    u32::try_from(value * scale).ok()
}

/// Offset east of UTC in seconds, from `""` (UTC), `Z`, `±HH`, `±HHMM` or `±HH:MM`.
fn parse_zone(zone: &[u8]) -> Option<i64> {
    let sign = match zone.first() {
        None => return Some(0),
        Some(b'Z' | b'z') if zone.len() == 1 => return Some(0),
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(_) => return None,
    };
    let hours = digits_value(zone.get(1..3)?)?;
    let minutes = match &zone[3..] {
        [] => 0,
        [b':', minutes @ ..] | minutes if minutes.len() == 2 => digits_value(minutes)?,
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        _ => 28,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An IP network. IPv4 networks and addresses stay IPv4 (an IPv4-mapped IPv6 address or network
/// is converted to IPv4), so `10.0.0.0/8` matches `::ffff:10.1.2.3` and an IPv6 network never
/// matches an IPv4 request by accident of the mapping (`::/0` does not match `10.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    V4 { network: u32, prefix: u8 },
    V6 { network: u128, prefix: u8 },
}

/// Why a policy network did not parse: the message says "CIDR" for `a/n` and "IP address" for a
/// bare address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetworkProblem {
    InvalidCidr,
    InvalidAddress,
}

impl Network {
    /// `address` or `address/prefix`; host bits below the prefix are ignored (`192.168.0.1/24`
    /// is `192.168.0.0/24`, a form Alibaba's own examples use).
    pub(crate) fn parse(text: &str) -> Result<Network, NetworkProblem> {
        match text.split_once('/') {
            None => {
                let address = parse_address(text).ok_or(NetworkProblem::InvalidAddress)?;
                Ok(match address {
                    Address::V4(bits) => Network::V4 {
                        network: bits,
                        prefix: 32,
                    },
                    Address::V6(bits) => Network::V6 {
                        network: bits,
                        prefix: 128,
                    },
                })
            }
            Some((address, prefix)) => {
                let invalid = NetworkProblem::InvalidCidr;
                if prefix.is_empty()
                    || prefix.len() > 3
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(invalid);
                }
                let prefix: u8 = prefix.parse().map_err(|_| invalid)?;
                let written: IpAddr = address.parse().map_err(|_| invalid)?;
                match written {
                    IpAddr::V4(v4) if prefix <= 32 => Ok(Network::V4 {
                        network: u32::from(v4) & mask_v4(prefix),
                        prefix,
                    }),
                    IpAddr::V6(v6) if prefix <= 128 => match v6.to_ipv4_mapped() {
                        Some(v4) if prefix >= 96 => Ok(Network::V4 {
                            network: u32::from(v4) & mask_v4(prefix - 96),
                            prefix: prefix - 96,
                        }),
                        _ => Ok(Network::V6 {
                            network: u128::from(v6) & mask_v6(prefix),
                            prefix,
                        }),
                    },
                    _ => Err(invalid),
                }
            }
        }
    }

    pub(crate) fn contains(&self, address: Address) -> bool {
        match (*self, address) {
            (Network::V4 { network, prefix }, Address::V4(bits)) => {
                bits & mask_v4(prefix) == network
            }
            (Network::V6 { network, prefix }, Address::V6(bits)) => {
                bits & mask_v6(prefix) == network
            }
            _ => false,
        }
    }
}

/// A request address, IPv4-mapped IPv6 already folded to IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Address {
    V4(u32),
    V6(u128),
}

pub(crate) fn parse_address(text: &str) -> Option<Address> {
    // Request addresses are almost always dotted-quad IPv4; the general parser is several times
    // slower on them.
    if let Some(v4) = parse_dotted_quad(text.as_bytes()) {
        return Some(Address::V4(v4));
    }
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(Address::V4(u32::from(v4))),
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => Address::V4(u32::from(v4)),
            None => Address::V6(u128::from(v6)),
        }),
    }
}

/// Strict dotted-quad IPv4, exactly as `std` accepts it (1–3 digits per octet, no leading zero,
/// at most 255); `None` for anything else, which the general parser then decides.
fn parse_dotted_quad(text: &[u8]) -> Option<u32> {
    let mut address: u32 = 0;
    let mut octets = 0;
    let mut at = 0;
    loop {
        let start = at;
        let mut octet: u32 = 0;
        while let Some(digit) = text.get(at).filter(|byte| byte.is_ascii_digit()) {
            octet = octet * 10 + u32::from(digit - b'0');
            at += 1;
            if at - start > 3 {
                return None;
            }
        }
        let digits = at - start;
        if digits == 0 || octet > 255 || (digits > 1 && text[start] == b'0') {
            return None;
        }
        address = (address << 8) | octet;
        octets += 1;
        match text.get(at) {
            None if octets == 4 => return Some(address),
            Some(b'.') if octets < 4 => at += 1,
            _ => return None,
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// `true`/`false` in any letter case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The IPv4 fast path never disagrees with the standard parser.
        #[test]
        fn dotted_quad_fast_path_agrees_with_std(text in "[0-9.]{0,17}|[0-9]{1,4}(\\.[0-9]{1,4}){3}") {
            let expected = text.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
            let fast = parse_dotted_quad(text.as_bytes());
            prop_assert!(fast.is_none() || fast == expected, "{:?}: {:?} vs {:?}", text, fast, expected);
            prop_assert_eq!(parse_address(&text), expected.map(Address::V4).or_else(|| match text.parse::<IpAddr>() {
                Ok(IpAddr::V6(v6)) => Some(Address::V6(u128::from(v6))),
                _ => None,
            }));
        }
    }

    fn decimal(text: &str) -> Decimal {
        match Decimal::parse(text) {
            Some(value) => value,
            None => panic!("`{text}` should parse"),
        }
    }

    #[test]
    fn decimals_normalise_equal_spellings() {
        for same in ["1", "1.0", "01", "+1", "0.1e1", "10e-1", "1.", "100E-2"] {
            assert_eq!(decimal(same), decimal("1"), "{same}");
        }
        for zero in ["0", "-0", "0.000", "0e5", ".0", "-0.0e-3"] {
            assert_eq!(decimal(zero), decimal("0"), "{zero}");
        }
    }

    #[test]
    fn decimals_compare_exactly() {
        let ascending = [
            "-1e3",
            "-2.5",
            "-2.25",
            "-1",
            "-0.1",
            "0",
            "0.0999999999999999999999",
            "0.1",
            "0.10000000000000000001",
            "1",
            "2.25",
            "2.5",
            "10",
            "1e20",
            "100000000000000000001",
        ];
        for pair in ascending.windows(2) {
            assert!(
                decimal(pair[0]) < decimal(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn decimals_refuse_non_numbers() {
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e1",
            "1e",
            "1e+",
            "1.2.3",
            " 1",
            "1 ",
            "0x10",
            "NaN",
            "inf",
            "1e9999999999",
            "１",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?}");
        }
    }

    fn instant(text: &str) -> Instant {
        match Instant::parse(text) {
            Some(value) => value,
            None => panic!("`{text}` should parse"),
        }
    }

    #[test]
    fn instants_agree_across_zones_and_forms() {
        let reference = instant("2019-08-12T09:00:00Z");
        assert_eq!(reference.seconds, 1_565_600_400);
        for same in [
            "2019-08-12T17:00:00+08:00",
            "2019-08-12T17:00:00+0800",
            "2019-08-12T17:00+08",
            "2019-08-12T04:00:00-05:00",
            "2019-08-12t09:00:00z",
            "2019-08-12T09:00:00.000Z",
            "2019-08-12T09:00:00",
            "1565600400",
            "1565600400.0",
        ] {
            assert_eq!(instant(same), reference, "{same}");
        }
        assert_eq!(instant("2019-08-12"), instant("2019-08-12T00:00:00Z"));
        assert_eq!(instant("1970-01-01").seconds, 0);
        assert_eq!(instant("2000-03-01").seconds, 951_868_800);
        assert!(instant("2019-08-12T09:00:00.5Z") > reference);
        assert!(instant("1969-12-31T23:59:59Z").seconds == -1);
    }

    #[test]
    fn instants_refuse_impossible_dates() {
        for bad in [
            "",
            "2019-13-01",
            "2019-02-29",
            "2019-00-10",
            "2019-08-32",
            "2019-08-12T24:00:00Z",
            "2019-08-12T09:60:00Z",
            "2019-08-12T09:00:60Z",
            "2019-08-12 09:00:00Z",
            "2019-08-12T09:00:00+24:00",
            "2019-08-12T09:00:00+08:0",
            "2019-8-12",
            "19-08-12",
            "2019-08-12T09",
            "2019-08-12T09:00:00.Z",
            "2019-08-12T09:00:00.1234567890Z",
            "2019-08-12T09:00:00ZZ",
            "yesterday",
            "1565600400.",
            "-5",
            "1234567890123",
        ] {
            assert!(Instant::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Instant::parse("2020-02-29").is_some());
        assert!(Instant::parse("2000-02-29").is_some());
        assert!(Instant::parse("1900-02-29").is_none());
    }

    #[test]
    fn networks_match_by_prefix_and_family() {
        let net = |text: &str| match Network::parse(text) {
            Ok(network) => network,
            Err(problem) => panic!("`{text}`: {problem:?}"),
        };
        let address = |text: &str| match parse_address(text) {
            Some(address) => address,
            None => panic!("`{text}` should parse"),
        };
        assert!(net("10.0.0.0/30").contains(address("10.0.0.3")));
        assert!(!net("10.0.0.0/30").contains(address("10.0.0.4")));
        assert!(net("192.168.0.1/24").contains(address("192.168.0.200")));
        assert!(net("0.0.0.0/0").contains(address("203.0.113.9")));
        assert!(net("203.0.113.2").contains(address("203.0.113.2")));
        assert!(!net("203.0.113.2").contains(address("203.0.113.3")));
        assert!(net("10.0.0.0/8").contains(address("::ffff:10.9.9.9")));
        assert!(net("::ffff:10.0.0.0/104").contains(address("10.1.1.1")));
        assert!(!net("::/0").contains(address("10.1.1.1")));
        assert!(net("::/0").contains(address("fe80::1")));
        assert!(net("2001:db8::/32").contains(address("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(address("2001:db9::1")));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "::/129",
            "10.0.0.256/8",
            "x/8",
        ] {
            assert_eq!(
                Network::parse(bad),
                Err(NetworkProblem::InvalidCidr),
                "{bad}"
            );
        }
        for bad in ["10.0.0.256", "", "10.0.0", "fe80::1%eth0", "010.0.0.1"] {
            assert_eq!(
                Network::parse(bad),
                Err(NetworkProblem::InvalidAddress),
                "{bad}"
            );
        }
    }
}
