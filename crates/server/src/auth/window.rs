//! The timestamp window: a signed time must be within the window of the server's clock, either side.

use crate::errors::{ApiError, ErrorCode};

/// Checks a signed time (`YYYY-MM-DDThh:mm:ssZ`) against `now` (unix seconds); returns it as unix
/// seconds. Unparseable: `InvalidTimeStamp.Format`; outside the window: `InvalidTimeStamp.Expired`.
pub fn check(timestamp: &str, now: i64, window_secs: i64) -> Result<i64, ApiError> {
    let signed_at = acs_signature::time::parse_utc(timestamp)
        .ok_or(ApiError::new(ErrorCode::InvalidTimeStampFormat))?;
    if (now - signed_at).abs() > window_secs {
        return Err(ErrorCode::InvalidTimeStampExpired.into());
    }
    Ok(signed_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_the_window_either_side() {
        let now = acs_signature::time::parse_utc("2025-07-01T12:00:00Z").unwrap();
        assert_eq!(check("2025-07-01T12:15:00Z", now, 900).unwrap(), now + 900);
        assert_eq!(check("2025-07-01T11:45:00Z", now, 900).unwrap(), now - 900);
        for late in ["2025-07-01T12:15:01Z", "2025-07-01T11:44:59Z"] {
            assert_eq!(
                check(late, now, 900).unwrap_err().code,
                ErrorCode::InvalidTimeStampExpired
            );
        }
        for bad in [
            "",
            "2025-07-01 12:00:00",
            "2025-07-01T12:00:00+08:00",
            "tomorrow",
        ] {
            assert_eq!(
                check(bad, now, 900).unwrap_err().code,
                ErrorCode::InvalidTimeStampFormat,
                "{bad}"
            );
        }
    }
}
