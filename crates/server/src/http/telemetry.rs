//! Prometheus metrics on `/metrics`: requests by action and code, their latencies, webhook events
//! and skips by reason, ingested events, and the store's sizes.
//!
//! One recorder per process (the `metrics` facade is global); every server in the process shares it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::errors::ErrorCode;
use crate::rpc::catalog::ACTIONS;

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

/// Request counters and latency histograms, per action and code, in plain atomics: the RPC path
/// counts every request, and a registry lookup per request measurably cut its throughput.
struct RequestMetrics {
    /// [action][code]: actions of the catalog then "-" (unknown); codes of the table then "OK".
    counts: Vec<AtomicU64>,
    /// [action][bucket], made cumulative when rendered.
    buckets: Vec<AtomicU64>,
    sum_micros: Vec<AtomicU64>,
}

const LATENCY_BOUNDS_MICROS: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000,
];

fn request_metrics() -> &'static RequestMetrics {
    static M: OnceLock<RequestMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let actions = ACTIONS.len() + 1;
        let codes = ErrorCode::ALL.len() + 1;
        RequestMetrics {
            counts: (0..actions * codes).map(|_| AtomicU64::new(0)).collect(),
            buckets: (0..actions * (LATENCY_BOUNDS_MICROS.len() + 1))
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum_micros: (0..actions).map(|_| AtomicU64::new(0)).collect(),
        }
    })
}

fn action_index(action: Option<&str>) -> usize {
    action
        .and_then(|a| ACTIONS.iter().position(|s| s.name == a))
        .unwrap_or(ACTIONS.len())
}

/// One RPC request answered (`code` None: success).
pub fn request(action: Option<&str>, code: Option<ErrorCode>, elapsed: Duration) {
    let m = request_metrics();
    let a = action_index(action);
    let c = code.map_or(ErrorCode::ALL.len(), |c| c as usize);
    m.counts[a * (ErrorCode::ALL.len() + 1) + c].fetch_add(1, Ordering::Relaxed);
    let micros = elapsed.as_micros() as u64;
    let b = LATENCY_BOUNDS_MICROS
        .iter()
        .position(|bound| micros <= *bound)
        .unwrap_or(LATENCY_BOUNDS_MICROS.len());
    m.buckets[a * (LATENCY_BOUNDS_MICROS.len() + 1) + b].fetch_add(1, Ordering::Relaxed);
    m.sum_micros[a].fetch_add(micros, Ordering::Relaxed);
}

/// The request metrics in Prometheus text format.
pub fn render_requests() -> String {
    use std::fmt::Write;
    let m = request_metrics();
    let name = |a: usize| ACTIONS.get(a).map_or("-", |s| s.name);
    let mut out = String::new();
    out.push_str("# HELP cams_requests_total RPC requests answered, by action and code.\n");
    out.push_str("# TYPE cams_requests_total counter\n");
    let codes = ErrorCode::ALL.len() + 1;
    for a in 0..=ACTIONS.len() {
        for c in 0..codes {
            let n = m.counts[a * codes + c].load(Ordering::Relaxed);
            if n > 0 {
                let code = ErrorCode::ALL.get(c).map_or("OK", |e| e.spec().code);
                let _ = writeln!(
                    out,
                    "cams_requests_total{{action=\"{}\",code=\"{code}\"}} {n}",
                    name(a)
                );
            }
        }
    }
    out.push_str("# HELP cams_request_duration_seconds RPC request latency inside the server.\n");
    out.push_str("# TYPE cams_request_duration_seconds histogram\n");
    let width = LATENCY_BOUNDS_MICROS.len() + 1;
    for a in 0..=ACTIONS.len() {
        let counts: Vec<u64> = (0..width)
            .map(|b| m.buckets[a * width + b].load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (b, n) in counts.iter().enumerate() {
            cumulative += n;
            let le = LATENCY_BOUNDS_MICROS
                .get(b)
                .map_or("+Inf".to_string(), |us| format!("{}", *us as f64 / 1e6));
            let _ = writeln!(
                out,
                "cams_request_duration_seconds_bucket{{action=\"{}\",le=\"{le}\"}} {cumulative}",
                name(a)
            );
        }
        let sum = m.sum_micros[a].load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "cams_request_duration_seconds_sum{{action=\"{}\"}} {sum}",
            name(a)
        );
        let _ = writeln!(
            out,
            "cams_request_duration_seconds_count{{action=\"{}\"}} {total}",
            name(a)
        );
    }
    out
}

/// Events accepted from a source (`webhook_messenger`, `webhook_whatsapp`, `native`).
pub fn ingested(source: &'static str, events: u64) {
    metrics::counter!("cams_ingested_events_total", "source" => source).increment(events);
}

/// An item of a webhook that could not be used.
pub fn webhook_skipped(reason: &'static str, count: u64) {
    metrics::counter!("cams_webhook_skipped_total", "reason" => reason).increment(count);
}

/// An answer the emulator's fault rules made (`code` is `latency` for a delay alone).
pub fn fault_injected(action: &'static str, code: &'static str) {
    metrics::counter!("cams_faults_injected_total", "action" => action, "code" => code)
        .increment(1);
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

/// A connection closed by the server: `idle_timeout`, `header_timeout`, `refused_head` (a malformed or
/// oversized head answered at the door), `evicted` (closed to make room at the cap), `full` (refused at
/// the cap: every connection busy).
pub fn connection_closed(reason: &'static str) {
    metrics::counter!("cams_connections_closed_total", "reason" => reason).increment(1);
}

/// Open connections of a listener (`http`, `https`), sampled when `/metrics` is scraped.
pub fn connections_open(listener: &'static str, open: usize, cap: usize) {
    metrics::gauge!("cams_connections_open", "listener" => listener).set(open as f64);
    metrics::gauge!("cams_connections_max", "listener" => listener).set(cap as f64);
}

/// Cluster mode: how many stream messages this node's fold is behind, and how many nodes share quotas.
pub fn replication(lag: u64, nodes: u64) {
    metrics::gauge!("cams_replication_lag_messages").set(lag as f64);
    metrics::gauge!("cams_cluster_nodes").set(nodes as f64);
}
