//! ISO 4217 currencies and their minor-unit digits (how many decimals spend is rounded to).

use std::fmt;

/// Active ISO 4217 codes with a defined minor unit (funds codes included), followed by a few recently
/// withdrawn codes that still appear in historical data (ANG, CUC, HRK, SLL, ZWL).
/// Codes without a minor unit (precious metals, XDR, test codes) are not currencies an ad account can use.
const TABLE: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
    // Withdrawn recently; kept so that historical data and old ad accounts still format.
    ("ANG", 2),
    ("CUC", 2),
    ("HRK", 2),
    ("SLL", 2),
    ("ZWL", 2),
];

/// An ISO 4217 currency: its code and the number of minor-unit digits spend is shown with.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    minor_digits: u8,
}

impl Currency {
    /// Looks a code up (case-insensitive); `None` for a code that is not in the table.
    pub fn from_code(code: &str) -> Option<Currency> {
        let b = code.as_bytes();
        if b.len() != 3 {
            return None;
        }
        let upper = [
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ];
        TABLE
            .iter()
            .find(|(c, _)| c.as_bytes() == upper)
            .map(|&(_, minor_digits)| Currency {
                code: upper,
                minor_digits,
            })
    }

    /// The three uppercase letters, e.g. `"USD"`.
    pub fn code(&self) -> &str {
        // Always three ASCII letters copied from the table.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of decimals of the minor unit: 2 for USD, 0 for JPY, 3 for KWD, 4 for CLF.
    pub fn minor_digits(&self) -> u8 {
        self.minor_digits
    }

    /// Every known currency.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().filter_map(|(c, _)| Currency::from_code(c))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.code(), self.minor_digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_digits_of_common_currencies() {
        let digits = |c: &str| Currency::from_code(c).map(|c| c.minor_digits());
        assert_eq!(digits("USD"), Some(2));
        assert_eq!(digits("usd"), Some(2));
        assert_eq!(digits("JPY"), Some(0));
        assert_eq!(digits("KWD"), Some(3));
        assert_eq!(digits("BHD"), Some(3));
        assert_eq!(digits("CLP"), Some(0));
        assert_eq!(digits("EUR"), Some(2));
        assert_eq!(digits("CLF"), Some(4));
        assert_eq!(digits("XAU"), None);
        assert_eq!(digits("US"), None);
        assert_eq!(
            Currency::from_code("brl").map(|c| c.code().to_string()),
            Some("BRL".into())
        );
    }

    #[test]
    fn table_has_unique_uppercase_codes() {
        let mut codes: Vec<&str> = TABLE.iter().map(|(c, _)| *c).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n);
        assert_eq!(Currency::all().count(), n);
    }
}
