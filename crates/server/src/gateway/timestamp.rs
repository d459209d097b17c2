//! The signed request time: `YYYY-MM-DDThh:mm:ssZ`, UTC, as every Alibaba SDK sends it.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Parses the strict ISO 8601 UTC form (an optional fraction of a second, `.123`, is accepted
/// because some clients add one). Anything else — other offsets, lowercase `z`, spaces, RFC 2822
/// dates, epoch numbers, leap seconds — is refused.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let tail = &b[19..];
    let fraction_ok = match tail {
        [b'Z'] => true,
        [b'.', digits @ .., b'Z'] => {
            !digits.is_empty() && digits.len() <= 9 && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    if !fraction_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if sec > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_opt(h, m, sec)?;
    Some(NaiveDateTime::new(date, time).and_utc().timestamp())
}

/// Formats unix seconds the way clients sign them.
pub fn format_utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_sdk_form() {
        assert_eq!(parse_utc("2023-10-26T10:22:32Z"), Some(1_698_315_752));
        assert_eq!(parse_utc("2023-10-26T10:22:32.123Z"), Some(1_698_315_752));
        assert_eq!(format_utc(1_698_315_752), "2023-10-26T10:22:32Z");
    }

    #[test]
    fn refuses_odd_forms() {
        for s in [
            "",
            "2023-10-26",
            "2023-10-26T10:22:32",
            "2023-10-26T10:22:32z",
            "2023-10-26T10:22:32+08:00",
            "2023-10-26 10:22:32Z",
            "2023-13-26T10:22:32Z",
            "2023-02-30T10:22:32Z",
            "2023-10-26T24:00:00Z",
            "2023-10-26T10:22:60Z",
            "+023-10-26T10:22:32Z",
            "2023-10-26T10:22:32.Z",
            "1698315752",
            "Thu, 26 Oct 2023 10:22:32 GMT",
            "2023-10-26T10:22:3éZ",
        ] {
            assert_eq!(parse_utc(s), None, "{s}");
        }
    }
}
