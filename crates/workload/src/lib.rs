//! The deterministic workload generator (`bench gen`, the demo's history, and tests).
//!
//! Realistic structure (docs/performance.md): ~40 countries with skewed weights (a share in
//! E2/E5, some unknown), delivery ~90 %, reads ~70 % of deliveries, clicks on ~10 % of deliveries
//! with some repeats, failures, ~5 % duplicated events, ~5 % out of order, timestamps over 30 days.
//! Same seed, same events, same bytes: the generator uses its own PRNG (SplitMix64), never the
//! platform's.

use insights::{Event, EventKind};

/// Countries and their weights (per mille of messages); `None` is a recipient with no known country.
const COUNTRIES: &[(Option<&str>, u32)] = &[
    (Some("US"), 180),
    (Some("BR"), 90),
    (Some("IN"), 90),
    (Some("MX"), 60),
    (Some("ID"), 50),
    (Some("PH"), 40),
    (Some("NG"), 30),
    (Some("EG"), 25),
    (Some("VN"), 25),
    (Some("TH"), 25),
    (Some("CO"), 25),
    (Some("PK"), 20),
    (Some("BD"), 15),
    (Some("TR"), 30),
    (Some("AR"), 25),
    (Some("KR"), 10),
    (Some("JP"), 20),
    (Some("DE"), 25),
    (Some("FR"), 20),
    (Some("GB"), 25),
    (Some("IT"), 15),
    (Some("ES"), 15),
    (Some("PL"), 8),
    (Some("NL"), 7),
    (Some("SE"), 5),
    (Some("ZA"), 15),
    (Some("KE"), 8),
    (Some("SA"), 15),
    (Some("AE"), 10),
    (Some("MY"), 12),
    (Some("CL"), 8),
    (Some("PE"), 8),
    (Some("CA"), 15),
    (Some("AU"), 8),
    (Some("MA"), 6),
    (Some("DZ"), 5),
    (Some("UA"), 5),
    (Some("KZ"), 4),
    (Some("GH"), 4),
    (Some("NP"), 3),
    (None, 30),
];

/// Price per delivered message in micro-units of USD, by country (roughly Meta's marketing rates).
fn price_micros(country: Option<&str>) -> i64 {
    match country {
        Some("US") | Some("CA") => 25_000,
        Some("BR") => 62_500,
        Some("IN") => 10_700,
        Some("MX") => 30_500,
        Some("DE") | Some("FR") | Some("IT") | Some("ES") | Some("NL") | Some("SE")
        | Some("PL") => 61_000,
        Some("GB") => 52_900,
        Some("JP") => 47_000,
        Some("AR") | Some("CL") | Some("CO") | Some("PE") => 61_800,
        Some("TR") => 10_900,
        Some("KR") => 22_500,
        Some("SA") | Some("AE") => 45_500,
        _ => 22_000,
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    pub messages: u64,
    pub seed: u64,
    /// Campaign ids; messages are spread round-robin.
    pub campaigns: Vec<String>,
    /// First possible timestamp (ms); events span 30 days from here.
    pub start_ms: i64,
}

/// SplitMix64: small, fast, and the same on every platform and version. The project's one generator of
/// deterministic test data.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability per_mille / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const SPAN_MS: i64 = 30 * 86_400_000;

/// Generates the events, calling `emit` for each, in emission order (with the duplicates and the
/// disorder already in it).
pub fn generate(spec: &WorkloadSpec, mut emit: impl FnMut(Event)) {
    let mut rng = Rng(spec.seed ^ 0x5eed_cafe_f00d_d00d);
    let total_weight: u32 = COUNTRIES.iter().map(|(_, w)| w).sum();
    // Events held back to be emitted late (out of order), with the message index to release at.
    let mut held: Vec<(u64, Event)> = Vec::new();
    let mut click_seq = 0u64;
    for i in 0..spec.messages {
        let campaign = &spec.campaigns[(i % spec.campaigns.len() as u64) as usize];
        let mut pick = rng.below(u64::from(total_weight)) as u32;
        let mut country = None;
        for (c, w) in COUNTRIES {
            if pick < *w {
                country = *c;
                break;
            }
            pick -= w;
        }
        let recipient = format!("psid-{}", 1_000_000 + i);
        let sent_at = spec.start_ms + rng.below(SPAN_MS as u64) as i64;
        let base = |kind: EventKind, t: i64| Event {
            campaign_id: campaign.clone(),
            recipient: recipient.clone(),
            kind,
            timestamp_ms: t,
            country: country.and_then(|c| c.parse().ok()),
            event_id: None,
            price_micros: None,
        };
        let mut events = vec![base(EventKind::Sent, sent_at)];
        if rng.chance(900) {
            let delivered_at = sent_at + 500 + rng.below(120_000) as i64;
            let mut delivered = base(EventKind::Delivered, delivered_at);
            if rng.chance(800) {
                delivered.price_micros = Some(price_micros(country));
            }
            events.push(delivered);
            if rng.chance(700) {
                let read_at = delivered_at + 1_000 + rng.below(6 * 3_600_000) as i64;
                events.push(base(EventKind::Read, read_at));
                if rng.chance(140) {
                    let clicks = 1 + u64::from(rng.chance(250)) + u64::from(rng.chance(100));
                    for _ in 0..clicks {
                        click_seq += 1;
                        let mut click = base(
                            EventKind::Click,
                            read_at + 1_000 + rng.below(3_600_000) as i64,
                        );
                        click.event_id = Some(format!("clk-{}", click_seq));
                        events.push(click);
                    }
                }
            }
        } else if rng.chance(600) {
            events.push(base(
                EventKind::Failed,
                sent_at + 1_000 + rng.below(60_000) as i64,
            ));
        }
        for e in events {
            if rng.chance(50) {
                // Out of order: released a few messages later, after events that follow it in time.
                held.push((i + 1 + rng.below(20), e));
                continue;
            }
            if rng.chance(50) {
                // Duplicate delivery of the same event, later in the stream.
                held.push((i + 1 + rng.below(50), e.clone()));
            }
            emit(e);
        }
        if !held.is_empty() {
            let mut k = 0;
            while k < held.len() {
                if held[k].0 <= i {
                    let (_, e) = held.swap_remove(k);
                    emit(e);
                } else {
                    k += 1;
                }
            }
        }
    }
    // Whatever is still held comes last, in a deterministic order.
    held.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.timestamp_ms.cmp(&b.1.timestamp_ms))
    });
    for (_, e) in held {
        emit(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> WorkloadSpec {
        WorkloadSpec {
            messages: 2000,
            seed,
            campaigns: vec!["120200000000000001".into(), "120200000000000002".into()],
            start_ms: 1_751_328_000_000,
        }
    }

    fn lines(seed: u64) -> Vec<String> {
        let mut out = Vec::new();
        generate(&spec(seed), |e| out.push(insights::to_native_line(&e)));
        out
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(lines(7), lines(7));
        assert_ne!(lines(7), lines(8));
    }

    #[test]
    fn realistic_shape() {
        let mut events = Vec::new();
        generate(&spec(1), |e| events.push(e));
        assert!(
            (5_000..9_000).contains(&events.len()),
            "{} events for 2000 messages",
            events.len()
        );
        let clicks = events.iter().filter(|e| e.kind == EventKind::Click).count();
        assert!(clicks > 100, "{clicks}");
        let unique: std::collections::HashSet<String> =
            events.iter().map(insights::to_native_line).collect();
        assert!(unique.len() < events.len(), "there are duplicates");
        let disorder = events
            .windows(2)
            .filter(|w| w[0].recipient == w[1].recipient && w[0].timestamp_ms > w[1].timestamp_ms)
            .count();
        assert!(disorder > 0, "some events come out of order");
        assert!(events.iter().all(|e| e.validate().is_ok()));
    }
}
