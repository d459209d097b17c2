//! `GET|POST /webhooks/meta`: Meta's webhooks, verified, parsed, and acknowledged only once durable.
//!
//! - GET: the subscription handshake (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`).
//! - POST: `X-Hub-Signature-256` is checked over the raw body against every configured app secret
//!   before anything is parsed; a missing signature is 401, a wrong one 403, and nothing of such a
//!   request is stored. Malformed JSON with a valid signature is 400. Everything else is 200, but
//!   only after every usable event is committed (concurrent webhooks share commits); items that
//!   cannot be used (unknown page, unknown field, not marketing, ...) are counted by reason on
//!   `/metrics` and logged, so Meta does not retry them forever.
//! - Messenger events count for the account owning the page (`entry.id`); WhatsApp statuses for
//!   the account owning the WABA, attributed to campaigns by the configured mappings.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::http::telemetry;
use crate::ingest::routing;
use crate::state::AppState;

/// wamids seen with marketing pricing, so that their later statuses without pricing count too.
/// Bounded: past the cap the set starts over (a read receipt of a message seen more than ~a
/// million messages ago then needs its own pricing to count). Not persisted across restarts.
#[derive(Default)]
pub struct MarketingWamids {
    set: Mutex<HashSet<String>>,
}

const WAMID_CAP: usize = 1_000_000;

impl MarketingWamids {
    fn contains(&self, wamid: &str) -> bool {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(wamid)
    }

    fn extend(&self, wamids: Vec<String>) {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() + wamids.len() > WAMID_CAP {
            set.clear();
        }
        set.extend(wamids);
    }
}

/// The handshake.
pub async fn handshake(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let routing = state.webhook_routing();
    let tokens: Vec<&str> = routing.verify_tokens.iter().map(String::as_str).collect();
    match meta_webhooks::verify_handshake(
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
        &tokens,
    ) {
        Some(challenge) => {
            ([(http::header::CONTENT_TYPE, "text/plain")], challenge).into_response()
        }
        None => plain(StatusCode::FORBIDDEN, "verification failed"),
    }
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A webhook delivery.
pub async fn receive(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let (outcome, response) = receive_inner(&state, request).await;
    telemetry::webhook_request(outcome, started.elapsed().as_secs_f64());
    response
}

async fn receive_inner(state: &Arc<AppState>, request: Request) -> (&'static str, Response) {
    let limit = state.config.meta.max_body_bytes;
    let (parts, body): (_, Body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return (
            "too_large",
            plain(StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
        );
    }
    let timeout = std::time::Duration::from_secs(state.config.server.body_read_timeout_secs);
    let body = match crate::http::read_body(body, limit, timeout).await {
        Ok(b) => b,
        Err(e) if e.code == crate::errors::ErrorCode::RequestTooLarge => {
            return (
                "too_large",
                plain(StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
            )
        }
        Err(e) if e.code == crate::errors::ErrorCode::RequestTimeout => {
            return (
                "timeout",
                plain(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body did not arrive in time",
                ),
            )
        }
        Err(_) => {
            return (
                "malformed",
                plain(StatusCode::BAD_REQUEST, "malformed payload"),
            )
        }
    };
    let routing = state.webhook_routing();
    let secrets: Vec<&[u8]> = routing.app_secrets.iter().map(Vec::as_slice).collect();
    let signature = parts
        .headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = meta_webhooks::verify_signature(signature, &body, &secrets) {
        tracing::warn!(error = %e, "webhook refused: signature");
        let status = match e {
            meta_webhooks::SignatureError::Missing => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        };
        return ("bad_signature", plain(status, "invalid signature"));
    }
    // Parsed in a scope of its own: the context's closure must not live across the awaits below.
    let parsed = {
        let known = |wamid: &str| state.marketing_wamids.contains(wamid);
        let ctx = meta_webhooks::ParseContext {
            whatsapp_callback_campaigns: &routing.callback_campaigns,
            whatsapp_phone_number_campaigns: &routing.phone_number_campaigns,
            is_known_marketing: &known,
        };
        meta_webhooks::parse(&body, &ctx)
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused: malformed payload");
            return (
                "malformed",
                plain(StatusCode::BAD_REQUEST, "malformed payload"),
            );
        }
    };
    for s in &parsed.skipped {
        telemetry::webhook_skipped(s.reason.as_str(), 1);
        tracing::info!(reason = s.reason.as_str(), detail = %s.detail, "webhook item skipped");
    }
    state
        .marketing_wamids
        .extend(parsed.marketing_wamids.clone());

    let tenants = state.tenants();
    let routed = routing::route(
        parsed,
        &routing,
        &tenants,
        &|id| state.store.campaign(id),
        &|account| state.serves(account),
    );
    for skip in &routed.skipped {
        telemetry::webhook_skipped(skip.reason, 1);
        tracing::info!(reason = skip.reason, detail = %skip.detail, "webhook item skipped");
    }
    if routed.price_currency_mismatches > 0 {
        telemetry::webhook_skipped("price_currency_mismatch", routed.price_currency_mismatches);
    }

    // Durable before 200: every batch committed (concurrent webhooks share commits).
    let mut report = ingest::Report::default();
    for batch in routed.batches {
        let committed = ingest::commit(
            &state.store,
            &batch.account,
            batch.page.as_deref(),
            batch.events,
            &mut report,
        )
        .await;
        if let Err(e) = committed {
            tracing::error!(error = %e, "webhook events not stored; Meta will retry");
            return (
                "storage_error",
                plain(StatusCode::INTERNAL_SERVER_ERROR, "storage error"),
            );
        }
    }
    let (messenger, whatsapp) = (routed.messenger, routed.whatsapp);
    telemetry::ingested("webhook_messenger", messenger);
    telemetry::ingested("webhook_whatsapp", whatsapp);
    (
        "ok",
        (
            [(http::header::CONTENT_TYPE, "text/plain")],
            "EVENT_RECEIVED",
        )
            .into_response(),
    )
}
