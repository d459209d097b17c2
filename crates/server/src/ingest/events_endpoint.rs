//! `POST /v1/events`: native NDJSON events for systems that cannot sign requests, authenticated by
//! a configured bearer ingest token. Same pipeline as `PutMessageEvents`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::errors::{ApiError, ErrorCode};
use crate::rpc::response::{self, Format};
use crate::state::AppState;

/// The configured ingest tokens, as SHA-256 digests (so every comparison has the same length and
/// runs in constant time), with the account each belongs to.
#[derive(Default)]
pub struct IngestTokens {
    tokens: Vec<([u8; 32], String)>,
}

impl IngestTokens {
    pub fn from_config(config: &Config) -> IngestTokens {
        let mut tokens = Vec::new();
        for account in &config.accounts {
            for t in &account.ingest_tokens {
                if let Some(secret) = t.resolve() {
                    tokens.push((
                        Sha256::digest(secret.as_bytes()).into(),
                        account.uid.clone(),
                    ));
                }
            }
        }
        IngestTokens { tokens }
    }

    /// The account of a presented token. Every configured token is compared, whether or not an
    /// earlier one matched, so timing says nothing about which (or whether one) matched.
    pub fn account_of(&self, presented: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (known, account) in &self.tokens {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(account.as_str());
            }
        }
        found
    }
}

pub async fn post_events(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let request_id = response::new_request_id();
    let host_id = state.config.server.host_id.clone();
    let fail = |e: ApiError| response::error(Format::Json, None, &request_id, &host_id, &e);
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme name is case-insensitive (RFC 9110).
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .unwrap_or("");
    let account = match state.ingest_tokens().account_of(presented) {
        Some(a) => a.to_string(),
        None => return fail(ErrorCode::IngestTokenInvalid.into()),
    };
    if !state.serves(&account) {
        return fail(ErrorCode::AccountNotServedHere.into());
    }
    if !ingest::is_ndjson(
        request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    ) {
        return fail(ApiError::invalid_parameter(
            "Content-Type",
            "the body must be application/x-ndjson",
        ));
    }
    let limit = state.config.server.max_ingest_body_bytes;
    let body: Body = request.into_body();
    let timeout = std::time::Duration::from_secs(state.config.server.body_read_timeout_secs);
    let bytes = match crate::http::read_body(body, limit, timeout).await {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return fail(ApiError::invalid_parameter("body", "it holds no events"));
    }
    match ingest::ingest_ndjson(&state.store, &account, &bytes).await {
        Ok(report) => response::success(
            Format::Json,
            "PutMessageEvents",
            &request_id,
            super::report_json(&report),
        ),
        Err(e) => fail(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_resolve_to_their_account() {
        let t = IngestTokens {
            tokens: vec![
                (Sha256::digest(b"alpha").into(), "1".into()),
                (Sha256::digest(b"beta").into(), "2".into()),
            ],
        };
        assert_eq!(t.account_of("alpha"), Some("1"));
        assert_eq!(t.account_of("beta"), Some("2"));
        assert_eq!(t.account_of("alph"), None);
        assert_eq!(t.account_of(""), None);
    }
}
