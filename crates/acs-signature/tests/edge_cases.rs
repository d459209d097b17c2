//! Unit tests for edge cases of encoding, canonicalisation and header parsing.

use acs_signature::v3::{self, CanonicalInput};
use acs_signature::{
    canonical_query, encode_form, form_decode, parse_form, percent_encode, v2, AuthorizationError,
    DecodeError, SignError, V3Algorithm,
};

fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn percent_encode_edges() {
    assert_eq!(percent_encode("~"), "~");
    assert_eq!(percent_encode("*"), "%2A");
    assert_eq!(percent_encode(" "), "%20");
    assert_eq!(percent_encode("é"), "%C3%A9");
    assert_eq!(percent_encode("😀"), "%F0%9F%98%80");
    assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(percent_encode("/&=+%"), "%2F%26%3D%2B%25");
    assert_eq!(percent_encode(""), "");
}

#[test]
fn form_decode_edges() {
    assert_eq!(form_decode("a+b%2A").as_deref(), Ok("a b*"));
    assert_eq!(form_decode("%2a%2A").as_deref(), Ok("**"));
    assert_eq!(form_decode("%C3%A9%F0%9F%98%80").as_deref(), Ok("é😀"));
    assert_eq!(form_decode("é~").as_deref(), Ok("é~"));
    assert_eq!(form_decode("%2B").as_deref(), Ok("+"));
    assert_eq!(form_decode("").as_deref(), Ok(""));
    assert_eq!(
        form_decode("%G1"),
        Err(DecodeError::InvalidEscape { offset: 0 })
    );
    assert_eq!(
        form_decode("ab%zz"),
        Err(DecodeError::InvalidEscape { offset: 2 })
    );
    assert_eq!(
        form_decode("%4"),
        Err(DecodeError::InvalidEscape { offset: 0 })
    );
    assert_eq!(
        form_decode("%"),
        Err(DecodeError::InvalidEscape { offset: 0 })
    );
    assert_eq!(form_decode("%FF"), Err(DecodeError::InvalidUtf8));
    assert_eq!(form_decode("%C3"), Err(DecodeError::InvalidUtf8));
    // A multi-byte char right after '%' is a bad escape, not a panic.
    assert!(form_decode("%é").is_err());
    assert!(form_decode("%4é").is_err());
}

#[test]
fn parse_form_edges() {
    assert_eq!(parse_form(""), Ok(vec![]));
    assert_eq!(parse_form("&&"), Ok(vec![]));
    assert_eq!(parse_form("a=1&b"), Ok(s(&[("a", "1"), ("b", "")])));
    assert_eq!(
        parse_form("a=1&&b=x=y&=v&c="),
        Ok(s(&[("a", "1"), ("b", "x=y"), ("", "v"), ("c", "")]))
    );
    assert_eq!(
        parse_form("Name=n+a&Page=%7B%22Index%22%3A1%7D"),
        Ok(s(&[("Name", "n a"), ("Page", "{\"Index\":1}")]))
    );
    assert!(parse_form("a=%zz").is_err());
    assert!(parse_form("%FF=1").is_err());
}

#[test]
fn encode_form_round_trips() {
    let pairs = s(&[("a b", "c&d=e"), ("", ""), ("x", ""), ("é", "+*~")]);
    let encoded = encode_form(&pairs);
    assert_eq!(encoded, "a%20b=c%26d%3De&=&x=&%C3%A9=%2B%2A~");
    assert_eq!(parse_form(&encoded), Ok(pairs));
    assert_eq!(encode_form(&[]), "");
}

#[test]
fn canonical_query_edges() {
    let empty: [(&str, &str); 0] = [];
    assert_eq!(canonical_query(&empty), "");
    assert_eq!(canonical_query(&[("b", ""), ("a", "1")]), "a=1&b=");
    assert_eq!(
        canonical_query(&[("k", "z"), ("k", "a"), ("k", ""), ("j", "2")]),
        "j=2&k=&k=a&k=z"
    );
    // Sorted by the encoded bytes: "%20" < "-" < "A" < "a".
    assert_eq!(
        canonical_query(&[("a", "1"), ("A", "1"), ("-", "1"), (" ", "1")]),
        "%20=1&-=1&A=1&a=1"
    );
    assert_eq!(
        canonical_query(&s(&[("CustSpaceId", "cs 1~*"), ("CampaignId", "c/1&x=y")])),
        "CampaignId=c%2F1%26x%3Dy&CustSpaceId=cs%201~%2A"
    );
}

#[test]
fn algorithm_names() {
    for alg in V3Algorithm::ALL {
        assert_eq!(V3Algorithm::from_name(alg.name()), Some(alg));
        assert_eq!(alg.to_string(), alg.name());
    }
    assert_eq!(V3Algorithm::HmacSha256.name(), "ACS3-HMAC-SHA256");
    assert_eq!(V3Algorithm::HmacSm3.name(), "ACS3-HMAC-SM3");
    assert_eq!(V3Algorithm::from_name("acs3-hmac-sha256"), None);
    assert_eq!(V3Algorithm::from_name("ACS3-RSA-SHA256"), None);
    assert_eq!(V3Algorithm::from_name(""), None);
}

#[test]
fn hash_payload_known_values() {
    assert_eq!(
        v3::hash_payload(V3Algorithm::HmacSha256, b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // GB/T 32905 example: SM3("abc").
    assert_eq!(
        v3::hash_payload(V3Algorithm::HmacSm3, b"abc"),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
}

fn headers() -> Vec<(String, String)> {
    s(&[
        ("Host", "  example.com "),
        ("X-Acs-Multi", "a"),
        ("x-acs-multi", " b "),
        ("x-acs-date", "2026-01-01T00:00:00Z"),
    ])
}

#[test]
fn canonical_request_trims_joins_and_matches_case_insensitively() {
    let headers = headers();
    let signed = vec![
        "host".to_owned(),
        "x-acs-date".to_owned(),
        "x-acs-multi".to_owned(),
    ];
    let query = s(&[("b", "2"), ("a", "")]);
    let canonical = v3::canonical_request(&CanonicalInput {
        method: "GET",
        path: "/",
        query: &query,
        headers: &headers,
        signed_headers: &signed,
        payload_hash: "abc",
    });
    assert_eq!(
        canonical.as_deref(),
        Ok("GET\n/\na=&b=2\nhost:example.com\nx-acs-date:2026-01-01T00:00:00Z\nx-acs-multi:a,b\n\nhost;x-acs-date;x-acs-multi\nabc")
    );
}

#[test]
fn canonical_request_missing_signed_header() {
    let headers = headers();
    let signed = vec!["host".to_owned(), "x-acs-action".to_owned()];
    let result = v3::canonical_request(&CanonicalInput::<String, String> {
        method: "POST",
        path: "/",
        query: &[],
        headers: &headers,
        signed_headers: &signed,
        payload_hash: "",
    });
    assert_eq!(
        result,
        Err(SignError::MissingSignedHeader("x-acs-action".to_owned()))
    );
}

#[test]
fn canonical_request_no_signed_headers() {
    let canonical = v3::canonical_request(&CanonicalInput::<&str, &str> {
        method: "POST",
        path: "/",
        query: &[],
        headers: &[],
        signed_headers: &[],
        payload_hash: "h",
    });
    assert_eq!(canonical.as_deref(), Ok("POST\n/\n\n\n\nh"));
}

const GOOD: &str =
    "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date,Signature=abcDEF01";

#[test]
fn parse_authorization_accepts_variants() {
    let auth = v3::parse_authorization(GOOD).expect("good");
    assert_eq!(auth.algorithm, V3Algorithm::HmacSha256);
    assert_eq!(auth.access_key_id, "id");
    assert_eq!(auth.signed_headers, vec!["host", "x-acs-date"]);
    assert_eq!(auth.signature, "abcDEF01");
    assert_eq!(auth.to_header_value(), GOOD);

    let spaced = v3::parse_authorization(
        "  ACS3-HMAC-SM3   Credential=id, SignedHeaders=host;x-acs-date,  Signature=abcDEF01 ",
    )
    .expect("spaces after commas");
    assert_eq!(spaced.algorithm, V3Algorithm::HmacSm3);
    assert_eq!(spaced.signed_headers, auth.signed_headers);

    let reordered = v3::parse_authorization(
        "ACS3-HMAC-SHA256 Signature=abcDEF01,Credential=id,SignedHeaders=host;x-acs-date",
    )
    .expect("any order");
    assert_eq!(reordered, auth);
}

#[test]
fn parse_authorization_rejections() {
    use AuthorizationError::*;
    let cases: &[(&str, AuthorizationError)] = &[
        ("", Empty),
        ("   ", Empty),
        (
            "ACS3-HMAC-SHA1 Credential=id,SignedHeaders=host,Signature=ab",
            UnknownAlgorithm("ACS3-HMAC-SHA1".to_owned()),
        ),
        (
            "acs3-hmac-sha256 Credential=id,SignedHeaders=host,Signature=ab",
            UnknownAlgorithm("acs3-hmac-sha256".to_owned()),
        ),
        ("Bearer xyz", UnknownAlgorithm("Bearer".to_owned())),
        ("ACS3-HMAC-SHA256", MissingPart("Credential")),
        (
            "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=ab",
            MissingPart("Credential"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,Signature=ab",
            MissingPart("SignedHeaders"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host",
            MissingPart("Signature"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,Credential=id2,SignedHeaders=host,Signature=ab",
            DuplicatePart("Credential"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab",
            EmptyPart("Credential"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=,Signature=ab",
            EmptyPart("SignedHeaders"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=",
            EmptyPart("Signature"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab,Extra=1",
            UnexpectedPart("Extra".to_owned()),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,,SignedHeaders=host,Signature=ab",
            Malformed("empty component"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab,",
            Malformed("empty component"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential id,SignedHeaders=host,Signature=ab",
            Malformed("component without '='"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=Host,Signature=ab",
            InvalidSignedHeader {
                name: "Host".to_owned(),
                reason: "not lowercase",
            },
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;;x-acs-date,Signature=ab",
            InvalidSignedHeader {
                name: String::new(),
                reason: "empty name",
            },
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;,Signature=ab",
            InvalidSignedHeader {
                name: String::new(),
                reason: "empty name",
            },
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;ho st,Signature=ab",
            InvalidSignedHeader {
                name: "ho st".to_owned(),
                reason: "not a valid header name",
            },
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;host,Signature=ab",
            InvalidSignedHeader {
                name: "host".to_owned(),
                reason: "listed twice",
            },
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=xyz",
            InvalidSignature,
        ),
        (
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab cd",
            InvalidSignature,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            v3::parse_authorization(input).as_ref(),
            Err(expected),
            "{input:?}"
        );
    }
}

#[test]
fn verify_rejects_malformed_provided_values() {
    let to_sign = v3::string_to_sign(V3Algorithm::HmacSha256, "x");
    let good = v3::signature(V3Algorithm::HmacSha256, b"k", &to_sign);
    assert!(v3::verify(V3Algorithm::HmacSha256, b"k", &to_sign, &good));
    assert!(!v3::verify(V3Algorithm::HmacSha256, b"k", &to_sign, ""));
    assert!(!v3::verify(V3Algorithm::HmacSha256, b"k", &to_sign, "zz"));
    assert!(!v3::verify(
        V3Algorithm::HmacSha256,
        b"k",
        &to_sign,
        &good[..63]
    ));
    assert!(!v3::verify(
        V3Algorithm::HmacSha256,
        b"k",
        &to_sign,
        &good[..62]
    ));
    assert!(!v3::verify(
        V3Algorithm::HmacSha256,
        b"k",
        &to_sign,
        &format!("{good}00")
    ));

    let to_sign = v2::string_to_sign::<&str>("GET", &[]);
    assert_eq!(to_sign, "GET&%2F&");
    let good = v2::signature(b"k", &to_sign);
    assert!(v2::verify(b"k", &to_sign, &good));
    assert!(!v2::verify(b"k", &to_sign, ""));
    assert!(!v2::verify(b"k", &to_sign, "!!!"));
    assert!(!v2::verify(b"k", &to_sign, good.trim_end_matches('=')));
    // A '+' that reached us as a space (an unencoded '+' form-decoded) does not verify.
    let (to_sign, good) = (0..200)
        .map(|i| {
            let to_sign = format!("GET&%2F&{i}");
            let sig = v2::signature(b"k", &to_sign);
            (to_sign, sig)
        })
        .find(|(_, sig)| sig.contains('+'))
        .expect("some signature contains '+'");
    assert!(v2::verify(b"k", &to_sign, &good));
    assert!(!v2::verify(b"k", &to_sign, &good.replace('+', " ")));
}

#[test]
fn unsigned_required_headers_policy() {
    let headers = s(&[
        ("Host", "h"),
        ("X-Acs-Action", "A"),
        ("x-acs-version", "v"),
        ("x-acs-date", "d"),
        ("x-acs-content-sha256", "c"),
        ("x-acs-signature-nonce", "n"),
        ("Content-Type", "application/json"),
        ("user-agent", "ua"),
        ("accept", "*/*"),
    ]);
    let all: Vec<String> = [
        "content-type",
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-version",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    assert!(v3::unsigned_required_headers(&headers, &all).is_empty());

    let partial: Vec<String> = all
        .iter()
        .filter(|h| *h != "content-type" && *h != "x-acs-signature-nonce")
        .cloned()
        .collect();
    assert_eq!(
        v3::unsigned_required_headers(&headers, &partial),
        vec!["content-type", "x-acs-signature-nonce"]
    );

    // The always-required ones count even when absent from the request.
    assert_eq!(
        v3::unsigned_required_headers::<&str>(&[], &[]),
        vec![
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-version"
        ]
    );
}

#[test]
fn sign_request_header_set() {
    let query = s(&[("A", "1")]);
    let headers = v3::sign_request(&v3::SignRequest {
        algorithm: V3Algorithm::HmacSm3,
        method: "POST",
        host: "h.example",
        action: "Act",
        version: "2020-06-06",
        query: &query,
        body: b"x=1",
        content_type: Some("application/x-www-form-urlencoded"),
        access_key_id: "STS.id",
        access_key_secret: "secret",
        security_token: Some("tok"),
        date: "2026-01-01T00:00:00Z",
        nonce: "n1",
    });
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "content-type",
            "host",
            "x-acs-accesskey-id",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-security-token",
            "x-acs-signature-nonce",
            "x-acs-version",
            "authorization",
        ]
    );
    let auth = v3::parse_authorization(&headers[9].1).expect("parse");
    assert_eq!(auth.algorithm, V3Algorithm::HmacSm3);
    assert_eq!(auth.access_key_id, "STS.id");
    assert_eq!(auth.signed_headers, names[..9].to_vec());
    assert_eq!(headers[2].1, "STS.id");
    assert_eq!(headers[6].1, "tok");
    assert_eq!(headers[4].1, v3::hash_payload(V3Algorithm::HmacSm3, b"x=1"));
}

#[test]
fn sign_params_with_token() {
    let params = s(&[("CustSpaceId", "cs 1")]);
    let signed = v2::sign_params(&v2::SignParams {
        method: "GET",
        action: "ListX",
        version: "2020-06-06",
        params: &params,
        access_key_id: "STS.id",
        access_key_secret: "secret",
        security_token: Some("tok+/="),
        timestamp: "2026-01-01T00:00:00Z",
        nonce: "n1",
        format: "JSON",
    });
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Action",
            "Version",
            "Format",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
            "SecurityToken",
            "CustSpaceId",
            "Signature",
        ]
    );
    assert_eq!(signed[4].1, "HMAC-SHA1");
    assert_eq!(signed[5].1, "1.0");
    // Through the wire and back.
    let received = parse_form(&encode_form(&signed)).expect("decode");
    let to_sign = v2::string_to_sign("GET", &received);
    assert!(v2::verify(b"secret", &to_sign, &signed[10].1));
}
