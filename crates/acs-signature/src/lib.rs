//! Alibaba Cloud OpenAPI request signing and verification.
//!
//! This crate is pure logic: no I/O, no async, no logging. The server uses it to *verify* incoming
//! requests, our CLI and load generator use it to *sign* outgoing ones, and both sides share the
//! same canonicalisation code, so a round trip through this crate exercises exactly what the
//! server checks.
//!
//! # Schemes
//!
//! **V3** ([`v3`]), sent by current SDKs in the `Authorization` header:
//!
//! ```text
//! Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>
//!
//! canonical request = METHOD \n URI \n canonical query \n canonical headers \n signed headers \n payload hash
//! string to sign    = <ALG> \n hex(HASH(canonical request))
//! signature         = hex(HMAC-HASH(access key secret, string to sign))
//! ```
//!
//! `ACS3-HMAC-SHA256` uses SHA-256 and `ACS3-HMAC-SM3` uses SM3 for *both* the payload / canonical
//! request hash and the HMAC (the payload hash header keeps its name `x-acs-content-sha256`).
//! The HMAC key is the raw secret. The canonical headers block lists exactly the headers named in
//! `SignedHeaders`, each as `name:trimmed-value\n`, so the block ends with an empty line.
//!
//! **V2** ([`v2`]), `SignatureMethod=HMAC-SHA1`, all in parameters:
//!
//! ```text
//! string to sign = METHOD & encode("/") & encode(canonical query of every parameter except Signature)
//! Signature      = base64(HMAC-SHA1(secret + "&", string to sign))
//! ```
//!
//! # Example
//!
//! ```
//! use acs_signature::{encode_form, parse_form, v3, V3Algorithm};
//!
//! // Client: sign.
//! let query = vec![("CustSpaceId".to_owned(), "cs 1~*".to_owned())];
//! let headers = v3::sign_request(&v3::SignRequest {
//!     algorithm: V3Algorithm::HmacSha256,
//!     method: "POST",
//!     host: "cams.ap-southeast-1.aliyuncs.com",
//!     action: "GetMessageCampaignInsights",
//!     version: "2020-06-06",
//!     query: &query,
//!     body: b"",
//!     content_type: None,
//!     access_key_id: "testid",
//!     access_key_secret: "testsecret",
//!     security_token: None,
//!     date: "2026-01-01T00:00:00Z",
//!     nonce: "3156853299f313e23d1673dc12e1703d",
//! });
//! let url_query = encode_form(&query);
//!
//! // Server: verify what arrived.
//! let received = parse_form(&url_query).unwrap();
//! let authorization = &headers.iter().find(|(n, _)| n == "authorization").unwrap().1;
//! let auth = v3::parse_authorization(authorization).unwrap();
//! assert!(v3::unsigned_required_headers(&headers, &auth.signed_headers).is_empty());
//! let canonical = v3::canonical_request(&v3::CanonicalInput {
//!     method: "POST",
//!     path: "/",
//!     query: &received,
//!     headers: &headers,
//!     signed_headers: &auth.signed_headers,
//!     payload_hash: &v3::hash_payload(auth.algorithm, b""),
//! })
//! .unwrap();
//! let to_sign = v3::string_to_sign(auth.algorithm, &canonical);
//! assert!(v3::verify(auth.algorithm, b"testsecret", &to_sign, &auth.signature));
//! ```
//!
//! # Encoding choices
//!
//! Both schemes canonicalise parameters the same way ([`canonical_query`]): decode what arrived on
//! the wire ([`form_decode`] / [`parse_form`]: `+` is a space, `%XY` a byte), re-encode each name
//! and value RFC 3986 style ([`percent_encode`]: only `A-Za-z0-9-_.~` kept, space becomes `%20`, `*`
//! becomes `%2A`), sort by encoded name then encoded value, and join with `&`. Verifying on the
//! *decoded* parameters (instead of the raw query text) is what makes clients that encode
//! differently on the wire (`+` vs `%20`, `%7E` vs `~`) all verify.
//!
//! # Why these choices
//!
//! - Verification compares MACs in constant time ([`subtle`]) and accepts upper- or lower-case hex,
//!   since only the bytes matter.
//! - The verifier signs against whatever `SignedHeaders` list the client sent (the Python SDK signs
//!   every header it sets, Go and Java only `host`, `content-type` and `x-acs-*`); the policy of
//!   which headers *must* be signed is a separate check ([`v3::unsigned_required_headers`]).
//! - Every function is total: malformed input gives a typed error (or `false` from a `verify`),
//!   never a panic, because all of it is attacker-controlled on the server side.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crypto;
mod encoding;
pub mod nonce;
pub mod time;
pub mod v2;
pub mod v3;

pub use encoding::{
    canonical_query, encode_form, form_decode, form_decode_cow, parse_form, parse_form_cow,
    percent_encode, CowPair,
};

use core::fmt;

/// The V3 signature algorithms (the first word of the `Authorization` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V3Algorithm {
    /// `ACS3-HMAC-SHA256`: SHA-256 hashes, HMAC-SHA256 signature (the SDK default).
    HmacSha256,
    /// `ACS3-HMAC-SM3`: SM3 hashes (including `x-acs-content-sha256`), HMAC-SM3 signature.
    HmacSm3,
}

impl V3Algorithm {
    /// Every supported V3 algorithm.
    pub const ALL: [V3Algorithm; 2] = [V3Algorithm::HmacSha256, V3Algorithm::HmacSm3];

    /// The wire name, e.g. `"ACS3-HMAC-SHA256"`.
    pub fn name(&self) -> &'static str {
        match self {
            V3Algorithm::HmacSha256 => "ACS3-HMAC-SHA256",
            V3Algorithm::HmacSm3 => "ACS3-HMAC-SM3",
        }
    }

    /// Look an algorithm up by its exact (case-sensitive) wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }
}

impl fmt::Display for V3Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A query string or form component that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits (e.g. `%zz`, or `%4` at the end).
    #[error("invalid percent escape at byte offset {offset}")]
    InvalidEscape {
        /// Byte offset of the offending `%` within the component.
        offset: usize,
    },
    /// The decoded bytes are not valid UTF-8 (e.g. `%FF`).
    #[error("percent-decoded bytes are not valid UTF-8")]
    InvalidUtf8,
}

/// A V3 `Authorization` header value that is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// The header value is empty (or only whitespace).
    #[error("empty Authorization header")]
    Empty,
    /// The algorithm word is not one this crate knows (carried verbatim).
    #[error("unsupported signature algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// A required component (`Credential`, `SignedHeaders` or `Signature`) is absent.
    #[error("Authorization header is missing {0}")]
    MissingPart(&'static str),
    /// A component appears more than once.
    #[error("Authorization header has {0} more than once")]
    DuplicatePart(&'static str),
    /// A component is present with an empty value.
    #[error("Authorization header has an empty {0}")]
    EmptyPart(&'static str),
    /// A component other than `Credential`, `SignedHeaders` or `Signature`.
    #[error("Authorization header has an unexpected component {0:?}")]
    UnexpectedPart(String),
    /// The component list cannot be parsed (empty component, or one without `=`).
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    /// A name in `SignedHeaders` is empty, not lowercase, not an HTTP token, or repeated.
    #[error("invalid signed header name {name:?}: {reason}")]
    InvalidSignedHeader {
        /// The offending name, verbatim.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The `Signature` is not a hex string.
    #[error("Signature is not hexadecimal")]
    InvalidSignature,
}

/// A request cannot be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A header listed in `SignedHeaders` is not present on the request (lowercase name).
    #[error("signed header {0:?} is not present in the request")]
    MissingSignedHeader(String),
}
