//! The HTTP layer: the router (testable without a socket), the listeners, TLS, and `/metrics`.

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
