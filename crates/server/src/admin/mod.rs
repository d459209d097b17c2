//! The emulator's controls: fault injection, snapshots, restore and reset, behind the admin API.
//!
//! `/admin/v1/...` answers only when `[admin] token` is set, only to `Authorization: Bearer <token>`
//! (compared in constant time, never logged), and only on listeners bound to a loopback address unless
//! `[admin] allow_remote = true`. The API is ours, not Alibaba's, so its refusals are plain JSON
//! (`{"Code","Message"}`) with their own codes, all mapped to statuses in [`AdminError`].

pub mod faults;
pub mod snapshot;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::config::{AccountConfig, Config};
use crate::state::AppState;
use crate::ConnectionInfo;
use faults::{FaultError, FaultSet, FaultSpec, Injection};
use snapshot::{Snapshot, SnapshotError};

/// Largest snapshot the API takes.
pub const MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Largest state a restore may log in cluster mode (one JetStream message).
const MAX_CLUSTER_STATE: usize = 850 * 1024;

/// Every refusal of the admin API.
#[derive(Debug, Error)]
pub enum AdminError {
    #[error("there is no admin API on this server (set [admin] token to enable it)")]
    Disabled,
    #[error("the admin API is served on loopback listeners only (set [admin] allow_remote = true to serve it here)")]
    NotLoopback,
    #[error("missing admin token: send Authorization: Bearer <token>")]
    MissingToken,
    #[error("wrong admin token")]
    WrongToken,
    #[error("{0}")]
    BadRule(#[from] FaultError),
    #[error("{0}")]
    BadSnapshot(#[from] SnapshotError),
    #[error("the snapshot does not fit this server: {0}")]
    Unusable(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no seed snapshot is configured for reset --demo ([admin] seed_snapshot)")]
    NoSeed,
    #[error("storage: {0}")]
    Store(String),
}

impl AdminError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AdminError::Disabled => (StatusCode::NOT_FOUND, "Admin.Disabled"),
            AdminError::NotLoopback => (StatusCode::FORBIDDEN, "Admin.NotLoopback"),
            AdminError::MissingToken => (StatusCode::UNAUTHORIZED, "Admin.MissingToken"),
            AdminError::WrongToken => (StatusCode::FORBIDDEN, "Admin.WrongToken"),
            AdminError::BadRule(_) => (StatusCode::BAD_REQUEST, "Admin.InvalidFaultRule"),
            AdminError::BadSnapshot(_) => (StatusCode::BAD_REQUEST, "Admin.InvalidSnapshot"),
            AdminError::Unusable(_) => (StatusCode::BAD_REQUEST, "Admin.InvalidSnapshot"),
            AdminError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Admin.BadRequest"),
            AdminError::NoSeed => (StatusCode::CONFLICT, "Admin.NoSeedSnapshot"),
            AdminError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "Admin.StorageUnavailable"),
        }
    }

    /// Every code, for the documentation's test.
    pub const CODES: &'static [&'static str] = &[
        "Admin.Disabled",
        "Admin.NotLoopback",
        "Admin.MissingToken",
        "Admin.WrongToken",
        "Admin.InvalidFaultRule",
        "Admin.InvalidSnapshot",
        "Admin.BadRequest",
        "Admin.NoSeedSnapshot",
        "Admin.StorageUnavailable",
    ];
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "Code": code, "Message": self.to_string() }).to_string(),
        )
            .into_response()
    }
}

/// The admin API's settings and the fault rules in force.
pub struct Admin {
    /// SHA-256 of the token (compared in constant time); `None`: the API is off.
    token_digest: Option<[u8; 32]>,
    allow_remote: bool,
    faults: Mutex<FaultSet>,
    /// Whether any rule is in force: the gateway's check costs one load when none is.
    any_faults: std::sync::atomic::AtomicBool,
}

impl Admin {
    /// From a validated configuration.
    pub fn from_config(config: &Config) -> Admin {
        let faults = FaultSet::from_specs(&config.faults).unwrap_or_default();
        let token_digest = config
            .admin
            .token
            .as_ref()
            .and_then(|t| t.resolve())
            .map(|t| Sha256::digest(t.as_bytes()).into());
        Admin {
            token_digest,
            allow_remote: config.admin.allow_remote,
            any_faults: (!faults.is_empty()).into(),
            faults: Mutex::new(faults),
        }
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, FaultSet> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_any(&self, set: &FaultSet) {
        self.any_faults
            .store(!set.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// The fault for one authenticated call (the gateway asks after flow control).
    pub fn decide(&self, action: &str, access_key_id: &str) -> Option<Injection> {
        if !self.any_faults.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.faults().decide(action, access_key_id)
    }

    fn check(
        &self,
        conn: Option<ConnectionInfo>,
        headers: &http::HeaderMap,
    ) -> Result<(), AdminError> {
        let digest = self.token_digest.ok_or(AdminError::Disabled)?;
        // A request that did not come through a listener (the router in tests) is in-process.
        let loopback = conn.is_none_or(|c| c.local.ip().is_loopback());
        if !loopback && !self.allow_remote {
            return Err(AdminError::NotLoopback);
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AdminError::MissingToken)?;
        let presented: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        if bool::from(presented.ct_eq(&digest)) {
            Ok(())
        } else {
            Err(AdminError::WrongToken)
        }
    }
}

/// The admin routes, nested under `/admin/v1`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/admin/v1/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/admin/v1/snapshot", get(take_snapshot))
        .route("/admin/v1/restore", post(restore))
        .route("/admin/v1/reset", post(reset))
}

fn authorized(state: &AppState, request: &Request) -> Result<(), AdminError> {
    let conn = request.extensions().get::<ConnectionInfo>().copied();
    state.admin.check(conn, request.headers())
}

fn ok(value: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn body_bytes(
    state: &AppState,
    request: Request,
    limit: usize,
) -> Result<bytes::Bytes, AdminError> {
    let timeout =
        std::time::Duration::from_secs(state.config.server.body_read_timeout_secs.max(30));
    crate::http::read_body(request.into_body(), limit, timeout)
        .await
        .map_err(|e| AdminError::BadRequest(e.message().to_string()))
}

/// A rule as listed: its spec, id, hits so far, and hits left for a counted rule.
#[derive(Serialize)]
struct ListedRule<'a> {
    id: u64,
    #[serde(flatten)]
    spec: &'a FaultSpec,
    hits: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining: Option<u64>,
}

async fn list_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let set = state.admin.faults();
    let rules: Vec<ListedRule<'_>> = set
        .rules()
        .iter()
        .map(|r| ListedRule {
            id: r.id,
            spec: &r.spec,
            hits: r.hits,
            remaining: r.remaining(),
        })
        .collect();
    Ok(ok(json!({ "Faults": rules })))
}

async fn add_fault(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let body = body_bytes(&state, request, 64 * 1024).await?;
    let spec: FaultSpec = serde_json::from_slice(&body)
        .map_err(|e| AdminError::BadRequest(format!("fault rule: not a rule ({e})")))?;
    let mut set = state.admin.faults();
    let id = set.add(spec.clone())?;
    state.admin.set_any(&set);
    tracing::info!(id, action = %spec.action, code = ?spec.code, latency_ms = spec.latency_ms, "fault rule added");
    Ok(ok(json!({ "Id": id })))
}

async fn clear_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let mut set = state.admin.faults();
    let cleared = set.rules().len();
    set.clear();
    state.admin.set_any(&set);
    tracing::info!(cleared, "fault rules cleared");
    Ok(ok(json!({ "Cleared": cleared })))
}

#[derive(Serialize, Deserialize)]
struct AccountsOnly {
    #[serde(default)]
    accounts: Vec<AccountConfig>,
}

/// The whole state of this server as a snapshot file's bytes.
pub async fn snapshot_bytes(state: &AppState, notes: &str) -> Result<Vec<u8>, AdminError> {
    let saved = store::wait_async(state.store.saved_state())
        .await
        .map_err(|e| AdminError::Store(e.to_string()))?;
    let accounts = AccountsOnly {
        accounts: state.accounts(),
    };
    let accounts_toml = toml::to_string_pretty(&accounts)
        .map_err(|e| AdminError::Store(format!("writing the accounts: {e}")))?;
    Ok(Snapshot {
        written_by: format!("cams-insights {}", env!("CARGO_PKG_VERSION")),
        accounts_toml,
        notes: notes.to_string(),
        state: saved,
    }
    .to_bytes())
}

async fn take_snapshot(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let started = std::time::Instant::now();
    let bytes = snapshot_bytes(&state, &state.snapshot_notes()).await?;
    tracing::info!(
        bytes = bytes.len(),
        millis = started.elapsed().as_millis() as u64,
        "snapshot taken"
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

/// A snapshot checked against this server: its state decodes, its accounts make a valid
/// configuration with the rest of the running one. Nothing is changed.
pub fn check_snapshot(state: &AppState, bytes: &[u8]) -> Result<(Snapshot, Config), AdminError> {
    let snap = Snapshot::from_bytes(bytes)?;
    let accounts: AccountsOnly = toml::from_str(&snap.accounts_toml)
        .map_err(|e| AdminError::Unusable(format!("its accounts do not parse: {e}")))?;
    let mut config = (*state.config).clone();
    config.accounts = accounts.accounts;
    config
        .validate()
        .map_err(|e| AdminError::Unusable(format!("its accounts are not valid here: {e}")))?;
    state
        .store
        .host()
        .check_state(&snap.state)
        .map_err(|e| AdminError::Unusable(format!("its state does not load: {e}")))?;
    if state.cluster.is_some() && snap.state.len() > MAX_CLUSTER_STATE {
        return Err(AdminError::Unusable(format!(
            "its state is {} bytes; in cluster mode a restore goes through one JetStream message of at most {MAX_CLUSTER_STATE} bytes",
            snap.state.len()
        )));
    }
    Ok((snap, config))
}

/// Restores a checked snapshot: the state through the log, then the accounts (as SIGHUP swaps them).
pub async fn apply_snapshot(
    state: &AppState,
    snap: Snapshot,
    config: Config,
) -> Result<(), AdminError> {
    let pending = state
        .store
        .restore(snap.state)
        .map_err(|e| AdminError::Unusable(e.to_string()))?;
    let done = store::wait_async(pending)
        .await
        .map_err(|e| AdminError::Store(e.to_string()))?;
    if !done {
        return Err(AdminError::Store("the saved state did not install".into()));
    }
    state
        .reload(&config)
        .map_err(|e| AdminError::Unusable(e.to_string()))?;
    state.set_snapshot_notes(snap.notes);
    Ok(())
}

async fn restore(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let started = std::time::Instant::now();
    let body = body_bytes(&state, request, MAX_SNAPSHOT_BYTES).await?;
    let (snap, config) = check_snapshot(&state, &body)?;
    let written_by = snap.written_by.clone();
    apply_snapshot(&state, snap, config).await?;
    let stats = state.store.stats();
    tracing::info!(millis = started.elapsed().as_millis() as u64, %written_by, "snapshot restored");
    Ok(ok(json!({
        "Restored": true,
        "WrittenBy": written_by,
        "Campaigns": stats.campaigns,
        "Messages": stats.messages,
    })))
}

#[derive(Deserialize)]
struct ResetQuery {
    /// `empty` (default) or `demo` (the seed snapshot).
    #[serde(default)]
    to: Option<String>,
}

async fn reset(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ResetQuery>,
    request: Request,
) -> Result<Response, AdminError> {
    authorized(&state, &request)?;
    let started = std::time::Instant::now();
    match query.to.as_deref().unwrap_or("empty") {
        "empty" => {
            let done = store::wait_async(state.store.reset())
                .await
                .map_err(|e| AdminError::Store(e.to_string()))?;
            if !done {
                return Err(AdminError::Store("the reset did not apply".into()));
            }
        }
        "demo" => {
            let path = state
                .config
                .admin
                .seed_snapshot
                .clone()
                .ok_or(AdminError::NoSeed)?;
            let bytes = std::fs::read(&path).map_err(|e| {
                AdminError::Store(format!("reading the seed snapshot {}: {e}", path.display()))
            })?;
            let (snap, config) = check_snapshot(&state, &bytes)?;
            apply_snapshot(&state, snap, config).await?;
        }
        other => {
            return Err(AdminError::BadRequest(format!(
                "reset: `to` is `empty` or `demo`, not `{other}`"
            )))
        }
    }
    let to = query.to.unwrap_or_else(|| "empty".into());
    tracing::info!(millis = started.elapsed().as_millis() as u64, %to, "state reset");
    Ok(ok(json!({ "Reset": true, "To": to })))
}
