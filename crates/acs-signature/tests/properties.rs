//! Property tests: sign-then-verify round trips through the wire, tamper detection, encoding
//! round trips, and total (panic-free) parsers.

use acs_signature::v3::{self, CanonicalInput, SignRequest};
use acs_signature::{encode_form, form_decode, parse_form, percent_encode, v2, V3Algorithm};
use proptest::prelude::*;
use proptest::sample::Index;

/// Unicode text biased towards the characters that matter to encoding: reserved ones, `%`,
/// space, `~`, `*`, multi-byte and non-BMP characters.
fn text() -> impl Strategy<Value = String> {
    let awkward = prop::sample::select(vec![
        '/',
        '&',
        '=',
        '+',
        '~',
        '*',
        '%',
        ' ',
        ';',
        ',',
        '?',
        '#',
        'é',
        '😀',
        '\u{10FFFF}',
        '\u{0}',
        'a',
        'Z',
        '0',
        '-',
        '_',
        '.',
    ]);
    prop::collection::vec(prop_oneof![2 => any::<char>(), 3 => awkward], 0..12)
        .prop_map(|chars| chars.into_iter().collect())
}

fn params(min: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), min..6)
}

fn algorithm() -> impl Strategy<Value = V3Algorithm> {
    prop_oneof![Just(V3Algorithm::HmacSha256), Just(V3Algorithm::HmacSm3)]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![Just("POST".to_owned()), Just("GET".to_owned())]
}

/// A header value as a client would send one: visible ASCII.
fn header_value() -> impl Strategy<Value = String> {
    "[!-~]{1,24}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

/// Replace one character of `s` (or insert one into an empty string) so that it differs.
fn mutate(s: &str, at: &Index, replacement: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return replacement.to_string();
    }
    let i = at.index(chars.len());
    let mut out = chars.clone();
    out[i] = if chars[i] == replacement {
        if replacement == 'a' {
            'b'
        } else {
            'a'
        }
    } else {
        replacement
    };
    out.into_iter().collect()
}

/// A V3 request as the server receives it.
#[derive(Debug, Clone)]
struct V3Wire {
    method: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct V3Case {
    algorithm: V3Algorithm,
    method: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    host: String,
    action: String,
    version: String,
    date: String,
    nonce: String,
    content_type: Option<String>,
    token: Option<String>,
    access_key_id: String,
    secret: String,
}

fn v3_case() -> impl Strategy<Value = V3Case> {
    (
        (algorithm(), method(), params(0), body()),
        (
            header_value(),
            header_value(),
            header_value(),
            header_value(),
            header_value(),
        ),
        (
            prop::option::of(header_value()),
            prop::option::of(header_value()),
            "[A-Za-z0-9.]{1,24}",
            text(),
        ),
    )
        .prop_map(
            |(
                (algorithm, method, query, body),
                (host, action, version, date, nonce),
                (content_type, token, access_key_id, secret),
            )| V3Case {
                algorithm,
                method,
                query,
                body,
                host,
                action,
                version,
                date,
                nonce,
                content_type,
                token,
                access_key_id,
                secret,
            },
        )
}

/// Client side: sign, then put the request on the wire (query form-encoded, then decoded).
fn send(case: &V3Case) -> V3Wire {
    let headers = v3::sign_request(&SignRequest {
        algorithm: case.algorithm,
        method: &case.method,
        host: &case.host,
        action: &case.action,
        version: &case.version,
        query: &case.query,
        body: &case.body,
        content_type: case.content_type.as_deref(),
        access_key_id: &case.access_key_id,
        access_key_secret: &case.secret,
        security_token: case.token.as_deref(),
        date: &case.date,
        nonce: &case.nonce,
    });
    let query = parse_form(&encode_form(&case.query)).expect("our own encoding decodes");
    V3Wire {
        method: case.method.clone(),
        query,
        headers,
        body: case.body.clone(),
    }
}

/// Server side: everything but the policy and replay checks, with the payload hash recomputed
/// from the body received.
fn v3_verifies(secret: &str, wire: &V3Wire) -> bool {
    let Some((_, value)) = wire.headers.iter().find(|(n, _)| n == "authorization") else {
        return false;
    };
    let Ok(auth) = v3::parse_authorization(value) else {
        return false;
    };
    if !v3::unsigned_required_headers(&wire.headers, &auth.signed_headers).is_empty() {
        return false;
    }
    let payload_hash = v3::hash_payload(auth.algorithm, &wire.body);
    let Ok(canonical) = v3::canonical_request(&CanonicalInput {
        method: &wire.method,
        path: "/",
        query: &wire.query,
        headers: &wire.headers,
        signed_headers: &auth.signed_headers,
        payload_hash: &payload_hash,
    }) else {
        return false;
    };
    let to_sign = v3::string_to_sign(auth.algorithm, &canonical);
    v3::verify(auth.algorithm, secret.as_bytes(), &to_sign, &auth.signature)
}

#[derive(Debug, Clone)]
struct V2Case {
    method: String,
    params: Vec<(String, String)>,
    action: String,
    version: String,
    access_key_id: String,
    secret: String,
    token: Option<String>,
    timestamp: String,
    nonce: String,
    format: String,
}

fn v2_case() -> impl Strategy<Value = V2Case> {
    (
        (method(), params(0), text(), text()),
        ("[A-Za-z0-9.]{1,24}", text(), prop::option::of(text())),
        (
            text(),
            text(),
            prop_oneof![Just("JSON"), Just("XML"), Just("json")],
        ),
    )
        .prop_map(
            |(
                (method, params, action, version),
                (access_key_id, secret, token),
                (timestamp, nonce, format),
            )| V2Case {
                method,
                params,
                action,
                version,
                access_key_id,
                secret,
                token,
                timestamp,
                nonce,
                format: format.to_owned(),
            },
        )
}

/// Client side: sign and put on the wire; returns the decoded parameters the server sees.
fn v2_send(case: &V2Case) -> Vec<(String, String)> {
    let signed = v2::sign_params(&v2::SignParams {
        method: &case.method,
        action: &case.action,
        version: &case.version,
        params: &case.params,
        access_key_id: &case.access_key_id,
        access_key_secret: &case.secret,
        security_token: case.token.as_deref(),
        timestamp: &case.timestamp,
        nonce: &case.nonce,
        format: &case.format,
    });
    parse_form(&encode_form(&signed)).expect("our own encoding decodes")
}

fn v2_verifies(secret: &str, method: &str, params: &[(String, String)]) -> bool {
    let Some((_, sig)) = params.iter().rev().find(|(n, _)| n == "Signature") else {
        return false;
    };
    v2::verify(secret.as_bytes(), &v2::string_to_sign(method, params), sig)
}

proptest! {
    #[test]
    fn v3_round_trip(case in v3_case()) {
        let wire = send(&case);
        prop_assert!(v3_verifies(&case.secret, &wire));
        // The payload hash header matches the body, under the right algorithm.
        let sent = wire.headers.iter().find(|(n, _)| n == "x-acs-content-sha256").map(|(_, v)| v.clone());
        prop_assert_eq!(sent, Some(v3::hash_payload(case.algorithm, &case.body)));
        // And a different secret does not verify.
        let other = format!("{}x", case.secret);
        prop_assert!(!v3_verifies(&other, &wire));
    }

    #[test]
    fn v3_tampered_method_fails(case in v3_case(), at in any::<Index>(), c in prop::char::range('A', 'Z')) {
        let mut wire = send(&case);
        wire.method = mutate(&wire.method, &at, c);
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v3_tampered_signed_header_fails(
        case in v3_case(),
        which in any::<Index>(),
        at in any::<Index>(),
        c in prop::char::range('!', '~'),
    ) {
        let mut wire = send(&case);
        let signed = wire.headers.len() - 1; // all but `authorization`, which is last
        let h = which.index(signed);
        prop_assert_ne!(wire.headers[h].0.as_str(), "authorization");
        wire.headers[h].1 = mutate(&wire.headers[h].1, &at, c);
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v3_tampered_param_name_fails(
        mut case in v3_case(),
        query in params(1),
        which in any::<Index>(),
        at in any::<Index>(),
        c in any::<char>(),
    ) {
        case.query = query;
        let mut wire = send(&case);
        let p = which.index(wire.query.len());
        wire.query[p].0 = mutate(&wire.query[p].0, &at, c);
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v3_tampered_param_value_fails(
        mut case in v3_case(),
        query in params(1),
        which in any::<Index>(),
        at in any::<Index>(),
        c in any::<char>(),
    ) {
        case.query = query;
        let mut wire = send(&case);
        let p = which.index(wire.query.len());
        wire.query[p].1 = mutate(&wire.query[p].1, &at, c);
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v3_tampered_body_fails(case in v3_case(), at in any::<Index>(), byte in any::<u8>()) {
        let mut wire = send(&case);
        if wire.body.is_empty() {
            wire.body.push(byte);
        } else {
            let i = at.index(wire.body.len());
            wire.body[i] = if wire.body[i] == byte { byte.wrapping_add(1) } else { byte };
        }
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v3_dropped_or_added_param_fails(case in v3_case(), which in any::<Index>(), extra in (text(), text())) {
        let mut wire = send(&case);
        if wire.query.is_empty() {
            wire.query.push(extra);
        } else {
            let p = which.index(wire.query.len());
            wire.query.remove(p);
        }
        prop_assert!(!v3_verifies(&case.secret, &wire));
    }

    #[test]
    fn v2_round_trip(case in v2_case()) {
        let received = v2_send(&case);
        prop_assert!(v2_verifies(&case.secret, &case.method, &received));
        let other = format!("{}x", case.secret);
        prop_assert!(!v2_verifies(&other, &case.method, &received));
    }

    #[test]
    fn v2_tampered_method_fails(case in v2_case(), at in any::<Index>(), c in prop::char::range('A', 'Z')) {
        let received = v2_send(&case);
        let method = mutate(&case.method, &at, c);
        prop_assert!(!v2_verifies(&case.secret, &method, &received));
    }

    #[test]
    fn v2_tampered_param_fails(
        case in v2_case(),
        which in any::<Index>(),
        at in any::<Index>(),
        c in any::<char>(),
        in_name in any::<bool>(),
    ) {
        let mut received = v2_send(&case);
        // Any parameter but the trailing Signature itself.
        let p = which.index(received.len() - 1);
        if in_name {
            received[p].0 = mutate(&received[p].0, &at, c);
        } else {
            received[p].1 = mutate(&received[p].1, &at, c);
        }
        prop_assert!(!v2_verifies(&case.secret, &case.method, &received));
    }

    #[test]
    fn percent_encode_then_form_decode_is_identity(s in text()) {
        prop_assert_eq!(form_decode(&percent_encode(&s)), Ok(s));
    }

    #[test]
    fn percent_encode_then_form_decode_is_identity_any(s in any::<String>()) {
        let encoded = percent_encode(&s);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        prop_assert_eq!(form_decode(&encoded), Ok(s));
    }

    #[test]
    fn encode_form_then_parse_form_is_identity(pairs in params(0)) {
        prop_assert_eq!(parse_form(&encode_form(&pairs)), Ok(pairs));
    }

    #[test]
    fn form_decode_never_panics(s in any::<String>()) {
        let _ = form_decode(&s);
        let _ = parse_form(&s);
    }

    #[test]
    fn form_decode_never_panics_escapes(s in "[%+0-9a-fA-FgGzZ=&é😀 ]{0,32}") {
        if let Ok(decoded) = form_decode(&s) {
            // Whatever decodes is a fixed point of encode-then-decode.
            prop_assert_eq!(form_decode(&percent_encode(&decoded)), Ok(decoded));
        }
        let _ = parse_form(&s);
    }

    #[test]
    fn parse_authorization_never_panics(s in any::<String>()) {
        let _ = v3::parse_authorization(&s);
    }

    #[test]
    fn parse_authorization_never_panics_structured(
        alg in prop_oneof![
            Just("ACS3-HMAC-SHA256".to_owned()),
            Just("ACS3-HMAC-SM3".to_owned()),
            Just("ACS3".to_owned()),
            "[ -~é]{0,8}",
        ],
        sep in "[ \t,]{0,3}",
        parts in prop::collection::vec(
            (
                prop_oneof![
                    Just("Credential".to_owned()),
                    Just("SignedHeaders".to_owned()),
                    Just("Signature".to_owned()),
                    "[a-zA-Z]{0,4}",
                ],
                "[=]{0,2}",
                "[a-zA-Z0-9;, =é😀-]{0,16}",
            ),
            0..5,
        ),
    ) {
        let body: Vec<String> = parts.iter().map(|(k, eq, v)| format!("{k}{eq}{v}")).collect();
        let value = format!("{alg}{sep}{}", body.join(","));
        if let Ok(auth) = v3::parse_authorization(&value) {
            // Whatever parses re-serialises to something that parses the same.
            prop_assert_eq!(v3::parse_authorization(&auth.to_header_value()), Ok(auth));
        }
    }

    #[test]
    fn authorization_display_parse_round_trip(
        alg in algorithm(),
        id in "[A-Za-z0-9._-]{1,24}",
        headers in prop::collection::btree_set("[a-z0-9-]{1,12}", 1..8),
        sig in "[0-9a-fA-F]{1,64}",
    ) {
        let auth = v3::Authorization {
            algorithm: alg,
            access_key_id: id,
            signed_headers: headers.into_iter().collect(),
            signature: sig,
        };
        prop_assert_eq!(v3::parse_authorization(&auth.to_header_value()), Ok(auth));
    }
}
