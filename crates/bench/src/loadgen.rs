//! The HTTP load generator behind `cams-insights bench http|webhook` (docs/performance.md P2 and P4).
//!
//! Generic tools (wrk, ab) replay one request; our signed endpoints need a fresh nonce and a real
//! signature on every request, so the generator is ours. It opens N dedicated HTTP/1.1 keep-alive
//! connections to a loopback server and runs a closed loop on each: one request in flight per
//! connection, the next sent as soon as the previous answer's body is in. A warm-up period comes
//! first and is not recorded; then every request is timed (from just before it is handed to
//! the connection to its full body received) into a fixed-bucket log-linear histogram.
//!
//! Keeping the generator out of the way: each connection is one task that builds (and signs)
//! its own requests and also drives its hyper connection, so a request costs no cross-task
//! wake-ups; the histogram is a preallocated array; the response body buffer is reused; error
//! tallies allocate only the first time a code is seen.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::header::{HeaderValue, HOST};
use http::uri::PathAndQuery;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

/// How long requests still in flight when the measurement ends may take before the run gives
/// up on them (a stalled server must not hang the benchmark).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);
/// Pause before reconnecting after a failed connect, so a dead server is not hammered.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// A request builder for [`Target::Custom`]: given a sequence number unique within the run.
pub type BuildRequest = dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync;

/// What each request of a run is.
// One value per run: the size of the signing client's variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// GET a path with no auth (the trivial endpoint, e.g. "/healthz").
    Trivial { path: String },
    /// A signed RPC call: every request built fresh by the client (new nonce, new signature).
    Signed {
        client: acs_client::Client,
        call: acs_client::Call<'static>,
    },
    /// A request built by a closure per request (webhooks: the caller supplies body and
    /// headers). The argument is a sequence number unique within the run.
    Custom { build: Arc<BuildRequest> },
}

/// How to load the server.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `host:port` (an `http://` prefix is tolerated).
    pub endpoint: String,
    /// Concurrent keep-alive connections, one request in flight on each.
    pub connections: usize,
    /// How long to measure after the warm-up.
    pub duration: Duration,
    /// How long to run before measuring (requests sent then are not recorded).
    pub warmup: Duration,
    /// Stop measuring after this many requests in total (across connections), if sooner.
    pub max_requests: Option<u64>,
}

/// The outcome of a run. Latencies are in microseconds.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Requests measured (sent after the warm-up), whatever their outcome.
    pub requests: u64,
    /// From the end of the warm-up to the last measured answer.
    pub seconds: f64,
    /// `requests / seconds`.
    pub throughput: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    /// Exact, not from a bucket.
    pub max_us: f64,
    /// Non-2xx answers by the envelope's `Code` (or `HTTP <status>` without one), transport
    /// failures as `transport: ...`, and 2xx answers whose body says `"Success":false` as
    /// `business: <Code>` (those also count in `ok` and `business_errors`).
    pub errors_by_code: BTreeMap<String, u64>,
    /// 2xx answers.
    pub ok: u64,
    /// Non-2xx answers and transport failures: `ok + errors == requests`.
    pub errors: u64,
    /// 2xx answers whose body says `"Success":false` (a subset of `ok`).
    pub business_errors: u64,
}

impl LoadReport {
    /// The report as JSON, keys named as the fields.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "requests": self.requests,
            "seconds": self.seconds,
            "throughput": self.throughput,
            "p50_us": self.p50_us,
            "p90_us": self.p90_us,
            "p99_us": self.p99_us,
            "max_us": self.max_us,
            "ok": self.ok,
            "errors": self.errors,
            "business_errors": self.business_errors,
            "errors_by_code": self.errors_by_code,
        })
    }

    /// The column titles matching [`LoadReport::row`].
    pub fn header() -> String {
        format!(
            "{:<24} {:>10} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8}  codes",
            "scenario",
            "requests",
            "seconds",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "ok",
            "errors"
        )
    }

    /// One aligned table row; the error codes (if any) trail the aligned columns.
    pub fn row(&self, name: &str) -> String {
        let codes = self
            .errors_by_code
            .iter()
            .map(|(code, count)| format!("{code}={count}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{:<24} {:>10} {:>8.2} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>10} {:>8}  {}",
            name,
            self.requests,
            self.seconds,
            self.throughput,
            self.p50_us / 1000.0,
            self.p90_us / 1000.0,
            self.p99_us / 1000.0,
            self.max_us / 1000.0,
            self.ok,
            self.errors,
            codes
        )
        .trim_end()
        .to_string()
    }
}

/// `other`'s throughput as a fraction of the trivial endpoint's (the P2/P4 ratios); 0 when the
/// trivial run measured nothing.
pub fn compare(trivial: &LoadReport, other: &LoadReport) -> f64 {
    if trivial.throughput > 0.0 {
        other.throughput / trivial.throughput
    } else {
        0.0
    }
}

/// Runs the load and reports. Fails if the endpoint cannot be resolved or any of the
/// connections cannot be opened at the start (no server); failures after that are counted.
pub async fn run(target: Target, config: &LoadConfig) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(config.connections > 0, "at least one connection is needed");
    let endpoint = config
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let addr = tokio::net::lookup_host(endpoint)
        .await
        .with_context(|| format!("resolving {endpoint}"))?
        .next()
        .with_context(|| format!("{endpoint} resolves to no address"))?;
    let host = HeaderValue::from_str(endpoint)
        .with_context(|| format!("`{endpoint}` is not a valid Host header"))?;
    let target = PreparedTarget::new(target)?;

    // Open every connection before the clock starts, so the warm-up is spent on requests.
    let mut links = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        links.push(Link::open(addr).await?);
    }
    let measure_start = Instant::now() + config.warmup;
    let measure_end = measure_start + config.duration;
    let shared = Arc::new(Shared {
        target,
        host,
        addr,
        measure_start,
        measure_end,
        hard_deadline: measure_end + IN_FLIGHT_GRACE,
        budget: config.max_requests.map(|max| RequestBudget {
            taken: AtomicU64::new(0),
            max,
        }),
        connections: config.connections as u64,
    });
    let tasks: Vec<_> = links
        .into_iter()
        .enumerate()
        .map(|(index, link)| tokio::spawn(connection_loop(shared.clone(), index as u64, link)))
        .collect();
    let mut total = ConnStats::new();
    for task in tasks {
        total.merge(
            task.await
                .context("a load-generator connection task failed")?,
        );
    }
    Ok(total.into_report(measure_start))
}

/// The target, with what can be prepared once (the trivial URI) prepared.
#[allow(clippy::large_enum_variant)] // one per run, like `Target`
enum PreparedTarget {
    Trivial {
        uri: Uri,
    },
    Signed {
        client: acs_client::Client,
        call: acs_client::Call<'static>,
    },
    Custom {
        build: Arc<BuildRequest>,
    },
}

impl PreparedTarget {
    fn new(target: Target) -> anyhow::Result<PreparedTarget> {
        Ok(match target {
            Target::Trivial { path } => {
                let uri = Uri::try_from(path.as_str())
                    .with_context(|| format!("`{path}` is not a valid request path"))?;
                anyhow::ensure!(
                    uri.scheme().is_none() && path.starts_with('/'),
                    "the trivial target takes a path such as /healthz, not `{path}`"
                );
                PreparedTarget::Trivial { uri }
            }
            Target::Signed { client, call } => PreparedTarget::Signed { client, call },
            Target::Custom { build } => PreparedTarget::Custom { build },
        })
    }

    fn build(&self, seq: u64, host: &HeaderValue) -> Request<Full<Bytes>> {
        match self {
            PreparedTarget::Trivial { uri } => {
                // A clone of a parsed `Uri` shares its bytes: no re-parsing, no copy.
                let mut request = Request::new(Full::new(Bytes::new()));
                *request.uri_mut() = uri.clone();
                request.headers_mut().insert(HOST, host.clone());
                request
            }
            PreparedTarget::Signed { client, call } => origin_form(client.build(call), host),
            PreparedTarget::Custom { build } => origin_form(build(seq), host),
        }
    }
}

/// Rewrites an absolute URI (`http://host/path?query`, as the signing client builds it) to the
/// origin form (`/path?query`) that HTTP/1.1 clients send to an origin server (hyper's
/// connection-level client writes the URI as given), and makes sure a Host header is present.
fn origin_form(mut request: Request<Full<Bytes>>, host: &HeaderValue) -> Request<Full<Bytes>> {
    if request.uri().scheme().is_some() || request.uri().authority().is_some() {
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *request.uri_mut() = Uri::from(path);
    }
    if !request.headers().contains_key(HOST) {
        request.headers_mut().insert(HOST, host.clone());
    }
    request
}

/// What every connection task reads.
struct Shared {
    target: PreparedTarget,
    host: HeaderValue,
    addr: SocketAddr,
    measure_start: Instant,
    measure_end: Instant,
    /// After this, requests still in flight are abandoned.
    hard_deadline: Instant,
    budget: Option<RequestBudget>,
    connections: u64,
}

/// `max_requests`, shared by the connections.
struct RequestBudget {
    taken: AtomicU64,
    max: u64,
}

impl RequestBudget {
    /// Takes one request from the budget; false once it is spent.
    fn take(&self) -> bool {
        // Only the count matters, not ordering with other memory.
        self.taken.fetch_add(1, Ordering::Relaxed) < self.max
    }
}

type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One keep-alive connection: the request handle and the connection future that does the I/O.
struct Link {
    sender: http1::SendRequest<Full<Bytes>>,
    connection: Pin<Box<Connection>>,
}

impl Link {
    async fn open(addr: SocketAddr) -> anyhow::Result<Link> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // Small requests and answers: do not let Nagle hold them back.
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        Ok(Link {
            sender,
            connection: Box::pin(connection),
        })
    }
}

/// Why an operation on a connection did not complete.
enum Interrupted {
    /// The connection ended (closed by the peer, or an I/O or protocol error).
    Closed(Option<hyper::Error>),
    /// The run's hard deadline passed.
    Deadline,
}

/// Runs `operation` while driving `connection` in the same task (instead of spawning the
/// connection future, which would cost two cross-task wake-ups per request).
async fn drive<F: Future>(
    connection: &mut Pin<Box<Connection>>,
    deadline: &mut Pin<&mut tokio::time::Sleep>,
    operation: F,
) -> Result<F::Output, Interrupted> {
    tokio::select! {
        biased;
        output = operation => Ok(output),
        ended = connection.as_mut() => Err(Interrupted::Closed(ended.err())),
        () = deadline.as_mut() => Err(Interrupted::Deadline),
    }
}

/// Sends one request and reads its whole body into `body` (cleared by the caller).
async fn exchange(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
    body: &mut Vec<u8>,
) -> Result<StatusCode, hyper::Error> {
    let response = sender.send_request(request).await?;
    let status = response.status();
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        if let Ok(data) = frame?.into_data() {
            body.extend_from_slice(&data);
        }
    }
    Ok(status)
}

/// The closed loop of one connection until the measurement ends or the budget is spent.
async fn connection_loop(shared: Arc<Shared>, index: u64, first: Link) -> ConnStats {
    let mut stats = ConnStats::new();
    let mut link = Some(first);
    let mut body = Vec::with_capacity(16 * 1024);
    let mut sent = 0u64;
    let deadline = tokio::time::sleep_until(tokio::time::Instant::from_std(shared.hard_deadline));
    tokio::pin!(deadline);
    loop {
        let Some(current) = link.as_mut() else {
            // The previous connection ended: open another, as a client pool would.
            let now = Instant::now();
            if now >= shared.measure_end {
                break;
            }
            match Link::open(shared.addr).await {
                Ok(fresh) => link = Some(fresh),
                Err(e) => {
                    if now >= shared.measure_start {
                        stats.transport_error(&format!("{e:#}"));
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
            continue;
        };
        // Wait until the connection takes a request. Closed here means between requests (e.g.
        // after a `Connection: close` answer): no request failed, just reconnect.
        match drive(
            &mut current.connection,
            &mut deadline,
            current.sender.ready(),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(Interrupted::Closed(_)) => {
                link = None;
                continue;
            }
            Err(Interrupted::Deadline) => break,
        }
        let now = Instant::now();
        if now >= shared.measure_end {
            break;
        }
        let measuring = now >= shared.measure_start;
        if measuring && shared.budget.as_ref().is_some_and(|b| !b.take()) {
            break;
        }
        // Unique within the run without a shared counter.
        let seq = sent * shared.connections + index;
        sent += 1;
        // Built (and signed) here, before the clock starts: signing is client work.
        let request = shared.target.build(seq, &shared.host);
        body.clear();
        let started = Instant::now();
        let outcome = drive(
            &mut current.connection,
            &mut deadline,
            exchange(&mut current.sender, request, &mut body),
        )
        .await;
        let finished = Instant::now();
        let mut stop = false;
        match outcome {
            Ok(Ok(status)) => {
                if measuring {
                    stats.answer(finished - started, status, &body);
                }
            }
            Ok(Err(e)) | Err(Interrupted::Closed(Some(e))) => {
                if measuring {
                    stats.transport_error(&e.to_string());
                }
                link = None;
            }
            Err(Interrupted::Closed(None)) => {
                if measuring {
                    stats.transport_error("connection closed with a request in flight");
                }
                link = None;
            }
            Err(Interrupted::Deadline) => {
                if measuring {
                    stats.transport_error("no answer before the end of the run");
                }
                stop = true;
            }
        }
        if measuring {
            stats.last_finished = Some(finished);
        }
        if stop {
            break;
        }
    }
    stats
}

/// What one connection measured (merged into the run's at the end).
struct ConnStats {
    latency: Histogram,
    requests: u64,
    ok: u64,
    errors: u64,
    business_errors: u64,
    /// A few distinct codes at most: a vector searched linearly beats a map and lets a known
    /// code be counted without building its key.
    codes: Vec<(String, u64)>,
    last_finished: Option<Instant>,
}

/// The fields of the API envelope the tallies need (everything else is skipped unallocated).
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Code", default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(rename = "Success", default)]
    success: Option<bool>,
}

fn envelope(body: &[u8]) -> Option<Envelope<'_>> {
    serde_json::from_slice(body).ok()
}

impl ConnStats {
    fn new() -> ConnStats {
        ConnStats {
            latency: Histogram::new(),
            requests: 0,
            ok: 0,
            errors: 0,
            business_errors: 0,
            codes: Vec::new(),
            last_finished: None,
        }
    }

    /// Records an HTTP answer.
    fn answer(&mut self, latency: Duration, status: StatusCode, body: &[u8]) {
        self.requests += 1;
        self.latency.record(duration_ns(latency));
        if status.is_success() {
            self.ok += 1;
            // Parsing every 2xx body would cost more than the server's answer; a byte scan
            // rules out the common case, the parse then confirms it is the envelope's field.
            if mentions_success_false(body) {
                if let Some(env) = envelope(body).filter(|e| e.success == Some(false)) {
                    self.business_errors += 1;
                    let code = env.code.as_deref().unwrap_or("?");
                    self.tally("business: ", code);
                }
            }
        } else {
            self.errors += 1;
            match envelope(body).and_then(|e| e.code) {
                Some(code) => self.tally("", &code),
                None => self.tally("HTTP ", status.as_str()),
            }
        }
    }

    /// Records a request that got no answer.
    fn transport_error(&mut self, message: &str) {
        self.requests += 1;
        self.errors += 1;
        self.tally("transport: ", message);
    }

    /// Counts one `prefix + code`, allocating the key only the first time.
    fn tally(&mut self, prefix: &str, code: &str) {
        let known = self.codes.iter_mut().find(|(key, _)| {
            key.len() == prefix.len() + code.len() && key.starts_with(prefix) && key.ends_with(code)
        });
        match known {
            Some((_, count)) => *count += 1,
            None => self.codes.push((format!("{prefix}{code}"), 1)),
        }
    }

    fn merge(&mut self, other: ConnStats) {
        self.latency.merge(&other.latency);
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors += other.errors;
        self.business_errors += other.business_errors;
        for (key, count) in other.codes {
            match self.codes.iter_mut().find(|(k, _)| *k == key) {
                Some((_, total)) => *total += count,
                None => self.codes.push((key, count)),
            }
        }
        self.last_finished = self.last_finished.max(other.last_finished);
    }

    fn into_report(self, measure_start: Instant) -> LoadReport {
        let seconds = self
            .last_finished
            .map_or(0.0, |last| (last - measure_start).as_secs_f64());
        let us = |ns: u64| ns as f64 / 1000.0;
        LoadReport {
            requests: self.requests,
            seconds,
            throughput: if seconds > 0.0 {
                self.requests as f64 / seconds
            } else {
                0.0
            },
            p50_us: us(self.latency.percentile(0.50)),
            p90_us: us(self.latency.percentile(0.90)),
            p99_us: us(self.latency.percentile(0.99)),
            max_us: us(self.latency.max()),
            errors_by_code: self.codes.into_iter().collect(),
            ok: self.ok,
            errors: self.errors,
            business_errors: self.business_errors,
        }
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether `body` contains `"Success"`, optional spaces, `:`, optional spaces, `false`.
fn mentions_success_false(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"Success\"";
    let mut rest = body;
    while let Some(quote) = rest.iter().position(|&b| b == b'"') {
        let tail = &rest[quote..];
        if let Some(after_key) = tail.strip_prefix(KEY) {
            if let Some(value) = after_key.trim_ascii_start().strip_prefix(b":") {
                if value.trim_ascii_start().starts_with(b"false") {
                    return true;
                }
            }
        }
        rest = &tail[1..];
    }
    false
}

/// Bits of sub-bucket resolution: 128 linear sub-buckets per power of two bound the relative
/// error of a bucket's midpoint to 1/256 (0.4 %).
const SUB_BUCKET_BITS: u32 = 7;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Values up to 2^36 ns (68.7 s) are resolved; larger ones land in the last bucket (the exact
/// maximum is tracked separately).
const TRACKED_BITS: u32 = 36;
const LARGEST_TRACKED: u64 = (1 << TRACKED_BITS) - 1;
const BUCKETS: usize = ((TRACKED_BITS - SUB_BUCKET_BITS + 1) as u64 * SUB_BUCKETS) as usize;

/// A latency histogram in nanoseconds with HDR-style log-linear buckets: values below 256 get
/// a bucket each; above, every power of two [2^k, 2^(k+1)) is cut into 128 equal buckets.
/// Fixed size (30 KiB), so recording never allocates.
struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        let value = value.min(LARGEST_TRACKED);
        if value < 2 * SUB_BUCKETS {
            value as usize
        } else {
            // `shift` drops the bits below the sub-bucket resolution; the top bits (128..=255)
            // pick the sub-bucket, each power of two adds 128 buckets.
            let shift = 63 - value.leading_zeros() - SUB_BUCKET_BITS;
            (u64::from(shift) * SUB_BUCKETS + (value >> shift)) as usize
        }
    }

    /// The smallest value of bucket `index` and the bucket's width.
    fn bucket_bounds(index: usize) -> (u64, u64) {
        let index = index as u64;
        if index < 2 * SUB_BUCKETS {
            (index, 1)
        } else {
            let shift = index / SUB_BUCKETS - 1;
            let sub_bucket = index - shift * SUB_BUCKETS;
            (sub_bucket << shift, 1 << shift)
        }
    }

    fn record(&mut self, value: u64) {
        self.counts[Histogram::index(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    fn max(&self) -> u64 {
        self.max
    }

    /// The nearest-rank percentile (`p` in 0..=1), as the midpoint of its bucket (never above
    /// the exact maximum; the top rank is the maximum itself); 0 when empty.
    fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            // The top rank is the maximum, which is known exactly.
            return self.max;
        }
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, width) = Histogram::bucket_bounds(index);
                return (low + (width - 1) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;
    use std::sync::Mutex;

    use http::request::Parts;
    use http::Response;
    use hyper::body::Incoming;
    use tokio::net::TcpListener;

    /// Log-uniform between 2^0 and 2^bits.
    fn log_uniform(rng: &mut workload::Rng, bits: u32) -> u64 {
        let exponent = (rng.next() % u64::from(bits)) as u32;
        let base = 1u64 << exponent;
        base + rng.next() % base
    }

    #[test]
    fn buckets_tile_the_range_with_bounded_error() {
        let mut expected_low = 0;
        for index in 0..BUCKETS {
            let (low, width) = Histogram::bucket_bounds(index);
            assert_eq!(
                low, expected_low,
                "bucket {index} starts where the last ended"
            );
            assert_eq!(Histogram::index(low), index);
            assert_eq!(Histogram::index(low + width - 1), index);
            assert!(
                low == 0 || width * 128 <= low.max(128),
                "bucket {index} too wide"
            );
            expected_low = low + width;
        }
        assert_eq!(expected_low, LARGEST_TRACKED + 1);
        assert_eq!(Histogram::index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_match_a_sorted_reference_within_bucket_error() {
        let mut rng = workload::Rng(0x9e37_79b9_7f4a_7c15);
        // Two histograms merged, as connections are.
        let (mut a, mut b) = (Histogram::new(), Histogram::new());
        let mut values = Vec::new();
        for i in 0..200_000 {
            // 1 ns .. ~17 s, log-uniform, so every decade is exercised.
            let v = log_uniform(&mut rng, 34);
            values.push(v);
            if i % 3 == 0 {
                a.record(v);
            } else {
                b.record(v);
            }
        }
        a.merge(&b);
        values.sort_unstable();
        for p in [0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
            let exact = values[rank - 1];
            let estimate = a.percentile(p);
            let tolerance = exact / 128 + 1;
            assert!(
                estimate.abs_diff(exact) <= tolerance,
                "p{p}: histogram {estimate}, exact {exact}"
            );
        }
        assert_eq!(a.max(), *values.last().unwrap());
        assert_eq!(a.percentile(1.0), a.max());
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = Histogram::new();
        assert_eq!((h.percentile(0.5), h.max()), (0, 0));
    }

    #[test]
    fn success_false_scan() {
        assert!(mentions_success_false(br#"{"Code":"X","Success":false}"#));
        assert!(mentions_success_false(b"{\"Success\" :\n  false}"));
        assert!(!mentions_success_false(br#"{"Code":"OK","Success":true}"#));
        assert!(!mentions_success_false(br#"{"Successful":false}"#));
        assert!(!mentions_success_false(b""));
        assert!(!mentions_success_false(b"\"Success\""));
    }

    #[test]
    fn outcomes_are_tallied_and_add_up() {
        let mut s = ConnStats::new();
        let ms = Duration::from_millis(1);
        s.answer(ms, StatusCode::OK, br#"{"Code":"OK","Success":true}"#);
        s.answer(ms, StatusCode::OK, b"ok");
        s.answer(
            ms,
            StatusCode::OK,
            br#"{"Code":"Biz.Nope","Success":false}"#,
        );
        s.answer(
            ms,
            StatusCode::BAD_REQUEST,
            br#"{"Code":"Throttling.User"}"#,
        );
        s.answer(
            ms,
            StatusCode::BAD_REQUEST,
            br#"{"Code":"Throttling.User"}"#,
        );
        s.answer(ms, StatusCode::INTERNAL_SERVER_ERROR, b"<html>oops</html>");
        let mut other = ConnStats::new();
        other.transport_error("connection reset");
        other.answer(
            ms,
            StatusCode::BAD_REQUEST,
            br#"{"Code":"Throttling.User"}"#,
        );
        s.merge(other);
        let r = s.into_report(Instant::now());
        assert_eq!(
            (r.requests, r.ok, r.errors, r.business_errors),
            (8, 3, 5, 1)
        );
        assert_eq!(r.ok + r.errors, r.requests);
        let codes: Vec<(&str, u64)> = r
            .errors_by_code
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            codes,
            [
                ("HTTP 500", 1),
                ("Throttling.User", 3),
                ("business: Biz.Nope", 1),
                ("transport: connection reset", 1)
            ]
        );
        // Business answers are in the map but not among the errors.
        let non_business: u64 = r
            .errors_by_code
            .iter()
            .filter(|(k, _)| !k.starts_with("business: "))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(non_business, r.errors);
    }

    #[test]
    fn compare_is_a_throughput_ratio() {
        let trivial = LoadReport {
            throughput: 1000.0,
            ..LoadReport::default()
        };
        let signed = LoadReport {
            throughput: 600.0,
            ..LoadReport::default()
        };
        assert!((compare(&trivial, &signed) - 0.6).abs() < 1e-12);
        assert_eq!(compare(&LoadReport::default(), &signed), 0.0);
        assert_eq!(
            LoadReport::header().find("req/s").map(|i| i + 5),
            signed.row("x").find("600").map(|i| i + 3)
        );
    }

    /// A one-route test server: `answer` gets each request (with its body) and its arrival
    /// number.
    async fn serve<F>(answer: F) -> anyhow::Result<SocketAddr>
    where
        F: Fn(&Parts, &Bytes, u64) -> (StatusCode, &'static str) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let answer = Arc::new(answer);
        let arrivals = Arc::new(AtomicU64::new(0));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, arrivals) = (answer.clone(), arrivals.clone());
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (answer, arrivals) = (answer.clone(), arrivals.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let n = arrivals.fetch_add(1, Ordering::SeqCst);
                        let (status, text) = answer(&parts, &body, n);
                        let mut response =
                            Response::new(Full::new(Bytes::from_static(text.as_bytes())));
                        *response.status_mut() = status;
                        Ok::<_, hyper::Error>(response)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Ok(addr)
    }

    fn config(addr: SocketAddr, connections: usize, max_requests: u64) -> LoadConfig {
        LoadConfig {
            endpoint: addr.to_string(),
            connections,
            // Ends by the request budget, long before this.
            duration: Duration::from_secs(60),
            warmup: Duration::ZERO,
            max_requests: Some(max_requests),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_and_codes_match_what_the_server_answered() -> anyhow::Result<()> {
        let throttled = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let (t, r) = (throttled.clone(), refused.clone());
        let addr = serve(move |parts, _, n| {
            assert_eq!(parts.uri.path(), "/healthz");
            match n % 4 {
                0 | 2 => (StatusCode::OK, r#"{"Code":"OK","Success":true}"#),
                1 => {
                    t.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::BAD_REQUEST, r#"{"Code":"Throttling.User"}"#)
                }
                _ => {
                    r.fetch_add(1, Ordering::SeqCst);
                    (
                        StatusCode::OK,
                        r#"{"Code":"Forbidden.NoSuchCampaign","Success":false}"#,
                    )
                }
            }
        })
        .await?;
        let target = Target::Trivial {
            path: "/healthz".into(),
        };
        let report = run(target, &config(addr, 8, 1000)).await?;
        assert_eq!(report.requests, 1000);
        assert_eq!(report.ok + report.errors, report.requests);
        let throttled = throttled.load(Ordering::SeqCst);
        let refused = refused.load(Ordering::SeqCst);
        assert_eq!(throttled + refused, 500);
        assert_eq!(report.errors, throttled);
        assert_eq!(report.business_errors, refused);
        assert_eq!(report.errors_by_code["Throttling.User"], throttled);
        assert_eq!(
            report.errors_by_code["business: Forbidden.NoSuchCampaign"],
            refused
        );
        assert_eq!(report.errors_by_code.len(), 2);
        assert!(report.p50_us <= report.p90_us && report.p99_us <= report.max_us);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signed_requests_are_fresh_and_in_origin_form() -> anyhow::Result<()> {
        let nonces = Arc::new(Mutex::new(HashSet::new()));
        let seen = nonces.clone();
        let addr = serve(move |parts, _, _| {
            let fresh = parts.uri.scheme().is_none()
                && parts.uri.path() == "/"
                && parts
                    .uri
                    .query()
                    .is_some_and(|q| q.contains("CampaignId=42"))
                && parts.headers.contains_key("authorization")
                && parts
                    .headers
                    .get("x-acs-action")
                    .is_some_and(|a| a == "GetMessageCampaignInsights")
                && parts
                    .headers
                    .get("x-acs-signature-nonce")
                    .and_then(|n| n.to_str().ok())
                    .is_some_and(|n| seen.lock().unwrap().insert(n.to_string()));
            if fresh {
                (StatusCode::OK, r#"{"Code":"OK","Success":true}"#)
            } else {
                (StatusCode::BAD_REQUEST, r#"{"Code":"SignatureNonceUsed"}"#)
            }
        })
        .await?;
        let credentials = acs_client::Credentials {
            access_key_id: "LTAItest".into(),
            access_key_secret: "secret".into(),
            security_token: None,
        };
        let scheme = acs_client::SignatureScheme::parse("v3").context("v3")?;
        let client = acs_client::Client::new(&addr.to_string(), credentials, scheme)?;
        let call = acs_client::Call::new(
            "GetMessageCampaignInsights",
            "2020-06-06",
            &[("CampaignId", "42")],
        );
        let report = run(Target::Signed { client, call }, &config(addr, 4, 300)).await?;
        assert_eq!((report.requests, report.ok), (300, 300));
        assert!(report.errors_by_code.is_empty());
        assert_eq!(nonces.lock().unwrap().len(), 300);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn custom_requests_carry_their_sequence_numbers() -> anyhow::Result<()> {
        let bodies = Arc::new(Mutex::new(HashSet::new()));
        let seen = bodies.clone();
        let addr = serve(move |parts, body, _| {
            assert_eq!(parts.method, http::Method::POST);
            assert!(parts.headers.contains_key(HOST));
            seen.lock().unwrap().insert(body.clone());
            (StatusCode::INTERNAL_SERVER_ERROR, "not json")
        })
        .await?;
        let build: Arc<BuildRequest> = Arc::new(|seq| {
            let mut request = Request::new(Full::new(Bytes::from(format!("event {seq}"))));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = Uri::from_static("/webhooks/meta");
            request
        });
        let report = run(Target::Custom { build }, &config(addr, 3, 90)).await?;
        assert_eq!((report.requests, report.ok, report.errors), (90, 0, 90));
        assert_eq!(report.errors_by_code["HTTP 500"], 90);
        assert_eq!(bodies.lock().unwrap().len(), 90, "sequence numbers repeat");
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_connections_count_as_transport_errors() -> anyhow::Result<()> {
        // Reads a request head, then hangs up without answering.
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        if stream.readable().await.is_err() {
                            return;
                        }
                        match stream.try_read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(_) => return,
                        }
                    }
                });
            }
        });
        let target = Target::Trivial {
            path: "/healthz".into(),
        };
        let report = run(target, &config(addr, 2, 20)).await?;
        assert_eq!((report.requests, report.ok, report.errors), (20, 0, 20));
        assert!(report
            .errors_by_code
            .keys()
            .all(|k| k.starts_with("transport: ")));
        assert_eq!(report.errors_by_code.values().sum::<u64>(), 20);
        Ok(())
    }

    #[tokio::test]
    async fn no_server_is_an_error() -> anyhow::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        drop(listener);
        let target = Target::Trivial {
            path: "/healthz".into(),
        };
        assert!(run(target, &config(addr, 1, 1)).await.is_err());
        Ok(())
    }

    #[test]
    fn bad_trivial_path_is_rejected() {
        for path in ["healthz", "http://x/healthz", "/a b"] {
            let target = Target::Trivial { path: path.into() };
            assert!(PreparedTarget::new(target).is_err(), "{path}");
        }
    }
}
