//! The HTTP layer: the router (testable without a socket), the listeners, TLS, and `/metrics`.

pub mod connections;
pub mod console;
pub mod door;
pub mod guard;
pub mod listener;
pub mod telemetry;
pub mod tls;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::response::{self, Format};
use crate::state::AppState;
use crate::{ingest, rpc};

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/events",
            axum::routing::post(ingest::events_endpoint::post_events),
        )
        .route(
            "/webhooks/meta",
            get(ingest::webhooks::handshake).post(ingest::webhooks::receive),
        )
        .route("/metrics", get(prometheus_metrics))
        .merge(crate::admin::routes())
        .route("/console", get(console::redirect))
        .route("/console/", get(console::index))
        .route("/console/{*path}", get(console::file))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(rpc::endpoint)
        .with_state(state)
        // Backstop: a panic outside the RPC handler's own guard still answers with an envelope.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

async fn prometheus_metrics(State(state): State<Arc<AppState>>) -> Response {
    telemetry::store_stats(&state.store.stats());
    telemetry::replication(state.store.lag(), state.quota_share());
    state.sample_connection_gauges();
    let mut text = telemetry::render_requests();
    text.push_str(&telemetry::handle().map(|h| h.render()).unwrap_or_default());
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// `{"status":"ok"}`; a cluster node adds its id and how far its fold is behind the stream.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let (status, body) = match &state.cluster {
        None => (http::StatusCode::OK, r#"{"status":"ok"}"#.to_string()),
        Some(cluster) => {
            // A node that cannot reach the stream, or whose fold stopped, is out of rotation.
            let healthy = state.store.healthy();
            let body = serde_json::json!({
                "status": if healthy { "ok" } else { "unavailable" },
                "node_id": cluster.node_id(),
                "lag": state.store.lag(),
                "applied_seq": state.store.host().applied_seq(),
                "nodes": cluster.nodes(),
            })
            .to_string();
            let status = if healthy {
                http::StatusCode::OK
            } else {
                http::StatusCode::SERVICE_UNAVAILABLE
            };
            (status, body)
        }
    };
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
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

/// Reads a request body of at most `limit` bytes within `timeout`. Too large: `RequestTooLarge`; framing
/// that breaks HTTP/1.1 (a malformed chunk, a body cut short): `MalformedRequest`; too slow:
/// `RequestTimeout`.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<bytes::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let collected =
        tokio::time::timeout(timeout, http_body_util::Limited::new(body, limit).collect())
            .await
            .map_err(|_| ApiError::new(ErrorCode::RequestTimeout))?;
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ErrorCode::RequestTooLarge.into())
        }
        Err(e) => {
            tracing::debug!(error = %e, "request body refused");
            Err(ApiError::with_message(
                ErrorCode::MalformedRequest,
                "The request is not valid HTTP/1.1: the body's framing is broken (a malformed chunk, or a body shorter than announced).",
            ))
        }
    }
}
