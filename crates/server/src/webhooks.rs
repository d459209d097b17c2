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
use insights::Event;

use crate::config::Config;
use crate::telemetry;
use crate::AppState;

/// How webhook payloads find their tenant and campaign; rebuilt on reload.
#[derive(Debug, Default)]
pub struct WebhookRouting {
    app_secrets: Vec<Vec<u8>>,
    verify_tokens: Vec<String>,
    /// WABA id → account.
    waba_owner: HashMap<String, String>,
    /// WABA id → the campaigns its own mappings name: a status may only count for those, so one
    /// tenant's tags or numbers can never attribute another tenant's messages.
    waba_campaigns: HashMap<String, HashSet<String>>,
    /// WABA id → declared currency.
    waba_currency: HashMap<String, String>,
    callback_campaigns: HashMap<String, String>,
    phone_number_campaigns: HashMap<String, String>,
}

impl WebhookRouting {
    pub fn from_config(config: &Config) -> WebhookRouting {
        let mut r = WebhookRouting {
            app_secrets: config
                .meta
                .app_secrets
                .iter()
                .filter_map(|s| s.resolve())
                .map(String::into_bytes)
                .collect(),
            verify_tokens: config
                .meta
                .verify_tokens
                .iter()
                .filter_map(|s| s.resolve())
                .collect(),
            ..Default::default()
        };
        for account in &config.accounts {
            for w in &account.whatsapp_business_accounts {
                r.waba_owner.insert(w.id.clone(), account.uid.clone());
                r.waba_campaigns.insert(
                    w.id.clone(),
                    w.campaigns_by_callback
                        .values()
                        .chain(w.campaigns_by_phone_number.values())
                        .cloned()
                        .collect(),
                );
                if let Some(c) = &w.currency {
                    r.waba_currency.insert(w.id.clone(), c.to_ascii_uppercase());
                }
                r.callback_campaigns.extend(w.campaigns_by_callback.clone());
                r.phone_number_campaigns
                    .extend(w.campaigns_by_phone_number.clone());
            }
        }
        r
    }
}

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
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return (
                "too_large",
                plain(StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
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

    // Group usable events by (account, page).
    let tenants = state.tenants();
    let mut batches: HashMap<(String, Option<String>), Vec<Event>> = HashMap::new();
    let skip = |reason: &'static str, detail: String| {
        telemetry::webhook_skipped(reason, 1);
        tracing::info!(reason, detail = %detail, "webhook item skipped");
    };
    let (mut messenger, mut whatsapp) = (0u64, 0u64);
    for pe in parsed.messenger {
        let Some((cs, _)) = tenants.page_owner(&pe.page_id) else {
            skip("unknown_page", format!("page {}", pe.page_id));
            continue;
        };
        if !owned_or_unregistered(state, &cs.account_uid, &pe.event.campaign_id) {
            skip(
                "foreign_campaign",
                format!("campaign {}", pe.event.campaign_id),
            );
            continue;
        }
        messenger += 1;
        batches
            .entry((cs.account_uid.clone(), Some(pe.page_id)))
            .or_default()
            .push(pe.event);
    }
    for we in parsed.whatsapp {
        let Some(account) = routing.waba_owner.get(&we.waba_id) else {
            skip("unknown_waba", format!("WABA {}", we.waba_id));
            continue;
        };
        let own = routing
            .waba_campaigns
            .get(&we.waba_id)
            .is_some_and(|c| c.contains(&we.event.campaign_id));
        if !own {
            skip(
                "foreign_mapping",
                format!(
                    "campaign {} is not mapped by WABA {}",
                    we.event.campaign_id, we.waba_id
                ),
            );
            continue;
        }
        if !owned_or_unregistered(state, account, &we.event.campaign_id) {
            skip(
                "foreign_campaign",
                format!("campaign {}", we.event.campaign_id),
            );
            continue;
        }
        let mut event = we.event;
        // A price counts only in the currency of the campaign's ad account (or, before the campaign
        // is registered, the WABA's declared one); otherwise the rate card prices the delivery.
        if event.price_micros.is_some() {
            let expected = campaign_currency(state, &event.campaign_id)
                .or_else(|| routing.waba_currency.get(&we.waba_id).cloned());
            let matches = match (&expected, &we.price_currency) {
                // No currency stated: the parser's own zero for a non-billable message.
                (_, None) => true,
                (Some(e), Some(p)) => e.eq_ignore_ascii_case(p),
                (None, Some(_)) => false,
            };
            if !matches {
                telemetry::webhook_skipped("price_currency_mismatch", 1);
                event.price_micros = None;
            }
        }
        whatsapp += 1;
        batches
            .entry((account.clone(), None))
            .or_default()
            .push(event);
    }

    // Durable before 200: every batch committed.
    let pending: Vec<_> = batches
        .into_iter()
        .map(|((account, page), events)| state.store.append(&account, page.as_deref(), events))
        .collect();
    for p in pending {
        if let Err(e) = store::wait_async(p).await {
            tracing::error!(error = %e, "webhook events not stored; Meta will retry");
            return (
                "storage_error",
                plain(StatusCode::INTERNAL_SERVER_ERROR, "storage error"),
            );
        }
    }
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

/// Events may count for a campaign the account registered, or one nobody registered yet.
fn owned_or_unregistered(state: &AppState, account: &str, campaign_id: &str) -> bool {
    state
        .store
        .campaign(campaign_id)
        .is_none_or(|c| c.placement.account_uid == account)
}

/// The currency of a registered campaign's ad account.
fn campaign_currency(state: &AppState, campaign_id: &str) -> Option<String> {
    let c = state.store.campaign(campaign_id)?;
    let tenants = state.tenants();
    let ad = tenants
        .ad_account(
            &c.placement.account_uid,
            &c.placement.cust_space_id,
            &c.placement.page_id,
            &c.placement.ad_account_id,
        )
        .ok()?;
    Some(ad.currency.code().to_string())
}
