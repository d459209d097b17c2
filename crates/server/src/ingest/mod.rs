//! The HTTP ways in for events besides `PutMessageEvents`: `POST /v1/events` (bearer ingest tokens) and
//! Meta's webhooks (`/webhooks/meta`). All of them admit events through the `ingest` crate, so every way
//! in lets in exactly the same events.

pub mod events_endpoint;
pub mod routing;
pub mod webhooks;

use serde_json::{json, Map, Value};

/// The per-line answer of an NDJSON body, with Alibaba-style field names: `Accepted`, `Changed`,
/// `RejectedCount`, `Rejected: [{Line, Reason}]`.
pub fn report_json(report: &ingest::Report) -> Map<String, Value> {
    let rejected: Vec<Value> = report
        .rejected
        .iter()
        .map(|r| json!({"Line": r.line, "Reason": r.reason}))
        .collect();
    let mut m = Map::new();
    m.insert("Accepted".into(), report.accepted.into());
    m.insert("Changed".into(), report.changed.into());
    m.insert("RejectedCount".into(), report.rejected_count.into());
    m.insert("Rejected".into(), rejected.into());
    m
}
