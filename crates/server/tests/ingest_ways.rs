//! One corpus through all four ways in — `PutMessageEvents`, `POST /v1/events`, Meta's webhooks and
//! offline `import` — must let in exactly the same events: the same lines rejected, the same number
//! accepted, and the same metrics afterwards.

mod common;

use std::collections::BTreeSet;

use acs_client::{Call, SignatureScheme};
use bytes::Bytes;
use http_body_util::Full;
use insights::{Breakdown, Currency, DateRange, Query, Row, TimeIncrement};
use serde_json::{json, Value};
use server::Config;
use store::{BudgetType, NewCampaign, Placement, Store};

use common::{TestServer, ACCOUNT, KEY_ID, SECRET};

const OTHER: &str = "6543210987654321";
const OTHER_KEY: &str = "LTAI5tOtherKey0000000009";
const CS: &str = "cams-ways-a";
const PAGE: &str = "140984918491243";
const AD: &str = "act-ways";
const OTHER_CS: &str = "cams-ways-b";
const OTHER_PAGE: &str = "208877665544332";
const APP_SECRET: &str = "ways-app-secret-0123456789";
const INGEST_TOKEN: &str = "ways-ingest-token-0123456789";
/// A campaign id nobody registers (its events are kept, for a later sync).
const UNREGISTERED: &str = "120299990000000001";

fn config() -> Config {
    Config::parse(&format!(
        r#"
[flow_control]
per_second = 0

[server]
listen = "127.0.0.1:0"
host_id = "cams.test.local"

[meta]
app_secrets = [{{ value = "{APP_SECRET}" }}]

[[accounts]]
uid = "{ACCOUNT}"
name = "a"

[[accounts.access_keys]]
id = "{KEY_ID}"
secret = "{SECRET}"

[[accounts.ingest_tokens]]
value = "{INGEST_TOKEN}"

[[accounts.cust_spaces]]
id = "{CS}"

[[accounts.cust_spaces.pages]]
id = "{PAGE}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "{AD}"
currency = "USD"
timezone = "UTC"

[[accounts]]
uid = "{OTHER}"
name = "b"

[[accounts.access_keys]]
id = "{OTHER_KEY}"
secret = "{SECRET}"

[[accounts.cust_spaces]]
id = "{OTHER_CS}"

[[accounts.cust_spaces.pages]]
id = "{OTHER_PAGE}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "act-ways-b"
currency = "USD"
timezone = "UTC"
"#
    ))
    .expect("config parses")
}

/// Which campaign a corpus record is for.
#[derive(Clone, Copy)]
enum Target {
    Mine,
    Unregistered,
    Foreign,
}

/// One corpus record: valid, or broken in a way every channel can express.
#[derive(Clone, Copy)]
enum Flaw {
    None,
    UnknownKind,
    BadTimestamp,
}

struct Record {
    target: Target,
    recipient: &'static str,
    kind: &'static str,
    at_ms: i64,
    flaw: Flaw,
}

const T0: i64 = 1_751_443_200_000; // 2025-07-02T08:00:00Z

fn corpus() -> Vec<Record> {
    use Flaw::*;
    use Target::*;
    let r = |target, recipient, kind, minutes: i64, flaw| Record {
        target,
        recipient,
        kind,
        at_ms: T0 + minutes * 60_000,
        flaw,
    };
    vec![
        r(Mine, "psid-1", "sent", 0, None),
        r(Mine, "psid-1", "delivered", 1, None),
        r(Mine, "psid-1", "read", 5, None),
        r(Mine, "psid-2", "delivered", 2, None),
        r(Mine, "psid-2", "delivered", 2, None), // an exact duplicate
        r(Mine, "psid-3", "click", 9, None),
        r(Mine, "psid-3", "click", 12, None),
        r(Mine, "psid-4", "failed", 3, None),
        r(Mine, "psid-5", "clicked", 4, UnknownKind),
        r(Mine, "psid-6", "delivered", 4, BadTimestamp),
        r(Foreign, "psid-7", "delivered", 6, None),
        r(Foreign, "psid-8", "read", 7, None),
        r(Unregistered, "psid-9", "delivered", 8, None),
        r(Unregistered, "psid-9", "read", 1440 + 8, None),
        r(Unregistered, "psid-10", "sent", 30, None),
        r(Mine, "psid-1", "delivered", 0, None), // an earlier delivery arriving late
    ]
}

struct Ids {
    mine: String,
    foreign: String,
}

impl Ids {
    fn campaign(&self, t: Target) -> &str {
        match t {
            Target::Mine => &self.mine,
            Target::Unregistered => UNREGISTERED,
            Target::Foreign => &self.foreign,
        }
    }
}

fn ndjson(records: &[Record], ids: &Ids) -> String {
    records
        .iter()
        .map(|r| {
            let kind = match r.flaw {
                Flaw::UnknownKind => "clicked",
                _ => r.kind,
            };
            let timestamp = match r.flaw {
                Flaw::BadTimestamp => "1990-01-01T00:00:00Z".to_string(),
                _ => r.at_ms.to_string(),
            };
            json!({
                "campaign_id": ids.campaign(r.target),
                "recipient": r.recipient,
                "event": kind,
                "timestamp": timestamp,
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// The same record as Meta's Messenger webhook would carry it.
fn webhook(r: &Record, ids: &Ids) -> Value {
    let field = match (r.flaw, r.kind) {
        (Flaw::UnknownKind, _) => "marketing_message_clickz",
        (_, "sent") => "marketing_message_echoes",
        (_, "delivered") => "marketing_message_deliveries",
        (_, "read") => "marketing_message_reads",
        (_, "click") => "marketing_message_clicks",
        (_, "failed") => "marketing_message_delivery_failed",
        (_, other) => panic!("no Messenger field for {other}"),
    };
    let timestamp = match r.flaw {
        // Neither epoch milliseconds nor seconds of 2000–2099.
        Flaw::BadTimestamp => json!(41_412_414_141u64),
        _ => json!(r.at_ms),
    };
    json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": T0, "changes": [{
            "field": field,
            "value": {
                "page_id": PAGE.parse::<u64>().unwrap(),
                "timestamp": timestamp,
                "messenger_subscription_token": r.recipient,
                "message_id": ids.campaign(r.target),
            },
        }]}],
    })
}

/// What a way in did: the rejected line numbers (1-based) and how many events it accepted.
#[derive(Debug, PartialEq, Eq)]
struct Admitted {
    rejected: BTreeSet<u64>,
    accepted: u64,
}

fn from_answer(body: &Value) -> Admitted {
    assert_eq!(body["Success"], true, "{body}");
    Admitted {
        rejected: body["Rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Line"].as_u64().unwrap())
            .collect(),
        accepted: body["Accepted"].as_u64().unwrap(),
    }
}

fn placement(account: &str, cs: &str, page: &str, ad: &str) -> Placement {
    Placement {
        account_uid: account.into(),
        cust_space_id: cs.into(),
        page_id: page.into(),
        ad_account_id: ad.into(),
    }
}

/// Registers my campaign and the other account's on a store, in the same order on every store.
async fn register(store: &Store) -> Ids {
    let create = |p: Placement| {
        store.create_campaign(NewCampaign {
            placement: p,
            name: "ways".into(),
            budget_type: BudgetType::Daily,
            budget: 100,
            create_time_ms: T0,
        })
    };
    let mine = store::wait_async(create(placement(ACCOUNT, CS, PAGE, AD)))
        .await
        .unwrap();
    let foreign = store::wait_async(create(placement(OTHER, OTHER_CS, OTHER_PAGE, "act-ways-b")))
        .await
        .unwrap();
    Ids {
        mine: mine.campaign_id,
        foreign: foreign.campaign_id,
    }
}

/// Every row the metrics of a campaign give: daily and by country, over July.
fn metrics(store: &Store, account: &str, campaign: &str) -> Vec<Vec<Row>> {
    let range = DateRange::new(
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2025, 7, 31).unwrap(),
    )
    .unwrap();
    [
        (TimeIncrement::AllDays, Breakdown::None),
        (TimeIncrement::Days(1), Breakdown::None),
        (TimeIncrement::AllDays, Breakdown::Country),
    ]
    .into_iter()
    .map(|(increment, breakdown)| {
        store.insights(
            account,
            campaign,
            &Query {
                tz: chrono_tz::UTC,
                currency: Currency::from_code("USD").unwrap(),
                range,
                increment,
                breakdown,
            },
        )
    })
    .collect()
}

/// The state a way in leaves: the metrics of my registered campaign and of the unregistered one, and
/// nothing at all in the other account.
fn outcome(store: &Store, ids: &Ids) -> (Vec<Vec<Row>>, Vec<Vec<Row>>, Vec<String>) {
    (
        metrics(store, ACCOUNT, &ids.mine),
        metrics(store, ACCOUNT, UNREGISTERED),
        store.campaign_ids_with_events(OTHER),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_corpus_through_every_way_in_lets_in_the_same_events() {
    let records = corpus();
    let mut results = Vec::new();

    // 1. PutMessageEvents, V3-signed.
    {
        let server = TestServer::start(config()).await;
        let ids = register(&server.state.store).await;
        let client = server.client(SignatureScheme::parse("v3").unwrap());
        let call = Call {
            action: "PutMessageEvents",
            version: "2020-06-06",
            method: http::Method::POST,
            query: Vec::new(),
            body: Some((
                Bytes::from(ndjson(&records, &ids)),
                "application/x-ndjson".into(),
            )),
        };
        let body = client.call(&call).await.unwrap().json();
        results.push((
            "PutMessageEvents",
            from_answer(&body),
            outcome(&server.state.store, &ids),
        ));
    }

    // 2. POST /v1/events with the ingest token.
    {
        let server = TestServer::start(config()).await;
        let ids = register(&server.state.store).await;
        let client = server.client(SignatureScheme::parse("v3").unwrap());
        let req = http::Request::post(format!("http://{}/v1/events", server.endpoint()))
            .header("authorization", format!("Bearer {INGEST_TOKEN}"))
            .header("content-type", "application/x-ndjson")
            .body(Full::new(Bytes::from(ndjson(&records, &ids))))
            .unwrap();
        let body = client.send(req).await.unwrap().json();
        results.push((
            "/v1/events",
            from_answer(&body),
            outcome(&server.state.store, &ids),
        ));
    }

    // 3. Meta's webhooks, one signed delivery per record: a record is rejected when nothing of it is
    //    logged.
    {
        let server = TestServer::start(config()).await;
        let ids = register(&server.state.store).await;
        let client = server.client(SignatureScheme::parse("v3").unwrap());
        let mut admitted = Admitted {
            rejected: BTreeSet::new(),
            accepted: 0,
        };
        for (i, r) in records.iter().enumerate() {
            let before = server.state.store.stats().events_logged;
            let body = Bytes::from(webhook(r, &ids).to_string());
            let req = http::Request::post(format!("http://{}/webhooks/meta", server.endpoint()))
                .header("content-type", "application/json")
                .header(
                    "x-hub-signature-256",
                    meta_webhooks::sign(APP_SECRET.as_bytes(), &body),
                )
                .body(Full::new(body))
                .unwrap();
            let answer = client.send(req).await.unwrap();
            assert_eq!(answer.status, 200, "record {}", i + 1);
            let logged = server.state.store.stats().events_logged - before;
            admitted.accepted += logged;
            if logged == 0 {
                admitted.rejected.insert(i as u64 + 1);
            }
        }
        results.push(("webhooks", admitted, outcome(&server.state.store, &ids)));
    }

    // 4. Offline import into a data directory.
    {
        let dir = tempfile::tempdir().unwrap();
        let store = store::sqlite::open(dir.path(), store::HostOptions::default()).unwrap();
        let ids = register(&store).await;
        let text = ndjson(&records, &ids);
        let store = std::sync::Arc::new(store);
        let summary = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                ingest::import(
                    &store,
                    ACCOUNT,
                    text.as_bytes(),
                    &ingest::ImportOptions::default(),
                    &|_| {},
                )
            })
            .await
            .unwrap()
            .unwrap()
        };
        let admitted = Admitted {
            rejected: summary.rejections.iter().map(|r| r.line).collect(),
            accepted: summary.accepted,
        };
        results.push(("import", admitted, outcome(&store, &ids)));
    }

    let (first_name, first_admitted, first_outcome) = &results[0];
    assert_eq!(
        first_admitted.rejected,
        BTreeSet::from([9, 10, 11, 12]),
        "the flawed and foreign lines"
    );
    assert_eq!(first_admitted.accepted, 12);
    assert!(first_outcome.0[0][0].delivered > 0, "my campaign counts");
    assert!(
        first_outcome.1[0][0].delivered > 0,
        "the unregistered one too"
    );
    assert!(
        first_outcome.2.is_empty(),
        "nothing lands in the other account"
    );
    for (name, admitted, outcome) in &results[1..] {
        assert_eq!(admitted, first_admitted, "{name} vs {first_name}");
        assert_eq!(outcome, first_outcome, "{name} vs {first_name}: metrics");
    }
}
