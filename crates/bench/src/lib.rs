//! `cams-insights bench`: the deterministic workload and the in-process measurements of
//! `docs/performance.md` (P1 query cost, P3 import rate, P5 memory, P6 restart). Results are printed
//! as a table and written as JSON (`--json PATH`) for comparison across commits. Nothing here
//! asserts a timing: it measures and reports.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use insights::{
    Breakdown, Currency, DateRange, Engine, EngineConfig, Query, RateCard, TimeIncrement,
};
use serde_json::json;
use store::HostOptions;

use workload::WorkloadSpec;

mod cluster;
mod http;
mod loadgen;

/// 2025-07-01T00:00:00Z: the benchmark month.
const BENCH_START_MS: i64 = 1_751_328_000_000;
/// The campaign the benchmarks query.
pub const BENCH_CAMPAIGN: &str = "120200000000000001";
const BENCH_ACCOUNT: &str = "1000000000000001";

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Write the deterministic workload as native NDJSON.
    Gen(GenArgs),
    /// P1 (and P5's engine share): in-process insights query time at several campaign sizes.
    Query(QueryArgs),
    /// P3, P5, P6: durable bulk import of an NDJSON file into a fresh data directory, memory, and
    /// restart time with identical answers.
    Import(ImportArgs),
    /// Every scenario in one run (P1–P6), each report written as JSON into `--out-dir`.
    All(AllArgs),
    /// Our answer for every campaign of an NDJSON file (for the peer comparison, P7): JSON on stdout.
    Answer(AnswerArgs),
    /// P2: signed GetMessageCampaignInsights over HTTP against /healthz in the same run.
    Http(HttpArgs),
    /// P4: signed Meta webhooks (one event per POST, 200 after durable commit) against /healthz.
    Webhook(HttpArgs),
    /// P8–P11 and cluster P2: a three-server JetStream cluster started on loopback, API nodes over it.
    Cluster(cluster::ClusterArgs),
}

#[derive(clap::Args, Debug)]
pub struct AllArgs {
    /// Messages of the import scenario (P3, P5, P6); the spec's size is 10,000,000.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Largest campaign of the query scenario (P1).
    #[arg(long, default_value_t = 1_000_000)]
    query_max: u64,
    /// Seconds per HTTP scenario (P2, P4).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Where the JSON reports and the generated file go (default: a temporary directory).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct AnswerArgs {
    /// The NDJSON file (from `bench gen`).
    #[arg(long)]
    file: PathBuf,
    /// IANA time zone of the ad account.
    #[arg(long, default_value = "America/New_York")]
    tz: String,
    #[arg(long, default_value = "USD")]
    currency: String,
    #[arg(long, default_value = "2025-06-30")]
    date_start: String,
    #[arg(long, default_value = "2025-07-31")]
    date_stop: String,
    /// all_days, 1..90, monthly
    #[arg(long, default_value = "all_days")]
    time_increment: String,
    /// none or country
    #[arg(long, default_value = "none")]
    breakdown: String,
    /// Queries timed per campaign.
    #[arg(long, default_value_t = 1000)]
    iterations: u32,
}

#[derive(clap::Args, Debug, Clone)]
pub struct HttpArgs {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Warm-up seconds per scenario (not recorded).
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Signature of the signed scenario: v3, v3-sm3, v2.
    #[arg(long, default_value = "v3")]
    pub signature: String,
    /// Who signs: `subuser` (a RAM user with a realistic policy set: authorisation on) or `root`.
    #[arg(long, default_value = "subuser")]
    pub principal: String,
    /// Messages in the queried campaign.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    #[arg(long)]
    messages: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of campaigns the messages are spread over.
    #[arg(long, default_value_t = 1)]
    campaigns: u32,
    /// Output file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// Campaign sizes in messages, comma-separated.
    #[arg(long, default_value = "1000,100000,1000000", value_delimiter = ',')]
    sizes: Vec<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Queries timed per size.
    #[arg(long, default_value_t = 20_000)]
    iterations: u32,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The NDJSON file (from `bench gen`).
    #[arg(long)]
    file: PathBuf,
    /// Data directory to import into (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 50_000)]
    batch: usize,
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Gen(a) => gen(a),
        BenchCommand::Query(a) => query(a),
        BenchCommand::Import(a) => import(a),
        BenchCommand::Answer(a) => answer(a),
        BenchCommand::All(a) => all(a),
        BenchCommand::Http(a) => crate::http::http(a, false),
        BenchCommand::Webhook(a) => crate::http::http(a, true),
        BenchCommand::Cluster(a) => crate::cluster::cluster(a),
    }
}

fn spec(messages: u64, seed: u64, campaigns: u32) -> WorkloadSpec {
    WorkloadSpec {
        messages,
        seed,
        campaigns: (0..u64::from(campaigns.max(1)))
            .map(|i| format!("{}", 120_200_000_000_000_001u64 + i))
            .collect(),
        start_ms: BENCH_START_MS,
    }
}

fn gen(a: GenArgs) -> anyhow::Result<()> {
    let out: Box<dyn Write> = match &a.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let mut result = Ok(());
    let mut count = 0u64;
    workload::generate(&spec(a.messages, a.seed, a.campaigns), |e| {
        if result.is_ok() {
            count += 1;
            let mut line = insights::to_native_line(&e);
            line.push('\n');
            result = w.write_all(line.as_bytes());
        }
    });
    result?;
    w.flush()?;
    if a.out.is_some() {
        eprintln!("{count} events for {} messages", a.messages);
    }
    Ok(())
}

/// The benchmark's query: the documented default shape over the benchmark month.
pub fn bench_query() -> Query {
    Query {
        tz: chrono_tz::America::New_York,
        currency: Currency::from_code("USD").expect("USD"),
        range: DateRange::new(
            chrono::NaiveDate::from_ymd_opt(2025, 6, 30).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 31).expect("date"),
        )
        .expect("range"),
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Resident memory of this process, bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn query(a: QueryArgs) -> anyhow::Result<()> {
    let q = bench_query();
    let rates = RateCard::empty();
    let mut results = Vec::new();
    println!(
        "{:>10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>12}",
        "messages", "events", "apply ev/s", "q median", "q p99", "q max", "heap B/msg"
    );
    for &size in &a.sizes {
        let mut engine = Engine::new(EngineConfig::default());
        let mut events = 0u64;
        let started = Instant::now();
        workload::generate(&spec(size, a.seed, 1), |e| {
            events += 1;
            engine.apply(&e);
        });
        let apply_secs = started.elapsed().as_secs_f64();
        // Warm up, then time each query.
        for _ in 0..100 {
            std::hint::black_box(engine.query(BENCH_CAMPAIGN, &q, &rates));
        }
        let mut times = Vec::with_capacity(a.iterations as usize);
        for _ in 0..a.iterations {
            let t = Instant::now();
            std::hint::black_box(engine.query(BENCH_CAMPAIGN, &q, &rates));
            times.push(t.elapsed());
        }
        times.sort();
        let (median, p99, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
        );
        let heap = engine.heap_bytes_estimate() as f64 / engine.message_count().max(1) as f64;
        println!(
            "{:>10} {:>10} {:>12.0} {:>8.2}µs {:>8.2}µs {:>8.2}µs {:>12.1}",
            size,
            events,
            events as f64 / apply_secs,
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            max.as_secs_f64() * 1e6,
            heap
        );
        results.push(json!({
            "messages": size, "events": events, "apply_events_per_sec": events as f64 / apply_secs,
            "query_median_us": median.as_secs_f64() * 1e6, "query_p99_us": p99.as_secs_f64() * 1e6,
            "query_max_us": max.as_secs_f64() * 1e6, "engine_heap_bytes_per_message": heap,
        }));
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let ratio = last["query_median_us"].as_f64().unwrap_or(0.0)
            / first["query_median_us"].as_f64().unwrap_or(1.0);
        println!("P1: median at the largest size / at the smallest = {ratio:.2} (target ≤ 2), largest median {:.2} µs (target ≤ 50)",
            last["query_median_us"].as_f64().unwrap_or(0.0));
    }
    if let Some(path) = a.json {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&json!({"scenario": "query", "results": results}))?,
        )?;
    }
    Ok(())
}

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let temp;
    let dir = match &a.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("data")
        }
    };
    let rss_before = rss_bytes();
    let file =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let store = store::sqlite::open(&dir, HostOptions::default())?;
    let options = ingest::ImportOptions {
        batch_events: a.batch,
        max_listed_rejections: 10,
    };
    let summary = ingest::import(&store, BENCH_ACCOUNT, file, &options, &|_| {})?;
    let stats = store.stats();
    let rss_after = rss_bytes();
    let q = bench_query();
    let answer = store.insights(BENCH_ACCOUNT, BENCH_CAMPAIGN, &q);
    let rate = summary.accepted as f64 / summary.seconds;
    println!("P3 import: {summary}");
    let per_message = (rss_after.saturating_sub(rss_before)) as f64 / stats.messages.max(1) as f64;
    println!(
        "P5 memory: {} messages, RSS {:.1} MiB (+{:.1} MiB), {:.1} B/message resident, engine estimate {:.1} B/message",
        stats.messages,
        rss_after as f64 / 1048576.0,
        (rss_after.saturating_sub(rss_before)) as f64 / 1048576.0,
        per_message,
        stats.engine_heap_bytes as f64 / stats.messages.max(1) as f64
    );
    let t = Instant::now();
    store.close();
    let close_secs = t.elapsed().as_secs_f64();
    drop(store);
    let t = Instant::now();
    let reopened = store::sqlite::open(&dir, HostOptions::default())?;
    let reopen_secs = t.elapsed().as_secs_f64();
    let same = reopened.insights(BENCH_ACCOUNT, BENCH_CAMPAIGN, &q) == answer;
    println!(
        "P6 restart: checkpoint on close {close_secs:.2} s; reopen to serving {reopen_secs:.2} s; identical answers: {same}"
    );
    anyhow::ensure!(same, "answers differ after restart");
    if let Some(path) = a.json {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&json!({
                "scenario": "import",
                "events": summary.accepted, "lines": summary.lines, "seconds": summary.seconds, "events_per_sec": rate,
                "messages": stats.messages, "rss_bytes": rss_after, "rss_bytes_per_message": per_message,
                "engine_heap_bytes_per_message": stats.engine_heap_bytes as f64 / stats.messages.max(1) as f64,
                "checkpoint_on_close_sec": close_secs, "reopen_sec": reopen_secs, "identical_after_restart": same,
            }))?,
        )?;
    }
    Ok(())
}

/// Loads a file as `import --data-dir` does (parallel parse, durable commits) into a temporary
/// store, and prints, for every campaign, the rows of one query with the wire field names, plus
/// the load rate and the in-process query time (through the store, locks included).
fn answer(a: AnswerArgs) -> anyhow::Result<()> {
    let tz: chrono_tz::Tz =
        a.tz.parse()
            .map_err(|_| anyhow::anyhow!("unknown time zone {}", a.tz))?;
    let currency = Currency::from_code(&a.currency).context("unknown currency")?;
    let range =
        insights::parse_date_range(Some(&a.date_start), Some(&a.date_stop), bench_query().range)?;
    let increment: TimeIncrement = a
        .time_increment
        .parse()
        .map_err(|_| anyhow::anyhow!("bad --time-increment"))?;
    let breakdown: Breakdown = a
        .breakdown
        .parse()
        .map_err(|_| anyhow::anyhow!("bad --breakdown"))?;
    let q = Query {
        tz,
        currency,
        range,
        increment,
        breakdown,
    };
    // Loaded the way `import --data-dir` loads: parsed in parallel, committed durably.
    let dir = tempfile::tempdir()?;
    let store = store::sqlite::open(&dir.path().join("data"), HostOptions::default())?;
    let file =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let summary = ingest::import(
        &store,
        BENCH_ACCOUNT,
        file,
        &ingest::ImportOptions::default(),
        &|_| {},
    )?;
    anyhow::ensure!(
        summary.rejected == 0,
        "{} lines of {} are not valid events",
        summary.rejected,
        a.file.display()
    );
    let (events, load_secs) = (summary.accepted, summary.seconds);
    let mut campaigns = store.campaign_ids_with_events(BENCH_ACCOUNT);
    campaigns.sort();
    let mut out = serde_json::Map::new();
    let mut times = Vec::new();
    for c in &campaigns {
        for _ in 0..a.iterations {
            let t = Instant::now();
            std::hint::black_box(store.insights(BENCH_ACCOUNT, c, &q));
            times.push(t.elapsed());
        }
        let rows: Vec<serde_json::Value> = store
            .insights(BENCH_ACCOUNT, c, &q)
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    r.format(&currency)
                        .wire_fields_with(&insights::ExtraFields::all())
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                        .collect(),
                )
            })
            .collect();
        out.insert(c.clone(), serde_json::Value::Array(rows));
    }
    times.sort();
    let median = times
        .get(times.len() / 2)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6);
    println!(
        "{}",
        serde_json::to_string(&json!({
            "events": events, "load_seconds": load_secs, "load_events_per_sec": events as f64 / load_secs,
            "query_median_us": median, "campaigns": out,
        }))?
    );
    Ok(())
}

/// Runs every scenario in turn; each prints its table and writes `<scenario>.json`.
fn all(a: AllArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = a
        .out_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{}.ndjson", a.messages));
    println!("== gen ({} messages)", a.messages);
    gen(GenArgs {
        messages: a.messages,
        seed: 1,
        campaigns: 1,
        out: Some(file.clone()),
    })?;
    let mut sizes = vec![1_000u64];
    let mut s = 100_000u64;
    while s <= a.query_max {
        sizes.push(s);
        s *= 10;
    }
    println!("== P1 query");
    query(QueryArgs {
        sizes,
        seed: 1,
        iterations: 20_000,
        json: Some(dir.join("query.json")),
    })?;
    println!("== P3, P5, P6 import");
    import(ImportArgs {
        file: file.clone(),
        data_dir: None,
        batch: 50_000,
        json: Some(dir.join("import.json")),
    })?;
    let http = |json: &str| crate::HttpArgs {
        connections: 64,
        duration: a.duration,
        warmup: 2,
        signature: "v3".into(),
        principal: "subuser".into(),
        messages: 100_000,
        json: Some(dir.join(json)),
    };
    println!("== P2 http");
    crate::http::http(http("http.json"), false)?;
    println!("== P4 webhook");
    crate::http::http(http("webhook.json"), true)?;
    println!("reports in {}", dir.display());
    if a.out_dir.is_none() {
        // The temporary directory goes away: keep the reports by printing where to ask for them.
        println!("(pass --out-dir to keep them)");
    }
    Ok(())
}
