//! The native NDJSON event format: errors, large ids, round trips, and robustness on arbitrary bytes.

mod common;

use common::*;
use insights::{parse_native_event, parse_price, to_native_line, Event, EventError, EventKind};
use proptest::prelude::*;

fn err(line: &str) -> String {
    match parse_native_event(line.as_bytes()) {
        Ok(e) => panic!("expected an error for {line}, got {e:?}"),
        Err(e) => e.to_string(),
    }
}

const OK: &str = r#"{"campaign_id":"2390001","recipient":"psid-81","event":"delivered","timestamp":"2025-07-02T09:15:00Z","country":"BR","event_id":"e-1","price":"0.0141"}"#;

#[test]
fn documented_example_line() {
    let e = parse_native_event(OK.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.campaign_id, "2390001");
    assert_eq!(e.recipient, "psid-81");
    assert_eq!(e.kind, EventKind::Delivered);
    assert_eq!(e.timestamp_ms, ms("2025-07-02T09:15:00Z"));
    assert_eq!(e.country, Some(country("BR")));
    assert_eq!(e.event_id.as_deref(), Some("e-1"));
    assert_eq!(e.price_micros, Some(14_100));
}

#[test]
fn every_error_reason() {
    assert_eq!(
        err(r#"{"recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "missing field `campaign_id`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","event":"sent","timestamp":1751447700000}"#),
        "missing field `recipient`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","timestamp":1751447700000}"#),
        "missing field `event`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"sent"}"#),
        "missing field `timestamp`"
    );
    assert_eq!(
        err(r#"{"campaign_id":null,"recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "missing field `campaign_id`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"clicked","timestamp":1751447700000}"#),
        "unknown event kind `clicked`"
    );
    assert_eq!(
        err(
            r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":"1999-12-31T23:59:59.999Z"}"#
        ),
        "timestamp out of range"
    );
    assert_eq!(
        err(
            r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":"2100-01-01T00:00:00Z"}"#
        ),
        "timestamp out of range"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":1751447700}"#),
        "timestamp out of range"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":-5}"#),
        "timestamp out of range"
    );
    assert_eq!(
        err(
            r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":99999999999999999999999}"#
        ),
        "timestamp out of range"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":"yesterday"}"#),
        "malformed timestamp `yesterday`"
    );
    assert_eq!(
        err(
            r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":"2025-07-02T09:15:00"}"#
        ),
        "malformed timestamp `2025-07-02T09:15:00`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"r","event":"sent","timestamp":1.5e12}"#),
        "malformed timestamp `1.5e12`"
    );
    let base = r#""campaign_id":"1","recipient":"r","event":"sent","timestamp":1751447700000"#;
    assert_eq!(
        err(&format!(r#"{{{base},"price":"1,2"}}"#)),
        "malformed price `1,2`"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":"-0.5"}}"#)),
        "negative price"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":-0.5}}"#)),
        "negative price"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":"0.0000001"}}"#)),
        "price `0.0000001` has more than 6 decimal places"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":1e-3}}"#)),
        "malformed price `1e-3`"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":"99999999999999999"}}"#)),
        "price `99999999999999999` out of range"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"price":true}}"#)),
        "invalid type for field `price`: expected a decimal string"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"country":"XX"}}"#)),
        "unknown country code `XX`"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"country":"USA"}}"#)),
        "unknown country code `USA`"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"event":"read"}}"#)),
        "duplicate field `event`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"","recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "empty field `campaign_id`"
    );
    assert_eq!(
        err(r#"{"campaign_id":"1","recipient":"","event":"sent","timestamp":1751447700000}"#),
        "empty field `recipient`"
    );
    let long = "x".repeat(257);
    assert_eq!(
        err(&format!(
            r#"{{"campaign_id":"1","recipient":"{long}","event":"sent","timestamp":1751447700000}}"#
        )),
        "field `recipient` is longer than 256 bytes"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"event_id":"{long}"}}"#)),
        "field `event_id` is longer than 256 bytes"
    );
    assert_eq!(
        err(r#"{"campaign_id":1.5,"recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "invalid type for field `campaign_id`: expected a string or an integer"
    );
    assert_eq!(
        err(r#"{"campaign_id":-1,"recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "invalid type for field `campaign_id`: expected a string or an integer"
    );
    assert_eq!(
        err(r#"{"campaign_id":["1"],"recipient":"r","event":"sent","timestamp":1751447700000}"#),
        "invalid type for field `campaign_id`: expected a string or an integer"
    );
    // Syntax errors carry the 1-based byte column.
    assert_eq!(err(r#"{"campaign_id": 12x}"#), "invalid JSON at column 19");
    assert_eq!(err(r#"{"campaign_id":"1",}"#), "invalid JSON at column 20");
    assert_eq!(err(""), "invalid JSON at column 1");
    assert_eq!(err("[]"), "invalid JSON at column 1");
    assert_eq!(
        err(&format!("{{{base}}} trailing")),
        "invalid JSON at column 78"
    );
    assert_eq!(
        err("{\"campaign_id\":\"a\u{1}\"}"),
        "invalid JSON at column 18"
    );
    assert_eq!(
        err(r#"{"campaign_id":"\ud800"}"#),
        "invalid JSON at column 23"
    );
}

#[test]
fn invalid_utf8_is_a_json_error() {
    let mut line = br#"{"campaign_id":""#.to_vec();
    line.extend_from_slice(&[0xff, 0xfe]);
    line.extend_from_slice(br#"","recipient":"r","event":"sent","timestamp":1751447700000}"#);
    assert_eq!(
        parse_native_event(&line),
        Err(EventError::InvalidJson { column: 17 })
    );
}

#[test]
fn large_ids_keep_every_digit() {
    let line = r#"{"campaign_id":123456789012345678901234,"recipient":98765432109876543210,"event":"click","timestamp":"1751447700000","event_id":18446744073709551617}"#;
    let e = parse_native_event(line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.campaign_id, "123456789012345678901234");
    assert_eq!(e.recipient, "98765432109876543210");
    assert_eq!(e.event_id.as_deref(), Some("18446744073709551617"));
    assert_eq!(e.timestamp_ms, 1_751_447_700_000);
}

#[test]
fn accepted_variants() {
    let p = |s: &str| parse_native_event(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"));
    // Offsets and fractions (truncated to ms), numeric-string epoch ms, case-insensitive kind and country.
    let e = p(
        r#"{"campaign_id":"1","recipient":"r","event":"READ","timestamp":"2025-07-02T14:45:00.123456+05:30","country":"br"}"#,
    );
    assert_eq!(e.timestamp_ms, ms("2025-07-02T09:15:00.123Z"));
    assert_eq!(e.kind, EventKind::Read);
    assert_eq!(e.country, Some(country("BR")));
    // Optional fields: null or empty are absent; unknown fields (even nested) are ignored; whitespace ok.
    let e = p(" {\"campaign_id\" : \"1\", \"recipient\":\"r\",\"event\":\"sent\",\"timestamp\":1751447700000,\"country\":null,\"event_id\":\"\",\"price\":null,\"extra\":{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}}\r\n");
    assert_eq!((e.country, e.event_id, e.price_micros), (None, None, None));
    // Price as a JSON number, read from its text; trailing zeros beyond 6 decimals are exact.
    let e = p(
        r#"{"campaign_id":"1","recipient":"r","event":"delivered","timestamp":1751447700000,"price":0.0141}"#,
    );
    assert_eq!(e.price_micros, Some(14_100));
    let e = p(
        r#"{"campaign_id":"1","recipient":"r","event":"delivered","timestamp":1751447700000,"price":"0.01410000"}"#,
    );
    assert_eq!(e.price_micros, Some(14_100));
    // Escapes in strings, including a surrogate pair.
    let e = p(
        r#"{"campaign_id":"1","recipient":"a\"b\\c\u00e9\ud83d\ude00","event":"sent","timestamp":1751447700000}"#,
    );
    assert_eq!(e.recipient, "a\"b\\cé😀");
}

#[test]
fn price_parsing() {
    assert_eq!(parse_price("0.0141"), Ok(14_100));
    assert_eq!(parse_price("38.87"), Ok(38_870_000));
    assert_eq!(parse_price("0"), Ok(0));
    assert_eq!(parse_price("-0"), Ok(0));
    assert_eq!(parse_price("007.5"), Ok(7_500_000));
    assert_eq!(parse_price("0.000001"), Ok(1));
    assert_eq!(parse_price("9223372036854.775807"), Ok(i64::MAX));
    for bad in [
        "", ".5", "5.", "1,2", "+1", " 1", "1e3", "0x10", "1.2.3", "-",
    ] {
        assert!(
            matches!(parse_price(bad), Err(EventError::MalformedPrice(_))),
            "{bad}"
        );
    }
    assert_eq!(
        parse_price("9223372036854.775808").map_err(|e| e.to_string()),
        Err("price `9223372036854.775808` out of range".into())
    );
}

#[test]
fn writing_the_documented_line_round_trips() {
    let e = parse_native_event(OK.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let line = to_native_line(&e);
    assert_eq!(
        line,
        r#"{"campaign_id":"2390001","recipient":"psid-81","event":"delivered","timestamp":"2025-07-02T09:15:00.000Z","country":"BR","event_id":"e-1","price":"0.0141"}"#
    );
    assert_eq!(parse_native_event(line.as_bytes()), Ok(e));
}

fn arb_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,30}",
        "[a-zA-Z0-9+_.-]{1,20}",
        proptest::collection::vec(any::<char>(), 1..12)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
    ]
    .prop_filter("1..=256 bytes", |s| !s.is_empty() && s.len() <= 256)
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        arb_id(),
        arb_id(),
        proptest::sample::select(EventKind::ALL.to_vec()),
        insights::MIN_TIMESTAMP_MS..=insights::MAX_TIMESTAMP_MS,
        proptest::option::of(proptest::sample::select(
            insights::CountryCode::all().collect::<Vec<_>>(),
        )),
        proptest::option::of(arb_id()),
        proptest::option::of(0i64..=i64::MAX),
    )
        .prop_map(
            |(campaign_id, recipient, kind, timestamp_ms, country, event_id, price_micros)| Event {
                campaign_id,
                recipient,
                kind,
                timestamp_ms,
                country,
                event_id,
                price_micros,
            },
        )
}

proptest! {
    #[test]
    fn round_trip(e in arb_event()) {
        let line = to_native_line(&e);
        prop_assert_eq!(parse_native_event(line.as_bytes()), Ok(e));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_native_event(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_lines(pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let mut line = OK.as_bytes().to_vec();
        let p = pos % line.len();
        line[p] = byte;
        line.truncate(cut.max(1).min(line.len()));
        let _ = parse_native_event(&line);
        let _ = parse_native_event(&OK.as_bytes()[..cut % OK.len()]);
    }

    #[test]
    fn never_panics_on_json_like_text(s in r#"[{}\[\]":,0-9a-z\\ .eE+-]{0,80}"#) {
        let _ = parse_native_event(s.as_bytes());
        let _ = parse_price(&s);
    }
}
