//! The native event format (one JSON object per line, `docs/events.md`): parsing, validation and writing.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat};

use crate::country::CountryCode;
use crate::json::{self, ReadError, Value};
use crate::model::{check_id, Event, EventKind, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS};
use crate::text::clip;

/// Why an event line (or a hand-built [`Event`]) was rejected. `Display` is the user-facing reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("invalid JSON at column {column}")]
    InvalidJson { column: usize },
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("duplicate field `{0}`")]
    DuplicateField(&'static str),
    #[error("empty field `{0}`")]
    EmptyField(&'static str),
    #[error("field `{0}` is longer than 256 bytes")]
    FieldTooLong(&'static str),
    #[error("invalid type for field `{field}`: expected {expected}")]
    InvalidType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("unknown event kind `{0}`")]
    UnknownKind(String),
    #[error("malformed timestamp `{0}`")]
    MalformedTimestamp(String),
    #[error("timestamp out of range")]
    TimestampOutOfRange,
    #[error("malformed price `{0}`")]
    MalformedPrice(String),
    #[error("price `{0}` has more than 6 decimal places")]
    PriceTooPrecise(String),
    #[error("price `{0}` out of range")]
    PriceOutOfRange(String),
    #[error("negative price")]
    NegativePrice,
    #[error("unknown country code `{0}`")]
    UnknownCountry(String),
}

const STRING_OR_INTEGER: &str = "a string or an integer";

/// Parses one line of the native format into a validated [`Event`].
///
/// Required: `campaign_id`, `recipient` (strings, or non-negative JSON integers kept digit for digit), `event`,
/// `timestamp` (RFC 3339 with any offset and optional fraction, truncated to ms; or integer epoch ms as a JSON
/// number or a string of digits). Optional: `country` (ISO 3166-1 alpha-2, any case), `event_id` (string or
/// integer), `price` (decimal string or decimal JSON number, at most 6 decimals). Optional fields may be `null`
/// or `""` (absent). Unknown fields are ignored; a known field given twice is an error.
pub fn parse_native_event(line: &[u8]) -> Result<Event, EventError> {
    let mut campaign_id = None;
    let mut recipient = None;
    let mut kind = None;
    let mut timestamp_ms = None;
    let mut country = None;
    let mut event_id = None;
    let mut price_micros = None;
    let mut seen = [false; 7];

    let result = json::read_object(line, |key, value| {
        let (slot, field) = match key.as_ref() {
            "campaign_id" => (0, "campaign_id"),
            "recipient" => (1, "recipient"),
            "event" => (2, "event"),
            "timestamp" => (3, "timestamp"),
            "country" => (4, "country"),
            "event_id" => (5, "event_id"),
            "price" => (6, "price"),
            _ => return Ok(()),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(EventError::DuplicateField(field));
        }
        match slot {
            0 => campaign_id = id_value(field, value)?,
            1 => recipient = id_value(field, value)?,
            2 => {
                kind = match value {
                    Value::Str(s) => Some(s.parse::<EventKind>()?),
                    Value::Null => None,
                    _ => {
                        return Err(EventError::InvalidType {
                            field,
                            expected: "a string",
                        })
                    }
                }
            }
            3 => {
                timestamp_ms = match value {
                    Value::Str(s) => Some(parse_timestamp(&s)?),
                    Value::Num(n) => Some(parse_epoch_ms(n)?),
                    Value::Null => None,
                    _ => {
                        return Err(EventError::InvalidType {
                            field,
                            expected: "a string or an integer",
                        })
                    }
                }
            }
            4 => {
                country = match value {
                    Value::Str(s) if s.is_empty() => None,
                    Value::Str(s) => Some(
                        s.parse::<CountryCode>()
                            .map_err(|e| EventError::UnknownCountry(e.0))?,
                    ),
                    Value::Null => None,
                    _ => {
                        return Err(EventError::InvalidType {
                            field,
                            expected: "a string",
                        })
                    }
                }
            }
            5 => event_id = id_value(field, value)?.filter(|s| !s.is_empty()),
            _ => {
                price_micros = match value {
                    Value::Str(s) if s.is_empty() => None,
                    Value::Str(s) => Some(parse_price(&s)?),
                    Value::Num(n) => Some(parse_price(n)?),
                    Value::Null => None,
                    _ => {
                        return Err(EventError::InvalidType {
                            field,
                            expected: "a decimal string",
                        })
                    }
                }
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(ReadError::Syntax(e)) => return Err(EventError::InvalidJson { column: e.column }),
        Err(ReadError::Member(e)) => return Err(e),
    }

    let campaign_id = campaign_id.ok_or(EventError::MissingField("campaign_id"))?;
    let recipient = recipient.ok_or(EventError::MissingField("recipient"))?;
    let kind = kind.ok_or(EventError::MissingField("event"))?;
    let timestamp_ms = timestamp_ms.ok_or(EventError::MissingField("timestamp"))?;
    let event = Event {
        campaign_id,
        recipient,
        kind,
        timestamp_ms,
        country,
        event_id,
        price_micros,
    };
    event.validate()?;
    Ok(event)
}

/// An id field: a string, or a non-negative JSON integer whose digits are kept exactly. `null` is absent.
fn id_value(field: &'static str, value: Value<'_>) -> Result<Option<String>, EventError> {
    let text = match value {
        Value::Str(s) => s,
        Value::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => Cow::Borrowed(n),
        Value::Null => return Ok(None),
        _ => {
            return Err(EventError::InvalidType {
                field,
                expected: STRING_OR_INTEGER,
            })
        }
    };
    if field != "event_id" || !text.is_empty() {
        check_id(field, &text)?;
    }
    Ok(Some(text.into_owned()))
}

/// A timestamp string: integer epoch ms (digits, optional `-`) or RFC 3339.
fn parse_timestamp(s: &str) -> Result<i64, EventError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return parse_epoch_ms(s);
    }
    let parsed = DateTime::parse_from_rfc3339(s)
        .map_err(|_| EventError::MalformedTimestamp(clip(s).into_owned()))?;
    in_range(parsed.timestamp_millis())
}

/// Integer epoch milliseconds; fractions and exponents are malformed, overflow is out of range.
fn parse_epoch_ms(text: &str) -> Result<i64, EventError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EventError::MalformedTimestamp(clip(text).into_owned()));
    }
    if negative {
        return Err(EventError::TimestampOutOfRange);
    }
    digits
        .parse::<i64>()
        .map_err(|_| EventError::TimestampOutOfRange)
        .and_then(in_range)
}

fn in_range(ms: i64) -> Result<i64, EventError> {
    if (MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(EventError::TimestampOutOfRange)
    }
}

/// Parses a decimal price into micro-units: `"0.0141"` -> `14100`.
///
/// Grammar: `-?[0-9]+(\.[0-9]+)?`. More than 6 decimals is an error unless the extra digits are zeros (the
/// value is still exact). A negative non-zero value is [`EventError::NegativePrice`]; `-0` is zero.
pub fn parse_price(s: &str) -> Result<i64, EventError> {
    let malformed = || EventError::MalformedPrice(clip(s).into_owned());
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !frac_part.is_none_or(all_digits) {
        return Err(malformed());
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > 6 && !frac.as_bytes()[6..].iter().all(|&b| b == b'0') {
        return Err(EventError::PriceTooPrecise(clip(s).into_owned()));
    }
    let out_of_range = || EventError::PriceOutOfRange(clip(s).into_owned());
    let mut micros: i64 = 0;
    for b in int_part.bytes() {
        micros = micros
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .ok_or_else(out_of_range)?;
    }
    micros = micros.checked_mul(1_000_000).ok_or_else(out_of_range)?;
    let mut scale = 100_000;
    for b in frac.bytes().take(6) {
        micros = micros
            .checked_add(i64::from(b - b'0') * scale)
            .ok_or_else(out_of_range)?;
        scale /= 10;
    }
    if negative && micros != 0 {
        return Err(EventError::NegativePrice);
    }
    Ok(micros)
}

/// Writes a price in micro-units as the shortest exact decimal: `14100` -> `"0.0141"`, `2_000_000` -> `"2"`.
pub fn format_price(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (int, frac) = (abs / 1_000_000, abs % 1_000_000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let digits = format!("{frac:06}");
        format!("{sign}{int}.{}", digits.trim_end_matches('0'))
    }
}

/// Writes an event as one native-format line (no trailing newline); the inverse of [`parse_native_event`]
/// for every valid event. The timestamp is RFC 3339 in UTC with milliseconds.
pub fn to_native_line(e: &Event) -> String {
    let mut out = String::with_capacity(160);
    out.push_str("{\"campaign_id\":");
    push_json_string(&mut out, &e.campaign_id);
    out.push_str(",\"recipient\":");
    push_json_string(&mut out, &e.recipient);
    out.push_str(",\"event\":\"");
    out.push_str(e.kind.as_str());
    out.push_str("\",\"timestamp\":");
    match DateTime::from_timestamp_millis(e.timestamp_ms) {
        Some(t) => {
            out.push('"');
            out.push_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true));
            out.push('"');
        }
        None => {
            let _ = write!(out, "{}", e.timestamp_ms);
        }
    }
    if let Some(c) = e.country {
        out.push_str(",\"country\":\"");
        out.push_str(c.as_str());
        out.push('"');
    }
    if let Some(id) = &e.event_id {
        out.push_str(",\"event_id\":");
        push_json_string(&mut out, id);
    }
    if let Some(p) = e.price_micros {
        out.push_str(",\"price\":\"");
        out.push_str(&format_price(p));
        out.push('"');
    }
    out.push('}');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
