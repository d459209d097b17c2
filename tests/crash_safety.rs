//! Crash safety: the server is SIGKILLed while clients ingest; after a restart every batch that was
//! acknowledged is counted, and no batch is half there.
//!
//! Each batch belongs to its own campaign, so after the restart each campaign's insights must equal
//! the reference evaluation of its whole batch (acknowledged batches: always; batches in flight at
//! the kill: either that or nothing at all).

mod common;

use common::{signing_client, ServerProcess};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_client::{Call, Client};
use bytes::Bytes;
use insights::{
    Breakdown, Currency, DateRange, EngineConfig, Event, EventKind, Query, RateCard, TimeIncrement,
};

const UID: &str = "1234567890123456";
const KEY: &str = "LTAI5tCrashTest000000001";
const SECRET: &str = "CrashSecret0123456789abcdefghi";
const CAMPAIGNS: usize = 48;

fn config(data_dir: &Path) -> String {
    format!(
        r#"
[storage]
data_dir = "{}"

[[accounts]]
uid = "{UID}"

[[accounts.access_keys]]
id = "{KEY}"
secret = "{SECRET}"

[[accounts.cust_spaces]]
id = "cams-crash"

[[accounts.cust_spaces.pages]]
id = "100"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "200"
currency = "USD"
timezone = "America/New_York"
"#,
        data_dir.display()
    )
}

/// A batch of events for one campaign: deliveries, reads, clicks, failures, in July 2025.
fn batch(campaign: &str, seed: usize) -> Vec<Event> {
    let countries = ["US", "BR", "DE", "JP", "AR", "IN"];
    let mut out = Vec::new();
    for i in 0..600 {
        let t = 1_751_400_000_000 + ((i * 7919 + seed * 104_729) % 2_000_000_000) as i64;
        let ev = |kind, dt: i64, id: Option<String>| Event {
            campaign_id: campaign.into(),
            recipient: format!("r-{i}"),
            kind,
            timestamp_ms: t + dt,
            country: Some(countries[(i + seed) % countries.len()].parse().unwrap()),
            event_id: id,
            price_micros: Some(10_000 + (i % 7) as i64 * 1_000),
        };
        out.push(ev(EventKind::Sent, 0, None));
        if i % 10 != 0 {
            out.push(ev(EventKind::Delivered, 1_000, None));
            if i % 3 != 0 {
                out.push(ev(EventKind::Read, 60_000, None));
            }
            if i % 9 == 0 {
                out.push(ev(EventKind::Click, 90_000, Some(format!("c{i}"))));
            }
        } else {
            out.push(ev(EventKind::Failed, 5_000, None));
        }
    }
    out
}

fn query() -> Query {
    Query {
        tz: chrono_tz::America::New_York,
        currency: Currency::from_code("USD").unwrap(),
        range: DateRange::new(
            chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2025, 8, 31).unwrap(),
        )
        .unwrap(),
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    }
}

fn expected(events: &[Event], campaign: &str) -> serde_json::Value {
    let rows = insights::reference::evaluate(
        events,
        &[],
        &EngineConfig::default(),
        campaign,
        &query(),
        &RateCard::empty(),
    );
    let currency = Currency::from_code("USD").unwrap();
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::Value::Object(
                    r.format(&currency)
                        .wire_fields()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                        .collect(),
                )
            })
            .collect(),
    )
}

fn insights_of(rt: &tokio::runtime::Runtime, c: &Client, campaign: &str) -> serde_json::Value {
    let r = rt
        .block_on(c.call(&Call::new(
            "GetMessageCampaignInsights",
            "2020-06-06",
            &[
                ("CustSpaceId", "cams-crash"),
                ("PageId", "100"),
                ("AdAccountId", "200"),
                ("CampaignId", campaign),
                ("DateStart", "2025-06-01"),
                ("DateStop", "2025-08-31"),
            ],
        )))
        .unwrap();
    let body = r.json();
    assert_eq!(body["Code"], "OK", "{body}");
    body["Data"].clone()
}

#[test]
fn acknowledged_batches_survive_sigkill_and_none_is_partial() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        config(&dir.path().join("data")),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let server = ServerProcess::start(&dir.path().join("config.toml"), dir.path());
    let c = signing_client(&server.endpoint, KEY, SECRET);
    let mut campaigns = Vec::new();
    for i in 0..CAMPAIGNS {
        let r = rt
            .block_on(c.call(&Call::new(
                "CreateMessageCampaign",
                "2020-06-06",
                &[
                    ("CustSpaceId", "cams-crash"),
                    ("PageId", "100"),
                    ("AdAccountId", "200"),
                    ("Name", &format!("crash {i}")),
                    ("BudgetType", "lifetime"),
                    ("Budget", "1000"),
                ],
            )))
            .unwrap();
        campaigns.push(r.json()["CampaignId"].as_str().unwrap().to_string());
    }
    let batches: Vec<Vec<Event>> = campaigns
        .iter()
        .enumerate()
        .map(|(i, c)| batch(c, i))
        .collect();

    // Eight clients send one batch after another; the server is killed mid-way.
    let acked: Arc<Mutex<Vec<usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let c = c.clone();
        let acked = acked.clone();
        let bodies: Vec<(usize, Bytes)> = (worker..CAMPAIGNS)
            .step_by(8)
            .map(|i| {
                let text: String = batches[i]
                    .iter()
                    .map(|e| insights::to_native_line(e) + "\n")
                    .collect();
                (i, Bytes::from(text))
            })
            .collect();
        tasks.push(rt.spawn(async move {
            for (i, body) in bodies {
                let mut call = Call::new("PutMessageEvents", "2020-06-06", &[]);
                call.body = Some((body, "application/x-ndjson".into()));
                match c.call(&call).await {
                    Ok(r) if r.status == 200 && r.json()["Code"] == "OK" => {
                        acked.lock().unwrap().push(i)
                    }
                    _ => return,
                }
            }
        }));
    }
    // Let some batches land, then kill without warning.
    let started = Instant::now();
    while acked.lock().unwrap().len() < CAMPAIGNS / 4 && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill(); // SIGKILL
    for t in tasks {
        let _ = rt.block_on(t);
    }
    let acked: Vec<usize> = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty() && acked.len() < CAMPAIGNS,
        "the kill should land mid-ingestion ({} acked)",
        acked.len()
    );

    let server = ServerProcess::start(&dir.path().join("config.toml"), dir.path());
    let c = signing_client(&server.endpoint, KEY, SECRET);
    let mut in_flight_present = 0;
    for (i, campaign) in campaigns.iter().enumerate() {
        let got = insights_of(&rt, &c, campaign);
        let full = expected(&batches[i], campaign);
        if acked.contains(&i) {
            assert_eq!(got, full, "acknowledged batch {i} must be counted in full");
        } else if got == full {
            in_flight_present += 1; // committed, but the answer was lost with the process
        } else {
            assert_eq!(got, expected(&[], campaign), "batch {i} is half there");
        }
    }
    eprintln!(
        "{} acknowledged, {in_flight_present} committed without acknowledgement",
        acked.len()
    );
    drop(server);
}
