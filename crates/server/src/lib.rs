//! The HTTP front of cams-insights: the signed RPC gateway, the ways in for events (`/v1/events`, Meta's
//! webhooks), `/healthz` and `/metrics`, on one listener (and an HTTPS one).
//!
//! Grouped by role, arrows pointing down:
//! - [`rpc`]: the gateway's stages (envelope → scheme → key → window → signature → nonce → RAM →
//!   throttle) and the operations, one file each, dispatched from one catalog;
//! - [`auth`]: identities, STS, the time window, replay protection, RAM authorisation, flow control;
//! - [`ingest`]: `/v1/events` and the webhooks, admitting events through the `ingest` crate;
//! - [`http`]: the router, listeners, TLS, telemetry.
//!
//! The gateway never computes metrics and never touches SQL: it authenticates, authorises and dispatches
//! to the operations, which call the domain and the store. Errors come from one table ([`errors`]).

pub mod admin;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod errors;
pub mod http;
pub mod ingest;
pub mod rpc;
pub mod state;
pub mod tenants;

use std::net::SocketAddr;

pub use config::Config;
pub use http::listener::{RunningServer, ServerError};
pub use http::router;
pub use state::AppState;

/// Per-connection facts the listener attaches to every request.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    /// The listener's address the connection came in on.
    pub local: SocketAddr,
    pub secure: bool,
}
