//! `cams-insights simulate`: a campaign's marketing-message traffic, posted as signed Meta webhooks.
//!
//! The traffic is generated from a seed (same seed and options, same bytes): per message a channel
//! (Messenger or WhatsApp), a country (WhatsApp numbers carry it), a lifecycle (sent, then delivered or
//! failed with one of Meta's error codes, read, link clicks on Messenger), and each event rendered as the
//! webhook Meta sends for it (`marketing_message_*` changes of a Page, or WhatsApp `statuses`), with
//! duplicates, retried deliveries and out-of-order arrival at the given rates. Alongside, the same traffic
//! is kept as the events it stands for, and the metrics it must produce are computed from them with the
//! reference evaluator (`insights::reference`), independent of the server's engine. `--json` prints them
//! as `GetMessageCampaignInsights` would answer for the traffic's whole span; `--check` asks the server
//! and compares field by field.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use acs_client::{Call, Client, Credentials, SignatureScheme};
use anyhow::{bail, Context};
use bytes::Bytes;
use chrono::NaiveDate;
use insights::{
    Breakdown, Currency, EngineConfig, Event, EventKind, ExtraFields, Query, RateCard,
    TimeIncrement,
};
use serde::Deserialize;
use serde_json::{json, Value};
use server::admin::faults::{parse_probability, PPM};
use workload::Rng;

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Read the webhook URL, app secret, page, WABA and (unless given) campaign from the demo file.
    #[arg(long, env = "CAMS_DEMO_FILE")]
    pub demo_file: Option<PathBuf>,
    /// Where to post the webhooks (ours: http://HOST:PORT/webhooks/meta, or any receiver).
    #[arg(long)]
    pub url: Option<String>,
    /// The Meta app secret that signs the bodies (X-Hub-Signature-256). Prefer the environment.
    #[arg(long, env = "META_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// The Messenger Page the traffic comes from.
    #[arg(long)]
    pub page_id: Option<String>,
    /// The campaign (for Messenger, `message_id`; for WhatsApp, the campaign the WABA maps to).
    #[arg(long)]
    pub campaign_id: Option<String>,
    /// The WhatsApp Business Account and phone number id whose statuses carry the WhatsApp share.
    #[arg(long)]
    pub waba_id: Option<String>,
    #[arg(long)]
    pub phone_number_id: Option<String>,
    /// How many messages.
    #[arg(long, default_value_t = 1000)]
    pub messages: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of messages sent on WhatsApp (needs --waba-id and --phone-number-id), the rest on Messenger.
    #[arg(long, default_value = "0.5")]
    pub whatsapp_share: String,
    /// Chance that a message is delivered (else it fails, with one of Meta's error codes).
    #[arg(long, default_value = "0.9")]
    pub delivery_rate: String,
    /// Chance that a delivered message is read.
    #[arg(long, default_value = "0.7")]
    pub read_rate: String,
    /// Chance that a read Messenger message is clicked (one to three clicks).
    #[arg(long, default_value = "0.15")]
    pub click_rate: String,
    /// Chance that a webhook item arrives twice (Meta's at-least-once delivery).
    #[arg(long, default_value = "0.03")]
    pub duplicate_rate: String,
    /// Chance that a whole webhook is posted again (a retry after a lost answer).
    #[arg(long, default_value = "0.02")]
    pub retry_rate: String,
    /// Chance that an item is held back and arrives after later ones.
    #[arg(long, default_value = "0.05")]
    pub out_of_order_rate: String,
    /// The traffic's span: messages are sent over this many minutes, ending now.
    #[arg(long, default_value_t = 60)]
    pub duration_minutes: u64,
    /// Messages per second in real time (each message's events stamped when posted); 0: as fast as
    /// possible, stamped over --duration-minutes.
    #[arg(long, default_value_t = 0)]
    pub pace: u64,
    /// The ad account's time zone and currency (the demo file gives them).
    #[arg(long)]
    pub timezone: Option<String>,
    #[arg(long)]
    pub currency: Option<String>,
    /// The receiver's rate card (Meta's CSV layout, effective from 2024-01-01), which prices Messenger
    /// deliveries; with --demo-file, the demo's.
    #[arg(long)]
    pub rate_card: Option<PathBuf>,
    /// Print the expected `GetMessageCampaignInsights` fields for the traffic's span, as JSON.
    #[arg(long)]
    pub json: bool,
    /// After posting, ask our server (with the demo file's key, or CAMS_ENDPOINT/CAMS_ACCESS_KEY_*) and
    /// exit non-zero unless it answers exactly the expected fields.
    #[arg(long)]
    pub check: bool,
}

/// The demo file's fields the simulator uses.
#[derive(Deserialize, Default)]
struct DemoFile {
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    webhook_url: String,
    #[serde(default)]
    meta_app_secret: Option<String>,
    #[serde(default)]
    page_id: String,
    #[serde(default)]
    simulation_campaign_id: String,
    #[serde(default)]
    cust_space_id: String,
    #[serde(default)]
    ad_account_id: String,
    #[serde(default)]
    ad_account_timezone: String,
    #[serde(default)]
    ad_account_currency: String,
    #[serde(default)]
    whatsapp_business_account_id: String,
    #[serde(default)]
    whatsapp_phone_number_id: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    rate_card: Option<String>,
}

/// Rates as parts per million.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub whatsapp: u32,
    pub delivery: u32,
    pub read: u32,
    pub click: u32,
    pub duplicate: u32,
    pub retry: u32,
    pub out_of_order: u32,
}

/// What the generator needs to know about the receiver.
#[derive(Debug, Clone)]
pub struct Target {
    pub page_id: String,
    pub campaign_id: String,
    /// `(waba id, phone number id)` when WhatsApp traffic can be routed.
    pub whatsapp: Option<(String, String)>,
    pub currency: String,
}

/// One webhook body to post, and how many times (a retry posts it again).
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub body: Vec<u8>,
    pub posts: u32,
}

/// The generated traffic: the webhooks in posting order, and the events they stand for.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub webhooks: Vec<Webhook>,
    pub events: Vec<Event>,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Countries of the WhatsApp share: weight, a number prefix whose country is this one, and the price of a
/// delivered marketing message in micros.
const WHATSAPP_COUNTRIES: &[(&str, u32, &str, i64)] = &[
    ("BR", 30, "5511", 62_500),
    ("IN", 25, "9198", 10_700),
    ("MX", 12, "5255", 30_500),
    ("US", 10, "1212", 25_000),
    ("ID", 8, "6281", 41_100),
    ("DE", 5, "4915", 61_000),
    ("GB", 4, "4420", 52_900),
    ("TR", 3, "9053", 10_900),
    ("AR", 3, "5491", 61_800),
];

/// Meta's WhatsApp error codes for undelivered marketing messages, and Messenger's failure messages.
const WHATSAPP_ERRORS: &[(u32, &str)] = &[
    (
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
    ),
    (131026, "Message undeliverable"),
    (131047, "Re-engagement message"),
    (131053, "Media upload error"),
    (130472, "User's number is part of an experiment"),
];
const MESSENGER_ERRORS: &[&str] = &[
    "Unknown Error",
    "Recipient is unavailable",
    "Message blocked",
];

fn chance(rng: &mut Rng, ppm: u32) -> bool {
    ppm >= PPM || rng.below(u64::from(PPM)) < u64::from(ppm)
}

/// One webhook item: the JSON of a Messenger change or a WhatsApp status, its channel, and when its
/// event happened (for ordering).
#[derive(Debug, Clone)]
struct Item {
    whatsapp: bool,
    json: Value,
    at_ms: i64,
}

/// Generates the traffic. Pure: the same arguments give the same webhooks, byte for byte.
pub fn generate(
    target: &Target,
    messages: u64,
    seed: u64,
    rates: Rates,
    first_sent_ms: i64,
    spacing_ms: i64,
) -> Traffic {
    let mut rng = Rng(seed ^ 0x51_4d_55_4c_41_54_45);
    let mut items: Vec<Item> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let total_weight: u32 = WHATSAPP_COUNTRIES.iter().map(|c| c.1).sum();
    for i in 0..messages {
        let sent_ms = first_sent_ms + i as i64 * spacing_ms;
        let whatsapp = target.whatsapp.is_some() && chance(&mut rng, rates.whatsapp);
        if whatsapp {
            let mut pick = rng.below(u64::from(total_weight)) as u32;
            let mut country = WHATSAPP_COUNTRIES[0];
            for c in WHATSAPP_COUNTRIES {
                if pick < c.1 {
                    country = *c;
                    break;
                }
                pick -= c.1;
            }
            let phone = format!(
                "{}{:08}",
                country.2,
                seed.wrapping_mul(7919).wrapping_add(i) % 100_000_000
            );
            let wamid = format!("wamid.sim{seed:x}x{i:x}");
            // WhatsApp stamps statuses in whole seconds.
            let secs = |ms: i64| ms / 1000;
            let mut statuses = vec![(EventKind::Sent, secs(sent_ms))];
            if chance(&mut rng, rates.delivery) {
                let delivered = secs(sent_ms) + 1 + rng.below(90) as i64;
                statuses.push((EventKind::Delivered, delivered));
                if chance(&mut rng, rates.read) {
                    statuses.push((EventKind::Read, delivered + 2 + rng.below(3600) as i64));
                }
            } else {
                statuses.push((EventKind::Failed, secs(sent_ms) + 1 + rng.below(30) as i64));
            }
            for (kind, at) in statuses {
                let (status, pricing, price_micros) = match kind {
                    EventKind::Sent => (
                        "sent",
                        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"}),
                        None,
                    ),
                    EventKind::Delivered => (
                        "delivered",
                        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing",
                               "cost": {"amount": insights::format_price(country.3), "currency": target.currency}}),
                        Some(country.3),
                    ),
                    EventKind::Read => (
                        "read",
                        json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"}),
                        None,
                    ),
                    _ => (
                        "failed",
                        json!({"billable": false, "pricing_model": "PMP", "type": "regular", "category": "marketing"}),
                        Some(0),
                    ),
                };
                let mut s = json!({
                    "id": wamid,
                    "status": status,
                    "timestamp": at.to_string(),
                    "recipient_id": phone,
                    "pricing": pricing,
                });
                if kind == EventKind::Failed {
                    let (code, title) =
                        WHATSAPP_ERRORS[rng.below(WHATSAPP_ERRORS.len() as u64) as usize];
                    s["errors"] = json!([{ "code": code, "title": title, "message": title,
                        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }]);
                }
                items.push(Item {
                    whatsapp: true,
                    json: s,
                    at_ms: at * 1000,
                });
                events.push(Event {
                    campaign_id: target.campaign_id.clone(),
                    recipient: phone.clone(),
                    kind,
                    timestamp_ms: at * 1000,
                    country: insights::phone::country_of(&phone),
                    event_id: Some(wamid.clone()),
                    price_micros,
                });
            }
        } else {
            let token = format!("sim-{seed}-{i}");
            let mid = format!("m_sim{seed:x}x{i:x}");
            let mut changes = vec![(EventKind::Sent, sent_ms)];
            if chance(&mut rng, rates.delivery) {
                let delivered = sent_ms + 500 + rng.below(90_000) as i64;
                changes.push((EventKind::Delivered, delivered));
                if chance(&mut rng, rates.read) {
                    let read = delivered + 1_000 + rng.below(3_600_000) as i64;
                    changes.push((EventKind::Read, read));
                    if chance(&mut rng, rates.click) {
                        let clicks = 1 + rng.below(3) as i64;
                        for k in 0..clicks {
                            changes.push((
                                EventKind::Click,
                                read + 1_000 + k * 7_000 + rng.below(5_000) as i64,
                            ));
                        }
                    }
                }
            } else {
                changes.push((
                    EventKind::Failed,
                    sent_ms + 1_000 + rng.below(30_000) as i64,
                ));
            }
            for (kind, at) in changes {
                let field = match kind {
                    EventKind::Sent => "marketing_message_echoes",
                    EventKind::Delivered => "marketing_message_deliveries",
                    EventKind::Read => "marketing_message_reads",
                    EventKind::Click => "marketing_message_clicks",
                    EventKind::Failed => "marketing_message_delivery_failed",
                };
                let mut value = json!({
                    "page_id": target.page_id,
                    "app_id": "1",
                    "timestamp": at,
                    "messenger_subscription_token": token,
                    "message_id": target.campaign_id,
                    "mid": mid,
                    "marketing_message_tracking_id": format!("sim-{seed}-{i}"),
                });
                if kind == EventKind::Failed {
                    value["error_message"] =
                        MESSENGER_ERRORS[rng.below(MESSENGER_ERRORS.len() as u64) as usize].into();
                }
                items.push(Item {
                    whatsapp: false,
                    json: json!({"field": field, "value": value}),
                    at_ms: at,
                });
                events.push(Event {
                    campaign_id: target.campaign_id.clone(),
                    recipient: token.clone(),
                    kind,
                    timestamp_ms: at,
                    country: None,
                    // The server identifies Messenger events by `mid`, except clicks (two clicks share it).
                    event_id: (kind != EventKind::Click).then(|| mid.clone()),
                    price_micros: None,
                });
            }
        }
    }
    // Arrival order: by the event's time, some held back, some twice.
    items.sort_by_key(|it| it.at_ms);
    let mut arriving: Vec<Item> = Vec::with_capacity(items.len() + items.len() / 16);
    let mut held: Vec<(usize, Item)> = Vec::new();
    for (n, item) in items.into_iter().enumerate() {
        if chance(&mut rng, rates.duplicate) {
            held.push((n + 1 + rng.below(40) as usize, item.clone()));
        }
        if chance(&mut rng, rates.out_of_order) {
            held.push((n + 1 + rng.below(40) as usize, item));
        } else {
            arriving.push(item);
        }
        let mut k = 0;
        while k < held.len() {
            if held[k].0 <= n {
                arriving.push(held.swap_remove(k).1);
            } else {
                k += 1;
            }
        }
    }
    held.sort_by_key(|h| h.0);
    arriving.extend(held.into_iter().map(|h| h.1));

    // Bodies of up to 20 items of one channel, as Meta batches them.
    let mut webhooks = Vec::new();
    let mut i = 0;
    while i < arriving.len() {
        let whatsapp = arriving[i].whatsapp;
        let mut j = i;
        while j < arriving.len() && j - i < 20 && arriving[j].whatsapp == whatsapp {
            j += 1;
        }
        let batch = &arriving[i..j];
        let now = batch.iter().map(|b| b.at_ms).max().unwrap_or(0);
        let body = if whatsapp {
            let (waba, phone_number_id) = target.whatsapp.clone().unwrap_or_default();
            let statuses: Vec<&Value> = batch.iter().map(|b| &b.json).collect();
            json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{
                "field": "messages",
                "value": {"messaging_product": "whatsapp",
                          "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
                          "statuses": statuses}}]}]})
        } else {
            let changes: Vec<&Value> = batch.iter().map(|b| &b.json).collect();
            json!({"object": "page", "entry": [{"id": target.page_id, "time": now, "changes": changes}]})
        };
        let posts = 1 + u32::from(chance(&mut rng, rates.retry));
        webhooks.push(Webhook {
            body: body.to_string().into_bytes(),
            posts,
        });
        i = j;
    }
    let first_ms = events
        .iter()
        .map(|e| e.timestamp_ms)
        .min()
        .unwrap_or(first_sent_ms);
    let last_ms = events
        .iter()
        .map(|e| e.timestamp_ms)
        .max()
        .unwrap_or(first_sent_ms);
    Traffic {
        webhooks,
        events,
        first_ms,
        last_ms,
    }
}

/// What the traffic must produce: the span's first and last local day, and every field of the answer.
pub struct Expected {
    pub start: NaiveDate,
    pub stop: NaiveDate,
    pub fields: Vec<(&'static str, String)>,
}

/// The fields `GetMessageCampaignInsights` must answer for the traffic's whole span (every extra field
/// asked for), computed from the events with the reference evaluator.
pub fn expected_fields(
    traffic: &Traffic,
    tz: chrono_tz::Tz,
    currency: Currency,
    rates: &RateCard,
) -> anyhow::Result<Expected> {
    let start = insights::dates::local_date(traffic.first_ms, tz);
    let stop = insights::dates::local_date(traffic.last_ms, tz);
    let q = Query {
        tz,
        currency,
        range: insights::DateRange::new(start, stop).map_err(|e| anyhow::anyhow!("{e}"))?,
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    };
    let campaign = traffic
        .events
        .first()
        .map(|e| e.campaign_id.clone())
        .unwrap_or_default();
    let rows = insights::reference::evaluate(
        &traffic.events,
        &[],
        &EngineConfig::default(),
        &campaign,
        &q,
        rates,
    );
    let row = rows.first().context("no row for the traffic's span")?;
    Ok(Expected {
        start,
        stop,
        fields: row.format(&currency).into_wire_fields(&ExtraFields::all()),
    })
}

fn rate(name: &str, text: &str) -> anyhow::Result<u32> {
    parse_probability(text.trim())
        .with_context(|| format!("--{name}: `{text}` is not a decimal between 0 and 1"))
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let demo: DemoFile = match &args.demo_file {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?,
        None => DemoFile::default(),
    };
    let or = |given: &Option<String>, from_demo: &str| {
        given
            .clone()
            .or_else(|| (!from_demo.is_empty()).then(|| from_demo.to_string()))
    };
    let url = or(&args.url, &demo.webhook_url).context("give --url (or --demo-file)")?;
    let secret = args
        .app_secret
        .clone()
        .or(demo.meta_app_secret.clone())
        .context("give --app-secret (or META_APP_SECRET, or --demo-file)")?;
    let page_id = or(&args.page_id, &demo.page_id).context("give --page-id (or --demo-file)")?;
    let campaign_id = or(&args.campaign_id, &demo.simulation_campaign_id)
        .context("give --campaign-id (or --demo-file)")?;
    let waba = or(&args.waba_id, &demo.whatsapp_business_account_id);
    let phone_number_id = or(&args.phone_number_id, &demo.whatsapp_phone_number_id);
    let tz: chrono_tz::Tz = or(&args.timezone, &demo.ad_account_timezone)
        .unwrap_or_else(|| "UTC".into())
        .parse()
        .map_err(|_| anyhow::anyhow!("--timezone: not an IANA time zone"))?;
    let currency_code =
        or(&args.currency, &demo.ad_account_currency).unwrap_or_else(|| "USD".into());
    let currency = Currency::from_code(&currency_code)
        .with_context(|| format!("--currency: unknown currency {currency_code}"))?;
    let mut card = RateCard::empty();
    let card_text = match &args.rate_card {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => demo.rate_card.clone(),
    };
    if let Some(text) = card_text {
        card.add_csv(&text, NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"))
            .map_err(|e| anyhow::anyhow!("the rate card: {e}"))?;
    }
    let rates = Rates {
        whatsapp: rate("whatsapp-share", &args.whatsapp_share)?,
        delivery: rate("delivery-rate", &args.delivery_rate)?,
        read: rate("read-rate", &args.read_rate)?,
        click: rate("click-rate", &args.click_rate)?,
        duplicate: rate("duplicate-rate", &args.duplicate_rate)?,
        retry: rate("retry-rate", &args.retry_rate)?,
        out_of_order: rate("out-of-order-rate", &args.out_of_order_rate)?,
    };
    anyhow::ensure!(args.messages > 0, "--messages must be at least 1");
    let target = Target {
        page_id,
        campaign_id: campaign_id.clone(),
        whatsapp: waba.zip(phone_number_id),
        currency: currency_code.clone(),
    };
    // Timestamps: paced in real time from now, or spread over the span ending now (minus the longest
    // lifecycle, so that no event lies in the future).
    let now = chrono::Utc::now().timestamp_millis();
    let (first, spacing) = if args.pace > 0 {
        (now, (1000 / args.pace as i64).max(1))
    } else {
        let span = (args.duration_minutes.max(1) * 60_000) as i64;
        (
            now - span - 2 * 3_600_000,
            (span / args.messages as i64).max(1),
        )
    };
    let traffic = generate(&target, args.messages, args.seed, rates, first, spacing);
    let Expected {
        start,
        stop,
        fields: expected,
    } = expected_fields(&traffic, tz, currency, &card)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(post_all(&url, &secret, &traffic, args.pace, args.messages))?;
    let posted: u32 = traffic.webhooks.iter().map(|w| w.posts).sum();
    eprintln!(
        "posted {posted} webhooks ({} events of {} messages) for campaign {campaign_id}, {start} to {stop}",
        traffic.events.len(),
        args.messages
    );

    let mut object = serde_json::Map::new();
    for (k, v) in &expected {
        object.insert((*k).to_string(), Value::String(v.clone()));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Object(object.clone()))?
        );
    } else {
        for (k, v) in &expected {
            println!("{k:<38} {v}");
        }
    }
    if args.check {
        let endpoint = std::env::var("CAMS_ENDPOINT")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or(demo.endpoint.clone());
        let key = std::env::var("CAMS_ACCESS_KEY_ID")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or(demo.access_key_id.clone());
        let key_secret = std::env::var("CAMS_ACCESS_KEY_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or(demo.access_key_secret.clone());
        anyhow::ensure!(!endpoint.is_empty() && !key.is_empty(), "--check needs the server and a key: --demo-file, or CAMS_ENDPOINT and CAMS_ACCESS_KEY_ID/SECRET");
        let client = Client::new(
            &endpoint,
            Credentials {
                access_key_id: key,
                access_key_secret: key_secret,
                security_token: None,
            },
            SignatureScheme::parse("v3").expect("v3"),
        )?;
        let (start, stop) = (start.to_string(), stop.to_string());
        let answer = runtime.block_on(client.call(&Call::new("GetMessageCampaignInsights", "2020-06-06", &[
            ("CustSpaceId", &demo.cust_space_id),
            ("PageId", &target.page_id),
            ("AdAccountId", &demo.ad_account_id),
            ("CampaignId", &campaign_id),
            ("DateStart", &start),
            ("DateStop", &stop),
            ("Fields", "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed,MarketingMessagesSpendCurrency"),
        ])))?;
        let body = answer.json();
        if body["Code"] != "OK" {
            bail!("the server refused the query: {body}");
        }
        let row = &body["Data"][0];
        let mut differ = Vec::new();
        for (k, v) in &expected {
            let got = row[*k].as_str().unwrap_or("(missing)");
            if got != v {
                differ.push(format!("{k}: expected {v}, the server answered {got}"));
            }
        }
        if !differ.is_empty() {
            bail!("the server's answer differs:\n  {}", differ.join("\n  "));
        }
        eprintln!(
            "check: the server answers exactly the expected {} fields",
            expected.len()
        );
    }
    Ok(())
}

/// Posts every webhook (retries posted again), signed; fails on the first non-200 answer.
async fn post_all(
    url: &str,
    secret: &str,
    traffic: &Traffic,
    pace: u64,
    messages: u64,
) -> anyhow::Result<()> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("--url: `{url}` is not a URL"))?;
    anyhow::ensure!(
        uri.scheme_str() == Some("http"),
        "--url: only http:// receivers are supported"
    );
    let authority = uri.authority().context("--url has no host")?.to_string();
    let client = Client::unsigned(&authority)?;
    let bar = indicatif::ProgressBar::new(traffic.webhooks.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} webhooks {per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if traffic.webhooks.len() < 200 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let per_webhook = if pace > 0 && !traffic.webhooks.is_empty() {
        Duration::from_secs_f64(messages as f64 / pace as f64 / traffic.webhooks.len() as f64)
    } else {
        Duration::ZERO
    };
    for (n, w) in traffic.webhooks.iter().enumerate() {
        if per_webhook > Duration::ZERO {
            let due = per_webhook * n as u32;
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        for _ in 0..w.posts {
            let request = http::Request::post(uri.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(
                    "x-hub-signature-256",
                    meta_webhooks::sign(secret.as_bytes(), &w.body),
                )
                .body(http_body_util::Full::new(Bytes::from(w.body.clone())))?;
            let answer = client.send(request).await?;
            if answer.status != 200 {
                bail!(
                    "the receiver answered {} to webhook {n}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(whatsapp: bool) -> Target {
        Target {
            page_id: "109224342992569".into(),
            campaign_id: "120286522194355700".into(),
            whatsapp: whatsapp.then(|| ("1314702302917944".into(), "590968830767958".into())),
            currency: "USD".into(),
        }
    }

    fn rates() -> Rates {
        let p = |s| parse_probability(s).unwrap();
        Rates {
            whatsapp: p("0.5"),
            delivery: p("0.9"),
            read: p("0.7"),
            click: p("0.15"),
            duplicate: p("0.03"),
            retry: p("0.02"),
            out_of_order: p("0.05"),
        }
    }

    const T0: i64 = 1_780_000_000_000;

    #[test]
    fn same_seed_same_bytes() {
        let a = generate(&target(true), 500, 7, rates(), T0, 1000);
        let b = generate(&target(true), 500, 7, rates(), T0, 1000);
        assert_eq!(a.webhooks, b.webhooks);
        let c = generate(&target(true), 500, 8, rates(), T0, 1000);
        assert_ne!(a.webhooks, c.webhooks);
    }

    #[test]
    fn every_webhook_parses_back_into_the_events_it_stands_for() {
        let t = target(true);
        let traffic = generate(&t, 400, 3, rates(), T0, 1000);
        let callbacks = std::collections::HashMap::new();
        let mut numbers = std::collections::HashMap::new();
        numbers.insert("590968830767958".to_string(), t.campaign_id.clone());
        let ctx = meta_webhooks::ParseContext {
            whatsapp_callback_campaigns: &callbacks,
            whatsapp_phone_number_campaigns: &numbers,
            is_known_marketing: &|_: &str| false,
        };
        let mut parsed = Vec::new();
        for w in &traffic.webhooks {
            let out = meta_webhooks::parse(&w.body, &ctx).unwrap();
            assert!(out.skipped.is_empty(), "{:?}", out.skipped);
            parsed.extend(out.messenger.into_iter().map(|p| p.event));
            parsed.extend(out.whatsapp.into_iter().map(|w| w.event));
        }
        let key = |e: &Event| {
            (
                e.recipient.clone(),
                e.kind as u8,
                e.timestamp_ms,
                e.event_id.clone(),
                e.price_micros,
                e.country,
            )
        };
        let mut want: Vec<_> = traffic.events.iter().map(key).collect();
        let mut got: Vec<_> = parsed.iter().map(key).collect();
        want.sort();
        want.dedup();
        got.sort();
        got.dedup();
        assert_eq!(got, want);
    }

    #[test]
    fn whatsapp_numbers_are_in_their_country() {
        for (code, _, prefix, _) in WHATSAPP_COUNTRIES {
            for n in [0u64, 1, 99_999_999, 12_345_678] {
                let phone = format!("{prefix}{n:08}");
                assert_eq!(
                    insights::phone::country_of(&phone)
                        .map(|c| c.to_string())
                        .as_deref(),
                    Some(*code),
                    "{phone}"
                );
            }
        }
    }

    #[test]
    fn without_whatsapp_everything_is_messenger() {
        let traffic = generate(&target(false), 100, 1, rates(), T0, 1000);
        assert!(traffic
            .webhooks
            .iter()
            .all(
                |w| String::from_utf8_lossy(&w.body).starts_with("{\"entry\"")
                    || String::from_utf8_lossy(&w.body).contains("\"object\":\"page\"")
            ));
        assert!(traffic.events.iter().all(|e| e.country.is_none()));
    }
}
