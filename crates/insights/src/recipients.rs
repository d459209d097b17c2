//! The recipient directory's file: `recipient,country` lines (a header line is optional), mapping a
//! recipient to its country for channels whose events carry none.

use crate::country::CountryCode;
use crate::model::MAX_ID_BYTES;

/// Parses `recipient,country` lines; errors name the line.
pub fn parse_recipients(text: &str) -> Result<Vec<(String, CountryCode)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.splitn(2, ',').map(str::trim);
        let (Some(recipient), Some(country)) = (cols.next(), cols.next()) else {
            return Err(format!("line {}: expected `recipient,country`", i + 1));
        };
        if i == 0 && recipient.eq_ignore_ascii_case("recipient") {
            continue;
        }
        if recipient.is_empty() || recipient.len() > MAX_ID_BYTES {
            return Err(format!(
                "line {}: recipient must be 1-{} bytes",
                i + 1,
                MAX_ID_BYTES
            ));
        }
        let country: CountryCode = country
            .parse()
            .map_err(|_| format!("line {}: unknown country code `{country}`", i + 1))?;
        out.push((recipient.to_string(), country));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_csv() {
        let got = parse_recipients("recipient,country\npsid-1,BR\n+14155550100, us\n\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1.to_string(), "US");
        assert!(parse_recipients("psid-1,XX")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_recipients("a,BR\nnocomma")
            .unwrap_err()
            .contains("line 2"));
    }
}
