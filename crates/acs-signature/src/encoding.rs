//! Percent-encoding, form decoding and the canonical query shared by V2 and V3.

use std::borrow::Cow;

use crate::DecodeError;

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 encoding: unreserved `A-Za-z0-9-_.~` kept, every other UTF-8 byte as `%XY` with
/// uppercase hex (so space is `%20`, `*` is `%2A`, `é` is `%C3%A9`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_percent_encoded(&mut out, s);
    out
}

/// [`percent_encode`], borrowing when nothing needs encoding (the usual case for ids and dates).
fn percent_encode_cow(s: &str) -> Cow<'_, str> {
    if s.bytes().all(is_unreserved) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(percent_encode(s))
    }
}

fn push_percent_encoded(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
            out.push(char::from(UPPER_HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Decode one `application/x-www-form-urlencoded` component: `+` becomes a space, `%XY` the byte
/// `0xXY` (either hex case); everything else is kept as is.
///
/// Errors on a `%` not followed by two hex digits (`%zz`, a trailing `%4`) and on a result that
/// is not valid UTF-8 (`%FF`).
pub fn form_decode(s: &str) -> Result<String, DecodeError> {
    form_decode_cow(s).map(Cow::into_owned)
}

/// [`form_decode`], borrowing when there is nothing to decode (no `+`, no `%`).
pub fn form_decode_cow(s: &str) -> Result<Cow<'_, str>, DecodeError> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => return Err(DecodeError::InvalidEscape { offset: i }),
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| DecodeError::InvalidUtf8)
}

/// Parse a query string or form body into decoded `(name, value)` pairs, in order.
///
/// Segments are separated by `&`; empty segments are skipped (so empty input gives an empty
/// vector); a segment without `=` is a name with an empty value (`"a=1&b"` gives `("b", "")`);
/// only the first `=` separates name from value. Each side goes through [`form_decode`].
pub fn parse_form(s: &str) -> Result<Vec<(String, String)>, DecodeError> {
    Ok(parse_form_cow(s)?
        .into_iter()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect())
}

/// A decoded `(name, value)` pair that borrows from its input where nothing needed decoding.
pub type CowPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// [`parse_form`], borrowing every name and value that needs no decoding (the server's hot path).
pub fn parse_form_cow(s: &str) -> Result<Vec<CowPair<'_>>, DecodeError> {
    s.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            Ok((form_decode_cow(name)?, form_decode_cow(value)?))
        })
        .collect()
}

/// The canonical query of both V2 and V3: each name and value [`percent_encode`]d, sorted by
/// encoded name then encoded value (byte order), `name=value` joined by `&` (`name=` for an empty
/// value); the empty string when there are no parameters.
pub fn canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    push_canonical_query(&mut out, params);
    out
}

/// Appends [`canonical_query`] to `out`.
pub(crate) fn push_canonical_query<K: AsRef<str>, V: AsRef<str>>(
    out: &mut String,
    params: &[(K, V)],
) {
    let mut encoded: Vec<(Cow<'_, str>, Cow<'_, str>)> = params
        .iter()
        .map(|(k, v)| {
            (
                percent_encode_cow(k.as_ref()),
                percent_encode_cow(v.as_ref()),
            )
        })
        .collect();
    encoded.sort_unstable();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// Serialize pairs into a query string / form body, in the given order, each name and value
/// [`percent_encode`]d (so space is `%20`). [`parse_form`] gives the same pairs back.
pub fn encode_form(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_percent_encoded(&mut out, name);
        out.push('=');
        push_percent_encoded(&mut out, value);
    }
    out
}
