//! The RPC gateway: parse → authenticate (signature) → [authorise] → [throttle] → dispatch.
//!
//! Every step has its own error code, checked in the order `docs/errors.md` gives, so a client
//! learns the first thing wrong with its request and nothing about later steps.

pub mod nonce;
pub mod params;
pub mod response;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use acs_signature::{v2, v3};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};

use crate::actions::{self, ActionSpec};
use crate::errors::{ApiError, ErrorCode};
use crate::identity::{AccessKey, Caller};
use crate::AppState;
use nonce::NonceOutcome;
pub use params::Params;
use response::Format;

/// All headers together may not exceed this.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// No single header may exceed this.
pub const MAX_ONE_HEADER_BYTES: usize = 8 * 1024;
/// Longest accepted nonce.
const MAX_NONCE_BYTES: usize = 128;

/// An RPC request as it came off the wire.
#[derive(Debug)]
pub struct RawRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    pub secure: bool,
}

/// A request that passed authentication: what an action gets to work with.
#[derive(Debug)]
pub struct Authenticated {
    pub caller: Caller,
    pub action: &'static ActionSpec,
    pub params: Params,
    pub body: Bytes,
    pub content_type: Option<String>,
    pub request_id: String,
    pub peer: SocketAddr,
    pub secure: bool,
    /// Whether the request was signed with V3 (whose signature covers the body).
    pub body_signed: bool,
}

/// The signature scheme a request uses.
enum Scheme {
    V3(v3::Authorization),
    V2,
}

/// What the gateway answers: the body fields of a success, or an error; both with the format.
pub struct Outcome {
    pub format: Format,
    pub action_name: Option<&'static str>,
    pub result: Result<serde_json::Map<String, serde_json::Value>, ApiError>,
}

// Lookups by a prepared name skip parsing the name on every request.
const X_ACS_ACTION: HeaderName = HeaderName::from_static("x-acs-action");
const X_ACS_VERSION: HeaderName = HeaderName::from_static("x-acs-version");
const X_ACS_DATE: HeaderName = HeaderName::from_static("x-acs-date");
const X_ACS_SIGNATURE_NONCE: HeaderName = HeaderName::from_static("x-acs-signature-nonce");
const X_ACS_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-acs-content-sha256");
const X_ACS_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-acs-security-token");

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs the whole pipeline for one request.
pub async fn handle(state: &Arc<AppState>, raw: RawRequest, request_id: &str) -> Outcome {
    let mut format = Format::Json;
    let mut action_name = None;
    let user_agent = header(&raw.headers, &http::header::USER_AGENT);
    let result = match authenticate(state, &raw, request_id, &mut format) {
        Ok(auth) => {
            action_name = Some(auth.action.name);
            match authorize_and_throttle(state, &auth, user_agent) {
                Ok(()) => actions::dispatch(state, &auth).await,
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    Outcome {
        format,
        action_name,
        result,
    }
}

/// RAM authorisation, then flow control per (account, action).
fn authorize_and_throttle(
    state: &AppState,
    auth: &Authenticated,
    user_agent: Option<&str>,
) -> Result<(), ApiError> {
    crate::authorize::authorize(
        &state.config.server.region,
        auth,
        user_agent,
        state.now_secs(),
    )?;
    let limits = &state.config.flow_control;
    let rate = limits
        .actions
        .get(auth.action.name)
        .copied()
        .unwrap_or(limits.per_second);
    match state.flow.check(
        auth.caller.account_uid(),
        auth.action.name,
        rate,
        limits.burst,
    ) {
        crate::throttle::Throttle::Allow => Ok(()),
        crate::throttle::Throttle::RetryAfterMs(ms) => {
            let mut err = ApiError::new(ErrorCode::ThrottlingUser);
            err.retry_after_ms = Some(ms);
            Err(err)
        }
    }
}

/// Steps up to and including the nonce check. `format` is set as soon as the request says which
/// one it wants, so that even its errors come back in that format.
fn authenticate(
    state: &AppState,
    raw: &RawRequest,
    request_id: &str,
    format: &mut Format,
) -> Result<Authenticated, ApiError> {
    // Sizes first: nothing below should spend work on an oversized request.
    let mut header_bytes = 0usize;
    for (name, value) in raw.headers.iter() {
        let one = name.as_str().len() + value.len();
        if one > MAX_ONE_HEADER_BYTES {
            return Err(ErrorCode::RequestHeaderTooLarge.into());
        }
        header_bytes += one + 4;
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ErrorCode::RequestHeaderTooLarge.into());
    }
    if raw.method != Method::GET && raw.method != Method::POST {
        return Err(ErrorCode::UnsupportedHttpMethod.into());
    }
    if raw.path != "/" {
        return Err(ErrorCode::InvalidActionNotFound.into());
    }

    // Parameters: query, then a form body.
    let query_pairs = acs_signature::parse_form_cow(&raw.query).map_err(|e| {
        ApiError::with_message(
            ErrorCode::InvalidQueryString,
            format!("The query string is not valid: {e}."),
        )
    })?;
    let content_type = header(&raw.headers, &http::header::CONTENT_TYPE).map(str::to_string);
    let is_form = content_type
        .as_deref()
        .map(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    let body_pairs = if is_form && !raw.body.is_empty() {
        let text = std::str::from_utf8(&raw.body).map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidQueryString,
                "The form body is not valid UTF-8.",
            )
        })?;
        acs_signature::parse_form_cow(text).map_err(|e| {
            ApiError::with_message(
                ErrorCode::InvalidQueryString,
                format!("The form body is not valid: {e}."),
            )
        })?
    } else {
        Vec::new()
    };
    let params = Params::merge(&query_pairs, &body_pairs)?;

    // Scheme, action and version.
    let authorization = raw.headers.get(&http::header::AUTHORIZATION);
    let scheme_is_v3 = authorization.is_some();
    *format = if !scheme_is_v3
        && params
            .get("Format")
            .is_some_and(|f| f.eq_ignore_ascii_case("xml"))
    {
        Format::Xml
    } else {
        Format::Json
    };
    let (action, version) = if scheme_is_v3 {
        (
            header(&raw.headers, &X_ACS_ACTION),
            header(&raw.headers, &X_ACS_VERSION),
        )
    } else {
        (
            params
                .optional("Action")
                .or_else(|| header(&raw.headers, &X_ACS_ACTION)),
            params
                .optional("Version")
                .or_else(|| header(&raw.headers, &X_ACS_VERSION)),
        )
    };
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or(ApiError::new(ErrorCode::MissingAction))?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::new(ErrorCode::MissingVersion))?;
    let spec = actions::lookup(action, version)?;

    // Signature material.
    let scheme = match authorization {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| ApiError::new(ErrorCode::IncompleteSignature))?;
            let auth = v3::parse_authorization(value).map_err(|e| {
                // A well-formed header naming another ACS3 algorithm is a method we do not
                // support; anything else is a malformed header.
                if matches!(&e, acs_signature::AuthorizationError::UnknownAlgorithm(alg) if alg.starts_with("ACS3-")) {
                    ApiError::new(ErrorCode::InvalidSignatureMethod)
                } else {
                    ApiError::with_message(
                        ErrorCode::IncompleteSignature,
                        format!("The request signature does not conform to Aliyun standards: {e}."),
                    )
                }
            })?;
            Scheme::V3(auth)
        }
        None => Scheme::V2,
    };

    let v3_headers = match &scheme {
        Scheme::V3(_) => header_pairs(&raw.headers),
        Scheme::V2 => Vec::new(),
    };
    let (key_id, nonce, timestamp) = match &scheme {
        Scheme::V3(auth) => {
            let date = header(&raw.headers, &X_ACS_DATE)
                .ok_or(ApiError::new(ErrorCode::MissingTimestamp))?;
            let nonce = header(&raw.headers, &X_ACS_SIGNATURE_NONCE)
                .filter(|n| !n.is_empty())
                .ok_or(ApiError::new(ErrorCode::MissingSignatureNonce))?;
            if raw.headers.get(&X_ACS_CONTENT_SHA256).is_none() {
                return Err(ErrorCode::MissingContentSha256.into());
            }
            check_v3_signed_headers(auth, &v3_headers)?;
            (auth.access_key_id.as_str(), nonce, date)
        }
        Scheme::V2 => {
            if params.get("Signature").is_none() {
                return Err(ErrorCode::MissingSignature.into());
            }
            let key = params
                .optional("AccessKeyId")
                .ok_or(ApiError::new(ErrorCode::MissingAccessKeyId))?;
            let method = params
                .optional("SignatureMethod")
                .ok_or(ApiError::new(ErrorCode::MissingSignatureMethod))?;
            if method != "HMAC-SHA1" {
                return Err(ErrorCode::InvalidSignatureMethod.into());
            }
            let sig_version = params
                .optional("SignatureVersion")
                .ok_or(ApiError::new(ErrorCode::MissingSignatureVersion))?;
            if sig_version != "1.0" {
                return Err(ApiError::with_message(
                    ErrorCode::IncompleteSignature,
                    "The request signature does not conform to Aliyun standards: SignatureVersion must be 1.0.",
                ));
            }
            let nonce = params
                .optional("SignatureNonce")
                .ok_or(ApiError::new(ErrorCode::MissingSignatureNonce))?;
            let ts = params
                .optional("Timestamp")
                .ok_or(ApiError::new(ErrorCode::MissingTimestamp))?;
            (key, nonce, ts)
        }
    };
    if nonce.len() > MAX_NONCE_BYTES {
        return Err(ErrorCode::InvalidNonce.into());
    }

    // Timestamp window.
    let signed_at = acs_signature::time::parse_utc(timestamp)
        .ok_or(ApiError::new(ErrorCode::InvalidTimeStampFormat))?;
    let now = state.now_secs();
    let window = state.config.server.timestamp_window_secs as i64;
    if (now - signed_at).abs() > window {
        return Err(ErrorCode::InvalidTimeStampExpired.into());
    }

    // Access key: long-term, or temporary with its security token.
    let identities = state.identities();
    let key: Arc<AccessKey> = if key_id.starts_with(crate::sts::KEY_PREFIX) {
        let token = match &scheme {
            Scheme::V3(_) => header(&raw.headers, &X_ACS_SECURITY_TOKEN),
            Scheme::V2 => params.optional("SecurityToken"),
        }
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::new(ErrorCode::MissingSecurityToken))?;
        identities.session_key(key_id, token, now).map_err(|e| {
            use crate::identity::SessionError;
            use crate::sts::TokenError;
            ApiError::new(match e {
                SessionError::Token(TokenError::Expired) => ErrorCode::InvalidSecurityTokenExpired,
                SessionError::Token(TokenError::MismatchWithAccessKey) => {
                    ErrorCode::InvalidSecurityTokenMismatch
                }
                SessionError::Token(TokenError::Malformed) | SessionError::RoleGone => {
                    ErrorCode::InvalidSecurityTokenMalformed
                }
            })
        })?
    } else {
        let key = identities
            .key(key_id)
            .cloned()
            .ok_or(ApiError::new(ErrorCode::InvalidAccessKeyIdNotFound))?;
        if !key.active {
            return Err(ErrorCode::InvalidAccessKeyIdInactive.into());
        }
        key
    };

    // Signature, then the body it covers.
    match &scheme {
        Scheme::V3(auth) => {
            let payload_hash = header(&raw.headers, &X_ACS_CONTENT_SHA256).unwrap_or_default();
            let canonical = v3::canonical_request(&v3::CanonicalInput {
                method: raw.method.as_str(),
                path: &raw.path,
                query: &query_pairs,
                headers: &v3_headers,
                signed_headers: &auth.signed_headers,
                payload_hash,
            })
            .map_err(|e| {
                ApiError::with_message(
                    ErrorCode::IncompleteSignature,
                    format!("The request signature does not conform to Aliyun standards: {e}."),
                )
            })?;
            let string_to_sign = v3::string_to_sign(auth.algorithm, &canonical);
            if !v3::verify(
                auth.algorithm,
                key.secret(),
                &string_to_sign,
                &auth.signature,
            ) {
                return Err(signature_mismatch(&string_to_sign));
            }
            let actual = v3::hash_payload(auth.algorithm, &raw.body);
            if !actual.eq_ignore_ascii_case(payload_hash.trim()) {
                return Err(ErrorCode::ContentSha256Mismatch.into());
            }
        }
        Scheme::V2 => {
            let all: Vec<(&str, &str)> = query_pairs
                .iter()
                .chain(body_pairs.iter())
                .map(|(name, value)| (name.as_ref(), value.as_ref()))
                .collect();
            let string_to_sign = v2::string_to_sign(raw.method.as_str(), &all);
            let provided = params.get("Signature").unwrap_or_default();
            if !v2::verify(key.secret(), &string_to_sign, provided) {
                return Err(signature_mismatch(&string_to_sign));
            }
        }
    }

    // Nonce: only signed requests get here, so only they consume one.
    match state
        .nonces
        .check_and_insert(&key.id, nonce, signed_at + window, now)
    {
        NonceOutcome::Fresh => {}
        NonceOutcome::Replayed => return Err(ErrorCode::SignatureNonceUsed.into()),
        NonceOutcome::Full => {
            tracing::warn!("nonce cache full: refusing requests until entries expire");
            return Err(ErrorCode::ServiceUnavailable.into());
        }
    }

    Ok(Authenticated {
        caller: Caller { key },
        action: spec,
        params,
        body: raw.body.clone(),
        content_type,
        request_id: request_id.to_string(),
        peer: raw.peer,
        secure: raw.secure,
        body_signed: matches!(scheme, Scheme::V3(_)),
    })
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

/// V3: the client chooses what to sign, but the headers that carry the request's meaning must
/// be among them, or a man in the middle could change them.
fn check_v3_signed_headers(
    auth: &v3::Authorization,
    headers: &[acs_signature::CowPair<'_>],
) -> Result<(), ApiError> {
    match v3::unsigned_required_headers(headers, &auth.signed_headers).first() {
        Some(name) => Err(ApiError::with_message(
            ErrorCode::IncompleteSignature,
            format!("The request signature does not conform to Aliyun standards: header {name} must be signed."),
        )),
        None => Ok(()),
    }
}

/// Every header as `(name, value)`, borrowed from the request (values that are not UTF-8 are
/// copied with replacement characters, and then cannot verify).
fn header_pairs(headers: &HeaderMap) -> Vec<acs_signature::CowPair<'_>> {
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
