//! V2 signatures: `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`, all in parameters.
//!
//! The server verifies with `verify(secret, &string_to_sign(method, &params), signature_param)`
//! where `params` are every decoded query (and form-body) parameter; the `Signature` parameter
//! itself is skipped by [`string_to_sign`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::crypto;
use crate::encoding::{canonical_query, percent_encode};

/// Name of the parameter that carries the signature (excluded from the string to sign).
pub const SIGNATURE_PARAM: &str = "Signature";

/// `METHOD&%2F&` + percent-encoded canonical query of every parameter except `Signature`.
pub fn string_to_sign<S: AsRef<str>>(method: &str, params: &[(S, S)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(name, _)| name.as_ref() != SIGNATURE_PARAM)
        .map(|(name, value)| (name.as_ref(), value.as_ref()))
        .collect();
    let mut out = String::from(method);
    out.push('&');
    out.push_str(&percent_encode("/"));
    out.push('&');
    out.push_str(&percent_encode(&canonical_query(&pairs)));
    out
}

/// The HMAC key: the secret followed by `&`.
fn key(secret: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret);
    key.push(b'&');
    key
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`, standard alphabet with padding.
pub fn signature(secret: &[u8], string_to_sign: &str) -> String {
    STANDARD.encode(crypto::hmac_sha1(&key(secret), string_to_sign.as_bytes()))
}

/// Whether `provided_b64` (standard base64, padded) is the signature of `string_to_sign`. The
/// MACs are compared in constant time; undecodable input is simply `false`.
pub fn verify(secret: &[u8], string_to_sign: &str, provided_b64: &str) -> bool {
    let Ok(provided) = STANDARD.decode(provided_b64) else {
        return false;
    };
    let expected = crypto::hmac_sha1(&key(secret), string_to_sign.as_bytes());
    crypto::ct_eq(&expected, &provided)
}

/// Everything a client needs to sign a V2 request.
#[derive(Debug, Clone, Copy)]
pub struct SignParams<'a> {
    /// HTTP method, e.g. `GET` or `POST`.
    pub method: &'a str,
    /// `Action`.
    pub action: &'a str,
    /// `Version`, e.g. `2020-06-06`.
    pub version: &'a str,
    /// The API's own parameters, not encoded. Must not contain the common parameters this
    /// function adds (`Action`, `Version`, `Format`, `AccessKeyId`, `Signature*`, `Timestamp`,
    /// `SecurityToken`), or they would be sent twice.
    pub params: &'a [(String, String)],
    /// `AccessKeyId`.
    pub access_key_id: &'a str,
    /// AccessKeySecret (the HMAC key is this plus `&`).
    pub access_key_secret: &'a str,
    /// `SecurityToken`, for temporary credentials.
    pub security_token: Option<&'a str>,
    /// `Timestamp`, UTC `YYYY-MM-DDThh:mm:ssZ`.
    pub timestamp: &'a str,
    /// `SignatureNonce`, unique per request.
    pub nonce: &'a str,
    /// `Format`, `JSON` or `XML`.
    pub format: &'a str,
}

/// Sign: returns every parameter to send, not encoded: the common ones (`Action`, `Version`,
/// `Format`, `AccessKeyId`, `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `Timestamp`,
/// `SecurityToken` when given), then `params`, then `Signature` last.
pub fn sign_params(p: &SignParams) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("Action", p.action),
        ("Version", p.version),
        ("Format", p.format),
        ("AccessKeyId", p.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", p.nonce),
        ("Timestamp", p.timestamp),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    if let Some(token) = p.security_token {
        out.push(("SecurityToken".to_owned(), token.to_owned()));
    }
    out.extend(p.params.iter().cloned());
    let to_sign = string_to_sign(p.method, &out);
    let sig = signature(p.access_key_secret.as_bytes(), &to_sign);
    out.push((SIGNATURE_PARAM.to_owned(), sig));
    out
}
