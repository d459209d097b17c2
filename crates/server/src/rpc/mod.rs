//! The RPC gateway, as stages: envelope → scheme → key → time window → signature → nonce → RAM →
//! flow control → the operation's handler.
//!
//! Every stage has its own error codes, checked in the order `docs/errors.md` gives, so a client learns
//! the first thing wrong with its request and nothing about later steps. Each stage is a function of what
//! it is given, tested on its own; this module only strings them together.

pub mod actions;
pub mod catalog;
pub mod envelope;
pub mod params;
pub mod placement;
pub mod request;
pub mod response;
pub mod scheme;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::FutureExt;

use crate::auth::authorize::AccessRequest;
use crate::auth::identity::Caller;
use crate::auth::throttle::Throttle;
use crate::auth::{authorize, key, window};
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::ConnectionInfo;
pub use params::Params;
use request::{Answered, Ctx, Handler};
pub use request::{Authenticated, RawRequest};
use response::Format;
use scheme::Scheme;

/// What the gateway answers: the body fields of a success, or an error; both with the format.
pub struct Outcome {
    pub format: Format,
    pub action_name: Option<&'static str>,
    pub result: Answered,
}

/// Runs the whole pipeline for one request.
pub async fn handle(state: &AppState, raw: RawRequest, request_id: &str) -> Outcome {
    let mut format = Format::Json;
    let mut action_name = None;
    let result = match authenticate(state, &raw, request_id, &mut format) {
        Ok((auth, nonce)) => {
            action_name = Some(auth.action.name);
            match after_signature(state, &auth, &raw, &nonce).await {
                Ok(()) => match inject_fault(state, &auth, request_id).await {
                    Some(e) => Err(e),
                    None => dispatch(state, &auth).await,
                },
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

/// The emulator's fault rules, asked once a call passed every check: a rule may make it wait, answer a
/// chosen error instead, or both. Injected answers are logged and counted on `/metrics`.
async fn inject_fault(
    state: &AppState,
    auth: &Authenticated,
    request_id: &str,
) -> Option<ApiError> {
    let injection = state.admin.decide(auth.action.name, &auth.caller.key.id)?;
    let code = injection.code.map_or("latency", |c| c.spec().code);
    tracing::warn!(
        request_id,
        rule = injection.rule_id,
        action = auth.action.name,
        code,
        latency_ms = injection.latency_ms,
        "injected fault"
    );
    crate::http::telemetry::fault_injected(auth.action.name, code);
    if injection.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(injection.latency_ms)).await;
    }
    injection.code.map(ApiError::new)
}

/// A verified request's nonce, consumed by the next stage.
struct NonceClaim {
    nonce: String,
    /// When the signed time leaves the window (unix seconds).
    expires_at: i64,
    now: i64,
}

/// The stages after a verified signature: the account's node group, the nonce (this node's memory,
/// then, in cluster mode, JetStream's), RAM, flow control.
async fn after_signature(
    state: &AppState,
    auth: &Authenticated,
    raw: &RawRequest,
    claim: &NonceClaim,
) -> Result<(), ApiError> {
    // Before the nonce, so that the same signed request can go on to the right node group.
    if !state.serves(auth.caller.account_uid()) {
        return Err(ErrorCode::AccountNotServedHere.into());
    }
    let key_id = &auth.caller.key.id;
    state
        .nonces
        .consume(key_id, &claim.nonce, claim.expires_at, claim.now)?;
    if let Some(cluster) = &state.cluster {
        cluster.consume_nonce(key_id, &claim.nonce).await?;
    }
    authorize_and_throttle(state, auth, raw)
}

/// The stages up to and including the signature.
fn authenticate(
    state: &AppState,
    raw: &RawRequest,
    request_id: &str,
    format: &mut Format,
) -> Result<(Authenticated, NonceClaim), ApiError> {
    let envelope = envelope::parse(raw, format)?;
    let scheme = Scheme::parse(raw, &envelope)?;
    let claims = scheme.claims();
    let now = state.now_secs();
    let window_secs = state.config.server.timestamp_window_secs as i64;
    let signed_at = window::check(claims.timestamp, now, window_secs)?;
    let identities = state.identities();
    let key = key::resolve(
        &identities,
        claims.access_key_id,
        claims.security_token,
        now,
    )?;
    scheme.verify(raw, &envelope, key.secret())?;
    // Only requests whose signature verified get this far, so only they consume a nonce.
    let claim = NonceClaim {
        nonce: claims.nonce.to_string(),
        expires_at: signed_at + window_secs,
        now,
    };
    let body_signed = scheme.signs_body();
    drop(scheme);
    let auth = Authenticated {
        caller: Caller { key },
        action: envelope.action,
        content_type: envelope.content_type.map(str::to_string),
        params: envelope.params,
        body: raw.body.clone(),
        request_id: request_id.to_string(),
        peer: raw.peer,
        secure: raw.secure,
        body_signed,
    };
    Ok((auth, claim))
}

/// RAM authorisation, then flow control per (account, action).
fn authorize_and_throttle(
    state: &AppState,
    auth: &Authenticated,
    raw: &RawRequest,
) -> Result<(), ApiError> {
    let p = &auth.params;
    authorize::authorize(
        &state.config.server.region,
        &AccessRequest {
            principal: auth.caller.principal(),
            access_key_id: &auth.caller.key.id,
            ram_action: auth.action.ram_action,
            cust_space_id: p.optional("CustSpaceId"),
            campaign_id: p.optional("CampaignId"),
            role_arn: p.optional("RoleArn"),
            peer: auth.peer,
            secure: auth.secure,
            user_agent: envelope::header(&raw.headers, &http::header::USER_AGENT),
        },
        state.now_secs(),
    )?;
    let limits = &state.config.flow_control;
    let rate = limits
        .actions
        .get(auth.action.name)
        .copied()
        .unwrap_or(limits.per_second);
    // Cluster mode: each of N nodes enforces its share of the account's quota.
    let share = state.quota_share();
    let (rate, burst) = if share > 1 && rate > 0 {
        (
            rate.div_ceil(share as u32).max(1),
            limits.burst.div_ceil(share as u32).max(1),
        )
    } else {
        (rate, limits.burst)
    };
    match state
        .flow
        .check(auth.caller.account_uid(), auth.action.name, rate, burst)
    {
        Throttle::Allow => Ok(()),
        Throttle::RetryAfterMs(ms) => {
            let mut err = ApiError::new(ErrorCode::ThrottlingUser);
            err.retry_after_ms = Some(ms);
            Err(err)
        }
    }
}

/// Runs the operation's handler with what it may use.
async fn dispatch(state: &AppState, auth: &Authenticated) -> Answered {
    let tenants = state.tenants();
    let identities = state.identities();
    let ctx = Ctx {
        req: auth,
        store: &state.store,
        tenants: &tenants,
        identities: &identities,
        now_ms: state.now_ms(),
    };
    match auth.action.handler {
        Handler::Sync(f) => {
            // Reads: a linearizable node first applies everything the stream held.
            if state.linearizable() {
                store::wait_async(state.store.read_barrier()).await?;
            }
            f(&ctx)
        }
        Handler::Async(f) => f(&ctx).await,
    }
}

/// The RPC endpoint: every request that is not another route.
pub async fn endpoint(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let request_id = response::new_request_id();
    let host_id = state.config.server.host_id.as_str();
    let conn = request
        .extensions()
        .get::<ConnectionInfo>()
        .copied()
        .unwrap_or(ConnectionInfo {
            peer: SocketAddr::from(([0, 0, 0, 0], 0)),
            local: SocketAddr::from(([0, 0, 0, 0], 0)),
            secure: false,
        });
    let (parts, body) = request.into_parts();

    let limit = state.config.server.max_body_bytes;
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let body = if declared_too_large {
        Err(ApiError::new(ErrorCode::RequestTooLarge))
    } else {
        let timeout = std::time::Duration::from_secs(state.config.server.body_read_timeout_secs);
        crate::http::read_body(body, limit, timeout).await
    };
    let body = match body {
        Ok(b) => b,
        Err(err) => {
            log_request(&request_id, None, Some(err.code), started);
            return response::error(Format::Json, None, &request_id, host_id, &err);
        }
    };
    let raw = RawRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        peer: conn.peer,
        secure: conn.secure,
    };

    let handled = std::panic::AssertUnwindSafe(handle(&state, raw, &request_id))
        .catch_unwind()
        .await;
    let outcome = match handled {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::error!(request_id, "panic in the RPC pipeline");
            Outcome {
                format: Format::Json,
                action_name: None,
                result: Err(ApiError::new(ErrorCode::InternalError)),
            }
        }
    };
    match outcome.result {
        Ok(fields) => {
            log_request(&request_id, outcome.action_name, None, started);
            response::success(
                outcome.format,
                outcome.action_name.unwrap_or(""),
                &request_id,
                fields,
            )
        }
        Err(err) => {
            log_request(&request_id, outcome.action_name, Some(err.code), started);
            response::error(
                outcome.format,
                outcome.action_name,
                &request_id,
                host_id,
                &err,
            )
        }
    }
}

/// Counts the request (by action and code) and logs it at debug level (a busy server must not
/// spend its time writing a line per request). `code` is `None` for success.
fn log_request(
    request_id: &str,
    action: Option<&str>,
    code: Option<ErrorCode>,
    started: std::time::Instant,
) {
    let elapsed = started.elapsed();
    crate::http::telemetry::request(action, code, elapsed);
    tracing::debug!(
        request_id,
        action = action.unwrap_or("-"),
        code = code.map_or("OK", |c| c.spec().code),
        micros = elapsed.as_micros() as u64,
        "rpc"
    );
}
