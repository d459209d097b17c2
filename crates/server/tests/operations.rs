//! Black-box tests of the CAMS operations: a real server on an ephemeral port, real signed HTTP.
//!
//! Campaign lifecycle, listing and paging, parameter validation, tenancy isolation, native event
//! ingestion (`PutMessageEvents`, `POST /v1/events`), `SyncMessageCampaign`, `ListPageAdAccount`,
//! and the insights metrics checked field by field against `insights::reference`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use acs_client::{Call, CallResponse, SignatureScheme};
use acs_signature::V3Algorithm;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Months, NaiveDate, SecondsFormat};
use common::{assert_success, ms, request_id_matches_header, Api, TestServer};
use http_body_util::Full;
use insights::{
    Breakdown, CountryCode, Currency, DateRange, EngineConfig, Event, EventKind, ExtraFields,
    Query, RateCard, TimeIncrement, ALWAYS_FIELDS,
};
use serde_json::{json, Map, Value};
use server::Config;

// ---------------------------------------------------------------------------------------------
// Fixture: two accounts with their own keys and tenants
// ---------------------------------------------------------------------------------------------

const V3: SignatureScheme = SignatureScheme::V3(V3Algorithm::HmacSha256);
const V2: SignatureScheme = SignatureScheme::V2;
const VERSION: &str = "2020-06-06";

/// Account A: the one under test (the key of `common`).
const A_UID: &str = common::ACCOUNT;
/// Account B: another tenant probing A's ids.
const B_UID: &str = "6543210987654321";
const B_KEY: &str = "LTAI5tOtherKey0000000001";
const B_SECRET: &str = "OtherSecret0123456789abcdefghij";
/// `POST /v1/events` token of account A.
const INGEST_TOKEN: &str = "ingest-token-a-0123456789abcdef";

/// A's first cust space: page `page-a1` (ad accounts `act-a1` USD New York, `act-a2` EUR Berlin)
/// and page `page-a2` (ad account `act-a3`, JPY Tokyo).
const CS_A: &str = "cams-a1";
const PAGE_A: &str = "page-a1";
const AD_A: &str = "act-a1";
const AD_A_EUR: &str = "act-a2";
const PAGE_A2: &str = "page-a2";
const AD_A3: &str = "act-a3";
/// A's second cust space: page `page-a3`, ad account `act-a4`.
const CS_A2: &str = "cams-a2";
const PAGE_A3: &str = "page-a3";
const AD_A4: &str = "act-a4";
/// B's tenants.
const CS_B: &str = "cams-b1";
const PAGE_B: &str = "page-b1";
const AD_B: &str = "act-b1";

/// Ids that exist nowhere.
const CS_NONE: &str = "cams-zz9999";
const PAGE_NONE: &str = "page-zz9999";
const AD_NONE: &str = "act-zz9999";
const CAMPAIGN_NONE: &str = "120299999999999999";

const CUST_SPACE_INVALID: &str = "InvalidParameter.CustSpaceInvalid";
const PAGE_INVALID: &str = "InvalidParameter.PageInvalid";
const AD_ACCOUNT_INVALID: &str = "InvalidParameter.AdAccountInvalid";
const CAMPAIGN_INVALID: &str = "InvalidParameter.CampaignInvalid";

fn config() -> Config {
    Config::parse(&format!(
        r#"
# Black-box tests send bursts; flow control has its own tests.
[flow_control]
per_second = 0

[server]
listen = "127.0.0.1:0"
host_id = "cams.test.local"

[[accounts]]
uid = "{A_UID}"
name = "acme"

[[accounts.access_keys]]
id = "{a_key}"
secret = "{a_secret}"

[[accounts.ingest_tokens]]
value = "{INGEST_TOKEN}"

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
id = "{PAGE_A2}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_A3}"
name = "Acme JP"
currency = "JPY"
timezone = "Asia/Tokyo"

[[accounts.cust_spaces]]
id = "{CS_A2}"

[[accounts.cust_spaces.pages]]
id = "{PAGE_A3}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD_A4}"
name = "Acme Two"
currency = "USD"
timezone = "UTC"

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
name = "Other BR"
currency = "USD"
timezone = "America/Sao_Paulo"
"#,
        a_key = common::KEY_ID,
        a_secret = common::SECRET,
    ))
    .expect("test config parses")
}

/// A running server and a signed client for each account.
struct Env {
    server: TestServer,
    a: Api,
    b: Api,
}

async fn start() -> Env {
    let server = TestServer::start(config()).await;
    let a = Api {
        client: server.client(V3),
    };
    let b = Api {
        client: server.client_with(B_KEY, B_SECRET, V3),
    };
    Env { server, a, b }
}

impl Env {
    /// Events durably logged so far, all accounts.
    fn events_logged(&self) -> u64 {
        self.server.state.store.stats().events_logged
    }
}

// ---------------------------------------------------------------------------------------------
// Calling the API
// ---------------------------------------------------------------------------------------------

impl Api {
    /// `ListMessageCampaign` with the JSON `Page` and extra filters; asserts success.
    async fn list(
        &self,
        cs: &str,
        page: &str,
        index: u64,
        size: u64,
        extra: &[(&str, &str)],
    ) -> Value {
        let page_json = format!(r#"{{"Index":{index},"Size":{size}}}"#);
        let mut params = vec![
            ("CustSpaceId", cs),
            ("PageId", page),
            ("Page", page_json.as_str()),
        ];
        params.extend_from_slice(extra);
        self.ok("ListMessageCampaign", &params).await
    }

    /// Campaign ids of a `ListMessageCampaign` answer, in order.
    async fn list_ids(&self, cs: &str, page: &str, extra: &[(&str, &str)]) -> Vec<String> {
        ids_of(&self.list(cs, page, 1, 100, extra).await)
    }

    async fn insights(
        &self,
        (cs, page, ad, campaign): (&str, &str, &str, &str),
        extra: &[(&str, &str)],
    ) -> CallResponse {
        let mut params = vec![
            ("CustSpaceId", cs),
            ("PageId", page),
            ("AdAccountId", ad),
            ("CampaignId", campaign),
        ];
        params.extend_from_slice(extra);
        self.call("GetMessageCampaignInsights", &params).await
    }

    /// Insights rows of a successful call, each value checked to be a JSON string.
    async fn rows(
        &self,
        placement: (&str, &str, &str, &str),
        extra: &[(&str, &str)],
    ) -> Vec<BTreeMap<String, String>> {
        wire_rows(&assert_success(&self.insights(placement, extra).await))
    }

    async fn delete(&self, (cs, page, ad, campaign): (&str, &str, &str, &str)) -> CallResponse {
        self.call(
            "DeleteMessageCampaign",
            &[
                ("CustSpaceId", cs),
                ("PageId", page),
                ("AdAccountId", ad),
                ("CampaignId", campaign),
            ],
        )
        .await
    }

    /// `PutMessageEvents` with a raw body and content type.
    async fn put_raw(&self, body: impl Into<Bytes>, content_type: &str) -> CallResponse {
        let mut call = Call::new("PutMessageEvents", VERSION, &[]);
        call.body = Some((body.into(), content_type.to_string()));
        self.client.call(&call).await.expect("an HTTP answer")
    }

    /// `PutMessageEvents` with an NDJSON body; asserts success and returns the report.
    async fn put_events(&self, ndjson: &str) -> Value {
        assert_success(
            &self
                .put_raw(ndjson.to_string(), "application/x-ndjson")
                .await,
        )
    }

    /// Sends lines in chunks, asserting each chunk is accepted whole.
    async fn put_lines(&self, lines: &[String], chunk: usize) {
        for part in lines.chunks(chunk) {
            let report = self.put_events(&(part.join("\n") + "\n")).await;
            assert_eq!(report["RejectedCount"], 0, "{report}");
            assert_eq!(report["Accepted"], part.len() as u64, "{report}");
        }
    }
}

/// The ids of a `ListMessageCampaign` body, in order.
fn ids_of(list: &Value) -> Vec<String> {
    list["Data"]
        .as_array()
        .expect("Data array")
        .iter()
        .map(|c| c["CampaignId"].as_str().expect("CampaignId").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Envelope assertions
// ---------------------------------------------------------------------------------------------

/// The documented message of each business error (docs/errors.md).
fn business_message(code: &str) -> &'static str {
    match code {
        CUST_SPACE_INVALID => "The specified CustSpaceId does not exist.",
        PAGE_INVALID => "The specified PageId does not exist in this cust space.",
        AD_ACCOUNT_INVALID => "The specified AdAccountId is not bound to this page.",
        CAMPAIGN_INVALID => "The specified CampaignId does not exist.",
        other => panic!("not a business code: {other}"),
    }
}

/// A business error: HTTP 200, `Success:false`, the code and its documented message.
fn assert_business_error(r: &CallResponse, code: &str) {
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(body["Code"], code, "{body}");
    assert_eq!(body["Success"], false, "{body}");
    assert_eq!(body["Message"], business_message(code), "{body}");
    assert_eq!(body["AccessDeniedDetail"], "None", "{body}");
    request_id_matches_header(r, &body);
}

/// Every gateway error is the documented JSON envelope with the request id in header and body.
fn assert_gateway_error(r: &CallResponse, status: u16, code: &str) {
    let body = r.json();
    assert_eq!(
        r.status,
        status,
        "status for {code}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(body["Code"], code, "{body}");
    request_id_matches_header(r, &body);
    assert_eq!(body["HostId"], "cams.test.local");
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["Recommend"].is_string());
}

/// `MissingParameter` 400 naming the parameter.
fn assert_missing(r: &CallResponse, param: &str) {
    assert_gateway_error(r, 400, "MissingParameter");
    let message = r.json()["Message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!("\"{param}\"")),
        "message names {param}: {message}"
    );
}

/// `InvalidParameter` 400 naming the parameter.
fn assert_invalid(r: &CallResponse, param: &str) {
    assert_gateway_error(r, 400, "InvalidParameter");
    let message = r.json()["Message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(&format!("The parameter {param} is not valid: ")),
        "message names {param}: {message}"
    );
}

/// Status and body of an answer without its request id, for comparing two answers.
fn comparable(r: &CallResponse) -> (u16, Value) {
    let mut body = r.json();
    assert!(body["RequestId"].is_string(), "{body}");
    body.as_object_mut().unwrap().remove("RequestId");
    (r.status, body)
}

// ---------------------------------------------------------------------------------------------
// Insights rows and the reference
// ---------------------------------------------------------------------------------------------

/// The rows of an insights body, each value checked to be a JSON string.
fn wire_rows(body: &Value) -> Vec<BTreeMap<String, String>> {
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

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A query as `act-a1` (New York, USD) asks it.
fn ny_query(start: &str, stop: &str, increment: TimeIncrement, breakdown: Breakdown) -> Query {
    Query {
        tz: chrono_tz::America::New_York,
        currency: usd(),
        range: DateRange {
            start: date(start),
            stop: date(stop),
        },
        increment,
        breakdown,
    }
}

/// A query as another ad account asks it.
fn query_in(
    tz: chrono_tz::Tz,
    currency: &str,
    start: &str,
    stop: &str,
    increment: TimeIncrement,
) -> Query {
    Query {
        tz,
        currency: Currency::from_code(currency).unwrap(),
        range: DateRange {
            start: date(start),
            stop: date(stop),
        },
        increment,
        breakdown: Breakdown::None,
    }
}

/// The reference's rows, formatted as the wire shows them.
fn expected_rows(
    events: &[Event],
    campaign: &str,
    query: &Query,
    extra: &ExtraFields,
) -> Vec<BTreeMap<String, String>> {
    insights::reference::evaluate(
        events,
        &[],
        &EngineConfig::default(),
        campaign,
        query,
        &RateCard::empty(),
    )
    .iter()
    .map(|row| {
        row.format(&query.currency)
            .wire_fields_with(extra)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
    .collect()
}

fn keys(row: &BTreeMap<String, String>) -> BTreeSet<&str> {
    row.keys().map(String::as_str).collect()
}

fn documented_fields() -> BTreeSet<&'static str> {
    ALWAYS_FIELDS.into_iter().collect()
}

/// Today in a time zone, `YYYY-MM-DD`.
fn today_in(tz: chrono_tz::Tz) -> String {
    chrono::Utc::now()
        .with_timezone(&tz)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Native events
// ---------------------------------------------------------------------------------------------

fn event(campaign: &str, recipient: &str, kind: EventKind, timestamp_ms: i64) -> Event {
    Event {
        campaign_id: campaign.to_string(),
        recipient: recipient.to_string(),
        kind,
        timestamp_ms,
        country: None,
        event_id: None,
        price_micros: None,
    }
}

fn country(code: &str) -> CountryCode {
    code.parse().unwrap()
}

/// A price in micro-units as a decimal string with six places (`14100` → `"0.014100"`).
fn price_text(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// How a line writes its timestamp.
#[derive(Clone, Copy)]
enum TimeForm {
    EpochMs,
    Utc,
    Offset,
}

/// One native NDJSON line for an event, written independently of the server's crates.
fn native_line(e: &Event, form: TimeForm) -> String {
    let t = DateTime::from_timestamp_millis(e.timestamp_ms).unwrap();
    let timestamp = match form {
        TimeForm::EpochMs => json!(e.timestamp_ms),
        TimeForm::Utc => json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        TimeForm::Offset => json!(t
            .with_timezone(&FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
            .to_rfc3339_opts(SecondsFormat::Millis, false)),
    };
    let mut m = Map::new();
    m.insert("campaign_id".into(), json!(e.campaign_id));
    m.insert("recipient".into(), json!(e.recipient));
    m.insert("event".into(), json!(e.kind.as_str()));
    m.insert("timestamp".into(), timestamp);
    if let Some(c) = e.country {
        m.insert("country".into(), json!(c.to_string()));
    }
    if let Some(id) = &e.event_id {
        m.insert("event_id".into(), json!(id));
    }
    if let Some(p) = e.price_micros {
        m.insert("price".into(), json!(price_text(p)));
    }
    Value::Object(m).to_string()
}

/// The project's deterministic generator, so every run sends the same events.
use workload::Rng as Lcg;

/// Percent draws for the test data.
trait Percent {
    fn percent(&mut self) -> u64;
}

impl Percent for Lcg {
    fn percent(&mut self) -> u64 {
        self.below(100)
    }
}

const MINUTE: i64 = 60_000;

/// A few hundred events around July 2025 for one campaign: countries inside and outside E2/E5,
/// unknown countries, phone-number recipients, failures (some later delivered), deliveries with
/// and without prices, reads establishing deliveries, clicks with and without ids (some seen
/// twice), conflicting countries. Some fall just outside July in New York time.
fn campaign_events(campaign: &str, seed: u64, messages: usize) -> Vec<Event> {
    // 2025-06-30 12:00Z is June 30 in New York; 2025-08-01 03:00Z is still July 31 there.
    events_between(
        campaign,
        seed,
        messages,
        ms("2025-06-30T12:00:00Z"),
        ms("2025-08-01T06:00:00Z"),
    )
}

/// [`campaign_events`] with message start times drawn from `[from, to)`.
fn events_between(campaign: &str, seed: u64, messages: usize, from: i64, to: i64) -> Vec<Event> {
    let countries: [Option<&str>; 12] = [
        Some("BR"),
        Some("US"),
        Some("IN"),
        Some("MX"),
        Some("DE"),
        Some("JP"),
        Some("FR"),
        Some("AR"),
        Some("TR"),
        Some("KR"),
        None, // unknown: a recipient id that is not a phone number
        None, // a Brazilian phone number: country from the calling code
    ];
    let prices = [14_100, 62_500, 7_900, 100_000, 33_300];
    let mut rng = Lcg(seed);
    let mut events = Vec::new();
    for i in 0..messages {
        let slot = i % countries.len();
        let recipient = if slot == 11 {
            format!("+55119{:03}{:05}", seed % 1000, i)
        } else {
            format!("user-{seed}-{i:04}")
        };
        let code = countries[slot].map(country);
        let base = from + rng.below((to - from) as u64) as i64;
        let mk = |kind, t| event(campaign, &recipient, kind, t);
        let mut mine = Vec::new();
        if rng.percent() < 75 {
            mine.push(mk(EventKind::Sent, base));
        }
        let r = rng.percent();
        let price = prices[rng.below(prices.len() as u64) as usize];
        if r < 10 {
            mine.push(mk(EventKind::Failed, base + 2 * MINUTE));
        } else if r < 15 {
            mine.push(mk(EventKind::Failed, base + 2 * MINUTE));
            let mut d = mk(EventKind::Delivered, base + 40 * MINUTE);
            d.price_micros = Some(price);
            mine.push(d);
        } else {
            let delivered_at = base + (1 + rng.below(90) as i64) * MINUTE;
            let priced = rng.percent() < 80;
            let explicit_delivery = r >= 22;
            if explicit_delivery {
                let mut d = mk(EventKind::Delivered, delivered_at);
                d.price_micros = priced.then_some(price);
                mine.push(d);
            }
            if rng.percent() < 65 || !explicit_delivery {
                let mut read = mk(
                    EventKind::Read,
                    delivered_at + rng.below(600) as i64 * MINUTE,
                );
                if !explicit_delivery {
                    read.price_micros = priced.then_some(price);
                }
                mine.push(read);
            }
            if rng.percent() < 45 {
                for k in 0..1 + rng.below(3) {
                    let t = delivered_at + (5 + rng.below(900) as i64) * MINUTE;
                    let mut click = mk(EventKind::Click, t);
                    if k != 2 {
                        click.event_id = Some(format!("clk-{i}-{k}"));
                    }
                    mine.push(click.clone());
                    if k == 0 && rng.percent() < 30 {
                        // The same click seen again later: counts once, at its earliest time.
                        click.timestamp_ms = t + 60 * MINUTE;
                        mine.push(click);
                    }
                }
            }
        }
        // The country travels on the first event; sometimes a later event claims another one.
        if let (Some(c), Some(first)) = (code, mine.first_mut()) {
            first.country = Some(c);
        }
        if code.is_some() && mine.len() > 1 && rng.percent() < 10 {
            mine.last_mut().unwrap().country = Some(country("GB"));
        }
        events.extend(mine);
    }
    events
}

/// The NDJSON lines of some events: mixed timestamp forms, ~10% duplicated, shuffled.
fn shuffled_lines(events: &[Event], seed: u64) -> Vec<String> {
    let forms = [TimeForm::EpochMs, TimeForm::Utc, TimeForm::Offset];
    let mut rng = Lcg(seed);
    let mut lines = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let line = native_line(e, forms[i % forms.len()]);
        if rng.percent() < 10 {
            lines.push(line.clone());
        }
        lines.push(line);
    }
    for i in (1..lines.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        lines.swap(i, j);
    }
    lines
}

/// A fresh server with one campaign of A under (`cams-a1`, `page-a1`, `act-a1`) whose events
/// around July 2025 have been ingested.
async fn ingested_campaign() -> (Env, String, Vec<Event>) {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "July push").await;
    let events = campaign_events(&campaign, 7, 160);
    let lines = shuffled_lines(&events, 11);
    assert!(lines.len() > 300, "a few hundred events: {}", lines.len());
    env.a.put_lines(&lines, 200).await;
    (env, campaign, events)
}

fn placement_a(campaign: &str) -> (&'static str, &'static str, &'static str, &str) {
    (CS_A, PAGE_A, AD_A, campaign)
}

// ---------------------------------------------------------------------------------------------
// 1. Campaign lifecycle
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn campaign_lifecycle_create_list_insights_delete() {
    let env = start().await;
    let before_ms = chrono::Utc::now().timestamp_millis();
    let id = env.a.create(CS_A, PAGE_A, AD_A, "Spring Launch").await;
    let after_ms = chrono::Utc::now().timestamp_millis();

    // List, JSON Page and flattened Page.Index / Page.Size give the same.
    let json_form = env.a.list(CS_A, PAGE_A, 1, 10, &[]).await;
    let flat_form = env
        .a
        .ok(
            "ListMessageCampaign",
            &[
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("Page.Index", "1"),
                ("Page.Size", "10"),
            ],
        )
        .await;
    assert_eq!(json_form["Data"], flat_form["Data"]);
    assert_eq!(json_form["Total"], flat_form["Total"]);
    assert_eq!(json_form["Total"], json!(1));
    let data = json_form["Data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let c = data[0].as_object().unwrap();
    let fields: BTreeSet<&str> = c.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "AdAccountId",
            "Budget",
            "BudgetType",
            "CampaignId",
            "CampaignName",
            "CreateTime",
            "PageId",
            "Status"
        ])
    );
    assert_eq!(c["AdAccountId"], AD_A);
    assert!(
        c["Budget"].is_i64(),
        "Budget is a JSON integer: {}",
        c["Budget"]
    );
    assert_eq!(c["Budget"], json!(30000));
    assert_eq!(c["BudgetType"], "daily");
    assert_eq!(c["CampaignId"], id.as_str());
    assert_eq!(c["CampaignName"], "Spring Launch");
    assert_eq!(c["PageId"], PAGE_A);
    assert_eq!(c["Status"], "AVAILABLE");
    let created = c["CreateTime"].as_i64().expect("CreateTime integer ms");
    assert!(
        (before_ms - 1000..=after_ms + 1000).contains(&created),
        "CreateTime {created} close to now ({before_ms}..{after_ms})"
    );

    // A fresh campaign: one row of zeros over today, in the ad account's time zone.
    let today_before = today_in(chrono_tz::America::New_York);
    let rows = env.a.rows(placement_a(&id), &[]).await;
    let today_after = today_in(chrono_tz::America::New_York);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(keys(row), documented_fields());
    assert!(
        row["DateStart"] == today_before || row["DateStart"] == today_after,
        "{row:?}"
    );
    assert_eq!(row["DateStart"], row["DateStop"]);
    for (k, v) in row {
        if !k.starts_with("Date") {
            assert_eq!(v, "0", "{k} of a fresh campaign");
        }
    }

    // Delete: gone from insights and the default list, present under Status=DELETED.
    assert_success(&env.a.delete(placement_a(&id)).await);
    assert_business_error(
        &env.a.insights(placement_a(&id), &[]).await,
        CAMPAIGN_INVALID,
    );
    let listed = env.a.list(CS_A, PAGE_A, 1, 10, &[]).await;
    assert_eq!(listed["Total"], json!(0));
    assert_eq!(listed["Data"], json!([]));
    let deleted = env
        .a
        .list(CS_A, PAGE_A, 1, 10, &[("Status", "DELETED")])
        .await;
    assert_eq!(deleted["Total"], json!(1));
    assert_eq!(deleted["Data"][0]["CampaignId"], id.as_str());
    assert_eq!(deleted["Data"][0]["Status"], "DELETED");
    assert_eq!(deleted["Data"][0]["CampaignName"], "Spring Launch");
    let available = env
        .a
        .list(CS_A, PAGE_A, 1, 10, &[("Status", "AVAILABLE")])
        .await;
    assert_eq!(available["Total"], json!(0));
    assert_business_error(&env.a.delete(placement_a(&id)).await, CAMPAIGN_INVALID);
}

#[tokio::test]
async fn name_of_128_characters_is_accepted() {
    let env = start().await;
    let name = "é".repeat(128);
    let id = env.a.create(CS_A, PAGE_A, AD_A, &name).await;
    let listed = env.a.list(CS_A, PAGE_A, 1, 10, &[]).await;
    assert_eq!(listed["Data"][0]["CampaignId"], id.as_str());
    assert_eq!(listed["Data"][0]["CampaignName"], name.as_str());
}

#[tokio::test]
async fn sdk_common_parameters_are_accepted_and_ignored() {
    let env = start().await;
    let sdk = [
        ("OwnerId", "1"),
        ("ResourceOwnerAccount", "owner"),
        ("ResourceOwnerId", "2"),
        ("RegionId", "ap-southeast-1"),
    ];
    let mut params = create_params(CS_A, PAGE_A, AD_A).to_vec();
    params.extend_from_slice(&sdk);
    let created = env.a.ok("CreateMessageCampaign", &params).await;
    let id = created["CampaignId"].as_str().unwrap().to_string();
    let listed = env.a.list(CS_A, PAGE_A, 1, 10, &sdk).await;
    assert_eq!(ids_of(&listed), vec![id.clone()]);
    let mut params = vec![("CustSpaceId", CS_A), ("PageId", PAGE_A)];
    params.extend_from_slice(&sdk);
    env.a.ok("ListPageAdAccount", &params).await;
    assert_success(&env.a.insights(placement_a(&id), &sdk).await);
}

/// Creates campaigns of A in parallel; returns their ids.
async fn create_in_parallel(env: &Env, n: usize) -> BTreeSet<String> {
    let mut creates = Vec::new();
    for i in 0..n {
        let api = Api {
            client: env.a.client.clone(),
        };
        creates.push(tokio::spawn(async move {
            api.create(CS_A, PAGE_A, AD_A, &format!("parallel {i}"))
                .await
        }));
    }
    let mut ids = BTreeSet::new();
    for h in creates {
        ids.insert(h.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_ids() {
    let env = start().await;
    let ids = create_in_parallel(&env, 24).await;
    assert_eq!(ids.len(), 24);
    let listed = env.a.list(CS_A, PAGE_A, 1, 100, &[]).await;
    assert_eq!(listed["Total"], json!(24));
    assert_eq!(ids_of(&listed).into_iter().collect::<BTreeSet<_>>(), ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn concurrent_deletes_of_one_campaign_succeed_exactly_once() {
    let env = start().await;
    let ids = create_in_parallel(&env, 8).await;
    for target in &ids {
        let mut deletes = Vec::new();
        for _ in 0..12 {
            let api = Api {
                client: env.a.client.clone(),
            };
            let target = target.clone();
            deletes.push(tokio::spawn(async move {
                let r = api.delete((CS_A, PAGE_A, AD_A, &target)).await;
                assert_eq!(r.status, 200);
                r.code().unwrap()
            }));
        }
        let mut codes = Vec::new();
        for h in deletes {
            codes.push(h.await.unwrap());
        }
        assert!(codes.iter().all(|c| c == "OK" || c == CAMPAIGN_INVALID));
        assert_eq!(
            codes.iter().filter(|c| *c == "OK").count(),
            1,
            "exactly one delete of {target} wins: {codes:?}"
        );
    }
    assert_eq!(
        env.a.list(CS_A, PAGE_A, 1, 100, &[]).await["Total"],
        json!(0)
    );
    let deleted = env
        .a
        .list(CS_A, PAGE_A, 1, 100, &[("Status", "DELETED")])
        .await;
    assert_eq!(ids_of(&deleted).into_iter().collect::<BTreeSet<_>>(), ids);
}

// ---------------------------------------------------------------------------------------------
// 2. Pagination and filters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_pages_newest_first_with_totals_and_filters() {
    let env = start().await;
    let mut created = Vec::new();
    for i in 0..23 {
        let ad = if i % 2 == 0 { AD_A } else { AD_A_EUR };
        let name = if i % 3 == 0 {
            format!("Summer Blast {i}")
        } else {
            format!("Autumn promo {i}")
        };
        created.push((env.a.create(CS_A, PAGE_A, ad, &name).await, ad, name));
        // Distinct create times, so "newest first" is the reverse creation order.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // Another page and another cust space hold campaigns that must never show up.
    env.a.create(CS_A, PAGE_A2, AD_A3, "Summer elsewhere").await;
    env.a
        .create(CS_A2, PAGE_A3, AD_A4, "Summer elsewhere")
        .await;

    let newest_first: Vec<String> = created.iter().rev().map(|c| c.0.clone()).collect();
    let mut seen = Vec::new();
    for (index, expected_len) in [(1, 10), (2, 10), (3, 3), (4, 0), (5, 0)] {
        let page = env.a.list(CS_A, PAGE_A, index, 10, &[]).await;
        assert_eq!(page["Total"], json!(23), "page {index}");
        let ids = ids_of(&page);
        assert_eq!(ids.len(), expected_len, "page {index}");
        let times: Vec<i64> = page["Data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["CreateTime"].as_i64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        seen.extend(ids);
    }
    assert_eq!(seen, newest_first);
    // The flattened form pages the same.
    let flat = env
        .a
        .ok(
            "ListMessageCampaign",
            &[
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("Page.Index", "3"),
                ("Page.Size", "10"),
            ],
        )
        .await;
    assert_eq!(ids_of(&flat), newest_first[20..]);
    // Index and Size as JSON strings are accepted too.
    let strings = env
        .a
        .ok(
            "ListMessageCampaign",
            &[
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("Page", r#"{"Index":"2","Size":"7"}"#),
            ],
        )
        .await;
    assert_eq!(ids_of(&strings), newest_first[7..14]);

    // AdAccountId filter.
    let by_ad = env
        .a
        .list(CS_A, PAGE_A, 1, 100, &[("AdAccountId", AD_A)])
        .await;
    let expected: Vec<String> = newest_first
        .iter()
        .filter(|id| created.iter().any(|c| &c.0 == *id && c.1 == AD_A))
        .cloned()
        .collect();
    assert_eq!(expected.len(), 12);
    assert_eq!(by_ad["Total"], json!(12));
    assert_eq!(ids_of(&by_ad), expected);
    let by_ad_paged = env
        .a
        .list(CS_A, PAGE_A, 2, 5, &[("AdAccountId", AD_A_EUR)])
        .await;
    assert_eq!(by_ad_paged["Total"], json!(11));
    assert_eq!(ids_of(&by_ad_paged).len(), 5);

    // CampaignId filter.
    let one = &created[5].0;
    let by_id = env
        .a
        .list(CS_A, PAGE_A, 1, 10, &[("CampaignId", one.as_str())])
        .await;
    assert_eq!(by_id["Total"], json!(1));
    assert_eq!(ids_of(&by_id), vec![one.clone()]);
    let by_unknown_id = env
        .a
        .list(CS_A, PAGE_A, 1, 10, &[("CampaignId", CAMPAIGN_NONE)])
        .await;
    assert_eq!(by_unknown_id["Total"], json!(0));
    assert_eq!(by_unknown_id["Data"], json!([]));

    // CampaignName: case-insensitive substring.
    let summer: Vec<String> = newest_first
        .iter()
        .filter(|id| {
            created
                .iter()
                .any(|c| &c.0 == *id && c.2.starts_with("Summer"))
        })
        .cloned()
        .collect();
    assert_eq!(summer.len(), 8);
    for needle in ["summer", "SUMMER", "mmer bl"] {
        let by_name = env
            .a
            .list(CS_A, PAGE_A, 1, 100, &[("CampaignName", needle)])
            .await;
        assert_eq!(by_name["Total"], json!(8), "{needle}");
        assert_eq!(ids_of(&by_name), summer, "{needle}");
    }
    let by_name_and_ad = env
        .a
        .list(
            CS_A,
            PAGE_A,
            1,
            100,
            &[("CampaignName", "PROMO 1"), ("AdAccountId", AD_A)],
        )
        .await;
    // "Autumn promo 1x" under act-a1: 10, 14, 16 (even, not a multiple of 3).
    let names: BTreeSet<String> = by_name_and_ad["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CampaignName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "Autumn promo 10".to_string(),
            "Autumn promo 14".to_string(),
            "Autumn promo 16".to_string()
        ])
    );
    assert_eq!(by_name_and_ad["Total"], json!(3));
}

// ---------------------------------------------------------------------------------------------
// 3. Validation
// ---------------------------------------------------------------------------------------------

const CREATE_PARAMS: [(&str, &str); 6] = [
    ("CustSpaceId", CS_A),
    ("PageId", PAGE_A),
    ("AdAccountId", AD_A),
    ("Name", "Valid name"),
    ("BudgetType", "lifetime"),
    ("Budget", "5000"),
];

/// Create's parameters with one replaced (or removed, when `value` is `None`).
fn create_params_with(name: &str, value: Option<&str>) -> Vec<(&'static str, String)> {
    CREATE_PARAMS
        .iter()
        .filter_map(|&(k, v)| {
            if k == name {
                value.map(|v| (k, v.to_string()))
            } else {
                Some((k, v.to_string()))
            }
        })
        .collect()
}

async fn create_with(api: &Api, params: &[(&'static str, String)]) -> CallResponse {
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    api.call("CreateMessageCampaign", &borrowed).await
}

#[tokio::test]
async fn create_refuses_missing_and_malformed_parameters_and_creates_nothing() {
    let env = start().await;
    for (param, _) in CREATE_PARAMS {
        let r = create_with(&env.a, &create_params_with(param, None)).await;
        assert_missing(&r, param);
        // An empty value is missing too.
        let r = create_with(&env.a, &create_params_with(param, Some(""))).await;
        assert_missing(&r, param);
    }
    for bad in ["weekly", "Daily", "LIFETIME"] {
        let r = create_with(&env.a, &create_params_with("BudgetType", Some(bad))).await;
        assert_invalid(&r, "BudgetType");
    }
    for bad in [
        "0",
        "-1",
        "1.5",
        "abc",
        "99999999999999999999",
        "1e3",
        "+5",
        "1000000000000000001",
    ] {
        let r = create_with(&env.a, &create_params_with("Budget", Some(bad))).await;
        assert_invalid(&r, "Budget");
    }
    for long in ["n".repeat(129), "é".repeat(129)] {
        let r = create_with(&env.a, &create_params_with("Name", Some(&long))).await;
        assert_invalid(&r, "Name");
    }

    // Nothing was created, in any status.
    for status in ["AVAILABLE", "DELETED"] {
        let listed = env
            .a
            .list(CS_A, PAGE_A, 1, 100, &[("Status", status)])
            .await;
        assert_eq!(listed["Total"], json!(0), "{status}: {listed}");
    }
    assert_eq!(env.server.state.store.stats().campaigns, 0);
}

#[tokio::test]
async fn list_refuses_malformed_page_and_status() {
    let env = start().await;
    env.a.create(CS_A, PAGE_A, AD_A, "kept").await;
    let list = |page: Option<&'static str>, extra: Vec<(&'static str, &'static str)>| {
        let api = &env.a;
        async move {
            let mut params = vec![("CustSpaceId", CS_A), ("PageId", PAGE_A)];
            if let Some(p) = page {
                params.push(("Page", p));
            }
            params.extend(extra);
            api.call("ListMessageCampaign", &params).await
        }
    };
    assert_missing(&list(None, vec![]).await, "Page");
    for bad in ["{", "not json", "[1,2]", "7"] {
        assert_invalid(&list(Some(bad), vec![]).await, "Page");
    }
    assert_invalid(
        &list(Some(r#"{"Index":1.5,"Size":10}"#), vec![]).await,
        "Page.Index",
    );
    assert_missing(&list(Some(r#"{"Size":10}"#), vec![]).await, "Page.Index");
    assert_invalid(
        &list(Some(r#"{"Index":1,"Size":0}"#), vec![]).await,
        "Page.Size",
    );
    assert_invalid(
        &list(Some(r#"{"Index":1,"Size":101}"#), vec![]).await,
        "Page.Size",
    );
    assert_invalid(
        &list(Some(r#"{"Index":0,"Size":10}"#), vec![]).await,
        "Page.Index",
    );
    assert_invalid(
        &list(Some(r#"{"Index":-1,"Size":10}"#), vec![]).await,
        "Page.Index",
    );
    assert_invalid(
        &list(None, vec![("Page.Index", "0"), ("Page.Size", "10")]).await,
        "Page.Index",
    );
    assert_invalid(
        &list(None, vec![("Page.Index", "1"), ("Page.Size", "x")]).await,
        "Page.Size",
    );
    for bad in ["PAUSED", "available", "ALL"] {
        assert_invalid(
            &list(Some(r#"{"Index":1,"Size":10}"#), vec![("Status", bad)]).await,
            "Status",
        );
    }
    // Size 100 is the largest accepted.
    let ok = env.a.list(CS_A, PAGE_A, 1, 100, &[]).await;
    assert_eq!(ok["Total"], json!(1));
}

#[tokio::test]
async fn insights_refuses_malformed_extensions() {
    let env = start().await;
    let id = env.a.create(CS_A, PAGE_A, AD_A, "target").await;
    let placement = placement_a(&id);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("DateStart", "2025-13-01"), ("DateStop", "2025-12-31")],
            "DateStart",
        ),
        (
            &[("DateStart", "2025-07-01"), ("DateStop", "2025-02-30")],
            "DateStop",
        ),
        (
            &[("DateStart", "2025/07/01"), ("DateStop", "2025-07-31")],
            "DateStart",
        ),
        (
            &[("DateStart", "2025-07-02"), ("DateStop", "2025-07-01")],
            "DateStart",
        ),
        (
            &[("DateStart", "2022-01-01"), ("DateStop", "2025-02-01")],
            "DateStart",
        ),
        (&[("TimeIncrement", "0")], "TimeIncrement"),
        (&[("TimeIncrement", "91")], "TimeIncrement"),
        (&[("TimeIncrement", "weekly")], "TimeIncrement"),
        (&[("TimeIncrement", "-1")], "TimeIncrement"),
        (&[("Breakdowns", "region")], "Breakdowns"),
        (&[("Fields", "Nope")], "Fields"),
        (&[("Fields", "MarketingMessagesSent,Nope")], "Fields"),
    ];
    for (extra, param) in cases {
        let r = env.a.insights(placement, extra).await;
        assert_invalid(&r, param);
    }
    // The edges that are accepted: exactly 37 months, increments 1 and 90.
    let rows = env
        .a
        .rows(
            placement,
            &[("DateStart", "2022-01-01"), ("DateStop", "2025-01-31")],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["DateStart"], "2022-01-01");
    assert_eq!(rows[0]["DateStop"], "2025-01-31");
    for (inc, n) in [("1", 3), ("90", 1)] {
        let rows = env
            .a
            .rows(
                placement,
                &[
                    ("DateStart", "2025-07-01"),
                    ("DateStop", "2025-07-03"),
                    ("TimeIncrement", inc),
                ],
            )
            .await;
        assert_eq!(rows.len(), n, "TimeIncrement={inc}");
    }
    // Nothing changed: still one campaign.
    assert_eq!(
        env.a.list(CS_A, PAGE_A, 1, 10, &[]).await["Total"],
        json!(1)
    );
}

#[tokio::test]
async fn every_operation_names_its_missing_required_parameters() {
    let env = start().await;
    let id = env.a.create(CS_A, PAGE_A, AD_A, "target").await;
    let ops: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "GetMessageCampaignInsights",
            vec![
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("AdAccountId", AD_A),
                ("CampaignId", id.as_str()),
            ],
        ),
        (
            "DeleteMessageCampaign",
            vec![
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("AdAccountId", AD_A),
                ("CampaignId", id.as_str()),
            ],
        ),
        (
            "ListMessageCampaign",
            vec![
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A),
                ("Page", r#"{"Index":1,"Size":10}"#),
            ],
        ),
        (
            "SyncMessageCampaign",
            vec![("AdAccountId", AD_A), ("PageId", PAGE_A)],
        ),
        (
            "ListPageAdAccount",
            vec![("CustSpaceId", CS_A), ("PageId", PAGE_A)],
        ),
    ];
    for (action, params) in &ops {
        for (missing, _) in params {
            let without: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| k != missing)
                .copied()
                .collect();
            let r = env.a.call(action, &without).await;
            assert_missing(&r, missing);
        }
    }
    // The campaign survived every refused delete.
    assert_eq!(env.a.list_ids(CS_A, PAGE_A, &[]).await, vec![id]);
}

// ---------------------------------------------------------------------------------------------
// 4. Tenancy
// ---------------------------------------------------------------------------------------------

/// Asserts two answers are identical except for the request id, and are the given business error.
fn assert_indistinguishable(
    what: &str,
    foreign: &CallResponse,
    unknown: &CallResponse,
    code: &str,
) {
    assert_business_error(foreign, code);
    assert_business_error(unknown, code);
    assert_eq!(comparable(foreign), comparable(unknown), "{what}");
}

#[tokio::test]
async fn another_accounts_ids_answer_exactly_like_ids_that_do_not_exist() {
    let env = start().await;
    let campaign_a = env.a.create(CS_A, PAGE_A, AD_A, "A's campaign").await;
    let campaign_b = env.b.create(CS_B, PAGE_B, AD_B, "B's campaign").await;
    let b = &env.b;

    // GetMessageCampaignInsights and DeleteMessageCampaign, at each level of the placement.
    let levels: [(&str, [&str; 4], [&str; 4], &str); 4] = [
        (
            "cust space",
            [CS_A, PAGE_A, AD_A, &campaign_a],
            [CS_NONE, PAGE_NONE, AD_NONE, CAMPAIGN_NONE],
            CUST_SPACE_INVALID,
        ),
        (
            "page",
            [CS_B, PAGE_A, AD_A, &campaign_a],
            [CS_B, PAGE_NONE, AD_NONE, CAMPAIGN_NONE],
            PAGE_INVALID,
        ),
        (
            "ad account",
            [CS_B, PAGE_B, AD_A, &campaign_a],
            [CS_B, PAGE_B, AD_NONE, CAMPAIGN_NONE],
            AD_ACCOUNT_INVALID,
        ),
        (
            "campaign",
            [CS_B, PAGE_B, AD_B, &campaign_a],
            [CS_B, PAGE_B, AD_B, CAMPAIGN_NONE],
            CAMPAIGN_INVALID,
        ),
    ];
    for (level, [cs, page, ad, c], [ucs, upage, uad, uc], code) in levels {
        let foreign = b.insights((cs, page, ad, c), &[]).await;
        let unknown = b.insights((ucs, upage, uad, uc), &[]).await;
        assert_indistinguishable(&format!("insights, {level}"), &foreign, &unknown, code);
        // Extensions do not change the answer.
        let extra = [
            ("DateStart", "2025-07-01"),
            ("DateStop", "2025-07-31"),
            ("Breakdowns", "country"),
        ];
        let foreign = b.insights((cs, page, ad, c), &extra).await;
        let unknown = b.insights((ucs, upage, uad, uc), &extra).await;
        assert_indistinguishable(&format!("insights+ext, {level}"), &foreign, &unknown, code);

        let foreign = b.delete((cs, page, ad, c)).await;
        let unknown = b.delete((ucs, upage, uad, uc)).await;
        assert_indistinguishable(&format!("delete, {level}"), &foreign, &unknown, code);

        if code != CAMPAIGN_INVALID {
            let foreign = b
                .call("CreateMessageCampaign", &create_params(cs, page, ad))
                .await;
            let unknown = b
                .call("CreateMessageCampaign", &create_params(ucs, upage, uad))
                .await;
            assert_indistinguishable(&format!("create, {level}"), &foreign, &unknown, code);
        }
    }

    // ListMessageCampaign and ListPageAdAccount: cust space and page levels.
    let page_json = r#"{"Index":1,"Size":10}"#;
    for (level, (cs, page), (ucs, upage), code) in [
        (
            "cust space",
            (CS_A, PAGE_A),
            (CS_NONE, PAGE_NONE),
            CUST_SPACE_INVALID,
        ),
        ("page", (CS_B, PAGE_A), (CS_B, PAGE_NONE), PAGE_INVALID),
    ] {
        let foreign = b
            .call(
                "ListMessageCampaign",
                &[("CustSpaceId", cs), ("PageId", page), ("Page", page_json)],
            )
            .await;
        let unknown = b
            .call(
                "ListMessageCampaign",
                &[("CustSpaceId", ucs), ("PageId", upage), ("Page", page_json)],
            )
            .await;
        assert_indistinguishable(&format!("list, {level}"), &foreign, &unknown, code);
        let foreign = b
            .call(
                "ListPageAdAccount",
                &[("CustSpaceId", cs), ("PageId", page)],
            )
            .await;
        let unknown = b
            .call(
                "ListPageAdAccount",
                &[("CustSpaceId", ucs), ("PageId", upage)],
            )
            .await;
        assert_indistinguishable(&format!("ad accounts, {level}"), &foreign, &unknown, code);
    }

    // SyncMessageCampaign: page and ad account levels, and a foreign CustSpaceId.
    let sync = |params: Vec<(&'static str, &'static str)>| async move {
        b.call("SyncMessageCampaign", &params).await
    };
    let foreign = sync(vec![("AdAccountId", AD_A), ("PageId", PAGE_A)]).await;
    let unknown = sync(vec![("AdAccountId", AD_NONE), ("PageId", PAGE_NONE)]).await;
    assert_indistinguishable("sync, page", &foreign, &unknown, PAGE_INVALID);
    let foreign = sync(vec![("AdAccountId", AD_A), ("PageId", PAGE_B)]).await;
    let unknown = sync(vec![("AdAccountId", AD_NONE), ("PageId", PAGE_B)]).await;
    assert_indistinguishable("sync, ad account", &foreign, &unknown, AD_ACCOUNT_INVALID);
    let foreign = sync(vec![
        ("AdAccountId", AD_B),
        ("PageId", PAGE_B),
        ("CustSpaceId", CS_A),
    ])
    .await;
    let unknown = sync(vec![
        ("AdAccountId", AD_B),
        ("PageId", PAGE_B),
        ("CustSpaceId", CS_NONE),
    ])
    .await;
    assert_indistinguishable("sync, cust space", &foreign, &unknown, PAGE_INVALID);

    // Nothing of A's was touched, and B created nothing.
    assert_eq!(
        env.a.list_ids(CS_A, PAGE_A, &[]).await,
        vec![campaign_a.clone()]
    );
    assert_success(&env.a.insights(placement_a(&campaign_a), &[]).await);
    assert_eq!(
        env.b.list_ids(CS_B, PAGE_B, &[]).await,
        vec![campaign_b.clone()]
    );
    assert_eq!(env.server.state.store.stats().campaigns, 2);

    // And A cannot see B's campaign either.
    let foreign = env.a.insights((CS_A, PAGE_A, AD_A, &campaign_b), &[]).await;
    let unknown = env
        .a
        .insights((CS_A, PAGE_A, AD_A, CAMPAIGN_NONE), &[])
        .await;
    assert_indistinguishable(
        "A probing B's campaign",
        &foreign,
        &unknown,
        CAMPAIGN_INVALID,
    );
}

/// Valid `CreateMessageCampaign` parameters for a placement.
fn create_params<'a>(cs: &'a str, page: &'a str, ad: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("CustSpaceId", cs),
        ("PageId", page),
        ("AdAccountId", ad),
        ("Name", "misplaced"),
        ("BudgetType", "daily"),
        ("Budget", "100"),
    ]
}

#[tokio::test]
async fn mismatched_placements_within_one_account_are_refused() {
    let env = start().await;
    let a = &env.a;
    let id = a.create(CS_A, PAGE_A, AD_A, "placed").await;

    // A page of another cust space of the same account.
    assert_business_error(
        &a.insights((CS_A, PAGE_A3, AD_A4, &id), &[]).await,
        PAGE_INVALID,
    );
    assert_business_error(&a.delete((CS_A, PAGE_A3, AD_A4, &id)).await, PAGE_INVALID);
    assert_business_error(
        &a.call(
            "CreateMessageCampaign",
            &create_params(CS_A, PAGE_A3, AD_A4),
        )
        .await,
        PAGE_INVALID,
    );
    assert_business_error(
        &a.call(
            "ListMessageCampaign",
            &[
                ("CustSpaceId", CS_A),
                ("PageId", PAGE_A3),
                ("Page", r#"{"Index":1,"Size":10}"#),
            ],
        )
        .await,
        PAGE_INVALID,
    );
    assert_business_error(
        &a.call(
            "ListPageAdAccount",
            &[("CustSpaceId", CS_A2), ("PageId", PAGE_A)],
        )
        .await,
        PAGE_INVALID,
    );

    // An ad account of another page.
    assert_business_error(
        &a.insights((CS_A, PAGE_A, AD_A3, &id), &[]).await,
        AD_ACCOUNT_INVALID,
    );
    assert_business_error(
        &a.delete((CS_A, PAGE_A, AD_A3, &id)).await,
        AD_ACCOUNT_INVALID,
    );
    assert_business_error(
        &a.call("CreateMessageCampaign", &create_params(CS_A, PAGE_A, AD_A3))
            .await,
        AD_ACCOUNT_INVALID,
    );

    // The right account, but the campaign lives under another ad account or page.
    for placement in [
        (CS_A, PAGE_A, AD_A_EUR, id.as_str()),
        (CS_A, PAGE_A2, AD_A3, id.as_str()),
    ] {
        assert_business_error(&a.insights(placement, &[]).await, CAMPAIGN_INVALID);
        assert_business_error(&a.delete(placement).await, CAMPAIGN_INVALID);
    }
    // Still there, still answering where it belongs.
    assert_eq!(a.list_ids(CS_A, PAGE_A, &[]).await, vec![id.clone()]);
    assert_success(&a.insights(placement_a(&id), &[]).await);
    assert_eq!(env.server.state.store.stats().campaigns, 1);
}

// ---------------------------------------------------------------------------------------------
// 5. Ingestion and insights, end to end, against the reference
// ---------------------------------------------------------------------------------------------

const JULY: [(&str, &str); 2] = [("DateStart", "2025-07-01"), ("DateStop", "2025-07-31")];

#[tokio::test]
async fn insights_over_july_equal_the_reference() {
    let (env, campaign, events) = ingested_campaign().await;
    let got = env.a.rows(placement_a(&campaign), &JULY).await;
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::None,
    );
    let expected = expected_rows(&events, &campaign, &query, &ExtraFields::default());
    assert_eq!(got, expected);
    // Absent extensions: exactly the ten documented fields.
    assert_eq!(keys(&got[0]), documented_fields());
    // Not a vacuous comparison: the data exercises every metric.
    let row = &got[0];
    for field in [
        "MarketingMessagesDelivered",
        "MarketingMessagesLinkBtnClick",
        "MarketingMessagesSpend",
        "MarketingMessagesReadRate",
        "MarketingMessagesDeliveryRate",
        "MarketingMessagesCostPerLinkBtnClick",
    ] {
        assert_ne!(row[field], "0", "{field}: {row:?}");
    }
    // The data holds E2 deliveries in range (spent, not counted), so the exclusion matters.
    let by_country = expected_rows(
        &events,
        &campaign,
        &ny_query(
            "2025-07-01",
            "2025-07-31",
            TimeIncrement::AllDays,
            Breakdown::Country,
        ),
        &ExtraFields::default(),
    );
    for e2 in ["DE", "JP"] {
        let r = by_country.iter().find(|r| r["Country"] == e2).unwrap();
        assert_ne!(r["MarketingMessagesSpend"], "0", "{e2}");
    }
}

#[tokio::test]
async fn insights_without_dates_cover_first_event_to_today() {
    let (env, campaign, events) = ingested_campaign().await;
    let got = env.a.rows(placement_a(&campaign), &[]).await;
    let first = events.iter().map(|e| e.timestamp_ms).min().unwrap();
    let first_day = DateTime::from_timestamp_millis(first)
        .unwrap()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(first_day, "2025-06-30");
    let today = today_in(chrono_tz::America::New_York);
    let expected = expected_rows(
        &events,
        &campaign,
        &ny_query(&first_day, &today, TimeIncrement::AllDays, Breakdown::None),
        &ExtraFields::default(),
    );
    assert_eq!(got, expected);
    assert_eq!(got[0]["DateStart"], first_day);
    assert_eq!(got[0]["DateStop"], today);
}

#[tokio::test]
async fn insights_by_seven_days_and_by_month_equal_the_reference() {
    let (env, campaign, events) = ingested_campaign().await;
    let placement = placement_a(&campaign);

    let got = env
        .a
        .rows(placement, &[JULY[0], JULY[1], ("TimeIncrement", "7")])
        .await;
    let dates: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["DateStart"].as_str(), r["DateStop"].as_str()))
        .collect();
    assert_eq!(
        dates,
        vec![
            ("2025-07-01", "2025-07-07"),
            ("2025-07-08", "2025-07-14"),
            ("2025-07-15", "2025-07-21"),
            ("2025-07-22", "2025-07-28"),
            ("2025-07-29", "2025-07-31"),
        ]
    );
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::Days(7),
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );

    let got = env
        .a
        .rows(placement, &[JULY[0], JULY[1], ("TimeIncrement", "monthly")])
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["DateStart"], "2025-07-01");
    assert_eq!(got[0]["DateStop"], "2025-07-31");
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::Monthly,
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );

    // Calendar months clipped to a wider range; a month without data still has its row.
    let got = env
        .a
        .rows(
            placement,
            &[
                ("DateStart", "2025-06-15"),
                ("DateStop", "2025-09-10"),
                ("TimeIncrement", "monthly"),
            ],
        )
        .await;
    let dates: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["DateStart"].as_str(), r["DateStop"].as_str()))
        .collect();
    assert_eq!(
        dates,
        vec![
            ("2025-06-15", "2025-06-30"),
            ("2025-07-01", "2025-07-31"),
            ("2025-08-01", "2025-08-31"),
            ("2025-09-01", "2025-09-10"),
        ]
    );
    assert_eq!(got[3]["MarketingMessagesDelivered"], "0");
    let query = ny_query(
        "2025-06-15",
        "2025-09-10",
        TimeIncrement::Monthly,
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );
}

#[tokio::test]
async fn insights_by_country_equal_the_reference() {
    let (env, campaign, events) = ingested_campaign().await;
    let got = env
        .a
        .rows(
            placement_a(&campaign),
            &[JULY[0], JULY[1], ("Breakdowns", "country")],
        )
        .await;
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::Country,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );
    let mut expected_keys = documented_fields();
    expected_keys.insert("Country");
    for row in &got {
        assert_eq!(keys(row), expected_keys);
    }
    let countries: Vec<&str> = got.iter().map(|r| r["Country"].as_str()).collect();
    assert_eq!(countries.last(), Some(&"unknown"), "{countries:?}");
    let known = &countries[..countries.len() - 1];
    assert!(known.windows(2).all(|w| w[0] < w[1]), "{countries:?}");
    for c in ["AR", "BR", "DE", "JP", "KR", "TR", "US"] {
        assert!(known.contains(&c), "{c} in {countries:?}");
    }
    // E2 rows count nothing but still spend; E5 rows count deliveries but no clicks.
    let row = |c: &str| got.iter().find(|r| r["Country"] == c).unwrap();
    for e2 in ["DE", "JP"] {
        assert_eq!(row(e2)["MarketingMessagesDelivered"], "0", "{e2}");
        assert_eq!(row(e2)["MarketingMessagesLinkBtnClick"], "0", "{e2}");
        assert_ne!(row(e2)["MarketingMessagesSpend"], "0", "{e2}");
    }
    for e5 in ["AR", "TR"] {
        assert_ne!(row(e5)["MarketingMessagesDelivered"], "0", "{e5}");
        assert_eq!(row(e5)["MarketingMessagesLinkBtnClick"], "0", "{e5}");
    }

    // With a seven-day increment: every period has one row per country, in the same order.
    let got = env
        .a
        .rows(
            placement_a(&campaign),
            &[
                JULY[0],
                JULY[1],
                ("Breakdowns", "country"),
                ("TimeIncrement", "7"),
            ],
        )
        .await;
    assert_eq!(got.len(), 5 * countries.len());
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::Days(7),
        Breakdown::Country,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );
}

#[tokio::test]
async fn insights_extra_fields_equal_the_reference() {
    let (env, campaign, events) = ingested_campaign().await;
    let got = env
        .a
        .rows(
            placement_a(&campaign),
            &[
                JULY[0],
                JULY[1],
                (
                    "Fields",
                    "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed,MarketingMessagesSpendCurrency",
                ),
            ],
        )
        .await;
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::all())
    );
    let mut expected_keys = documented_fields();
    expected_keys.extend([
        "MarketingMessagesSent",
        "MarketingMessagesRead",
        "MarketingMessagesFailed",
        "MarketingMessagesSpendCurrency",
    ]);
    assert_eq!(keys(&got[0]), expected_keys);
    assert_eq!(got[0]["MarketingMessagesSpendCurrency"], "USD");
    assert_ne!(got[0]["MarketingMessagesFailed"], "0");
    assert_ne!(got[0]["MarketingMessagesSent"], "0");

    // One extra field only adds that one.
    let got = env
        .a
        .rows(
            placement_a(&campaign),
            &[JULY[0], JULY[1], ("Fields", "MarketingMessagesFailed")],
        )
        .await;
    let mut expected_keys = documented_fields();
    expected_keys.insert("MarketingMessagesFailed");
    assert_eq!(keys(&got[0]), expected_keys);
}

#[tokio::test]
async fn insights_use_the_ad_accounts_time_zone_and_currency() {
    let env = start().await;
    // Berlin and EUR, across the end of summer time (2025-10-26 has 25 hours there).
    let eur = env.a.create(CS_A, PAGE_A, AD_A_EUR, "Berlin").await;
    let events = events_between(
        &eur,
        41,
        120,
        ms("2025-10-23T20:00:00Z"),
        ms("2025-10-29T23:00:00Z"),
    );
    env.a.put_lines(&shuffled_lines(&events, 42), 500).await;
    let got = env
        .a
        .rows(
            (CS_A, PAGE_A, AD_A_EUR, &eur),
            &[
                ("DateStart", "2025-10-24"),
                ("DateStop", "2025-10-29"),
                ("TimeIncrement", "1"),
                ("Fields", "MarketingMessagesSpendCurrency"),
            ],
        )
        .await;
    assert_eq!(got.len(), 6);
    let query = query_in(
        chrono_tz::Europe::Berlin,
        "EUR",
        "2025-10-24",
        "2025-10-29",
        TimeIncrement::Days(1),
    );
    let spend_currency = ExtraFields {
        spend_currency: true,
        ..ExtraFields::default()
    };
    assert_eq!(got, expected_rows(&events, &eur, &query, &spend_currency));
    assert!(got
        .iter()
        .all(|r| r["MarketingMessagesSpendCurrency"] == "EUR"));

    // Tokyo and JPY, a currency without minor units: spend is whole yen.
    let jpy = env.a.create(CS_A, PAGE_A2, AD_A3, "Tokyo").await;
    let mut events = campaign_events(&jpy, 43, 90);
    for e in &mut events {
        if let Some(p) = e.price_micros.as_mut() {
            *p *= 1000;
        }
    }
    env.a.put_lines(&shuffled_lines(&events, 44), 500).await;
    let got = env
        .a
        .rows(
            (CS_A, PAGE_A2, AD_A3, &jpy),
            &[
                JULY[0],
                JULY[1],
                ("Fields", "MarketingMessagesSpendCurrency"),
            ],
        )
        .await;
    let query = query_in(
        chrono_tz::Asia::Tokyo,
        "JPY",
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
    );
    assert_eq!(got, expected_rows(&events, &jpy, &query, &spend_currency));
    assert_eq!(got[0]["MarketingMessagesSpendCurrency"], "JPY");
    assert!(!got[0]["MarketingMessagesSpend"].contains('.'), "{got:?}");
    assert_ne!(got[0]["MarketingMessagesSpend"], "0");
}

/// The earliest start whose range up to `today` spans at most 37 calendar months.
fn earliest_start(today: NaiveDate) -> NaiveDate {
    let mut d = today.checked_sub_months(Months::new(38)).unwrap();
    while d.checked_add_months(Months::new(37)).unwrap() <= today {
        d = d.succ_opt().unwrap();
    }
    d
}

#[tokio::test]
async fn default_range_reaches_back_at_most_37_months() {
    let env = start().await;
    let id = env.a.create(CS_A, PAGE_A, AD_A, "old history").await;
    let now = chrono::Utc::now().timestamp_millis();
    let mut events = events_between(
        &id,
        51,
        30,
        ms("2021-03-01T12:00:00Z"),
        ms("2021-03-20T12:00:00Z"),
    );
    events.extend(events_between(
        &id,
        52,
        30,
        now - 5 * 24 * 60 * MINUTE,
        now - 2 * 24 * 60 * MINUTE,
    ));
    env.a.put_lines(&shuffled_lines(&events, 53), 500).await;
    let got = env
        .a
        .rows(placement_a(&id), &[("Fields", "MarketingMessagesSent")])
        .await;
    let today = today_in(chrono_tz::America::New_York);
    let start = earliest_start(date(&today)).format("%Y-%m-%d").to_string();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["DateStart"], start);
    assert_eq!(got[0]["DateStop"], today);
    let query = ny_query(&start, &today, TimeIncrement::AllDays, Breakdown::None);
    let sent = ExtraFields {
        sent: true,
        ..ExtraFields::default()
    };
    assert_eq!(got, expected_rows(&events, &id, &query, &sent));
    // The recent events count, the old ones (before the 37 months) do not.
    let recent = events
        .iter()
        .filter(|e| e.timestamp_ms > ms("2022-01-01T00:00:00Z"));
    let recent_recipients: BTreeSet<&str> = recent.map(|e| e.recipient.as_str()).collect();
    let counted: usize = got[0]["MarketingMessagesSent"].parse().unwrap();
    assert!(counted > 0 && counted <= recent_recipients.len(), "{got:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. Meta's worked example
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metas_worked_example_through_the_api() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "Meta example").await;
    let t0 = ms("2025-07-10T15:00:00Z");
    let mut events = Vec::new();
    // 2755 delivered messages whose prices sum to exactly 38.87 USD:
    // 2460 × 0.014109 + 295 × 0.014108 = 34.708140 + 4.161860 = 38.870000.
    for i in 0..2755i64 {
        let recipient = format!("r{i:05}");
        let t = t0 + i * 1000;
        let mut d = event(&campaign, &recipient, EventKind::Delivered, t);
        d.country = Some(country("US"));
        d.price_micros = Some(if i < 2460 { 14_109 } else { 14_108 });
        events.push(d);
        if i < 2188 {
            events.push(event(
                &campaign,
                &recipient,
                EventKind::Read,
                t + 5 * MINUTE,
            ));
        }
        // 268 click events: one on each of the first 200 messages, a second on 68 of them.
        if i < 200 {
            let mut c = event(&campaign, &recipient, EventKind::Click, t + 10 * MINUTE);
            c.event_id = Some(format!("c{i}-a"));
            events.push(c);
        }
        if i < 68 {
            let mut c = event(&campaign, &recipient, EventKind::Click, t + 20 * MINUTE);
            c.event_id = Some(format!("c{i}-b"));
            events.push(c);
        }
    }
    // 45 messages failed: sent but never delivered.
    for i in 0..45i64 {
        let mut f = event(
            &campaign,
            &format!("f{i:03}"),
            EventKind::Failed,
            t0 + i * 1000,
        );
        f.country = Some(country("US"));
        events.push(f);
    }
    let lines: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            native_line(
                e,
                if i % 2 == 0 {
                    TimeForm::Utc
                } else {
                    TimeForm::EpochMs
                },
            )
        })
        .collect();
    env.a.put_lines(&lines, 1500).await;

    let got = env
        .a
        .rows(
            placement_a(&campaign),
            &[
                JULY[0],
                JULY[1],
                (
                    "Fields",
                    "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed",
                ),
            ],
        )
        .await;
    assert_eq!(got.len(), 1);
    let row = &got[0];
    let expect = [
        ("MarketingMessagesDelivered", "2755"),
        ("MarketingMessagesReadRate", "79.419238"),
        ("MarketingMessagesLinkBtnClick", "268"),
        ("MarketingMessagesSpend", "38.87"),
        ("MarketingMessagesCostPerDelivered", "0.014109"),
        ("MarketingMessagesLinkBtnClickRate", "9.727768"),
        ("MarketingMessagesCostPerLinkBtnClick", "0.145037"),
        // 2755 / 2800 × 100 = 98.3928571…
        ("MarketingMessagesDeliveryRate", "98.392857"),
        ("MarketingMessagesSent", "2800"),
        ("MarketingMessagesRead", "2188"),
        ("MarketingMessagesFailed", "45"),
        ("DateStart", "2025-07-01"),
        ("DateStop", "2025-07-31"),
    ];
    for (field, value) in expect {
        assert_eq!(row[field], value, "{field}: {row:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Bad NDJSON, idempotence, refused requests
// ---------------------------------------------------------------------------------------------

/// A body mixing good lines with every kind of bad one. Returns the body, the good events, and
/// the expected (line, reason fragment) of each rejection.
fn mixed_body(
    campaign: &str,
    foreign_campaign: &str,
) -> (String, Vec<Event>, Vec<(u64, &'static str)>) {
    let t = ms("2025-07-15T12:00:00Z");
    let good = |recipient: &str, kind, offset: i64| event(campaign, recipient, kind, t + offset);
    let mut head = vec![
        good("m-1", EventKind::Delivered, 0),
        good("m-1", EventKind::Read, 5 * MINUTE),
        good("m-2", EventKind::Sent, 0),
        good("m-3", EventKind::Click, 7 * MINUTE),
    ];
    head[0].price_micros = Some(20_000);
    head[0].country = Some(country("BR"));
    head[3].event_id = Some("click-3".into());
    let line = |e: &Event| native_line(e, TimeForm::Utc);
    let bad_delivery = |extra: &str| {
        format!(
            r#"{{"campaign_id":"{campaign}","recipient":"bad-1","event":"delivered","timestamp":"2025-07-15T12:00:00Z"{extra}}}"#
        )
    };
    let lines: Vec<String> = vec![
        line(&head[0]),                                                  // 1
        format!(r#"{{"campaign_id":"{campaign}","recipient":"bad-0","#), // 2 malformed JSON
        line(&head[1]),                                                  // 3
        format!(
            r#"{{"campaign_id":"{campaign}","recipient":"bad-2","event":"bounced","timestamp":"2025-07-15T12:00:00Z"}}"#
        ), // 4 unknown kind
        String::new(),                                                   // 5 blank
        format!(
            r#"{{"campaign_id":"{campaign}","recipient":"bad-3","event":"delivered","timestamp":"1990-05-01T00:00:00Z"}}"#
        ), // 6 out of range
        line(&head[2]),                                                  // 7
        bad_delivery(r#","price":"-0.01""#),                             // 8 negative price
        bad_delivery(r#","price":"0,01""#),                              // 9 malformed price
        "   ".to_string(),                                               // 10 blank
        bad_delivery(r#","country":"XX""#),                              // 11 unknown country
        r#"{"recipient":"bad-4","event":"delivered","timestamp":"2025-07-15T12:00:00Z"}"#
            .to_string(), // 12 missing campaign_id
        format!(
            r#"{{"campaign_id":"{foreign_campaign}","recipient":"bad-5","event":"delivered","timestamp":"2025-07-15T12:00:00Z"}}"#
        ), // 13 another account's campaign
        line(&head[3]),                                                  // 14
        "\t".to_string(),                                                // 15 blank
    ];
    let rejected = vec![
        (2, "invalid JSON"),
        (4, "unknown event kind"),
        (6, "timestamp out of range"),
        (8, "negative price"),
        (9, "malformed price"),
        (11, "unknown country code"),
        (12, "missing field `campaign_id`"),
        (13, "not available to this account"),
    ];
    // More good lines after the bad ones, some with CRLF endings.
    let tail = campaign_events(campaign, 3, 12);
    let mut body = lines.join("\n");
    for (i, e) in tail.iter().enumerate() {
        body.push_str(if i % 2 == 0 { "\r\n" } else { "\n" });
        body.push_str(&native_line(e, TimeForm::EpochMs));
    }
    // A last bad line, after the CRLF ones: its number counts every line before it.
    body.push_str("\r\n");
    body.push_str(&bad_delivery(r#","price":"0.0000001""#));
    body.push('\n');
    let mut rejected = rejected;
    rejected.push((
        lines.len() as u64 + tail.len() as u64 + 1,
        "more than 6 decimal places",
    ));
    let mut good_events = head;
    good_events.extend(tail);
    (body, good_events, rejected)
}

#[tokio::test]
async fn put_message_events_rejects_bad_lines_and_counts_only_the_good_ones() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "mixed").await;
    let foreign = env.b.create(CS_B, PAGE_B, AD_B, "B's").await;
    let (body, good, rejected) = mixed_body(&campaign, &foreign);

    let report = env.a.put_events(&body).await;
    assert_eq!(report["Accepted"], good.len() as u64, "{report}");
    assert_eq!(report["RejectedCount"], rejected.len() as u64, "{report}");
    let listed = report["Rejected"].as_array().expect("Rejected array");
    assert_eq!(listed.len(), rejected.len(), "{report}");
    for (entry, (line, fragment)) in listed.iter().zip(&rejected) {
        assert_eq!(entry["Line"], *line, "{report}");
        let reason = entry["Reason"].as_str().expect("Reason string");
        assert!(reason.contains(fragment), "line {line}: {reason}");
    }
    let changed = report["Changed"].as_u64().expect("Changed");
    assert!(changed > 0 && changed <= good.len() as u64, "{report}");

    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::None,
    );
    let extras = [
        JULY[0],
        JULY[1],
        (
            "Fields",
            "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed",
        ),
    ];
    let extra = ExtraFields {
        sent: true,
        read: true,
        failed: true,
        spend_currency: false,
    };
    let expected = expected_rows(&good, &campaign, &query, &extra);
    let first = env.a.rows(placement_a(&campaign), &extras).await;
    assert_eq!(first, expected);

    // The same body again: nothing changes.
    let again = env.a.put_events(&body).await;
    assert_eq!(again["Changed"], 0, "{again}");
    assert_eq!(again["Accepted"], good.len() as u64, "{again}");
    assert_eq!(again["Rejected"], report["Rejected"], "{again}");
    assert_eq!(env.a.rows(placement_a(&campaign), &extras).await, first);

    // B's campaign got nothing from A.
    let b_rows = env.b.rows((CS_B, PAGE_B, AD_B, &foreign), &JULY).await;
    assert_eq!(b_rows[0]["MarketingMessagesDelivered"], "0");
    assert_eq!(b_rows[0]["MarketingMessagesSpend"], "0");
}

#[tokio::test]
async fn put_message_events_refuses_v2_wrong_content_type_and_empty_bodies() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "refused").await;
    let mut d = event(
        &campaign,
        "r-1",
        EventKind::Delivered,
        ms("2025-07-15T12:00:00Z"),
    );
    d.price_micros = Some(10_000);
    let body = native_line(&d, TimeForm::Utc) + "\n";

    // V2 signs only the parameters, not the body.
    let v2 = env.server.client(V2);
    let mut call = Call::new("PutMessageEvents", VERSION, &[]);
    call.body = Some((Bytes::from(body.clone()), "application/x-ndjson".into()));
    let r = v2.call(&call).await.unwrap();
    assert_gateway_error(&r, 400, "IncompleteSignature");

    for ct in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        let r = env.a.put_raw(body.clone(), ct).await;
        assert_invalid(&r, "Content-Type");
    }
    for empty in ["", "\n", " \r\n\t\n"] {
        let r = env
            .a
            .put_raw(empty.to_string(), "application/x-ndjson")
            .await;
        assert_gateway_error(&r, 400, "InvalidParameter");
    }
    assert_eq!(env.events_logged(), 0);
    let rows = env.a.rows(placement_a(&campaign), &JULY).await;
    assert_eq!(rows[0]["MarketingMessagesDelivered"], "0");

    // The same body, properly sent, is accepted; with a charset parameter too.
    let report = env
        .a
        .put_raw(body.clone(), "application/x-ndjson; charset=utf-8")
        .await;
    let report = assert_success(&report);
    assert_eq!(report["Accepted"], 1);
    let rows = env.a.rows(placement_a(&campaign), &JULY).await;
    assert_eq!(rows[0]["MarketingMessagesDelivered"], "1");
    assert_eq!(rows[0]["MarketingMessagesSpend"], "0.01");
}

#[tokio::test]
async fn put_message_events_counts_every_rejection_but_lists_at_most_1000() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "noisy").await;
    let mut body = "{\n".repeat(1005);
    let good = event(
        &campaign,
        "r-1",
        EventKind::Sent,
        ms("2025-07-15T12:00:00Z"),
    );
    body.push_str(&native_line(&good, TimeForm::Utc));
    let report = env.a.put_events(&body).await;
    assert_eq!(report["Accepted"], 1, "{}", report["Accepted"]);
    assert_eq!(report["RejectedCount"], 1005);
    let listed = report["Rejected"].as_array().unwrap();
    assert_eq!(listed.len(), 1000);
    assert_eq!(listed[0]["Line"], 1);
    assert_eq!(listed[999]["Line"], 1000);
}

#[tokio::test]
async fn put_message_events_rejects_a_line_that_is_not_utf8() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "bytes").await;
    let t = ms("2025-07-15T12:00:00Z");
    let mut body = Vec::new();
    body.extend_from_slice(
        native_line(&event(&campaign, "r-1", EventKind::Sent, t), TimeForm::Utc).as_bytes(),
    );
    body.push(b'\n');
    body.extend_from_slice(format!(r#"{{"campaign_id":"{campaign}","recipient":"r-"#).as_bytes());
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#"","event":"sent","timestamp":"2025-07-15T12:00:00Z"}"#);
    body.push(b'\n');
    body.extend_from_slice(
        native_line(&event(&campaign, "r-3", EventKind::Sent, t), TimeForm::Utc).as_bytes(),
    );
    let r = env.a.put_raw(body, "application/x-ndjson").await;
    let report = assert_success(&r);
    assert_eq!(report["Accepted"], 2, "{report}");
    assert_eq!(report["RejectedCount"], 1, "{report}");
    assert_eq!(report["Rejected"][0]["Line"], 2, "{report}");
    let rows = env
        .a
        .rows(
            placement_a(&campaign),
            &[JULY[0], JULY[1], ("Fields", "MarketingMessagesSent")],
        )
        .await;
    assert_eq!(rows[0]["MarketingMessagesSent"], "2");
}

// ---------------------------------------------------------------------------------------------
// 8. POST /v1/events
// ---------------------------------------------------------------------------------------------

async fn post_v1_events(env: &Env, authorization: Option<&str>, body: &str) -> CallResponse {
    let mut req = http::Request::post(format!("http://{}/v1/events", env.server.endpoint()))
        .header("content-type", "application/x-ndjson");
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    env.a.client.send(req).await.expect("an HTTP answer")
}

#[tokio::test]
async fn v1_events_with_the_right_token_are_accepted_and_counted() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "webhook-less").await;
    let events = campaign_events(&campaign, 5, 30);
    let lines = shuffled_lines(&events, 9);
    let body = lines.join("\n") + "\n";
    let r = post_v1_events(&env, Some(&format!("Bearer {INGEST_TOKEN}")), &body).await;
    let report = assert_success(&r);
    assert_eq!(report["Accepted"], lines.len() as u64, "{report}");
    assert_eq!(report["RejectedCount"], 0, "{report}");
    assert_eq!(env.events_logged(), lines.len() as u64);
    let got = env.a.rows(placement_a(&campaign), &JULY).await;
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, &campaign, &query, &ExtraFields::default())
    );
    assert_ne!(got[0]["MarketingMessagesDelivered"], "0");
}

#[tokio::test]
async fn v1_events_without_a_valid_token_are_refused_and_store_nothing() {
    let env = start().await;
    let campaign = env.a.create(CS_A, PAGE_A, AD_A, "guarded").await;
    let mut d = event(
        &campaign,
        "r-1",
        EventKind::Delivered,
        ms("2025-07-15T12:00:00Z"),
    );
    d.price_micros = Some(10_000);
    let body = native_line(&d, TimeForm::Utc) + "\n";
    for authorization in [
        None,
        Some(String::new()),
        Some("Bearer ".to_string()),
        Some("Bearer wrong-token".to_string()),
        Some(format!("Bearer {INGEST_TOKEN}x")),
        Some(format!("Basic {INGEST_TOKEN}")),
        Some(INGEST_TOKEN.to_string()),
        Some(format!("Bearer {}", common::SECRET)),
    ] {
        let r = post_v1_events(&env, authorization.as_deref(), &body).await;
        assert_gateway_error(&r, 401, "InvalidIngestToken");
    }
    assert_eq!(env.events_logged(), 0);
    let rows = env.a.rows(placement_a(&campaign), &JULY).await;
    assert_eq!(rows[0]["MarketingMessagesDelivered"], "0");
    assert_eq!(rows[0]["MarketingMessagesSpend"], "0");
}

#[tokio::test]

async fn v1_events_with_a_wrong_method_get_the_error_envelope() {
    let env = start().await;
    for method in [http::Method::GET, http::Method::PUT, http::Method::DELETE] {
        let req = http::Request::builder()
            .method(method.clone())
            .uri(format!("http://{}/v1/events", env.server.endpoint()))
            .header("authorization", format!("Bearer {INGEST_TOKEN}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = env.a.client.send(req).await.expect("an HTTP answer");
        assert_gateway_error(&r, 405, "UnsupportedHTTPMethod");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. SyncMessageCampaign
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sync_registers_campaigns_found_in_events_once() {
    let env = start().await;
    let unregistered = "120299990000000001";
    let registered = env.a.create(CS_A, PAGE_A, AD_A, "registered").await;
    let events = campaign_events(unregistered, 21, 40);
    let mut lines = shuffled_lines(&events, 22);
    // A registered campaign with events, and a non-numeric id: neither is synced.
    lines.extend(shuffled_lines(&campaign_events(&registered, 23, 5), 24));
    lines.extend(shuffled_lines(&campaign_events("promo-abc", 25, 5), 26));
    env.a.put_lines(&lines, 500).await;
    // B's unregistered campaign is B's: A never syncs it.
    let b_lines = shuffled_lines(&campaign_events("120299990000000002", 27, 5), 28);
    env.b.put_lines(&b_lines, 500).await;

    // Before the sync the campaign does not answer.
    assert_business_error(
        &env.a.insights(placement_a(unregistered), &JULY).await,
        CAMPAIGN_INVALID,
    );
    let before_ms = chrono::Utc::now().timestamp_millis();
    let synced = env
        .a
        .ok(
            "SyncMessageCampaign",
            &[("AdAccountId", AD_A), ("PageId", PAGE_A)],
        )
        .await;
    assert_eq!(
        synced["SyncedCampaignIds"],
        json!([unregistered]),
        "{synced}"
    );

    let listed = env.a.list(CS_A, PAGE_A, 1, 10, &[]).await;
    assert_eq!(listed["Total"], json!(2), "{listed}");
    let entry = listed["Data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["CampaignId"] == unregistered)
        .unwrap_or_else(|| panic!("synced campaign listed: {listed}"));
    assert_eq!(
        entry["CampaignName"],
        format!("Synced campaign {unregistered}")
    );
    assert_eq!(entry["AdAccountId"], AD_A);
    assert_eq!(entry["PageId"], PAGE_A);
    assert_eq!(entry["Status"], "AVAILABLE");
    assert!(entry["CreateTime"].as_i64().unwrap() >= before_ms - 1000);

    // It now answers, with the metrics of its events.
    let got = env.a.rows(placement_a(unregistered), &JULY).await;
    let query = ny_query(
        "2025-07-01",
        "2025-07-31",
        TimeIncrement::AllDays,
        Breakdown::None,
    );
    assert_eq!(
        got,
        expected_rows(&events, unregistered, &query, &ExtraFields::default())
    );
    assert_ne!(got[0]["MarketingMessagesDelivered"], "0");

    // Again: nothing new.
    let again = env
        .a
        .ok(
            "SyncMessageCampaign",
            &[("AdAccountId", AD_A), ("PageId", PAGE_A)],
        )
        .await;
    assert_eq!(again["SyncedCampaignIds"], json!([]), "{again}");
    // Under another ad account of the page: nothing either (already registered).
    let other = env
        .a
        .ok(
            "SyncMessageCampaign",
            &[("AdAccountId", AD_A_EUR), ("PageId", PAGE_A)],
        )
        .await;
    assert_eq!(other["SyncedCampaignIds"], json!([]), "{other}");
    assert_eq!(
        env.a.list(CS_A, PAGE_A, 1, 10, &[]).await["Total"],
        json!(2)
    );
    assert_eq!(env.server.state.store.stats().campaigns, 2);
}

#[tokio::test]
async fn sync_refuses_unknown_page_and_ad_account_not_on_the_page() {
    let env = start().await;
    let events = campaign_events("120299990000000003", 31, 5);
    env.a.put_lines(&shuffled_lines(&events, 32), 500).await;
    let sync = |ad: &'static str, page: &'static str| {
        let a = &env.a;
        async move {
            a.call(
                "SyncMessageCampaign",
                &[("AdAccountId", ad), ("PageId", page)],
            )
            .await
        }
    };
    assert_business_error(&sync(AD_A, PAGE_NONE).await, PAGE_INVALID);
    assert_business_error(&sync(AD_B, PAGE_B).await, PAGE_INVALID);
    assert_business_error(&sync(AD_A3, PAGE_A).await, AD_ACCOUNT_INVALID);
    assert_business_error(&sync(AD_NONE, PAGE_A).await, AD_ACCOUNT_INVALID);
    // A page of the account's other cust space works without CustSpaceId, but not with a wrong one.
    assert_business_error(
        &env.a
            .call(
                "SyncMessageCampaign",
                &[
                    ("AdAccountId", AD_A4),
                    ("PageId", PAGE_A3),
                    ("CustSpaceId", CS_A),
                ],
            )
            .await,
        PAGE_INVALID,
    );
    // None of the refusals registered anything.
    assert_eq!(env.server.state.store.stats().campaigns, 0);
}

#[tokio::test]
async fn sync_does_not_bring_back_a_deleted_campaign() {
    let env = start().await;
    let id = env.a.create(CS_A, PAGE_A, AD_A, "retired").await;
    env.a
        .put_lines(&shuffled_lines(&campaign_events(&id, 61, 10), 62), 500)
        .await;
    assert_success(&env.a.delete(placement_a(&id)).await);
    let synced = env
        .a
        .ok(
            "SyncMessageCampaign",
            &[("AdAccountId", AD_A), ("PageId", PAGE_A)],
        )
        .await;
    assert_eq!(synced["SyncedCampaignIds"], json!([]));
    assert_eq!(
        env.a.list(CS_A, PAGE_A, 1, 10, &[]).await["Total"],
        json!(0)
    );
    assert_business_error(
        &env.a.insights(placement_a(&id), &[]).await,
        CAMPAIGN_INVALID,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_syncs_register_a_campaign_once() {
    let env = start().await;
    let unregistered = "120299990000000042";
    env.a
        .put_lines(
            &shuffled_lines(&campaign_events(unregistered, 71, 10), 72),
            500,
        )
        .await;
    let mut handles = Vec::new();
    for _ in 0..6 {
        let api = Api {
            client: env.a.client.clone(),
        };
        handles.push(tokio::spawn(async move {
            api.ok(
                "SyncMessageCampaign",
                &[("AdAccountId", AD_A), ("PageId", PAGE_A)],
            )
            .await["SyncedCampaignIds"]
                .clone()
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        for id in h.await.unwrap().as_array().unwrap() {
            all.push(id.as_str().unwrap().to_string());
        }
    }
    assert_eq!(all, vec![unregistered.to_string()]);
    assert_eq!(
        env.a.list_ids(CS_A, PAGE_A, &[]).await,
        vec![unregistered.to_string()]
    );
}

// ---------------------------------------------------------------------------------------------
// 10. ListPageAdAccount
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_page_ad_account_lists_the_pages_ad_accounts() {
    let env = start().await;
    let body = env
        .a
        .ok(
            "ListPageAdAccount",
            &[("CustSpaceId", CS_A), ("PageId", PAGE_A)],
        )
        .await;
    assert_eq!(
        body["Data"],
        json!([
            {"AdAccountId": AD_A, "AdAccountName": "Acme US", "Currency": "USD", "PageId": PAGE_A},
            {"AdAccountId": AD_A_EUR, "AdAccountName": "Acme EU", "Currency": "EUR", "PageId": PAGE_A},
        ])
    );
    let body = env
        .a
        .ok(
            "ListPageAdAccount",
            &[("CustSpaceId", CS_A), ("PageId", PAGE_A2)],
        )
        .await;
    assert_eq!(
        body["Data"],
        json!([{"AdAccountId": AD_A3, "AdAccountName": "Acme JP", "Currency": "JPY", "PageId": PAGE_A2}])
    );
    let body = env
        .b
        .ok(
            "ListPageAdAccount",
            &[("CustSpaceId", CS_B), ("PageId", PAGE_B)],
        )
        .await;
    assert_eq!(
        body["Data"],
        json!([{"AdAccountId": AD_B, "AdAccountName": "Other BR", "Currency": "USD", "PageId": PAGE_B}])
    );
}

// ---------------------------------------------------------------------------------------------
// 11. ListCustSpacePage (ours)
// ---------------------------------------------------------------------------------------------

/// The ids of a `ListCustSpacePage` answer: cust space → its pages.
fn cust_space_pages(body: &Value) -> Vec<(String, Vec<String>)> {
    body["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cs| {
            let pages = cs["Pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["PageId"].as_str().unwrap().to_string())
                .collect();
            (cs["CustSpaceId"].as_str().unwrap().to_string(), pages)
        })
        .collect()
}

#[tokio::test]
async fn list_cust_space_page_lists_only_the_callers_own_spaces_and_pages() {
    let env = start().await;
    let body = env.a.ok("ListCustSpacePage", &[]).await;
    assert_eq!(
        cust_space_pages(&body),
        vec![
            (
                CS_A.to_string(),
                vec![PAGE_A.to_string(), PAGE_A2.to_string()]
            ),
            (CS_A2.to_string(), vec![PAGE_A3.to_string()]),
        ]
    );
    assert_eq!(body["Data"][0]["Pages"][0]["AdAccountCount"], 2);
    let body = env.b.ok("ListCustSpacePage", &[]).await;
    assert_eq!(
        cust_space_pages(&body),
        vec![(CS_B.to_string(), vec![PAGE_B.to_string()])]
    );
}
