//! Every vector of `tests/data/signatures.json`, stage by stage.

use std::collections::BTreeMap;

use acs_signature::v3::{self, CanonicalInput, SignRequest};
use acs_signature::{v2, V3Algorithm};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(tag = "scheme")]
enum Vector {
    #[serde(rename = "v3")]
    V3(V3Vector),
    #[serde(rename = "v2")]
    V2(V2Vector),
}

#[derive(Debug, Deserialize)]
struct V3Vector {
    algorithm: String,
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: String,
    access_key_id: String,
    access_key_secret: String,
    canonical_request: String,
    string_to_sign: String,
    signature: String,
    authorization: String,
}

#[derive(Debug, Deserialize)]
struct V2Vector {
    algorithm: String,
    method: String,
    params: BTreeMap<String, String>,
    access_key_secret: String,
    string_to_sign: String,
    signature: String,
}

fn vectors() -> Vec<(String, Vector)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/signatures.json");
    let text = std::fs::read_to_string(path).expect("read vectors");
    let map: BTreeMap<String, Vector> = serde_json::from_str(&text).expect("parse vectors");
    assert_eq!(map.len(), 8, "expected the 8 vectors T0, T1, A-F");
    map.into_iter().collect()
}

fn pairs(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Change one hex digit of a signature (keeping it hex).
fn flip_hex_digit(sig: &str, index: usize) -> String {
    sig.char_indices()
        .map(|(i, c)| {
            if i == index {
                if c == '0' {
                    '1'
                } else {
                    '0'
                }
            } else {
                c
            }
        })
        .collect()
}

fn v3_vectors() -> Vec<(String, V3Vector)> {
    vectors()
        .into_iter()
        .filter_map(|(name, v)| match v {
            Vector::V3(v) => Some((name, v)),
            Vector::V2(_) => None,
        })
        .collect()
}

fn v2_vectors() -> Vec<(String, V2Vector)> {
    vectors()
        .into_iter()
        .filter_map(|(name, v)| match v {
            Vector::V2(v) => Some((name, v)),
            Vector::V3(_) => None,
        })
        .collect()
}

#[test]
fn there_are_six_v3_and_two_v2_vectors() {
    assert_eq!(v3_vectors().len(), 6);
    assert_eq!(v2_vectors().len(), 2);
}

#[test]
fn v3_payload_hash_matches_header() {
    for (name, v) in v3_vectors() {
        let alg = V3Algorithm::from_name(&v.algorithm).expect("known algorithm");
        assert_eq!(
            v3::hash_payload(alg, v.body.as_bytes()),
            v.headers["x-acs-content-sha256"],
            "{name}"
        );
    }
}

#[test]
fn v3_stages() {
    for (name, v) in v3_vectors() {
        let alg = V3Algorithm::from_name(&v.algorithm).expect("known algorithm");
        assert_eq!(alg.name(), v.algorithm, "{name}");
        let query = pairs(&v.query);
        let headers = pairs(&v.headers);
        // Every header of a vector is signed; the names sort like the vector's list.
        let signed: Vec<String> = v.headers.keys().cloned().collect();
        let canonical = v3::canonical_request(&CanonicalInput {
            method: &v.method,
            path: &v.path,
            query: &query,
            headers: &headers,
            signed_headers: &signed,
            payload_hash: &v.headers["x-acs-content-sha256"],
        })
        .expect("canonical request");
        assert_eq!(canonical, v.canonical_request, "{name}: canonical request");

        let to_sign = v3::string_to_sign(alg, &canonical);
        assert_eq!(to_sign, v.string_to_sign, "{name}: string to sign");

        let sig = v3::signature(alg, v.access_key_secret.as_bytes(), &to_sign);
        assert_eq!(sig, v.signature, "{name}: signature");

        let auth = v3::Authorization {
            algorithm: alg,
            access_key_id: v.access_key_id.clone(),
            signed_headers: signed.clone(),
            signature: sig,
        };
        assert_eq!(
            auth.to_header_value(),
            v.authorization,
            "{name}: authorization"
        );
        assert_eq!(
            v3::parse_authorization(&v.authorization).expect("parse"),
            auth,
            "{name}: parse_authorization"
        );
        assert!(
            v3::unsigned_required_headers(&headers, &signed).is_empty(),
            "{name}: policy"
        );
    }
}

#[test]
fn v3_verify_accepts_and_rejects_one_digit_changed() {
    for (name, v) in v3_vectors() {
        let alg = V3Algorithm::from_name(&v.algorithm).expect("known algorithm");
        let secret = v.access_key_secret.as_bytes();
        assert!(
            v3::verify(alg, secret, &v.string_to_sign, &v.signature),
            "{name}"
        );
        assert!(
            v3::verify(
                alg,
                secret,
                &v.string_to_sign,
                &v.signature.to_ascii_uppercase()
            ),
            "{name}: uppercase hex"
        );
        for index in [0, 17, v.signature.len() - 1] {
            let bad = flip_hex_digit(&v.signature, index);
            assert_ne!(bad, v.signature);
            assert!(
                !v3::verify(alg, secret, &v.string_to_sign, &bad),
                "{name}: digit {index} changed"
            );
        }
        let other = match alg {
            V3Algorithm::HmacSha256 => V3Algorithm::HmacSm3,
            V3Algorithm::HmacSm3 => V3Algorithm::HmacSha256,
        };
        assert!(
            !v3::verify(other, secret, &v.string_to_sign, &v.signature),
            "{name}: other algorithm"
        );
        assert!(
            !v3::verify(alg, b"wrongsecret", &v.string_to_sign, &v.signature),
            "{name}: wrong secret"
        );
    }
}

/// `sign_request` with the vector's inputs gives headers our verifier accepts; when the vector
/// signs exactly the Go/Java header set (host, content-type, x-acs-*), even the same signature.
#[test]
fn v3_sign_request_verifies() {
    let mut reproduced = Vec::new();
    for (name, v) in v3_vectors() {
        let alg = V3Algorithm::from_name(&v.algorithm).expect("known algorithm");
        let query = pairs(&v.query);
        let req = SignRequest {
            algorithm: alg,
            method: &v.method,
            host: &v.headers["host"],
            action: &v.headers["x-acs-action"],
            version: &v.headers["x-acs-version"],
            query: &query,
            body: v.body.as_bytes(),
            content_type: v.headers.get("content-type").map(String::as_str),
            access_key_id: &v.access_key_id,
            access_key_secret: &v.access_key_secret,
            security_token: v.headers.get("x-acs-security-token").map(String::as_str),
            date: &v.headers["x-acs-date"],
            nonce: &v.headers["x-acs-signature-nonce"],
        };
        let headers = v3::sign_request(&req);

        // Server side, from the sent headers only.
        let authorization = headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, value)| value.clone())
            .expect("authorization header");
        let auth = v3::parse_authorization(&authorization).expect("parse");
        assert_eq!(auth.algorithm, alg, "{name}");
        assert_eq!(auth.access_key_id, v.access_key_id, "{name}");
        assert!(
            v3::unsigned_required_headers(&headers, &auth.signed_headers).is_empty(),
            "{name}: policy"
        );
        let payload_hash = headers
            .iter()
            .find(|(n, _)| n == "x-acs-content-sha256")
            .map(|(_, value)| value.clone())
            .expect("payload hash header");
        assert_eq!(payload_hash, v.headers["x-acs-content-sha256"], "{name}");
        let canonical = v3::canonical_request(&CanonicalInput {
            method: &v.method,
            path: "/",
            query: &query,
            headers: &headers,
            signed_headers: &auth.signed_headers,
            payload_hash: &payload_hash,
        })
        .expect("canonical request");
        let to_sign = v3::string_to_sign(alg, &canonical);
        assert!(
            v3::verify(
                alg,
                v.access_key_secret.as_bytes(),
                &to_sign,
                &auth.signature
            ),
            "{name}: sign_request output must verify"
        );

        let go_style = v
            .headers
            .keys()
            .all(|h| h == "host" || h == "content-type" || h.starts_with("x-acs-"));
        if go_style {
            assert_eq!(canonical, v.canonical_request, "{name}: canonical request");
            assert_eq!(authorization, v.authorization, "{name}: same authorization");
            let sent: BTreeMap<String, String> = headers
                .iter()
                .filter(|(n, _)| n != "authorization")
                .cloned()
                .collect();
            assert_eq!(sent, v.headers, "{name}: same header set");
            reproduced.push(name);
        }
    }
    // Only B (the Python SDK's header set) signs headers outside host, content-type and x-acs-*.
    assert_eq!(reproduced.len(), 5, "{reproduced:?}");
    assert!(reproduced.iter().all(|name| !name.starts_with('B')));
}

#[test]
fn v2_stages() {
    for (name, v) in v2_vectors() {
        assert_eq!(v.algorithm, "HMAC-SHA1", "{name}");
        let params = pairs(&v.params);
        let to_sign = v2::string_to_sign(&v.method, &params);
        assert_eq!(to_sign, v.string_to_sign, "{name}: string to sign");
        let sig = v2::signature(v.access_key_secret.as_bytes(), &to_sign);
        assert_eq!(sig, v.signature, "{name}: signature");

        // The Signature parameter itself is ignored.
        let mut with_sig = params.clone();
        with_sig.push(("Signature".to_owned(), sig.clone()));
        assert_eq!(v2::string_to_sign(&v.method, &with_sig), v.string_to_sign);
    }
}

#[test]
fn v2_verify_accepts_and_rejects_one_char_changed() {
    for (name, v) in v2_vectors() {
        let secret = v.access_key_secret.as_bytes();
        assert!(
            v2::verify(secret, &v.string_to_sign, &v.signature),
            "{name}"
        );
        for index in [0, 5, v.signature.len() - 2] {
            // Base64 digits: swap to another alphabet character.
            let bad: String = v
                .signature
                .char_indices()
                .map(|(i, c)| {
                    if i == index {
                        if c == 'A' {
                            'B'
                        } else {
                            'A'
                        }
                    } else {
                        c
                    }
                })
                .collect();
            assert_ne!(bad, v.signature);
            assert!(
                !v2::verify(secret, &v.string_to_sign, &bad),
                "{name}: char {index} changed"
            );
        }
        assert!(!v2::verify(b"wrong", &v.string_to_sign, &v.signature));
    }
}

/// `sign_params` with the vector's inputs reproduces the vector's signature exactly (the vectors
/// carry exactly the common parameters `sign_params` adds).
#[test]
fn v2_sign_params_reproduces_vectors() {
    const COMMON: [&str; 8] = [
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
    ];
    for (name, v) in v2_vectors() {
        let own: Vec<(String, String)> = v
            .params
            .iter()
            .filter(|(k, _)| !COMMON.contains(&k.as_str()))
            .map(|(k, val)| (k.clone(), val.clone()))
            .collect();
        let signed = v2::sign_params(&v2::SignParams {
            method: &v.method,
            action: &v.params["Action"],
            version: &v.params["Version"],
            params: &own,
            access_key_id: &v.params["AccessKeyId"],
            access_key_secret: &v.access_key_secret,
            security_token: None,
            timestamp: &v.params["Timestamp"],
            nonce: &v.params["SignatureNonce"],
            format: &v.params["Format"],
        });
        let (last_name, last_value) = signed.last().expect("non-empty");
        assert_eq!(last_name, "Signature", "{name}");
        assert_eq!(last_value, &v.signature, "{name}");
        let without: BTreeMap<String, String> =
            signed[..signed.len() - 1].iter().cloned().collect();
        assert_eq!(without, v.params, "{name}: same parameter set");
    }
}
