//! The native event pipeline shared by `PutMessageEvents` and `POST /v1/events`: NDJSON lines are
//! parsed and checked one by one, the good ones committed as one batch, the bad ones reported with
//! their line number and reason. Nothing is half-written: a line is either wholly in the batch or
//! rejected, and the batch is one durable append.

use std::sync::Arc;

use insights::Event;

use crate::errors::ApiError;
use crate::AppState;

/// At most this many rejections are listed one by one (all are counted).
pub const MAX_LISTED_REJECTIONS: usize = 1000;

/// One refused line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the body.
    pub line: usize,
    pub reason: String,
}

/// What happened to a body of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted: u64,
    /// Accepted events that changed a metric (the rest were duplicates or superseded).
    pub changed: u64,
    pub rejected_count: u64,
    pub rejected: Vec<Rejection>,
}

impl IngestReport {
    fn reject(&mut self, line: usize, reason: String) {
        self.rejected_count += 1;
        if self.rejected.len() < MAX_LISTED_REJECTIONS {
            self.rejected.push(Rejection { line, reason });
        }
    }

    /// The JSON answer, with Alibaba-style field names.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let rejected: Vec<serde_json::Value> = self
            .rejected
            .iter()
            .map(|r| serde_json::json!({"Line": r.line, "Reason": r.reason}))
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("Accepted".into(), self.accepted.into());
        m.insert("Changed".into(), self.changed.into());
        m.insert("RejectedCount".into(), self.rejected_count.into());
        m.insert("Rejected".into(), rejected.into());
        m
    }
}

/// Whether a content type announces NDJSON (`application/x-ndjson`, or the JSON Lines names).
pub fn is_ndjson(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        ct == "application/x-ndjson" || ct == "application/jsonl" || ct == "application/json-lines"
    })
}

/// Parses and checks every line; returns the good events and the report of the bad ones.
pub fn parse_body(state: &AppState, account: &str, body: &[u8]) -> (Vec<Event>, IngestReport) {
    let mut report = IngestReport::default();
    let mut events = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match insights::parse_native_event(line) {
            Ok(event) => match state.store.campaign(&event.campaign_id) {
                Some(c) if c.placement.account_uid != account => {
                    report.reject(
                        i + 1,
                        format!(
                            "campaign `{}` is not available to this account",
                            event.campaign_id
                        ),
                    );
                }
                _ => events.push(event),
            },
            Err(e) => report.reject(i + 1, e.to_string()),
        }
    }
    (events, report)
}

/// Parses, checks and durably appends a body of NDJSON events for an account.
pub async fn ingest(
    state: &Arc<AppState>,
    account: &str,
    body: &[u8],
) -> Result<IngestReport, ApiError> {
    let (events, mut report) = parse_body(state, account, body);
    if !events.is_empty() {
        let receipt = store::wait_async(state.store.append(account, None, events)).await?;
        report.accepted = receipt.accepted;
        report.changed = receipt.changed;
    }
    Ok(report)
}
