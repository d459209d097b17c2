//! Stage 2 of the gateway: the signature scheme — V3 (`Authorization` header, `ACS3-*`) or V2 (signature
//! parameters, `HMAC-SHA1`) — with its claims (access key, nonce, time, security token), checked for
//! well-formedness here and verified against the key's secret once the key is known.

use std::borrow::Cow;

use acs_signature::{v2, v3, CowPair};
use http::{HeaderMap, HeaderName};

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::envelope::{header, Envelope};
use crate::rpc::request::RawRequest;

/// Longest accepted nonce.
pub const MAX_NONCE_BYTES: usize = 128;

const X_ACS_DATE: HeaderName = HeaderName::from_static("x-acs-date");
const X_ACS_SIGNATURE_NONCE: HeaderName = HeaderName::from_static("x-acs-signature-nonce");
const X_ACS_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-acs-content-sha256");
const X_ACS_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-acs-security-token");

/// What a signed request claims, whatever its scheme.
#[derive(Debug, Clone, Copy)]
pub struct Claims<'r> {
    pub access_key_id: &'r str,
    pub nonce: &'r str,
    /// The signed time, as sent (`YYYY-MM-DDThh:mm:ssZ`).
    pub timestamp: &'r str,
    /// The STS token (`x-acs-security-token` or `SecurityToken`), if any, possibly empty.
    pub security_token: Option<&'r str>,
}

/// A V3 request's signature material.
pub struct V3<'r> {
    authorization: v3::Authorization,
    /// Every header, borrowed (values that are not UTF-8 are copied lossily, and then cannot verify).
    headers: Vec<CowPair<'r>>,
    payload_hash: &'r str,
    nonce: &'r str,
    timestamp: &'r str,
    security_token: Option<&'r str>,
}

/// A V2 request's signature material.
pub struct V2<'r> {
    signature: &'r str,
    claims: Claims<'r>,
}

/// The scheme a request is signed with.
pub enum Scheme<'r> {
    V3(V3<'r>),
    V2(V2<'r>),
}

impl<'r> Scheme<'r> {
    /// Reads the signature material and checks that it is complete and well-formed.
    pub fn parse(raw: &'r RawRequest, envelope: &'r Envelope<'r>) -> Result<Scheme<'r>, ApiError> {
        let scheme = match raw.headers.get(&http::header::AUTHORIZATION) {
            Some(value) => Scheme::V3(V3::parse(raw, value)?),
            None => Scheme::V2(V2::parse(envelope)?),
        };
        if scheme.claims().nonce.len() > MAX_NONCE_BYTES {
            return Err(ErrorCode::InvalidNonce.into());
        }
        Ok(scheme)
    }

    /// The claims the request makes.
    pub fn claims(&self) -> Claims<'_> {
        match self {
            Scheme::V3(s) => Claims {
                access_key_id: &s.authorization.access_key_id,
                nonce: s.nonce,
                timestamp: s.timestamp,
                security_token: s.security_token,
            },
            Scheme::V2(s) => s.claims,
        }
    }

    /// Whether the signature covers the body (V3 signs its hash; V2 signs only parameters).
    pub fn signs_body(&self) -> bool {
        matches!(self, Scheme::V3(_))
    }

    /// Checks the signature under `secret` (constant time), then, for V3, the body against its signed
    /// hash. A mismatch echoes the server's string to sign, as Alibaba does, never the secret.
    pub fn verify(
        &self,
        raw: &RawRequest,
        envelope: &Envelope<'_>,
        secret: &[u8],
    ) -> Result<(), ApiError> {
        match self {
            Scheme::V3(s) => s.verify(raw, envelope, secret),
            Scheme::V2(s) => s.verify(raw, envelope, secret),
        }
    }
}

impl<'r> V3<'r> {
    fn parse(raw: &'r RawRequest, value: &'r http::HeaderValue) -> Result<V3<'r>, ApiError> {
        let value = value
            .to_str()
            .map_err(|_| ApiError::new(ErrorCode::IncompleteSignature))?;
        let authorization = v3::parse_authorization(value).map_err(|e| {
            // A well-formed header naming another ACS3 algorithm is a method we do not support;
            // anything else is a malformed header.
            if matches!(&e, acs_signature::AuthorizationError::UnknownAlgorithm(alg) if alg.starts_with("ACS3-"))
            {
                ApiError::new(ErrorCode::InvalidSignatureMethod)
            } else {
                incomplete(e)
            }
        })?;
        let headers = header_pairs(&raw.headers);
        let timestamp =
            header(&raw.headers, &X_ACS_DATE).ok_or(ApiError::new(ErrorCode::MissingTimestamp))?;
        let nonce = header(&raw.headers, &X_ACS_SIGNATURE_NONCE)
            .filter(|n| !n.is_empty())
            .ok_or(ApiError::new(ErrorCode::MissingSignatureNonce))?;
        if !raw.headers.contains_key(&X_ACS_CONTENT_SHA256) {
            return Err(ErrorCode::MissingContentSha256.into());
        }
        // The client chooses what to sign, but the headers that carry the request's meaning must be
        // among them, or a man in the middle could change them.
        if let Some(name) =
            v3::unsigned_required_headers(&headers, &authorization.signed_headers).first()
        {
            return Err(ApiError::with_message(
                ErrorCode::IncompleteSignature,
                format!("The request signature does not conform to Aliyun standards: header {name} must be signed."),
            ));
        }
        Ok(V3 {
            authorization,
            headers,
            payload_hash: header(&raw.headers, &X_ACS_CONTENT_SHA256).unwrap_or_default(),
            nonce,
            timestamp,
            security_token: header(&raw.headers, &X_ACS_SECURITY_TOKEN),
        })
    }

    fn verify(
        &self,
        raw: &RawRequest,
        envelope: &Envelope<'_>,
        secret: &[u8],
    ) -> Result<(), ApiError> {
        let auth = &self.authorization;
        let canonical = v3::canonical_request(&v3::CanonicalInput {
            method: raw.method.as_str(),
            path: &raw.path,
            query: &envelope.query_pairs,
            headers: &self.headers,
            signed_headers: &auth.signed_headers,
            payload_hash: self.payload_hash,
        })
        .map_err(incomplete)?;
        let string_to_sign = v3::string_to_sign(auth.algorithm, &canonical);
        if !v3::verify(auth.algorithm, secret, &string_to_sign, &auth.signature) {
            return Err(signature_mismatch(&string_to_sign));
        }
        let actual = v3::hash_payload(auth.algorithm, &raw.body);
        if !actual.eq_ignore_ascii_case(self.payload_hash.trim()) {
            return Err(ErrorCode::ContentSha256Mismatch.into());
        }
        Ok(())
    }
}

impl<'r> V2<'r> {
    fn parse(envelope: &'r Envelope<'r>) -> Result<V2<'r>, ApiError> {
        let params = &envelope.params;
        let signature = params
            .get("Signature")
            .ok_or(ApiError::new(ErrorCode::MissingSignature))?;
        let access_key_id = params
            .optional("AccessKeyId")
            .ok_or(ApiError::new(ErrorCode::MissingAccessKeyId))?;
        let method = params
            .optional("SignatureMethod")
            .ok_or(ApiError::new(ErrorCode::MissingSignatureMethod))?;
        if method != "HMAC-SHA1" {
            return Err(ErrorCode::InvalidSignatureMethod.into());
        }
        let version = params
            .optional("SignatureVersion")
            .ok_or(ApiError::new(ErrorCode::MissingSignatureVersion))?;
        if version != "1.0" {
            return Err(ApiError::with_message(
                ErrorCode::IncompleteSignature,
                "The request signature does not conform to Aliyun standards: SignatureVersion must be 1.0.",
            ));
        }
        let nonce = params
            .optional("SignatureNonce")
            .ok_or(ApiError::new(ErrorCode::MissingSignatureNonce))?;
        let timestamp = params
            .optional("Timestamp")
            .ok_or(ApiError::new(ErrorCode::MissingTimestamp))?;
        let claims = Claims {
            access_key_id,
            nonce,
            timestamp,
            security_token: params.optional("SecurityToken"),
        };
        Ok(V2 { signature, claims })
    }

    fn verify(
        &self,
        raw: &RawRequest,
        envelope: &Envelope<'_>,
        secret: &[u8],
    ) -> Result<(), ApiError> {
        let all: Vec<(&str, &str)> = envelope
            .query_pairs
            .iter()
            .chain(envelope.body_pairs.iter())
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
            .collect();
        let string_to_sign = v2::string_to_sign(raw.method.as_str(), &all);
        if !v2::verify(secret, &string_to_sign, self.signature) {
            return Err(signature_mismatch(&string_to_sign));
        }
        Ok(())
    }
}

fn incomplete(e: impl std::fmt::Display) -> ApiError {
    ApiError::with_message(
        ErrorCode::IncompleteSignature,
        format!("The request signature does not conform to Aliyun standards: {e}."),
    )
}

fn signature_mismatch(string_to_sign: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::SignatureDoesNotMatch,
        format!(
            "Specified signature does not match our calculation. server string to sign is:{}",
            string_to_sign
        ),
    )
}

/// Every header as `(name, value)`, borrowed from the request.
fn header_pairs(headers: &HeaderMap) -> Vec<CowPair<'_>> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                Cow::Borrowed(k.as_str()),
                String::from_utf8_lossy(v.as_bytes()),
            )
        })
        .collect()
}
