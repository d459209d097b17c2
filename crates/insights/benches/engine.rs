//! The engine's hot functions: parsing a native event, applying it, and a query with its
//! formatting (metric assembly). Run: `cargo bench -p insights`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use insights::{
    Breakdown, Currency, DateRange, Engine, EngineConfig, Event, EventKind, Query, RateCard,
    TimeIncrement,
};

const LINE: &[u8] = br#"{"campaign_id":"120200000000000001","recipient":"psid-81","event":"delivered","timestamp":"2025-07-02T09:15:00.123Z","country":"BR","event_id":"e-1","price":"0.0141"}"#;

fn events(n: u32) -> Vec<Event> {
    let countries = ["US", "BR", "IN", "DE", "JP", "AR", "MX", "ID"];
    let mut out = Vec::new();
    for i in 0..n {
        let t = 1_751_328_000_000 + i64::from(i) * 25_000;
        let ev = |kind, dt| Event {
            campaign_id: "120200000000000001".into(),
            recipient: format!("psid-{i}"),
            kind,
            timestamp_ms: t + dt,
            country: Some(countries[(i % 8) as usize].parse().unwrap()),
            event_id: None,
            price_micros: Some(14_100),
        };
        out.push(ev(EventKind::Sent, 0));
        out.push(ev(EventKind::Delivered, 1000));
        if i % 3 != 0 {
            out.push(ev(EventKind::Read, 60_000));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    c.bench_function("parse native event", |b| {
        b.iter(|| insights::parse_native_event(std::hint::black_box(LINE)).unwrap())
    });
    let batch = events(10_000);
    c.bench_function("apply 10k-message batch (~27k events)", |b| {
        b.iter_batched(
            || Engine::new(EngineConfig::default()),
            |mut engine| {
                for e in &batch {
                    engine.apply(e);
                }
                engine
            },
            BatchSize::LargeInput,
        )
    });
    let mut engine = Engine::new(EngineConfig::default());
    for e in events(100_000) {
        engine.apply(&e);
    }
    let currency = Currency::from_code("USD").unwrap();
    let q = Query {
        tz: chrono_tz::America::New_York,
        currency,
        range: DateRange::new(
            chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 31).unwrap(),
        )
        .unwrap(),
        increment: TimeIncrement::AllDays,
        breakdown: Breakdown::None,
    };
    let rates = RateCard::empty();
    c.bench_function("query all_days (100k messages)", |b| {
        b.iter(|| engine.query("120200000000000001", std::hint::black_box(&q), &rates))
    });
    c.bench_function("query + format one row", |b| {
        b.iter(|| {
            let rows = engine.query("120200000000000001", &q, &rates);
            rows[0].format(&currency).wire_fields()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
