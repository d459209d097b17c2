//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use insights::{CountryCode, Event, EventKind};
use meta_webhooks::{parse, ParseContext, Parsed, PayloadError};

/// The bytes of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every fixture file name, sorted.
pub fn fixture_names() -> Vec<String> {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// Campaign attribution and known-marketing wamids used by the fixture tests.
pub struct Ctx {
    pub callbacks: HashMap<String, String>,
    pub phones: HashMap<String, String>,
    pub known: HashSet<String>,
}

pub const READ_WAMID: &str = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ4QjE0RjQ5QzlCRjUyQTk1NwA=";
pub const FAILED_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";

impl Ctx {
    /// `spring-sale-2025` → 2390001, `cart-reminder-7` → 2390002; phone 590968830767958 → 2390100; the read
    /// and failed fixture wamids are known marketing.
    pub fn standard() -> Ctx {
        Ctx {
            callbacks: [
                ("spring-sale-2025", "2390001"),
                ("cart-reminder-7", "2390002"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            phones: [("590968830767958".to_owned(), "2390100".to_owned())].into(),
            known: [READ_WAMID.to_owned(), FAILED_WAMID.to_owned()].into(),
        }
    }

    /// Same mappings, nothing known as marketing.
    pub fn nothing_known() -> Ctx {
        Ctx {
            known: HashSet::new(),
            ..Ctx::standard()
        }
    }

    pub fn parse(&self, body: &[u8]) -> Result<Parsed, PayloadError> {
        let known = |wamid: &str| self.known.contains(wamid);
        let ctx = ParseContext {
            whatsapp_callback_campaigns: &self.callbacks,
            whatsapp_phone_number_campaigns: &self.phones,
            is_known_marketing: &known,
        };
        let parsed = parse(body, &ctx)?;
        assert_all_valid(&parsed);
        Ok(parsed)
    }

    pub fn parse_ok(&self, body: &[u8]) -> Parsed {
        self.parse(body)
            .unwrap_or_else(|e| panic!("{e} in {}", String::from_utf8_lossy(body)))
    }
}

/// Every produced event passes `Event::validate`, and skip details are single-line.
pub fn assert_all_valid(parsed: &Parsed) {
    for event in parsed.events() {
        assert!(event.validate().is_ok(), "invalid event {event:?}");
    }
    for skipped in &parsed.skipped {
        assert!(
            !skipped.detail.contains(['\n', '\r']),
            "multi-line detail {skipped:?}"
        );
    }
}

/// Builds an expected event.
pub fn ev(
    campaign: &str,
    recipient: &str,
    kind: EventKind,
    timestamp_ms: i64,
    country: Option<&str>,
    event_id: Option<&str>,
    price_micros: Option<i64>,
) -> Event {
    Event {
        campaign_id: campaign.to_owned(),
        recipient: recipient.to_owned(),
        kind,
        timestamp_ms,
        country: country.map(|c| c.parse::<CountryCode>().unwrap()),
        event_id: event_id.map(str::to_owned),
        price_micros,
    }
}

/// (reason, detail) pairs of the skipped items.
pub fn skips(parsed: &Parsed) -> Vec<(&'static str, &str)> {
    parsed
        .skipped
        .iter()
        .map(|s| (s.reason.as_str(), s.detail.as_str()))
        .collect()
}
