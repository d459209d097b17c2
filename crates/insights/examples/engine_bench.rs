//! Release-mode measurement of the engine: apply rate, query latency, memory per message, checkpoint times.
//!
//! ```text
//! cargo run --release -p insights --example engine_bench -- [MESSAGES] [CAMPAIGNS] [--apply-only] [--save FILE]
//! cargo run --release -p insights --example engine_bench -- --load FILE
//! ```
//! Generates MESSAGES messages (~3.5 events each: sent, delivered 90 %, read 75 % of delivered, clicks on
//! 30 % of delivered with repeats, failures, 10 % duplicate events, 5 % out of order) over 30 days and
//! 40 countries with skewed weights (some in E2/E5), half of the deliveries priced, the rest from a rate card.

use std::time::{Duration, Instant};

use insights::{
    Breakdown, CountryCode, Currency, DateRange, Engine, EngineConfig, Event, EventKind, Query,
    RateCard, TimeIncrement,
};

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const COUNTRIES: [&str; 40] = [
    "BR", "IN", "ID", "MX", "US", "NG", "PK", "EG", "TR", "AR", "CO", "PH", "VN", "ZA", "SA", "AE",
    "MY", "TH", "KE", "PE", "CL", "BD", "MA", "DE", "FR", "IT", "ES", "GB", "JP", "KR", "PL", "NL",
    "CA", "AU", "IL", "UA", "KZ", "RU", "GH", "EC",
];

/// Runs of each query shape (enough for the 10 ms resolution of the CPU clock).
const QUERY_RUNS: u32 = 5001;

/// Compact generated event: message index, kind, timestamp, price.
#[derive(Clone, Copy)]
struct Gen {
    message: u32,
    kind: EventKind,
    ts: i64,
    price: i64, // -1 = none
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `--load FILE`: only time loading a checkpoint written by `--save FILE`.
    if let Some(path) = args
        .iter()
        .position(|a| a == "--load")
        .and_then(|i| args.get(i + 1))
    {
        let bytes = std::fs::read(path).unwrap_or_default();
        let t = Instant::now();
        let c = cpu_time();
        match Engine::read_checkpoint(EngineConfig::default(), &mut bytes.as_slice()) {
            Ok(engine) => println!(
                "loaded {} messages in {:.2?} (CPU {:.2?}), heap {:.1} MiB",
                engine.message_count(),
                t.elapsed(),
                cpu_time().saturating_sub(c),
                engine.heap_bytes_estimate() as f64 / 1048576.0
            ),
            Err(e) => println!("load failed: {e}"),
        }
        return;
    }
    let n: u32 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let n_campaigns: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let start_ms = 1_751_328_000_000i64; // 2025-07-01T00:00:00Z
    let span_ms = 30 * 86_400_000i64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Skewed country weights: weight of country i is 1 / (i + 1).
    let weights: Vec<u64> = (0..COUNTRIES.len() as u64)
        .map(|i| 10_000 / (i + 1))
        .collect();
    let total_weight: u64 = weights.iter().sum();
    let mut country_of_message: Vec<u8> = Vec::with_capacity(n as usize);

    let t0 = Instant::now();
    let mut gen: Vec<Gen> = Vec::with_capacity(n as usize * 4);
    for m in 0..n {
        let mut w = rng.below(total_weight);
        let mut ci = 0;
        while w >= weights[ci] {
            w -= weights[ci];
            ci += 1;
        }
        country_of_message.push(ci as u8);
        let sent = start_ms + rng.below(span_ms as u64) as i64;
        gen.push(Gen {
            message: m,
            kind: EventKind::Sent,
            ts: sent,
            price: -1,
        });
        if rng.chance(90) {
            let delivered = sent + 1_000 + rng.below(600_000) as i64;
            let price = if rng.chance(50) {
                14_100 + 100 * rng.below(5) as i64
            } else {
                -1
            };
            gen.push(Gen {
                message: m,
                kind: EventKind::Delivered,
                ts: delivered,
                price,
            });
            if rng.chance(75) {
                let read = delivered + rng.below(7_200_000) as i64;
                gen.push(Gen {
                    message: m,
                    kind: EventKind::Read,
                    ts: read,
                    price: -1,
                });
            }
            if rng.chance(30) {
                let mut click = delivered + rng.below(3_600_000) as i64;
                gen.push(Gen {
                    message: m,
                    kind: EventKind::Click,
                    ts: click,
                    price: -1,
                });
                while rng.chance(30) {
                    click += rng.below(600_000) as i64;
                    gen.push(Gen {
                        message: m,
                        kind: EventKind::Click,
                        ts: click,
                        price: -1,
                    });
                }
            }
        } else {
            gen.push(Gen {
                message: m,
                kind: EventKind::Failed,
                ts: sent + 5_000,
                price: -1,
            });
        }
    }
    // 10 % duplicates.
    let originals = gen.len();
    for _ in 0..originals / 10 {
        let i = rng.below(originals as u64) as usize;
        gen.push(gen[i]);
    }
    // Time order, then 5 % displaced (out of order).
    gen.sort_unstable_by_key(|g| g.ts);
    let len = gen.len();
    for _ in 0..len / 20 {
        let i = rng.below(len as u64) as usize;
        let j = rng.below(len as u64) as usize;
        gen.swap(i, j);
    }
    println!(
        "generated {} events for {} messages in {:.1?} ({:.2} events/message)",
        len,
        n,
        t0.elapsed(),
        len as f64 / f64::from(n)
    );

    let countries: Vec<CountryCode> = COUNTRIES.iter().filter_map(|c| c.parse().ok()).collect();
    let campaign_names: Vec<String> = (0..n_campaigns).map(|c| format!("23900{c:05}")).collect();
    let mut event = Event {
        campaign_id: String::new(),
        recipient: String::with_capacity(24),
        kind: EventKind::Sent,
        timestamp_ms: 0,
        country: None,
        event_id: None,
        price_micros: None,
    };
    let fill = |event: &mut Event, g: &Gen| {
        use std::fmt::Write;
        event.campaign_id.clear();
        event
            .campaign_id
            .push_str(&campaign_names[(g.message % n_campaigns) as usize]);
        event.recipient.clear();
        let _ = write!(event.recipient, "+55119{:08}", g.message);
        event.kind = g.kind;
        event.timestamp_ms = g.ts;
        event.country = Some(countries[usize::from(country_of_message[g.message as usize])]);
        event.event_id = None;
        event.price_micros = (g.price >= 0).then_some(g.price);
    };

    // Cost of building the events alone, to subtract from the apply loop.
    let t = Instant::now();
    let c = cpu_time();
    let mut checksum = 0usize;
    for g in &gen {
        fill(&mut event, g);
        checksum += event.recipient.len();
    }
    let build = t.elapsed();
    let build_cpu = cpu_time().saturating_sub(c);

    let mut engine = Engine::new(EngineConfig::default());
    let t = Instant::now();
    let c = cpu_time();
    let mut changed = 0u64;
    for g in &gen {
        fill(&mut event, g);
        if engine.apply(&event) == insights::Applied::Changed {
            changed += 1;
        }
    }
    let total = t.elapsed();
    let apply = total.saturating_sub(build);
    let apply_cpu = cpu_time().saturating_sub(c).saturating_sub(build_cpu);
    println!(
        "apply: {} events in {:.2?} (event building {:.2?} subtracted: {:.2?}) -> {:.2} M events/s ({:.0} ns/event), {} changed  [{}]",
        len,
        total,
        build,
        apply,
        len as f64 / apply.as_secs_f64() / 1e6,
        apply.as_nanos() as f64 / len as f64,
        changed,
        checksum % 7
    );
    println!(
        "apply (thread CPU time): {:.2?} -> {:.2} M events/s ({:.0} ns/event)",
        apply_cpu,
        len as f64 / apply_cpu.as_secs_f64().max(1e-9) / 1e6,
        apply_cpu.as_nanos() as f64 / len as f64
    );
    drop(gen);
    if args.iter().any(|a| a == "--apply-only") {
        return;
    }

    let heap = engine.heap_bytes_estimate();
    println!(
        "memory: {} messages, heap estimate {:.1} MiB = {:.1} bytes/message; VmRSS {}",
        engine.message_count(),
        heap as f64 / 1048576.0,
        heap as f64 / engine.message_count() as f64,
        rss()
    );

    let mut rates = RateCard::empty();
    let _ = rates.add_csv(
        "Market,Currency,Marketing\nBR,USD,0.0625\nIN,USD,0.0107\nDefault,USD,0.05\n",
        chrono::NaiveDate::MIN,
    );
    let usd = Currency::from_code("USD").unwrap_or_else(|| unreachable!());
    let range = DateRange {
        start: chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
        stop: chrono::NaiveDate::from_ymd_opt(2025, 7, 31).unwrap_or_default(),
    };
    for (label, tz, increment, breakdown) in [
        (
            "all_days, no breakdown, America/Sao_Paulo",
            "America/Sao_Paulo",
            TimeIncrement::AllDays,
            Breakdown::None,
        ),
        (
            "all_days, no breakdown, Asia/Kathmandu",
            "Asia/Kathmandu",
            TimeIncrement::AllDays,
            Breakdown::None,
        ),
        (
            "all_days, by country, America/Sao_Paulo",
            "America/Sao_Paulo",
            TimeIncrement::AllDays,
            Breakdown::Country,
        ),
        (
            "daily (32 rows), no breakdown",
            "America/Sao_Paulo",
            TimeIncrement::Days(1),
            Breakdown::None,
        ),
    ] {
        let q = Query {
            tz: tz.parse().unwrap_or(chrono_tz::UTC),
            currency: usd,
            range,
            increment,
            breakdown,
        };
        let mut times = Vec::new();
        let mut rows = 0;
        let cpu_start = cpu_time();
        for _ in 0..QUERY_RUNS {
            let t = Instant::now();
            let r = engine.query(&campaign_names[0], &q, &rates);
            let f: Vec<_> = r.iter().map(|row| row.format(&usd)).collect();
            times.push(t.elapsed());
            rows = f.len();
        }
        let cpu_mean = cpu_time().saturating_sub(cpu_start) / QUERY_RUNS;
        times.sort_unstable();
        println!(
            "query {label}: median {:.2?}, p99 {:.2?}, mean CPU {:.2?} ({rows} rows, formatted)",
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            cpu_mean
        );
    }
    let q = Query {
        tz: chrono_tz::UTC,
        currency: usd,
        range,
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    };
    let row = engine.query(&campaign_names[0], &q, &rates)[0];
    let f = row.format(&usd);
    println!(
        "answer: delivered {} read_rate {} clicks {} click_rate {} spend {} cpd {} cpc {}",
        f.delivered,
        f.read_rate,
        f.link_btn_click,
        f.link_btn_click_rate,
        f.spend,
        f.cost_per_delivered,
        f.cost_per_link_btn_click
    );

    let t = Instant::now();
    let mut bytes = Vec::new();
    if let Err(e) = engine.write_checkpoint(&mut bytes) {
        println!("checkpoint write failed: {e}");
        return;
    }
    let write = t.elapsed();
    if let Some(path) = args
        .iter()
        .position(|a| a == "--save")
        .and_then(|i| args.get(i + 1))
    {
        if let Err(e) = std::fs::write(path, &bytes) {
            println!("could not save {path}: {e}");
        }
    }
    let t = Instant::now();
    let c = cpu_time();
    match Engine::read_checkpoint(EngineConfig::default(), &mut bytes.as_slice()) {
        Ok(restored) => {
            let read = t.elapsed();
            let read_cpu = cpu_time().saturating_sub(c);
            let same = restored.query(&campaign_names[0], &q, &rates)
                == engine.query(&campaign_names[0], &q, &rates);
            println!(
                "checkpoint: {:.1} MiB ({:.1} bytes/message), write {:.2?}, read+rebuild {:.2?} (CPU {:.2?}), identical answers: {same}",
                bytes.len() as f64 / 1048576.0,
                bytes.len() as f64 / engine.message_count() as f64,
                write,
                read,
                read_cpu
            );
        }
        Err(e) => println!("checkpoint read failed: {e}"),
    }
}

/// CPU time (user + system) of this thread, from /proc (the machine is shared: wall time overstates cost).
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some(after.get(11)?.parse::<u64>().ok()? + after.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}
