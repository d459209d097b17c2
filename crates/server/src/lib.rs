//! The HTTP front of cams-insights: the signed RPC gateway, `/healthz`, and (later) webhooks,
//! console and metrics, on one listener.
//!
//! The gateway never computes metrics and never touches SQL: it authenticates, authorises and
//! dispatches to the actions, which call the domain and the store.

pub mod actions;
pub mod authorize;
pub mod config;
pub mod errors;
pub mod events_endpoint;
pub mod gateway;
pub mod identity;
pub mod ingest;
mod listener;
pub mod sts;
pub mod telemetry;
pub mod tenants;
pub mod throttle;
pub mod tls;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt;

pub use config::Config;
use errors::{ApiError, ErrorCode};
use events_endpoint::IngestTokens;
use gateway::nonce::NonceCache;
use gateway::response::{self, Format};
use gateway::RawRequest;
use identity::Identities;
pub use listener::{RunningServer, ServerError};
use store::Store;
use sts::StsKey;
use tenants::Tenants;
use throttle::FlowControl;

/// Per-connection facts the listener attaches to every request.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    pub secure: bool,
}

/// Everything the request handlers share.
pub struct AppState {
    pub config: Arc<Config>,
    identities: RwLock<Arc<Identities>>,
    tenants: RwLock<Arc<Tenants>>,
    ingest_tokens: RwLock<Arc<IngestTokens>>,
    webhook_routing: RwLock<Arc<webhooks::WebhookRouting>>,
    pub marketing_wamids: webhooks::MarketingWamids,
    pub nonces: NonceCache,
    pub flow: FlowControl,
    pub store: Arc<Store>,
}

impl AppState {
    /// Builds the state from a validated configuration and an open store.
    pub fn new(config: Config, store: Arc<Store>) -> Result<Arc<AppState>, config::ConfigError> {
        let identities = Identities::from_config(&config, sts_key(&config))?;
        let tenants = Tenants::from_config(&config);
        let nonces = NonceCache::new(config.server.nonce_capacity);
        let ingest_tokens = IngestTokens::from_config(&config);
        let webhook_routing = webhooks::WebhookRouting::from_config(&config);
        telemetry::handle();
        Ok(Arc::new(AppState {
            identities: RwLock::new(Arc::new(identities)),
            config: Arc::new(config),
            tenants: RwLock::new(Arc::new(tenants)),
            ingest_tokens: RwLock::new(Arc::new(ingest_tokens)),
            webhook_routing: RwLock::new(Arc::new(webhook_routing)),
            marketing_wamids: Default::default(),
            nonces,
            flow: FlowControl::default(),
            store,
        }))
    }

    /// The current tenant directory (swapped whole on reload).
    pub fn tenants(&self) -> Arc<Tenants> {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current webhook routing.
    pub fn webhook_routing(&self) -> Arc<webhooks::WebhookRouting> {
        self.webhook_routing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current ingest tokens.
    pub fn ingest_tokens(&self) -> Arc<IngestTokens> {
        self.ingest_tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Server time, unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// Replaces identities, policies, tenants and ingest tokens with those of a new configuration
    /// (SIGHUP). The new configuration is built completely before anything is swapped, so a bad file
    /// changes nothing. Listeners, storage and flow-control limits keep their start-up values.
    pub fn reload(&self, new: &Config) -> Result<(), config::ConfigError> {
        new.validate()?;
        let sts = match new.sts.signing_key.as_ref().and_then(|k| k.resolve()) {
            Some(secret) => StsKey::from_secret(secret.as_bytes()),
            None => self.identities().sts.clone(),
        };
        let identities = Identities::from_config(new, sts)?;
        let tenants = Tenants::from_config(new);
        let tokens = IngestTokens::from_config(new);
        let routing = webhooks::WebhookRouting::from_config(new);
        *self.identities.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(identities);
        *self
            .webhook_routing
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(routing);
        *self.tenants.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tenants);
        *self
            .ingest_tokens
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(tokens);
        Ok(())
    }

    /// The current identities (swapped whole on reload).
    pub fn identities(&self) -> Arc<Identities> {
        self.identities
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Server time, unix seconds.
    pub fn now_secs(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// The STS key: configured, or random for this process.
fn sts_key(config: &Config) -> StsKey {
    match config.sts.signing_key.as_ref().and_then(|k| k.resolve()) {
        Some(secret) => StsKey::from_secret(secret.as_bytes()),
        None => StsKey::random(),
    }
}

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/events",
            axum::routing::post(events_endpoint::post_events),
        )
        .route(
            "/webhooks/meta",
            get(webhooks::handshake).post(webhooks::receive),
        )
        .route("/metrics", get(prometheus_metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(rpc)
        .with_state(state)
        // Backstop: a panic outside the RPC handler's own guard still answers with an envelope.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

async fn prometheus_metrics(State(state): State<Arc<AppState>>) -> Response {
    telemetry::store_stats(&state.store.stats());
    let mut text = telemetry::render_requests();
    text.push_str(&telemetry::handle().map(|h| h.render()).unwrap_or_default());
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

async fn healthz() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// A route called with a method it does not serve: the envelope, never an empty 405.
async fn method_not_allowed(State(state): State<Arc<AppState>>) -> Response {
    let request_id = response::new_request_id();
    response::error(
        Format::Json,
        None,
        &request_id,
        &state.config.server.host_id,
        &ApiError::new(ErrorCode::UnsupportedHttpMethod),
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let request_id = response::new_request_id();
    tracing::error!(request_id, "panic while handling a request");
    response::error(
        Format::Json,
        None,
        &request_id,
        "",
        &ApiError::new(ErrorCode::InternalError),
    )
}

/// The RPC endpoint: every request that is not another route.
async fn rpc(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let request_id = response::new_request_id();
    let host_id = state.config.server.host_id.as_str();
    let conn = request
        .extensions()
        .get::<ConnectionInfo>()
        .copied()
        .unwrap_or(ConnectionInfo {
            peer: SocketAddr::from(([0, 0, 0, 0], 0)),
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
        Err(())
    } else {
        axum::body::to_bytes(body, limit).await.map_err(|_| ())
    };
    let body = match body {
        Ok(b) => b,
        Err(()) => {
            let err = ApiError::new(ErrorCode::RequestTooLarge);
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

    let handled = std::panic::AssertUnwindSafe(gateway::handle(&state, raw, &request_id))
        .catch_unwind()
        .await;
    let outcome = match handled {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::error!(request_id, "panic in the RPC pipeline");
            gateway::Outcome {
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
    telemetry::request(action, code, elapsed);
    tracing::debug!(
        request_id,
        action = action.unwrap_or("-"),
        code = code.map_or("OK", |c| c.spec().code),
        micros = elapsed.as_micros() as u64,
        "rpc"
    );
}
