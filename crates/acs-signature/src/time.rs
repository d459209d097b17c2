//! The signed request time, `YYYY-MM-DDThh:mm:ssZ` (UTC), parsed and formatted without a calendar
//! library: the gateway and the clients do it on every request.

/// Days since 1970-01-01 of a civil date (proleptic Gregorian). Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses the strict ISO 8601 UTC form every Alibaba SDK sends (an optional fraction of a second,
/// `.123`, is accepted because some clients add one) into unix seconds. Anything else — other
/// offsets, lowercase `z`, spaces, RFC 2822 dates, epoch numbers, leap seconds, years before 1970
/// or after 9999 — is `None`.
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
    let fraction_ok = match &b[19..] {
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
        b[range].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1970
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(i64::from(y), mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    Some(days_from_civil(i64::from(y), mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec))
}

/// Formats unix seconds (1970 ..= 9999) as `YYYY-MM-DDThh:mm:ssZ`.
pub fn format_utc(secs: i64) -> String {
    let secs = secs.clamp(0, 253_402_300_799);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// The current time in that form.
pub fn now_utc() -> String {
    thread_local! {
        /// The last second formatted: a load generator signs thousands of requests per second.
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            *last = (secs, format_utc(secs));
        }
        last.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_sdk_form() {
        assert_eq!(parse_utc("2023-10-26T10:22:32Z"), Some(1_698_315_752));
        assert_eq!(parse_utc("2023-10-26T10:22:32.123Z"), Some(1_698_315_752));
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        assert_eq!(format_utc(1_698_315_752), "2023-10-26T10:22:32Z");
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
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
            "2023-02-29T10:22:32Z",
            "2023-10-26T24:00:00Z",
            "2023-10-26T10:22:60Z",
            "+023-10-26T10:22:32Z",
            "2023-10-26T10:22:32.Z",
            "1698315752",
            "Thu, 26 Oct 2023 10:22:32 GMT",
            "2023-10-26T10:22:3éZ",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc(s), None, "{s}");
        }
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for day in 0..146_097i64 {
            let secs = day * 86_400 + (day * 7919) % 86_400;
            assert_eq!(
                parse_utc(&format_utc(secs)),
                Some(secs),
                "{}",
                format_utc(secs)
            );
        }
    }
}
