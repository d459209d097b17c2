//! ISO 3166-1 alpha-2 country codes.
//!
//! A [`CountryCode`] is always one of the officially *assigned* codes (249 of them). User-assigned and
//! reserved codes such as `XK` or `EU` are rejected, so a typo in a feed or a rate card surfaces as an
//! error instead of a silent new "country".

use std::fmt;
use std::str::FromStr;

/// Every officially assigned ISO 3166-1 alpha-2 code, in alphabetical order.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Number of distinct two-letter combinations; a code's [`CountryCode::index`] is below this.
pub(crate) const CODE_SPACE: u16 = 26 * 26;

/// Bitset over the two-letter code space marking the assigned codes (built at compile time).
const ASSIGNED_BITS: [u64; 11] = {
    let mut bits = [0u64; 11];
    let mut i = 0;
    while i < ASSIGNED.len() {
        let b = ASSIGNED[i].as_bytes();
        let idx = ((b[0] - b'A') as usize) * 26 + (b[1] - b'A') as usize;
        bits[idx / 64] |= 1 << (idx % 64);
        i += 1;
    }
    bits
};

/// An assigned ISO 3166-1 alpha-2 country code, stored as its two uppercase ASCII letters.
///
/// Ordering is alphabetical. Parse with [`str::parse`] (case-insensitive input).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

/// The string was not an assigned ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country code `{0}`")]
pub struct UnknownCountry(pub String);

impl CountryCode {
    /// Builds a code from two letters (either case); `None` unless the code is assigned.
    pub const fn from_letters(a: u8, b: u8) -> Option<CountryCode> {
        let a = a.to_ascii_uppercase();
        let b = b.to_ascii_uppercase();
        if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
            return None;
        }
        let idx = ((a - b'A') as usize) * 26 + (b - b'A') as usize;
        if ASSIGNED_BITS[idx / 64] & (1 << (idx % 64)) == 0 {
            return None;
        }
        Some(CountryCode([a, b]))
    }

    /// Builds a code from a literal known to be assigned, for constant tables inside this crate: evaluated at
    /// compile time, so a typo fails the build. (Not for input: it panics on an unassigned code.)
    pub(crate) const fn lit(s: &str) -> CountryCode {
        let b = s.as_bytes();
        assert!(b.len() == 2, "country literal must have two letters");
        match CountryCode::from_letters(b[0], b[1]) {
            Some(c) => c,
            None => panic!("not an assigned ISO 3166-1 code"),
        }
    }

    /// Dense index in `0..676` (`(first letter) * 26 + (second letter)`), order-preserving.
    pub const fn index(self) -> u16 {
        (self.0[0] - b'A') as u16 * 26 + (self.0[1] - b'A') as u16
    }

    /// Inverse of [`CountryCode::index`]; `None` for an index that is not an assigned code.
    pub const fn from_index(index: u16) -> Option<CountryCode> {
        if index >= CODE_SPACE {
            return None;
        }
        CountryCode::from_letters(b'A' + (index / 26) as u8, b'A' + (index % 26) as u8)
    }

    /// The two uppercase letters.
    pub fn as_str(&self) -> &str {
        // The two bytes are always ASCII uppercase letters (checked on construction).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Every assigned code, alphabetically.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        ASSIGNED.iter().filter_map(|s| s.parse().ok())
    }
}

impl FromStr for CountryCode {
    type Err = UnknownCountry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 2 {
            if let Some(c) = CountryCode::from_letters(b[0], b[1]) {
                return Ok(c);
            }
        }
        Err(UnknownCountry(crate::text::clip(s).into_owned()))
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_complete() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ASSIGNED.len(), 249);
        let bits: u32 = ASSIGNED_BITS.iter().map(|w| w.count_ones()).sum();
        assert_eq!(bits, 249);
    }

    #[test]
    fn parse_is_case_insensitive_and_validated() {
        assert_eq!(
            "br".parse::<CountryCode>().map(|c| c.to_string()),
            Ok("BR".to_string())
        );
        assert_eq!(
            "Gb".parse::<CountryCode>().map(|c| c.to_string()),
            Ok("GB".to_string())
        );
        assert_eq!(
            "XX".parse::<CountryCode>().map_err(|e| e.to_string()),
            Err("unknown country code `XX`".to_string())
        );
        assert!("XK".parse::<CountryCode>().is_err());
        assert!("USA".parse::<CountryCode>().is_err());
        assert!("".parse::<CountryCode>().is_err());
        assert!("é".parse::<CountryCode>().is_err());
    }

    #[test]
    fn index_round_trips_and_orders() {
        for c in CountryCode::all() {
            assert_eq!(CountryCode::from_index(c.index()), Some(c));
        }
        assert!(CountryCode::lit("AD").index() < CountryCode::lit("ZW").index());
        assert_eq!(CountryCode::from_index(CODE_SPACE), None);
    }
}
