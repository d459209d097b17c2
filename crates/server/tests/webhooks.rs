//! Black-box tests of Meta's webhooks, `GET|POST /webhooks/meta` (docs/webhooks.md): a real server
//! on an ephemeral port, real HTTP, and the effect of every delivery read back through the signed
//! `GetMessageCampaignInsights` API (docs/metrics.md) and `/metrics`.
//!
//! Covered: the subscribe handshake; `X-Hub-Signature-256` (every refusal stores nothing, every
//! configured secret verifies); the five Messenger marketing-message fields in the Page envelope,
//! the bare change, the flat change and arrays of them, dated in the ad account's time zone, with
//! countries from the recipient directory and prices from the rate card; WhatsApp statuses with and
//! without pricing, costs, currencies, attribution by callback data and by phone number, country by
//! calling code; ids above 2^53 kept digit for digit; retries and duplicates (also concurrent)
//! counted once; malformed, oversized and unusable payloads; foreign campaigns and WABAs; the
//! Prometheus text of `/metrics`.
//!
//! `/metrics` counters are process-wide (one recorder for every server of this binary), so every
//! test holds [`SERIAL`] while its server lives: skip counters then move only by what the test
//! itself sent, and the tests assert exact deltas for every skip reason.

mod common;

use std::collections::BTreeMap;

use acs_client::{Call, CallResponse, Client, SignatureScheme};
use acs_signature::V3Algorithm;
use bytes::Bytes;
use chrono::NaiveDate;
use common::{assert_success, ms, Api, TestServer};
use http_body_util::Full;
use serde_json::{json, Value};
use server::Config;
use tokio::sync::{Mutex, MutexGuard};

// ---------------------------------------------------------------------------------------------
// Fixture: two accounts, their pages, ad accounts and WhatsApp Business Accounts
// ---------------------------------------------------------------------------------------------

const V3: SignatureScheme = SignatureScheme::V3(V3Algorithm::HmacSha256);
const VERSION: &str = "2020-06-06";

/// Account A: owns the pages and the WABA the tests send for (the key of `common`).
const A_UID: &str = common::ACCOUNT;
/// Account B: another tenant.
const B_UID: &str = "6543210987654321";
const B_KEY: &str = "LTAI5tOtherKey0000000001";
const B_SECRET: &str = "OtherSecret0123456789abcdefghij";

/// Meta app secrets: the current one and the previous one (a rotation in progress).
const APP_SECRET: &str = "meta-app-secret-current-0123456789";
const APP_SECRET_OLD: &str = "meta-app-secret-previous-9876543210";
const VERIFY_TOKEN: &str = "verify-token-7f3a";
/// A verify token with characters that must be percent-encoded in the handshake's query.
const VERIFY_TOKEN_ODD: &str = "odd token/+=&?#";
/// `[meta] max_body_bytes`, small so the limit is cheap to reach.
const MAX_BODY: usize = 32 * 1024;

/// A's cust space. `PAGE_A` is the page of Meta's samples (`entry.id` 140984918491243) with
/// `act-wh-usd` (USD, New York) and `act-wh-eur` (EUR, Berlin); `PAGE_A_BIG` is 2^53 + 1, which a
/// float would turn into 9007199254740992.
const CS_A: &str = "cams-wh-a";
const PAGE_A: &str = "140984918491243";
const AD_A: &str = "act-wh-usd";
const AD_A_EUR: &str = "act-wh-eur";
const PAGE_A_BIG: &str = "9007199254740993";
const AD_A_BIG: &str = "act-wh-big";
/// B's cust space, page and ad account (USD, UTC).
const CS_B: &str = "cams-wh-b";
const PAGE_B: &str = "208877665544332";
const AD_B: &str = "act-wh-b";
/// A page nobody configured.
const PAGE_UNKNOWN: &str = "555666777888999";

/// A's WABA (Meta's sample id). Callback data `spring-sale-2025` → `WA_CAMPAIGN`,
/// `cart-reminder-7` → `WA_CAMPAIGN_2`, `b-owned` → `WA_FOREIGN` (which B registers);
/// everything business number `PHONE_A_MAPPED` sends → `WA_CAMPAIGN`.
const WABA_A: &str = "1314702302917944";
/// A business number of A's WABA without a campaign of its own (the number of Meta's samples).
const PHONE_A: &str = "590968830767958";
const PHONE_A_MAPPED: &str = "555000111222333";
const WA_CAMPAIGN: &str = "120200000000000101";
const WA_CAMPAIGN_2: &str = "120200000000000102";
const WA_FOREIGN: &str = "120200000000000301";
/// B's WABA: callback `promo-b` and business number `PHONE_B_MAPPED` → `WA_CAMPAIGN_B`.
const WABA_B: &str = "2203344556677889";
const PHONE_B_MAPPED: &str = "444000111222333";
const WA_CAMPAIGN_B: &str = "120200000000000202";
/// A WABA nobody configured.
const WABA_UNKNOWN: &str = "7777777777777777";

/// Messenger marketing-message fields.
const ECHOES: &str = "marketing_message_echoes";
const DELIVERIES: &str = "marketing_message_deliveries";
const READS: &str = "marketing_message_reads";
const CLICKS: &str = "marketing_message_clicks";
const FAILED: &str = "marketing_message_delivery_failed";

fn config_toml(app_secrets: &[&str], verify_tokens: &[&str]) -> String {
    let list = |values: &[&str]| {
        values
            .iter()
            .map(|v| format!("{{ value = \"{v}\" }}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"
# Black-box tests send bursts; flow control has its own tests.
[flow_control]
per_second = 0

[server]
listen = "127.0.0.1:0"
host_id = "cams.test.local"

[meta]
app_secrets = [{secrets}]
verify_tokens = [{tokens}]
max_body_bytes = {MAX_BODY}

[[accounts]]
uid = "{A_UID}"
name = "acme"

[[accounts.access_keys]]
id = "{a_key}"
secret = "{a_secret}"

[[accounts.cust_spaces]]
id = "{CS_A}"

[[accounts.cust_spaces.pages]]
id = "{PAGE_A}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_A}"
name = "Acme US"
currency = "USD"
timezone = "America/New_York"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_A_EUR}"
name = "Acme EU"
currency = "EUR"
timezone = "Europe/Berlin"

[[accounts.cust_spaces.pages]]
id = "{PAGE_A_BIG}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_A_BIG}"
name = "Acme big ids"
currency = "USD"
timezone = "UTC"

[[accounts.whatsapp_business_accounts]]
id = "{WABA_A}"
campaigns_by_callback = {{ "spring-sale-2025" = "{WA_CAMPAIGN}", "cart-reminder-7" = "{WA_CAMPAIGN_2}", "b-owned" = "{WA_FOREIGN}" }}
campaigns_by_phone_number = {{ "{PHONE_A_MAPPED}" = "{WA_CAMPAIGN}" }}
currency = "USD"

[[accounts]]
uid = "{B_UID}"
name = "other"

[[accounts.access_keys]]
id = "{B_KEY}"
secret = "{B_SECRET}"

[[accounts.cust_spaces]]
id = "{CS_B}"

[[accounts.cust_spaces.pages]]
id = "{PAGE_B}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_B}"
name = "Other"
currency = "USD"
timezone = "UTC"

[[accounts.whatsapp_business_accounts]]
id = "{WABA_B}"
campaigns_by_callback = {{ "promo-b" = "{WA_CAMPAIGN_B}" }}
campaigns_by_phone_number = {{ "{PHONE_B_MAPPED}" = "{WA_CAMPAIGN_B}" }}
"#,
        secrets = list(app_secrets),
        tokens = list(verify_tokens),
        a_key = common::KEY_ID,
        a_secret = common::SECRET,
    )
}

fn config() -> Config {
    Config::parse(&config_toml(
        &[APP_SECRET, APP_SECRET_OLD],
        &[VERIFY_TOKEN, VERIFY_TOKEN_ODD],
    ))
    .expect("test config parses")
}

/// Held by every test while its server lives (see the module docs).
static SERIAL: Mutex<()> = Mutex::const_new(());

/// A running server, a signed API client for each account, and the serial guard.
struct Env {
    server: TestServer,
    a: Api,
    b: Api,
    _serial: MutexGuard<'static, ()>,
}

async fn start() -> Env {
    let serial = SERIAL.lock().await;
    let server = TestServer::start(config()).await;
    let a = Api {
        client: server.client(V3),
    };
    let b = Api {
        client: server.client_with(B_KEY, B_SECRET, V3),
    };
    Env {
        server,
        a,
        b,
        _serial: serial,
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook requests
// ---------------------------------------------------------------------------------------------

/// The `X-Hub-Signature-256` Meta would send for a body signed with the current app secret.
fn signature(body: &[u8]) -> String {
    meta_webhooks::sign(APP_SECRET.as_bytes(), body)
}

/// A `POST /webhooks/meta` with a raw body and, optionally, a signature header.
fn webhook_request(url: &str, body: Bytes, signature: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::post(url).header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    req.body(Full::new(body)).unwrap()
}

/// Sends a signed webhook on its own (for `tokio::spawn`).
async fn post_signed(client: Client, url: String, body: Bytes) -> CallResponse {
    let sig = signature(&body);
    client
        .send(webhook_request(&url, body, Some(&sig)))
        .await
        .expect("an HTTP answer")
}

fn assert_event_received(r: &CallResponse) {
    assert_eq!(
        (r.status, String::from_utf8_lossy(&r.body).as_ref()),
        (200, "EVENT_RECEIVED"),
        "webhook acknowledged"
    );
}

impl Env {
    fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.server.endpoint())
    }

    fn webhook_url(&self) -> String {
        self.url("/webhooks/meta")
    }

    async fn send(&self, req: http::Request<Full<Bytes>>) -> CallResponse {
        self.a.client.send(req).await.expect("an HTTP answer")
    }

    async fn get(&self, path_and_query: &str) -> CallResponse {
        let req = http::Request::get(self.url(path_and_query))
            .body(Full::new(Bytes::new()))
            .unwrap();
        self.send(req).await
    }

    /// A webhook POST with this exact body and signature header (or none).
    async fn post_webhook(&self, body: impl Into<Bytes>, signature: Option<&str>) -> CallResponse {
        self.send(webhook_request(&self.webhook_url(), body.into(), signature))
            .await
    }

    /// Signs with the current app secret, posts, and asserts `200 EVENT_RECEIVED`.
    async fn deliver_raw(&self, body: impl Into<Bytes>) {
        let r = post_signed(self.a.client.clone(), self.webhook_url(), body.into()).await;
        assert_event_received(&r);
    }

    async fn deliver(&self, payload: &Value) {
        self.deliver_raw(payload.to_string()).await;
    }

    /// Events durably logged so far, all accounts.
    fn events_logged(&self) -> u64 {
        self.server.state.store.stats().events_logged
    }

    async fn scrape(&self) -> Scrape {
        let r = self.get("/metrics").await;
        assert_eq!(r.status, 200);
        Scrape(String::from_utf8(r.body.to_vec()).expect("UTF-8 metrics"))
    }

    async fn set_countries(&self, account: &str, entries: &[(&str, &str)]) {
        let entries = entries
            .iter()
            .map(|(r, c)| (r.to_string(), c.parse().unwrap()))
            .collect();
        store::wait_async(
            self.server
                .state
                .store
                .set_recipient_countries(account, entries),
        )
        .await
        .expect("recipient directory set");
    }
}

// ---------------------------------------------------------------------------------------------
// Calling the API
// ---------------------------------------------------------------------------------------------

impl Api {
    /// `SyncMessageCampaign`; the ids it registered, sorted.
    async fn sync(&self, ad: &str, page: &str) -> Vec<String> {
        let body = self
            .ok(
                "SyncMessageCampaign",
                &[("AdAccountId", ad), ("PageId", page)],
            )
            .await;
        let mut ids: Vec<String> = body["SyncedCampaignIds"]
            .as_array()
            .unwrap_or_else(|| panic!("SyncedCampaignIds: {body}"))
            .iter()
            .map(|v| v.as_str().expect("id string").to_string())
            .collect();
        ids.sort();
        ids
    }

    /// `PutMessageEvents` with native NDJSON; asserts every line was accepted.
    async fn put_events(&self, ndjson: &str) {
        let mut call = Call::new("PutMessageEvents", VERSION, &[]);
        call.body = Some((
            Bytes::from(ndjson.to_string()),
            "application/x-ndjson".to_string(),
        ));
        let r = self.client.call(&call).await.expect("an HTTP answer");
        let report = assert_success(&r);
        assert_eq!(report["RejectedCount"], 0, "{report}");
    }

    /// Insights rows for `[start, stop]` with the four extra count fields and more parameters.
    async fn rows(
        &self,
        (cs, page, ad, campaign): (&str, &str, &str, &str),
        start: &str,
        stop: &str,
        extra: &[(&str, &str)],
    ) -> Vec<BTreeMap<String, String>> {
        let mut params = vec![
            ("CustSpaceId", cs),
            ("PageId", page),
            ("AdAccountId", ad),
            ("CampaignId", campaign),
            ("DateStart", start),
            ("DateStop", stop),
            ("Fields", EXTRA_FIELDS),
        ];
        params.extend_from_slice(extra);
        let body = self.ok("GetMessageCampaignInsights", &params).await;
        body["Data"]
            .as_array()
            .unwrap_or_else(|| panic!("Data array: {body}"))
            .iter()
            .map(|row| {
                row.as_object()
                    .expect("row object")
                    .iter()
                    .map(|(k, v)| {
                        let s = v
                            .as_str()
                            .unwrap_or_else(|| panic!("{k} is a JSON string: {row}"));
                        (k.clone(), s.to_string())
                    })
                    .collect()
            })
            .collect()
    }

    /// The single row of `[start, stop]`.
    async fn row(
        &self,
        placement: (&str, &str, &str, &str),
        start: &str,
        stop: &str,
    ) -> BTreeMap<String, String> {
        let mut rows = self.rows(placement, start, stop, &[]).await;
        assert_eq!(rows.len(), 1, "one row: {rows:?}");
        rows.remove(0)
    }

    /// Rows broken down by country, keyed by `Country`.
    async fn by_country(
        &self,
        placement: (&str, &str, &str, &str),
        start: &str,
        stop: &str,
    ) -> BTreeMap<String, BTreeMap<String, String>> {
        self.rows(placement, start, stop, &[("Breakdowns", "country")])
            .await
            .into_iter()
            .map(|row| (row["Country"].clone(), row))
            .collect()
    }
}

fn placement_a(campaign: &str) -> (&'static str, &'static str, &'static str, &str) {
    (CS_A, PAGE_A, AD_A, campaign)
}

// ---------------------------------------------------------------------------------------------
// Expected insights rows
// ---------------------------------------------------------------------------------------------

const EXTRA_FIELDS: &str = "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed,\
                            MarketingMessagesSpendCurrency";

/// Metric fields of a row (with the extra count fields), without the `MarketingMessages` prefix.
const METRICS: [&str; 11] = [
    "Delivered",
    "DeliveryRate",
    "ReadRate",
    "LinkBtnClick",
    "LinkBtnClickRate",
    "Spend",
    "CostPerDelivered",
    "CostPerLinkBtnClick",
    "Sent",
    "Read",
    "Failed",
];

/// The whole row a query over `[start, stop]` must answer: every metric `"0"` unless given
/// (names without the `MarketingMessages` prefix), in USD.
fn expected(start: &str, stop: &str, values: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut row: BTreeMap<String, String> = METRICS
        .iter()
        .map(|m| (format!("MarketingMessages{m}"), "0".to_string()))
        .collect();
    row.insert("DateStart".into(), start.into());
    row.insert("DateStop".into(), stop.into());
    row.insert("MarketingMessagesSpendCurrency".into(), "USD".into());
    for (name, value) in values {
        assert!(METRICS.contains(name), "not a metric: {name}");
        row.insert(format!("MarketingMessages{name}"), value.to_string());
    }
    row
}

/// An empty row: nothing counted.
fn nothing(start: &str, stop: &str) -> BTreeMap<String, String> {
    expected(start, stop, &[])
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

/// Epoch milliseconds of an RFC 3339 instant.
/// Epoch seconds of an RFC 3339 instant, as WhatsApp writes them (a string).
fn secs(rfc3339: &str) -> String {
    (ms(rfc3339) / 1000).to_string()
}

/// The `value` of a Messenger marketing-message change with the keys Meta documents for `field`;
/// `page_id` and `app_id` as JSON numbers, `message_id` (the campaign) as a string.
fn mm_value(field: &str, page: &str, campaign: &str, token: &str, at_ms: i64) -> Value {
    let mut v = json!({
        "page_id": page.parse::<u64>().expect("numeric page id"),
        "app_id": 12313123123123u64,
        "timestamp": at_ms,
        "messenger_subscription_token": token,
        "message_id": campaign,
    });
    let o = v.as_object_mut().unwrap();
    let mid = json!(format!("m_{campaign}_{token}"));
    let tracking = json!(format!("trk-{campaign}-{token}"));
    match field {
        ECHOES | DELIVERIES => {
            o.insert("mid".into(), mid);
            o.insert("marketing_message_tracking_id".into(), tracking);
        }
        READS => {
            o.insert("marketing_message_tracking_id".into(), tracking);
        }
        CLICKS => {
            o.insert("mid".into(), mid);
        }
        FAILED => {
            o.insert("business_id".into(), json!(134141414124123u64));
            o.insert("error_message".into(), json!("Unknown Error"));
        }
        other => panic!("not a marketing-message field: {other}"),
    }
    v
}

/// `{"field": …, "value": {…}}` for `PAGE_A`: the bare change of Meta's samples, also the element
/// of an envelope's `changes`.
fn change(field: &str, campaign: &str, token: &str, at: &str) -> Value {
    json!({"field": field, "value": mm_value(field, PAGE_A, campaign, token, ms(at))})
}

/// The flat form of Meta's "Send Messages" guide: the value's keys next to `field`.
fn flat(field: &str, campaign: &str, token: &str, at: &str) -> Value {
    let mut v = mm_value(field, PAGE_A, campaign, token, ms(at));
    v.as_object_mut()
        .unwrap()
        .insert("field".into(), json!(field));
    v
}

/// The standard Page envelope with one entry.
fn page_envelope(page: &str, changes: Vec<Value>) -> Value {
    json!({
        "object": "page",
        "entry": [{"id": page, "time": 1752148800000u64, "changes": changes}],
    })
}

/// One WhatsApp status.
fn wa_status(wamid: &str, status: &str, at: &str, recipient: &str) -> Value {
    json!({"id": wamid, "status": status, "timestamp": secs(at), "recipient_id": recipient})
}

/// `v` with `key` set.
fn with(mut v: Value, key: &str, value: Value) -> Value {
    v.as_object_mut().unwrap().insert(key.into(), value);
    v
}

/// A WhatsApp status attributed by `biz_opaque_callback_data`.
fn wa_tagged(wamid: &str, status: &str, at: &str, recipient: &str, callback: &str) -> Value {
    with(
        wa_status(wamid, status, at, recipient),
        "biz_opaque_callback_data",
        json!(callback),
    )
}

/// `pricing` of the per-message pricing model, with an optional `cost`.
fn pricing(category: &str, cost: Option<Value>) -> Value {
    let mut p =
        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": category});
    if let Some(cost) = cost {
        p["cost"] = cost;
    }
    p
}

fn cost(amount: Value, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

/// The WhatsApp Business Account envelope with one `messages` change from a business number.
fn wa_envelope(waba: &str, phone_number_id: &str, statuses: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15556459128", "phone_number_id": phone_number_id},
                    "statuses": statuses,
                },
                "field": "messages",
            }],
        }],
    })
}

/// A payload from the parser crate's fixtures (real shapes from Meta's docs), with its Messenger
/// campaign id `124141414124` replaced.
fn fixture(name: &str, campaign: &str) -> String {
    let path = format!(
        "{}/../meta-webhooks/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .replace("\"124141414124\"", &format!("\"{campaign}\""))
}

/// The project's deterministic generator, so every run sends the same events.
use workload::Rng as Lcg;

// ---------------------------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------------------------

/// Every reason `cams_webhook_skipped_total` may carry.
const SKIP_REASONS: [&str; 12] = [
    "foreign_mapping",
    "unknown_object",
    "unknown_field",
    "not_marketing",
    "ignored_status",
    "no_campaign",
    "missing_field",
    "invalid_value",
    "unknown_page",
    "unknown_waba",
    "foreign_campaign",
    "price_currency_mismatch",
];

/// One scrape of `/metrics`.
struct Scrape(String);

impl Scrape {
    /// The value of a series written exactly as `name{labels}` (0 when absent).
    fn value(&self, series: &str) -> u64 {
        let prefix = format!("{series} ");
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().parse::<f64>().expect("a number") as u64)
            .unwrap_or(0)
    }

    fn skipped(&self, reason: &str) -> u64 {
        self.value(&format!(
            "cams_webhook_skipped_total{{reason=\"{reason}\"}}"
        ))
    }

    fn webhook_requests(&self, outcome: &str) -> u64 {
        self.value(&format!(
            "cams_webhook_requests_total{{outcome=\"{outcome}\"}}"
        ))
    }
}

/// Asserts that between two scrapes each skip reason moved by exactly the given count (others: 0).
fn assert_skips(before: &Scrape, after: &Scrape, expected: &[(&str, u64)]) {
    let moved: BTreeMap<&str, u64> = SKIP_REASONS
        .iter()
        .map(|r| (*r, after.skipped(r) - before.skipped(r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let want: BTreeMap<&str, u64> = expected.iter().copied().filter(|(_, n)| *n > 0).collect();
    assert_eq!(moved, want, "cams_webhook_skipped_total deltas by reason");
}

// ---------------------------------------------------------------------------------------------
// 1. Handshake
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn handshake_with_a_configured_token_echoes_the_bare_challenge() {
    let env = start().await;
    let r = env
        .get(&format!(
            "/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"1158201444");
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));

    // The second configured token, percent-encoded as Meta sends it; parameters in another order.
    let r = env
        .get(
            "/webhooks/meta?hub.verify_token=odd%20token%2F%2B%3D%26%3F%23\
             &hub.challenge=987654321&hub.mode=subscribe",
        )
        .await;
    assert_eq!((r.status, &r.body[..]), (200, &b"987654321"[..]));
}

#[tokio::test]
async fn handshake_with_a_wrong_or_missing_token_or_mode_is_forbidden() {
    let env = start().await;
    for query in [
        format!("hub.mode=subscribe&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}x"),
        "hub.mode=subscribe&hub.challenge=42&hub.verify_token=verify-token".to_string(),
        "hub.mode=subscribe&hub.challenge=42&hub.verify_token=".to_string(),
        "hub.mode=subscribe&hub.challenge=42".to_string(),
        format!("hub.mode=subscribe&hub.challenge=42&hub.verify_token={APP_SECRET}"),
        format!("hub.challenge=42&hub.verify_token={VERIFY_TOKEN}"),
        format!("hub.mode=unsubscribe&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}"),
        format!("hub.mode=SUBSCRIBE&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}"),
        // The odd token with its `+` unencoded: a `+` in a query is a space.
        "hub.mode=subscribe&hub.challenge=42&hub.verify_token=odd%20token%2F+%3D%26%3F%23"
            .to_string(),
        String::new(),
    ] {
        let r = env.get(&format!("/webhooks/meta?{query}")).await;
        assert_eq!(r.status, 403, "query {query:?}");
        assert_ne!(&r.body[..], b"42", "query {query:?}: challenge not echoed");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Signatures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_and_store_nothing() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "guarded").await;
    let body = page_envelope(
        PAGE_A,
        vec![change(
            DELIVERIES,
            &campaign,
            "12348141984909088",
            "2025-07-10T12:00:00Z",
        )],
    )
    .to_string();
    let good = signature(body.as_bytes());
    let hex = good.strip_prefix("sha256=").unwrap();
    // The same body with one byte changed after signing (still valid JSON, still a delivery).
    let tampered = body.replacen("12348141984909088", "12348141984909089", 1);
    assert_ne!(tampered, body);
    let before = env.scrape().await;

    let cases: Vec<(&str, String, Option<String>, u16)> = vec![
        ("missing header", body.clone(), None, 401),
        (
            "wrong secret",
            body.clone(),
            Some(meta_webhooks::sign(b"not-the-app-secret", body.as_bytes())),
            403,
        ),
        (
            "B's API secret",
            body.clone(),
            Some(meta_webhooks::sign(B_SECRET.as_bytes(), body.as_bytes())),
            403,
        ),
        (
            "sha1= prefix",
            body.clone(),
            Some(format!("sha1={hex}")),
            403,
        ),
        ("no prefix", body.clone(), Some(hex.to_string()), 403),
        (
            "truncated hex",
            body.clone(),
            Some(format!("sha256={}", &hex[..63])),
            403,
        ),
        (
            "one more hex digit",
            body.clone(),
            Some(format!("sha256={hex}0")),
            403,
        ),
        (
            "uppercase hex",
            body.clone(),
            Some(format!("sha256={}", hex.to_uppercase())),
            403,
        ),
        ("empty header", body.clone(), Some(String::new()), 403),
        ("prefix only", body.clone(), Some("sha256=".into()), 403),
        (
            "body changed after signing",
            tampered,
            Some(good.clone()),
            403,
        ),
    ];
    let refused = cases.len() as u64 + 1;
    // Only the legacy SHA-1 header (`X-Hub-Signature`), correctly computed or not: no signature.
    let legacy = http::Request::post(env.webhook_url())
        .header("content-type", "application/json")
        .header("x-hub-signature", format!("sha1={}", &hex[..40]))
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    assert_eq!(env.send(legacy).await.status, 401, "legacy header only");
    for (what, body, sig, status) in cases {
        let r = env.post_webhook(body, sig.as_deref()).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_ne!(&r.body[..], b"EVENT_RECEIVED", "{what}");
    }

    assert_eq!(
        env.events_logged(),
        0,
        "nothing of a refused webhook is stored"
    );
    assert_eq!(
        env.a
            .row(placement_a(&campaign), "2025-07-01", "2025-07-31")
            .await,
        nothing("2025-07-01", "2025-07-31")
    );
    let after = env.scrape().await;
    assert_eq!(
        after.webhook_requests("bad_signature") - before.webhook_requests("bad_signature"),
        refused
    );
    assert_eq!(
        after.webhook_requests("ok") - before.webhook_requests("ok"),
        0
    );
    assert_skips(&before, &after, &[]);

    // The same body correctly signed is stored before it is acknowledged, and counted.
    env.deliver_raw(body).await;
    assert_eq!(env.events_logged(), 1, "durable when acknowledged");
    assert_eq!(
        env.a
            .row(placement_a(&campaign), "2025-07-01", "2025-07-31")
            .await,
        expected(
            "2025-07-01",
            "2025-07-31",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

#[tokio::test]
async fn every_configured_app_secret_verifies() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "rotation").await;
    let mut sent = 0;
    for (secret, token) in [
        (APP_SECRET, "10000000000000001"),
        (APP_SECRET_OLD, "10000000000000002"),
    ] {
        let body = page_envelope(
            PAGE_A,
            vec![change(DELIVERIES, &campaign, token, "2025-07-10T12:00:00Z")],
        )
        .to_string();
        let sig = meta_webhooks::sign(secret.as_bytes(), body.as_bytes());
        // Surrounding whitespace in the header value is not part of the signature.
        let r = env.post_webhook(body, Some(&format!(" {sig} "))).await;
        assert_event_received(&r);
        sent += 1;
        assert_eq!(env.events_logged(), sent);
    }
    assert_eq!(
        env.a
            .row(placement_a(&campaign), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "2"), ("Delivered", "2"), ("DeliveryRate", "100")]
        )
    );
}

/// `WebhookRouting` says it is "rebuilt on reload", and the overview promises hot reload of the
/// configuration's secrets on SIGHUP; `AppState::reload` (what SIGHUP calls) swaps identities,
/// tenants and ingest tokens, but not the webhook routing.
#[tokio::test]
async fn reloaded_app_secrets_and_verify_tokens_take_effect() {
    let env = start().await;
    let rotated = Config::parse(&config_toml(
        &["meta-app-secret-rotated"],
        &["verify-rotated"],
    ))
    .expect("config parses");
    env.server.state.reload(&rotated).expect("reload");

    let r = env
        .get("/webhooks/meta?hub.mode=subscribe&hub.challenge=7&hub.verify_token=verify-rotated")
        .await;
    assert_eq!(r.status, 200, "the new verify token is accepted");
    let r = env
        .get(&format!(
            "/webhooks/meta?hub.mode=subscribe&hub.challenge=7&hub.verify_token={VERIFY_TOKEN}"
        ))
        .await;
    assert_eq!(r.status, 403, "the removed verify token is refused");

    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "after reload").await;
    let body = page_envelope(
        PAGE_A,
        vec![change(DELIVERIES, &campaign, "r-1", "2025-07-10T12:00:00Z")],
    )
    .to_string();
    let old = env
        .post_webhook(body.clone(), Some(&signature(body.as_bytes())))
        .await;
    assert_eq!(old.status, 403, "the removed app secret no longer verifies");
    let new = meta_webhooks::sign(b"meta-app-secret-rotated", body.as_bytes());
    assert_event_received(&env.post_webhook(body, Some(&new)).await);
}

// ---------------------------------------------------------------------------------------------
// 3. Messenger marketing messages
// ---------------------------------------------------------------------------------------------

/// Eight recipients of one campaign, their events spread over every accepted payload shape, on
/// both sides of midnight in New York (the ad account's zone; UTC-4 in July), with a DE and an AR
/// recipient from the directory.
///
/// | recipient | events (UTC, 2025-07-02) | NY date |
/// |---|---|---|
/// | r1 | echo 02:00, delivery 02:01, read 05:00, clicks 05:01 and 06:00 | sent/delivered Jul 1, read and clicks Jul 2 |
/// | r2 | echo 02:00, delivery_failed 02:05 | Jul 1, failed |
/// | r3 | echo 02:10 | Jul 1, sent only |
/// | r4 | delivery 04:30 (no echo) | Jul 2 |
/// | r5 | read 03:59:59.999 (nothing else) | Jul 1, last millisecond |
/// | r6 | delivery 04:00:00.000, `recipient_id` only | Jul 2, first millisecond |
/// | r7 (DE) | echo 02:00, delivery 02:01, click 02:30 | excluded (E2) |
/// | r8 (AR) | delivery 10:00, click 10:05 | Jul 2; its click excluded (E5) |
#[tokio::test]
async fn messenger_fields_in_every_shape_count_on_the_ad_accounts_dates() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "summer").await;
    env.set_countries(
        A_UID,
        &[("70000000000000007", "DE"), ("80000000000000008", "AR")],
    )
    .await;
    let before = env.scrape().await;
    let (r1, r2, r3, r4, r5, r7, r8) = (
        "10000000000000001",
        "20000000000000002",
        "30000000000000003",
        "40000000000000004",
        "50000000000000005",
        "70000000000000007",
        "80000000000000008",
    );
    let r6 = "6843125709912345";

    // r1: every field of its life in one Page envelope.
    env.deliver(&page_envelope(
        PAGE_A,
        vec![
            change(ECHOES, &c, r1, "2025-07-02T02:00:00Z"),
            change(DELIVERIES, &c, r1, "2025-07-02T02:01:00Z"),
            change(READS, &c, r1, "2025-07-02T05:00:00Z"),
            change(CLICKS, &c, r1, "2025-07-02T05:01:00Z"),
            change(CLICKS, &c, r1, "2025-07-02T06:00:00Z"),
        ],
    ))
    .await;
    // r2: bare changes, one per request.
    env.deliver(&change(ECHOES, &c, r2, "2025-07-02T02:00:00Z"))
        .await;
    env.deliver(&change(FAILED, &c, r2, "2025-07-02T02:05:00Z"))
        .await;
    // r3 and r7: an array of bare changes.
    env.deliver(&json!([
        change(ECHOES, &c, r3, "2025-07-02T02:10:00Z"),
        change(ECHOES, &c, r7, "2025-07-02T02:00:00Z"),
        change(DELIVERIES, &c, r7, "2025-07-02T02:01:00Z"),
        change(CLICKS, &c, r7, "2025-07-02T02:30:00Z"),
    ]))
    .await;
    // r4: the flat form.
    env.deliver(&flat(DELIVERIES, &c, r4, "2025-07-02T04:30:00Z"))
        .await;
    // r5: an envelope whose entry id is a JSON number.
    let mut r5_read = page_envelope(
        PAGE_A,
        vec![change(READS, &c, r5, "2025-07-02T03:59:59.999Z")],
    );
    r5_read["entry"][0]["id"] = json!(PAGE_A.parse::<u64>().unwrap());
    env.deliver(&r5_read).await;
    // r6: a Custom Audience subscriber without a subscription token.
    let mut r6_delivery = change(DELIVERIES, &c, "unused", "2025-07-02T04:00:00Z");
    let value = r6_delivery["value"].as_object_mut().unwrap();
    value.remove("messenger_subscription_token");
    value.insert("recipient_id".into(), json!(r6.parse::<u64>().unwrap()));
    env.deliver(&page_envelope(PAGE_A, vec![r6_delivery])).await;
    // r8: an array mixing the bare and the flat form.
    env.deliver(&json!([
        change(DELIVERIES, &c, r8, "2025-07-02T10:00:00Z"),
        flat(CLICKS, &c, r8, "2025-07-02T10:05:00Z"),
    ]))
    .await;

    let placement = placement_a(&c);
    assert_eq!(
        env.a.row(placement, "2025-07-01", "2025-07-01").await,
        expected(
            "2025-07-01",
            "2025-07-01",
            &[
                ("Sent", "4"),
                ("Delivered", "2"),
                ("DeliveryRate", "50"),
                ("Read", "1"),
                ("ReadRate", "50"),
                ("Failed", "1"),
            ]
        ),
        "July 1 in New York"
    );
    assert_eq!(
        env.a.row(placement, "2025-07-02", "2025-07-02").await,
        expected(
            "2025-07-02",
            "2025-07-02",
            &[
                ("Sent", "3"),
                ("Delivered", "3"),
                ("DeliveryRate", "100"),
                ("Read", "1"),
                ("ReadRate", "33.333333"),
                ("LinkBtnClick", "2"),
                ("LinkBtnClickRate", "66.666667"),
            ]
        ),
        "July 2 in New York"
    );
    assert_eq!(
        env.a.row(placement, "2025-07-01", "2025-07-02").await,
        expected(
            "2025-07-01",
            "2025-07-02",
            &[
                ("Sent", "7"),
                ("Delivered", "5"),
                ("DeliveryRate", "71.428571"),
                ("Read", "2"),
                ("ReadRate", "40"),
                ("LinkBtnClick", "2"),
                ("LinkBtnClickRate", "40"),
                ("Failed", "1"),
            ]
        )
    );
    // July 3 in New York has nothing (the latest event, 10:05Z on July 2, is 06:05 there).
    assert_eq!(
        env.a.row(placement, "2025-07-03", "2025-07-03").await,
        nothing("2025-07-03", "2025-07-03")
    );
    assert_skips(&before, &env.scrape().await, &[]);
}

#[tokio::test]
async fn meta_documentation_samples_count_through_the_server() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "docs").await;
    let before = env.scrape().await;
    // Four deliveries (2025-07-02 09:15Z): two Custom Audience subscribers with `recipient_id`
    // 0/null and a token, one with an empty token and a recipient id, one with neither.
    env.deliver_raw(fixture("messenger_custom_audience.json", &c))
        .await;
    // Echo, then a read and a click of the same subscriber, then a failure of another one.
    env.deliver_raw(fixture("messenger_echoes_envelope.json", &c))
        .await;
    env.deliver_raw(fixture("messenger_array.json", &c)).await;
    // A batch: an echo, a `feed` change and a read for PAGE_A; a delivery for PAGE_B's entry of
    // a campaign nobody registered (counts for B, the page's owner) and a Messenger Platform item.
    env.deliver_raw(fixture("messenger_batch_envelope.json", &c))
        .await;
    assert_skips(
        &before,
        &env.scrape().await,
        &[("missing_field", 1), ("unknown_field", 2)],
    );
    // Token 12348141984909088: echo 09:15:00 (twice), read 10:02:41 (twice), one click 10:05:09.
    // 777…, 888… and 6843125709912345 (empty token): delivered. 555…: failed, which is a sent
    // message never delivered. All on July 2 in New York.
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-02", "2025-07-02").await,
        expected(
            "2025-07-02",
            "2025-07-02",
            &[
                ("Sent", "5"),
                ("Delivered", "4"),
                ("DeliveryRate", "80"),
                ("Read", "1"),
                ("ReadRate", "25"),
                ("LinkBtnClick", "1"),
                ("LinkBtnClickRate", "25"),
                ("Failed", "1"),
            ]
        )
    );
    // The PAGE_B delivery went to B, whose SyncMessageCampaign finds it.
    assert_eq!(
        env.b.sync(AD_B, PAGE_B).await,
        vec!["3310000000000000077".to_string()]
    );
    assert_eq!(env.a.sync(AD_A, PAGE_A).await, Vec::<String>::new());
}

#[tokio::test]
async fn messenger_spend_comes_from_the_rate_card_and_includes_excluded_countries() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "priced").await;
    store::wait_async(env.server.state.store.add_rate_card(
        "country,currency,price\nBR,USD,0.70\nDE,USD,1.10\nDefault,USD,0.25\n",
        NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
    ))
    .await
    .expect("rate card");
    env.set_countries(A_UID, &[("s-br", "BR"), ("s-de", "DE")])
        .await;
    env.deliver(&page_envelope(
        PAGE_A,
        vec![
            change(DELIVERIES, &c, "s-br", "2025-07-10T12:00:00Z"),
            change(DELIVERIES, &c, "s-de", "2025-07-10T12:00:00Z"),
            change(DELIVERIES, &c, "s-unknown", "2025-07-10T12:00:00Z"),
            change(CLICKS, &c, "s-br", "2025-07-10T12:10:00Z"),
        ],
    ))
    .await;
    // Delivered: BR and unknown (DE is E2). Spend: 0.70 + 1.10 + 0.25 = 2.05 (nothing excluded).
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-10", "2025-07-10").await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "2"),
                ("Delivered", "2"),
                ("DeliveryRate", "100"),
                ("LinkBtnClick", "1"),
                ("LinkBtnClickRate", "50"),
                ("Spend", "2.05"),
                ("CostPerDelivered", "1.025"),
                ("CostPerLinkBtnClick", "2.05"),
            ]
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 4. WhatsApp statuses
// ---------------------------------------------------------------------------------------------

/// Sends the first (priceless) marketing `sent` of `WA_CAMPAIGN` and registers the campaign under
/// (`PAGE_A`, `AD_A`: USD, New York) with `SyncMessageCampaign`, so later prices meet a currency.
async fn register_wa_campaign(env: &Env, wamid: &str, at: &str, recipient: &str) {
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(wamid, "sent", at, recipient, "spring-sale-2025"),
            "pricing",
            pricing("marketing", None),
        )],
    ))
    .await;
    assert_eq!(
        env.a.sync(AD_A, PAGE_A).await,
        vec![WA_CAMPAIGN.to_string()]
    );
}

/// Messages of `WA_CAMPAIGN`, 2025-07-10 (New York):
///
/// | msg | recipient | what arrives | counts |
/// |---|---|---|---|
/// | m1 | BR | sent (marketing), delivered $1.25, `played`, read without pricing | sent, delivered, read, $1.25 |
/// | m2 | +44 7911 (GG) | delivered, CBP conversation `marketing`, no cost | delivered |
/// | m3 | +44 20 (GB) | delivered $0.50 | excluded, $0.50 |
/// | m4 | +81 (JP) | delivered, cost as a JSON number 0.31 | excluded, $0.31 |
/// | m5 | BR | delivered `utility` $3.00, then read | nothing (not marketing) |
/// | m6 | BR | delivered without pricing, never seen | nothing (not marketing) |
/// | m7 | US | sent (marketing), failed with `errors` | sent, failed |
/// | m8 | BR | delivered €0.40 | delivered, price dropped |
/// | m9 | BR | delivered $0.10 from `PHONE_A_MAPPED`, no callback data | delivered, $0.10 |
/// | m10 | BR | unmapped callback data from `PHONE_A` | nothing (no campaign) |
/// | m11 | BR | delivered `marketing_lite` $0.02 at 03:30Z on July 11 | July 10 in New York |
#[tokio::test]
async fn whatsapp_statuses_count_marketing_with_costs_countries_and_attribution() {
    let env = start().await;
    let before = env.scrape().await;
    let spring = |wamid: &str, status: &str, at: &str, recipient: &str| {
        wa_tagged(wamid, status, at, recipient, "spring-sale-2025")
    };
    let usd = |amount: &str| Some(cost(json!(amount), "USD"));
    register_wa_campaign(&env, "wamid.M1", "2025-07-10T12:00:00Z", "5511987654321").await;

    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![
            with(
                spring("wamid.M1", "delivered", "2025-07-10T12:01:00Z", "5511987654321"),
                "pricing",
                pricing("marketing", usd("1.25")),
            ),
            spring("wamid.M1", "played", "2025-07-10T12:01:30Z", "5511987654321"),
            with(
                with(
                    spring("wamid.M2", "delivered", "2025-07-10T12:02:00Z", "447911123456"),
                    "conversation",
                    json!({"id": "a34a10abd87c7badad4d1fc5bafadd71", "origin": {"type": "marketing"}}),
                ),
                "pricing",
                json!({"billable": true, "pricing_model": "CBP", "category": "marketing"}),
            ),
            with(
                spring("wamid.M3", "delivered", "2025-07-10T12:03:00Z", "442071838750"),
                "pricing",
                pricing("marketing", usd("0.50")),
            ),
            with(
                spring("wamid.M4", "delivered", "2025-07-10T12:04:00Z", "819012345678"),
                "pricing",
                pricing("marketing", Some(cost(json!(0.31), "USD"))),
            ),
            with(
                spring("wamid.M5", "delivered", "2025-07-10T12:04:30Z", "5511911112222"),
                "pricing",
                pricing("utility", usd("3.00")),
            ),
            with(
                spring("wamid.M7", "sent", "2025-07-10T12:05:00Z", "16505551234"),
                "pricing",
                pricing("marketing", None),
            ),
            with(
                spring("wamid.M8", "delivered", "2025-07-10T12:06:00Z", "5511933334444"),
                "pricing",
                pricing("marketing", Some(cost(json!("0.40"), "EUR"))),
            ),
            with(
                spring("wamid.M11", "delivered", "2025-07-11T03:30:00Z", "5511944445555"),
                "pricing",
                pricing("marketing_lite", usd("0.02")),
            ),
        ],
    ))
    .await;
    // Later statuses without pricing: they count only for wamids already known as marketing.
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![
            spring("wamid.M1", "read", "2025-07-10T12:30:00Z", "5511987654321"),
            spring("wamid.M5", "read", "2025-07-10T12:31:00Z", "5511911112222"),
            spring("wamid.M6", "delivered", "2025-07-10T12:32:00Z", "5511922223333"),
            with(
                spring("wamid.M7", "failed", "2025-07-10T12:10:00Z", "16505551234"),
                "errors",
                json!([{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement."}]),
            ),
        ],
    ))
    .await;
    // Attribution by business number, and a tag nobody mapped from a number without a campaign.
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A_MAPPED,
        vec![with(
            wa_status(
                "wamid.M9",
                "delivered",
                "2025-07-10T12:07:00Z",
                "5511955556666",
            ),
            "pricing",
            pricing("marketing", usd("0.10")),
        )],
    ))
    .await;
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.M10",
                "delivered",
                "2025-07-10T12:08:00Z",
                "5511966667777",
                "unmapped",
            ),
            "pricing",
            pricing("marketing", usd("5.00")),
        )],
    ))
    .await;

    assert_skips(
        &before,
        &env.scrape().await,
        &[
            ("ignored_status", 1),
            ("not_marketing", 3),
            ("no_campaign", 1),
            ("price_currency_mismatch", 1),
        ],
    );
    let placement = placement_a(WA_CAMPAIGN);
    // Sent m1 m2 m7 m8 m9 m11; delivered m1 m2 m8 m9 m11; read m1; failed m7;
    // spend 1.25 + 0.50 + 0.31 + 0.10 + 0.02 = 2.18 over 5 delivered.
    assert_eq!(
        env.a.row(placement, "2025-07-10", "2025-07-10").await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "6"),
                ("Delivered", "5"),
                ("DeliveryRate", "83.333333"),
                ("Read", "1"),
                ("ReadRate", "20"),
                ("Failed", "1"),
                ("Spend", "2.18"),
                ("CostPerDelivered", "0.436"),
            ]
        )
    );
    assert_eq!(
        env.a.row(placement, "2025-07-11", "2025-07-11").await,
        nothing("2025-07-11", "2025-07-11"),
        "03:30Z on July 11 is July 10 in New York"
    );
    // Countries from the calling code: +44 7911 is Guernsey (counted), +44 20 Great Britain.
    let by_country = env
        .a
        .by_country(placement, "2025-07-10", "2025-07-10")
        .await;
    let get = |country: &str, field: &str| {
        by_country
            .get(country)
            .unwrap_or_else(|| panic!("a {country} row: {by_country:?}"))[field]
            .clone()
    };
    assert_eq!(get("GG", "MarketingMessagesDelivered"), "1");
    assert_eq!(get("GB", "MarketingMessagesDelivered"), "0");
    assert_eq!(get("GB", "MarketingMessagesSpend"), "0.5");
    assert_eq!(get("JP", "MarketingMessagesDelivered"), "0");
    assert_eq!(get("JP", "MarketingMessagesSpend"), "0.31");
    assert_eq!(get("US", "MarketingMessagesFailed"), "1");
    assert_eq!(get("BR", "MarketingMessagesDelivered"), "4");
    assert_eq!(get("BR", "MarketingMessagesSpend"), "1.37");
}

#[tokio::test]
async fn whatsapp_price_in_another_currency_falls_back_to_the_rate_card() {
    let env = start().await;
    store::wait_async(env.server.state.store.add_rate_card(
        "country,currency,price\nBR,USD,0.70\nBR,EUR,0.65\n",
        NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
    ))
    .await
    .expect("rate card");
    register_wa_campaign(&env, "wamid.X1", "2025-07-10T12:00:00Z", "5511933334444").await;
    let before = env.scrape().await;
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.X1",
                "delivered",
                "2025-07-10T12:01:00Z",
                "5511933334444",
                "spring-sale-2025",
            ),
            "pricing",
            pricing("marketing", Some(cost(json!("9.99"), "EUR"))),
        )],
    ))
    .await;
    assert_skips(
        &before,
        &env.scrape().await,
        &[("price_currency_mismatch", 1)],
    );
    assert_eq!(
        env.a
            .row(placement_a(WA_CAMPAIGN), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "1"),
                ("Delivered", "1"),
                ("DeliveryRate", "100"),
                ("Spend", "0.7"),
                ("CostPerDelivered", "0.7"),
            ]
        )
    );
}

/// The server drops a `pricing.cost` whose currency is not the campaign's ("cannot be summed with
/// its spend"), but only checks when the campaign is registered already. WhatsApp campaigns are
/// usually registered from their events by `SyncMessageCampaign`, i.e. after their first statuses:
/// those keep their foreign-currency amount, which is then summed as if it were the ad account's
/// currency (docs/metrics.md: "a price in the ad account's currency").
#[tokio::test]
async fn whatsapp_price_in_another_currency_is_dropped_even_before_registration() {
    let env = start().await;
    let before = env.scrape().await;
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.E1",
                "delivered",
                "2025-07-10T12:01:00Z",
                "5511933334444",
                "spring-sale-2025",
            ),
            "pricing",
            pricing("marketing", Some(cost(json!("9.99"), "EUR"))),
        )],
    ))
    .await;
    assert_eq!(
        env.a.sync(AD_A, PAGE_A).await,
        vec![WA_CAMPAIGN.to_string()]
    );
    // Registered under a USD ad account: €9.99 must not show up as $9.99.
    assert_eq!(
        env.a
            .row(placement_a(WA_CAMPAIGN), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
    assert_skips(
        &before,
        &env.scrape().await,
        &[("price_currency_mismatch", 1)],
    );
}

#[tokio::test]
async fn whatsapp_documentation_batch_counts_only_marketing_it_can_attribute() {
    let env = start().await;
    let before = env.scrape().await;
    // Utility, `played`, an unmapped tag, a marketing sent + read of one wamid in one payload
    // (cart-reminder-7), a free-entry-point delivery (billable false) and an unknown wamid; then a
    // template status update and a `user_actions` click for B's WABA.
    env.deliver_raw(fixture("whatsapp_mixed_batch.json", "unused"))
        .await;
    assert_skips(
        &before,
        &env.scrape().await,
        &[
            ("not_marketing", 2),
            ("ignored_status", 1),
            ("no_campaign", 1),
            ("unknown_field", 2),
        ],
    );
    assert_eq!(
        env.a.sync(AD_A, PAGE_A).await,
        vec![WA_CAMPAIGN_2.to_string()]
    );
    // MX +52 sent and read; RU +7 916 delivered for free. 2025-07-02 09:15Z is July 2 in NY.
    assert_eq!(
        env.a
            .row(placement_a(WA_CAMPAIGN_2), "2025-07-02", "2025-07-02")
            .await,
        expected(
            "2025-07-02",
            "2025-07-02",
            &[
                ("Sent", "2"),
                ("Delivered", "2"),
                ("DeliveryRate", "100"),
                ("Read", "1"),
                ("ReadRate", "50"),
            ]
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Ids above 2^53
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_number_ids_above_2_pow_53_survive_digit_for_digit() {
    let env = start().await;
    let t = ms("2025-07-10T12:00:00Z");
    // Page 2^53 + 1, campaigns and tokens that a float would merge (they differ in the last digit).
    let delivery = |token: &str, campaign: &str| {
        format!(
            r#"{{"field":"marketing_message_deliveries","value":{{"page_id":{PAGE_A_BIG},"app_id":12313123123123,"timestamp":{t},"messenger_subscription_token":{token},"message_id":{campaign}}}}}"#
        )
    };
    let envelope = format!(
        r#"{{"object":"page","entry":[{{"id":{PAGE_A_BIG},"time":{t},"changes":[{},{},{}]}}]}}"#,
        delivery("12348141984909088123", "123456789012345678901"),
        delivery("12348141984909088124", "123456789012345678901"),
        delivery("12348141984909088123", "123456789012345678902"),
    );
    env.deliver_raw(envelope).await;
    // The bare form: the page only as the value's `page_id`, a JSON number.
    let read_at = t + 60_000;
    env.deliver_raw(format!(
        r#"{{"field":"marketing_message_reads","value":{{"page_id":{PAGE_A_BIG},"timestamp":{read_at},"messenger_subscription_token":12348141984909088123,"message_id":123456789012345678901}}}}"#
    ))
    .await;

    assert_eq!(
        env.a.sync(AD_A_BIG, PAGE_A_BIG).await,
        vec![
            "123456789012345678901".to_string(),
            "123456789012345678902".to_string()
        ]
    );
    let placement = |campaign| (CS_A, PAGE_A_BIG, AD_A_BIG, campaign);
    assert_eq!(
        env.a
            .row(
                placement("123456789012345678901"),
                "2025-07-10",
                "2025-07-10"
            )
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "2"),
                ("Delivered", "2"),
                ("DeliveryRate", "100"),
                ("Read", "1"),
                ("ReadRate", "50"),
            ]
        )
    );
    assert_eq!(
        env.a
            .row(
                placement("123456789012345678902"),
                "2025-07-10",
                "2025-07-10"
            )
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Retries and duplicates
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_and_duplicated_deliveries_count_once() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "retries").await;
    let at = |hm: &str| format!("2025-07-10T{hm}:00Z");
    let payloads: Vec<Value> = vec![
        // r1 sent and delivered.
        page_envelope(
            PAGE_A,
            vec![
                change(ECHOES, &c, "r1", &at("12:00")),
                change(DELIVERIES, &c, "r1", &at("12:01")),
            ],
        ),
        // r1 read.
        change(READS, &c, "r1", &at("12:30")),
        // Clicks of r1 and r2 (r2's click establishes its delivery).
        json!([
            change(CLICKS, &c, "r1", &at("13:00")),
            change(CLICKS, &c, "r2", &at("13:05")),
        ]),
        // r3 delivered, r4 failed.
        page_envelope(
            PAGE_A,
            vec![
                change(DELIVERIES, &c, "r3", &at("12:02")),
                change(FAILED, &c, "r4", &at("12:03")),
            ],
        ),
        // r1's 13:00 click again, in another shape: the same click.
        flat(CLICKS, &c, "r1", &at("13:00")),
        // A priced WhatsApp delivery (its campaign is registered afterwards).
        wa_envelope(
            WABA_A,
            PHONE_A,
            vec![with(
                wa_tagged(
                    "wamid.R1",
                    "delivered",
                    &at("12:00"),
                    "5511987654321",
                    "spring-sale-2025",
                ),
                "pricing",
                pricing("marketing", Some(cost(json!("1.25"), "USD"))),
            )],
        ),
    ];
    // Each payload 1 to 5 times, shuffled; two requests in three go out concurrently.
    let copies = [2, 3, 4, 1, 3, 5];
    let mut sends: Vec<usize> = Vec::new();
    for (i, n) in copies.iter().enumerate() {
        sends.extend(std::iter::repeat_n(i, *n));
    }
    let mut rng = Lcg(2025);
    for i in (1..sends.len()).rev() {
        sends.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut wave = Vec::new();
    for (n, &i) in sends.iter().enumerate() {
        let body = Bytes::from(payloads[i].to_string());
        if n % 3 == 0 {
            env.deliver_raw(body).await;
        } else {
            wave.push(tokio::spawn(post_signed(
                env.a.client.clone(),
                env.webhook_url(),
                body,
            )));
        }
        if wave.len() == 4 {
            for h in wave.drain(..) {
                assert_event_received(&h.await.unwrap());
            }
        }
    }
    for h in wave {
        assert_event_received(&h.await.unwrap());
    }
    assert_eq!(sends.len(), 18);

    // Sent r1 r2 r3 r4; delivered r1 r2 r3; read r1; clicks r1@13:00, r2@13:05; failed r4.
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-10", "2025-07-10").await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "4"),
                ("Delivered", "3"),
                ("DeliveryRate", "75"),
                ("Read", "1"),
                ("ReadRate", "33.333333"),
                ("LinkBtnClick", "2"),
                ("LinkBtnClickRate", "66.666667"),
                ("Failed", "1"),
            ]
        )
    );
    assert_eq!(
        env.a.sync(AD_A, PAGE_A).await,
        vec![WA_CAMPAIGN.to_string()]
    );
    assert_eq!(
        env.a
            .row(placement_a(WA_CAMPAIGN), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[
                ("Sent", "1"),
                ("Delivered", "1"),
                ("DeliveryRate", "100"),
                ("Spend", "1.25"),
                ("CostPerDelivered", "1.25"),
            ]
        ),
        "a priced delivery sent five times is spent once"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Unusable payloads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_with_a_valid_signature_is_400_and_stores_nothing() {
    let env = start().await;
    let before = env.scrape().await;
    let bodies: Vec<Vec<u8>> = vec![
        br#"{"object":"page","entry":[{"id":"140984918491243","#.to_vec(),
        b"{\"object\":\"page\"} trailing".to_vec(),
        b"not json".to_vec(),
        Vec::new(),
        b"42".to_vec(),
        b"\"a string\"".to_vec(),
        b"null".to_vec(),
        b"{\"field\":\"marketing_message_echoes\",\"x\":\"\xff\xfe\"}".to_vec(),
    ];
    let n = bodies.len() as u64;
    for body in bodies {
        let sig = signature(&body);
        let r = env.post_webhook(body.clone(), Some(&sig)).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&body));
    }
    assert_eq!(env.events_logged(), 0);
    let after = env.scrape().await;
    assert_eq!(
        after.webhook_requests("malformed") - before.webhook_requests("malformed"),
        n
    );
    assert_skips(&before, &after, &[]);
}

#[tokio::test]
async fn body_over_the_limit_is_413_and_at_the_limit_is_accepted() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "big").await;
    let payload = page_envelope(
        PAGE_A,
        vec![change(DELIVERIES, &c, "r-big", "2025-07-10T12:00:00Z")],
    )
    .to_string();
    // Valid JSON padded with whitespace to an exact size.
    let padded = |size: usize| format!("{payload}{}", " ".repeat(size - payload.len()));
    let before = env.scrape().await;

    for size in [MAX_BODY + 1, 3 * 1024 * 1024] {
        let body = padded(size);
        let r = env
            .post_webhook(body.clone(), Some(&signature(body.as_bytes())))
            .await;
        assert_eq!(r.status, 413, "{size} bytes");
    }
    assert_eq!(env.events_logged(), 0);
    let after = env.scrape().await;
    assert_eq!(
        after.webhook_requests("too_large") - before.webhook_requests("too_large"),
        2
    );

    // Without a Content-Length (chunked): the limit holds on the bytes actually read.
    let chunked = padded(MAX_BODY + 1);
    assert_eq!(
        post_chunked(&env, chunked.as_bytes(), &signature(chunked.as_bytes())).await,
        413,
        "chunked body over the limit"
    );
    assert_eq!(env.events_logged(), 0);

    env.deliver_raw(padded(MAX_BODY)).await;
    assert_eq!(env.events_logged(), 1);
    // The same exact-size body chunked is a duplicate, accepted.
    let at_limit = padded(MAX_BODY);
    assert_eq!(
        post_chunked(&env, at_limit.as_bytes(), &signature(at_limit.as_bytes())).await,
        200,
        "chunked body at the limit"
    );
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-10", "2025-07-10").await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

/// A signed webhook POST over a raw connection with `Transfer-Encoding: chunked` (no
/// Content-Length), in 4 KiB chunks; the response status.
async fn post_chunked(env: &Env, body: &[u8], signature: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!(
        "POST /webhooks/meta HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        env.server.endpoint()
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(env.server.addr)
        .await
        .expect("connect");
    // The server may answer (and stop reading) before the whole body is written.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let head = String::from_utf8_lossy(&response);
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP response: {head:?}"))
}

#[tokio::test]
async fn unknown_page_and_unknown_waba_are_acknowledged_and_counted() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "known").await;
    let before = env.scrape().await;
    let mut unknown = change(DELIVERIES, &c, "r-1", "2025-07-10T12:00:00Z");
    unknown["value"]["page_id"] = json!(PAGE_UNKNOWN.parse::<u64>().unwrap());
    // An envelope for a page nobody has, a bare change naming it, and a WABA nobody has.
    env.deliver(&page_envelope(
        PAGE_UNKNOWN,
        vec![change(DELIVERIES, &c, "r-1", "2025-07-10T12:00:00Z")],
    ))
    .await;
    env.deliver(&unknown).await;
    env.deliver(&wa_envelope(
        WABA_UNKNOWN,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.U1",
                "delivered",
                "2025-07-10T12:00:00Z",
                "5511987654321",
                "spring-sale-2025",
            ),
            "pricing",
            pricing("marketing", None),
        )],
    ))
    .await;
    assert_skips(
        &before,
        &env.scrape().await,
        &[("unknown_page", 2), ("unknown_waba", 1)],
    );
    assert_eq!(env.events_logged(), 0);
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-10", "2025-07-10").await,
        nothing("2025-07-10", "2025-07-10")
    );
    assert_eq!(env.a.sync(AD_A, PAGE_A).await, Vec::<String>::new());
}

#[tokio::test]
async fn unknown_fields_and_objects_are_counted_while_the_rest_of_the_payload_lands() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "partial").await;
    let before = env.scrape().await;
    env.deliver(&page_envelope(
        PAGE_A,
        vec![
            json!({"field": "feed", "value": {"item": "status", "verb": "add", "post_id": "1_2"}}),
            change(DELIVERIES, &c, "r-1", "2025-07-10T12:00:00Z"),
            json!({"field": "marketing_messages_subscriber_upload_status", "value": {"page_id": 140984918491243u64}}),
        ],
    ))
    .await;
    env.deliver_raw(fixture("unknown_object.json", &c)).await;
    env.deliver(&json!({"field": "messages", "value": {"page_id": 140984918491243u64}}))
        .await;
    assert_skips(
        &before,
        &env.scrape().await,
        &[("unknown_field", 3), ("unknown_object", 1)],
    );
    assert_eq!(env.events_logged(), 1);
    assert_eq!(
        env.a.row(placement_a(&c), "2025-07-10", "2025-07-10").await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

#[tokio::test]
async fn messenger_events_for_another_accounts_campaign_are_foreign_and_not_counted() {
    let env = start().await;
    let theirs = env.b.create(CS_B, PAGE_B, AD_B, "B's campaign").await;
    let before = env.scrape().await;
    // A's page reports events naming B's campaign.
    env.deliver(&page_envelope(
        PAGE_A,
        vec![
            change(ECHOES, &theirs, "r-1", "2025-07-10T12:00:00Z"),
            change(DELIVERIES, &theirs, "r-1", "2025-07-10T12:01:00Z"),
        ],
    ))
    .await;
    assert_skips(&before, &env.scrape().await, &[("foreign_campaign", 2)]);
    assert_eq!(env.events_logged(), 0);
    assert_eq!(
        env.b
            .row((CS_B, PAGE_B, AD_B, &theirs), "2025-07-10", "2025-07-10")
            .await,
        nothing("2025-07-10", "2025-07-10")
    );
    // The same events from B's own page count for B.
    let mut own = page_envelope(
        PAGE_B,
        vec![change(DELIVERIES, &theirs, "r-1", "2025-07-10T12:01:00Z")],
    );
    own["entry"][0]["changes"][0]["value"]["page_id"] = json!(PAGE_B.parse::<u64>().unwrap());
    env.deliver(&own).await;
    assert_eq!(
        env.b
            .row((CS_B, PAGE_B, AD_B, &theirs), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

#[tokio::test]
async fn whatsapp_statuses_mapped_to_another_accounts_campaign_are_foreign() {
    let env = start().await;
    // B registers WA_FOREIGN from its own native events.
    env.b
        .put_events(&format!(
            "{{\"campaign_id\":\"{WA_FOREIGN}\",\"recipient\":\"b-1\",\"event\":\"delivered\",\"timestamp\":\"2025-07-10T12:00:00Z\"}}\n"
        ))
        .await;
    assert_eq!(env.b.sync(AD_B, PAGE_B).await, vec![WA_FOREIGN.to_string()]);
    let logged = env.events_logged();
    let before = env.scrape().await;
    // A's WABA maps `b-owned` to it.
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.F1",
                "delivered",
                "2025-07-10T12:05:00Z",
                "5511987654321",
                "b-owned",
            ),
            "pricing",
            pricing("marketing", Some(cost(json!("5.00"), "USD"))),
        )],
    ))
    .await;
    assert_skips(&before, &env.scrape().await, &[("foreign_campaign", 1)]);
    assert_eq!(env.events_logged(), logged);
    assert_eq!(
        env.b
            .row((CS_B, PAGE_B, AD_B, WA_FOREIGN), "2025-07-10", "2025-07-10")
            .await,
        expected(
            "2025-07-10",
            "2025-07-10",
            &[("Sent", "1"), ("Delivered", "1"), ("DeliveryRate", "100")]
        )
    );
}

/// Attribution mappings are configured per WABA (`[[accounts.whatsapp_business_accounts]]`): a
/// status from A's WABA tagged with B's callback data (or sent from B's business number) must not
/// land in A's data, where A's `SyncMessageCampaign` would register B's campaign as A's.
#[tokio::test]
async fn whatsapp_attribution_uses_only_the_wabas_own_mappings() {
    let env = start().await;
    let before = env.scrape().await;
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_A,
        vec![with(
            wa_tagged(
                "wamid.X1",
                "delivered",
                "2025-07-10T12:00:00Z",
                "5511987654321",
                "promo-b",
            ),
            "pricing",
            pricing("marketing", None),
        )],
    ))
    .await;
    env.deliver(&wa_envelope(
        WABA_A,
        PHONE_B_MAPPED,
        vec![with(
            wa_status(
                "wamid.X2",
                "delivered",
                "2025-07-10T12:00:00Z",
                "5511987654322",
            ),
            "pricing",
            pricing("marketing", None),
        )],
    ))
    .await;
    assert_eq!(
        env.a.sync(AD_A, PAGE_A).await,
        Vec::<String>::new(),
        "A must not register B's campaign"
    );
    assert_eq!(env.events_logged(), 0, "nothing attributed");
    // Mapped by B's WABA, not A's: refused as a foreign mapping, never stored in A's data.
    assert_skips(&before, &env.scrape().await, &[("foreign_mapping", 2)]);
}

// ---------------------------------------------------------------------------------------------
// 8. /metrics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_answers_prometheus_text_with_webhook_and_request_counters() {
    let env = start().await;
    let c = env.a.create(CS_A, PAGE_A, AD_A, "observed").await;
    env.deliver(&page_envelope(
        PAGE_A,
        vec![change(DELIVERIES, &c, "r-1", "2025-07-10T12:00:00Z")],
    ))
    .await;
    env.deliver(&page_envelope(
        PAGE_UNKNOWN,
        vec![change(DELIVERIES, &c, "r-1", "2025-07-10T12:00:00Z")],
    ))
    .await;
    let r = env.get("/metrics").await;
    assert_eq!(r.status, 200);
    let content_type = r.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    for needle in [
        "# TYPE cams_webhook_requests_total counter",
        "# TYPE cams_requests_total counter",
        "# TYPE cams_webhook_skipped_total counter",
        "cams_webhook_duration_seconds_bucket",
        "cams_store_events_logged",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    let scrape = Scrape(text.clone());
    assert!(scrape.webhook_requests("ok") >= 2, "{text}");
    assert!(scrape.skipped("unknown_page") >= 1, "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("cams_requests_total{")
            && l.contains("action=\"CreateMessageCampaign\"")
            && l.contains("code=\"OK\"")),
        "{text}"
    );
    // Every sample line is `name{labels} value` or `name value` with a numeric value.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "sample line {line:?}");
    }
}
