//! Where a parsed webhook's events go: Messenger events to the account owning the page, WhatsApp statuses
//! to the account owning the WABA (only for campaigns that WABA's own mappings name), each through the
//! same tenancy rule as every other way in; a price counts only in the campaign's currency.
//!
//! Pure: everything it consults is passed in (the routing table from the configuration, the tenant
//! directory, a lookup of registered campaigns), so it is tested without HTTP or storage.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use insights::Event;
use meta_webhooks::Parsed;

use crate::config::Config;
use crate::tenants::Tenants;

/// How webhook payloads find their tenant and campaign; rebuilt on reload.
#[derive(Debug, Default)]
pub struct WebhookRouting {
    pub(crate) app_secrets: Vec<Vec<u8>>,
    pub(crate) verify_tokens: Vec<String>,
    /// WABA id → account.
    waba_owner: HashMap<String, String>,
    /// WABA id → the campaigns its own mappings name: a status may only count for those, so one
    /// tenant's tags or numbers can never attribute another tenant's messages.
    waba_campaigns: HashMap<String, HashSet<String>>,
    /// WABA id → declared currency.
    waba_currency: HashMap<String, String>,
    pub(crate) callback_campaigns: HashMap<String, String>,
    pub(crate) phone_number_campaigns: HashMap<String, String>,
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

/// Events of one account (and, for Messenger, the page they came for), to commit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub account: String,
    pub page: Option<String>,
    pub events: Vec<Event>,
}

/// An event that does not count, with the reason (a `/metrics` label) and a log-safe detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub reason: &'static str,
    pub detail: String,
}

/// Where a payload's events go.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Routed {
    pub batches: Vec<Batch>,
    pub skipped: Vec<Skip>,
    /// Prices dropped because they were not in the campaign's currency (the rate card prices those
    /// deliveries instead).
    pub price_currency_mismatches: u64,
    pub messenger: u64,
    pub whatsapp: u64,
}

/// Routes the events of a parsed payload. `campaign` looks up a registered campaign by id; `serves`
/// says whether this node serves an account (cluster partitions: others' events are skipped as
/// `not_served_here`, and belong to the node group that serves them).
pub fn route(
    parsed: Parsed,
    routing: &WebhookRouting,
    tenants: &Tenants,
    campaign: &dyn Fn(&str) -> Option<Arc<store::Campaign>>,
    serves: &dyn Fn(&str) -> bool,
) -> Routed {
    let mut routed = Routed::default();
    let mut batches: HashMap<(String, Option<String>), Vec<Event>> = HashMap::new();
    let mut skip = |reason: &'static str, detail: String| {
        routed.skipped.push(Skip { reason, detail });
    };
    let open_to = |account: &str, campaign_id: &str| {
        let c = campaign(campaign_id);
        ingest::open_to(
            c.as_ref().map(|c| c.placement.account_uid.as_str()),
            account,
        )
    };
    for pe in parsed.messenger {
        let Some((cs, _)) = tenants.page_owner(&pe.page_id) else {
            skip("unknown_page", format!("page {}", pe.page_id));
            continue;
        };
        if !serves(&cs.account_uid) {
            skip("not_served_here", format!("page {}", pe.page_id));
            continue;
        }
        if !open_to(&cs.account_uid, &pe.event.campaign_id) {
            skip(
                "foreign_campaign",
                format!("campaign {}", pe.event.campaign_id),
            );
            continue;
        }
        routed.messenger += 1;
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
        if !serves(account) {
            skip("not_served_here", format!("WABA {}", we.waba_id));
            continue;
        }
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
        if !open_to(account, &we.event.campaign_id) {
            skip(
                "foreign_campaign",
                format!("campaign {}", we.event.campaign_id),
            );
            continue;
        }
        let mut event = we.event;
        // A price counts only in the currency of the campaign's ad account (or, before the campaign is
        // registered, the WABA's declared one); otherwise the rate card prices the delivery.
        if event.price_micros.is_some() {
            let expected = campaign(&event.campaign_id)
                .and_then(|c| {
                    let p = &c.placement;
                    tenants
                        .ad_account(
                            &p.account_uid,
                            &p.cust_space_id,
                            &p.page_id,
                            &p.ad_account_id,
                        )
                        .ok()
                        .map(|ad| ad.currency.code().to_string())
                })
                .or_else(|| routing.waba_currency.get(&we.waba_id).cloned());
            let matches = match (&expected, &we.price_currency) {
                // No currency stated: the parser's own zero for a non-billable message.
                (_, None) => true,
                (Some(e), Some(p)) => e.eq_ignore_ascii_case(p),
                (None, Some(_)) => false,
            };
            if !matches {
                routed.price_currency_mismatches += 1;
                event.price_micros = None;
            }
        }
        routed.whatsapp += 1;
        batches
            .entry((account.clone(), None))
            .or_default()
            .push(event);
    }
    routed.batches = batches
        .into_iter()
        .map(|((account, page), events)| Batch {
            account,
            page,
            events,
        })
        .collect();
    routed
        .batches
        .sort_by(|a, b| (&a.account, &a.page).cmp(&(&b.account, &b.page)));
    routed
}
