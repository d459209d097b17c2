//! Prometheus metrics on `/metrics`: requests by action and code, their latencies, webhook events
//! and skips by reason, ingested events, and the store's sizes.
//!
//! One recorder per process (the `metrics` facade is global); every server in the process shares it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, in seconds: 50 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// Installs the recorder (once per process) and returns the handle that renders it.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// One RPC request answered.
pub fn request(action: &str, code: &str, seconds: f64) {
    metrics::counter!("cams_requests_total", "action" => action.to_string(), "code" => code.to_string()).increment(1);
    metrics::histogram!("cams_request_duration_seconds", "action" => action.to_string())
        .record(seconds);
}

/// Events accepted from a source (`webhook_messenger`, `webhook_whatsapp`, `native`).
pub fn ingested(source: &'static str, events: u64) {
    metrics::counter!("cams_ingested_events_total", "source" => source).increment(events);
}

/// An item of a webhook that could not be used.
pub fn webhook_skipped(reason: &'static str, count: u64) {
    metrics::counter!("cams_webhook_skipped_total", "reason" => reason).increment(count);
}

/// A webhook request's outcome (`ok`, `bad_signature`, `malformed`, `too_large`, `storage_error`).
pub fn webhook_request(outcome: &'static str, seconds: f64) {
    metrics::counter!("cams_webhook_requests_total", "outcome" => outcome).increment(1);
    metrics::histogram!("cams_webhook_duration_seconds", "outcome" => outcome).record(seconds);
}

/// The store's sizes, sampled when `/metrics` is scraped.
pub fn store_stats(stats: &store::StoreStats) {
    metrics::gauge!("cams_store_messages").set(stats.messages as f64);
    metrics::gauge!("cams_store_campaigns").set(stats.campaigns as f64);
    metrics::gauge!("cams_store_events_logged").set(stats.events_logged as f64);
    metrics::gauge!("cams_store_engine_heap_bytes").set(stats.engine_heap_bytes as f64);
    metrics::gauge!("cams_store_last_seq").set(stats.last_seq as f64);
    metrics::gauge!("cams_store_checkpoint_seq").set(stats.checkpoint_seq as f64);
}
