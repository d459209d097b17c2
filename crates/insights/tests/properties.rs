//! Property tests over small colliding alphabets (2 campaigns, 6 recipients, timestamps on a coarse grid
//! around DST transitions) so that duplicates, ties and late earlier events are frequent:
//! (a) permutation and duplication of the stream never change results;
//! (b) the incremental engine equals the naive reference evaluator (with directory updates interleaved,
//!     many zones, ranges across DST changes, exclusions, unknown countries, rate cards);
//! (c) a checkpoint round trip gives an engine that answers and continues identically.

mod common;

use common::*;
use insights::{
    reference, Breakdown, CountryCode, DateRange, Engine, EngineConfig, Event, EventKind,
    Exclusions, Query, RateCard, TimeIncrement,
};
use proptest::prelude::*;

const CAMPAIGNS: [&str; 2] = ["2390001", "123456789012345678901"];
const RECIPIENTS: [&str; 6] = [
    "+14155550100",
    "+447911123456",
    "+33612345678",
    "psid-1",
    "psid-2",
    "+5511987654321",
];
const ZONES: [&str; 8] = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Tokyo",
];
/// UTC instants of DST transitions (2024) in the zones above; each case clusters its events around one.
const ANCHORS: [&str; 8] = [
    "2024-03-10T07:00:00Z", // New York spring forward
    "2024-11-03T06:00:00Z", // New York fall back
    "2024-03-31T01:00:00Z", // London spring forward
    "2024-10-27T01:00:00Z", // London fall back
    "2024-10-05T15:30:00Z", // Lord Howe +10:30 -> +11
    "2024-09-08T04:00:00Z", // Santiago midnight gap
    "2024-04-06T14:00:00Z", // Chatham fall back
    "2024-04-07T03:00:00Z", // Santiago fall back
];

#[derive(Clone, Debug)]
enum Op {
    Event(Event),
    Directory(String, CountryCode),
}

fn countries(codes: &[&str]) -> Vec<CountryCode> {
    codes.iter().map(|c| country(c)).collect()
}

fn arb_event(anchor_ms: i64) -> impl Strategy<Value = Event> {
    (
        0..CAMPAIGNS.len(),
        0..RECIPIENTS.len(),
        proptest::sample::select(EventKind::ALL.to_vec()),
        -26i64..=26,
        proptest::sample::select(vec![0i64, 0, 0, 1, 999, 899_999]),
        proptest::option::weighted(
            0.4,
            proptest::sample::select(countries(&["US", "FR", "JP", "AR", "KR", "BR", "GB"])),
        ),
        proptest::option::weighted(0.5, proptest::sample::select(vec!["e1", "e2", "e3"])),
        proptest::option::weighted(
            0.3,
            proptest::sample::select(vec![0i64, 10_000, 14_100, 20_000]),
        ),
    )
        .prop_map(
            move |(c, r, kind, half_hours, jitter, country, event_id, price_micros)| Event {
                campaign_id: CAMPAIGNS[c].to_string(),
                recipient: RECIPIENTS[r].to_string(),
                kind,
                timestamp_ms: anchor_ms + half_hours * 1_800_000 + jitter,
                country,
                event_id: event_id.map(str::to_string),
                price_micros,
            },
        )
}

fn arb_op(anchor_ms: i64) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => arb_event(anchor_ms).prop_map(Op::Event),
        1 => (0..RECIPIENTS.len(), proptest::sample::select(countries(&["US", "FR", "AR", "BR", "JP", "CA"])))
            .prop_map(|(r, c)| Op::Directory(RECIPIENTS[r].to_string(), c)),
    ]
}

/// A query around the anchor's date: any zone, 1–4 days starting up to 2 days before, any increment,
/// either breakdown, USD or JPY.
fn arb_query(anchor_ms: i64) -> impl Strategy<Value = Query> {
    let anchor_date = insights::dates::local_date(anchor_ms, tz("UTC"));
    (
        proptest::sample::select(ZONES.to_vec()),
        -2i64..=1,
        0i64..=3,
        prop_oneof![
            Just(TimeIncrement::AllDays),
            (1u32..=3).prop_map(TimeIncrement::Days),
            Just(TimeIncrement::Monthly)
        ],
        prop_oneof![Just(Breakdown::None), Just(Breakdown::Country)],
        proptest::sample::select(vec!["USD", "JPY"]),
    )
        .prop_map(move |(zone, offset, len, increment, breakdown, cur)| {
            let start =
                anchor_date + chrono::Days::new(10) - chrono::Days::new((10 - offset) as u64);
            let stop = start + chrono::Days::new(len as u64);
            Query {
                tz: tz(zone),
                currency: currency(cur),
                range: DateRange { start, stop },
                increment,
                breakdown,
            }
        })
}

/// A rate card with an entry that changes inside the window, a default, and nothing for JPY.
fn rate_card(anchor_ms: i64) -> RateCard {
    let d = insights::dates::local_date(anchor_ms, tz("UTC"));
    let mut card = RateCard::empty();
    let csv1 = "Market,Currency,Marketing\nBR,USD,0.0625\nUS,USD,0.025\nDefault,USD,0.05\n";
    let csv2 = "Market,Currency,Marketing\nBR,USD,0.07\nFR,USD,0.11\n";
    card.add_csv(csv1, d - chrono::Days::new(1))
        .unwrap_or_else(|e| panic!("{e}"));
    card.add_csv(csv2, d + chrono::Days::new(1))
        .unwrap_or_else(|e| panic!("{e}"));
    card
}

fn config(custom: bool) -> EngineConfig {
    let exclusions = if custom {
        Exclusions::new(countries(&["US", "GG"]), countries(&["BR"]))
    } else {
        Exclusions::meta_default()
    };
    EngineConfig { exclusions }
}

fn run(engine: &mut Engine, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Event(e) => {
                engine.apply(e);
            }
            Op::Directory(r, c) => engine.set_recipient_country(r, *c),
        }
    }
}

fn split(ops: &[Op]) -> (Vec<Event>, Vec<(String, CountryCode)>) {
    let mut events = Vec::new();
    let mut directory = Vec::new();
    for op in ops {
        match op {
            Op::Event(e) => events.push(e.clone()),
            Op::Directory(r, c) => directory.push((r.clone(), *c)),
        }
    }
    (events, directory)
}

/// (anchor, ops, queries, use the rate card, custom exclusions)
fn arb_case() -> impl Strategy<Value = (i64, Vec<Op>, Vec<Query>, bool, bool)> {
    proptest::sample::select(ANCHORS.to_vec()).prop_flat_map(|anchor| {
        let a = ms(anchor);
        (
            Just(a),
            proptest::collection::vec(arb_op(a), 0..60),
            proptest::collection::vec(arb_query(a), 1..6),
            any::<bool>(),
            proptest::bool::weighted(0.2),
        )
    })
}

fn assert_same_answers(
    a: &Engine,
    b: &Engine,
    queries: &[Query],
    rates: &RateCard,
) -> Result<(), TestCaseError> {
    for q in queries {
        for c in CAMPAIGNS.iter().chain(&["unknown-campaign"]) {
            prop_assert_eq!(
                a.query(c, q, rates),
                b.query(c, q, rates),
                "campaign {} query {:?}",
                c,
                q
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// (a) Any permutation with any duplication of the events, and any interleaving of the directory
    /// updates with them (their own order kept), gives the same answers.
    #[test]
    fn permutation_and_duplication_do_not_matter(
        (anchor, ops, queries, use_card, custom) in arb_case(),
        seed in any::<u64>(),
        dup_picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let (events, directory) = split(&ops);
        let rates = if use_card { rate_card(anchor) } else { RateCard::empty() };
        let mut a = Engine::new(config(custom));
        for (r, c) in &directory {
            a.set_recipient_country(r, *c);
        }
        for e in &events {
            a.apply(e);
        }
        // Shuffle (deterministic from `seed`) and add duplicates; put directory updates at the end.
        let mut shuffled: Vec<Event> = events.clone();
        if !events.is_empty() {
            for pick in &dup_picks {
                shuffled.push(events[pick.index(events.len())].clone());
            }
        }
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut b = Engine::new(config(custom));
        for e in &shuffled {
            b.apply(e);
        }
        for (r, c) in &directory {
            b.set_recipient_country(r, *c);
        }
        prop_assert_eq!(a.message_count(), b.message_count());
        prop_assert_eq!(a.campaign_ids(), b.campaign_ids());
        for c in CAMPAIGNS {
            prop_assert_eq!(a.first_event_ms(c), b.first_event_ms(c));
        }
        assert_same_answers(&a, &b, &queries, &rates)?;
    }

    /// (b) The engine equals the reference evaluator, midway and at the end.
    #[test]
    fn engine_equals_reference((anchor, ops, queries, use_card, custom) in arb_case()) {
        let rates = if use_card { rate_card(anchor) } else { RateCard::empty() };
        let cfg = config(custom);
        let mut engine = Engine::new(cfg.clone());
        let half = ops.len() / 2;
        for (prefix_end, chunk) in [(half, &ops[..half]), (ops.len(), &ops[half..])] {
            run(&mut engine, chunk);
            let (events, directory) = split(&ops[..prefix_end]);
            for q in &queries {
                for c in CAMPAIGNS {
                    let expected = reference::evaluate(&events, &directory, &cfg, c, q, &rates);
                    let got = engine.query(c, q, &rates);
                    prop_assert_eq!(&got, &expected, "campaign {} after {} ops, query {:?}", c, prefix_end, q);
                    // Formatting never fails and keeps the counts.
                    for row in &got {
                        let f = row.format(&q.currency);
                        prop_assert_eq!(f.delivered, row.delivered.to_string());
                    }
                }
            }
            prop_assert!(engine.aggregates_consistent());
        }
    }

    /// (c) Checkpoint write -> read gives identical answers, and both engines continue identically.
    #[test]
    fn checkpoint_round_trip((anchor, ops, queries, use_card, custom) in arb_case(), cut in any::<prop::sample::Index>()) {
        let rates = if use_card { rate_card(anchor) } else { RateCard::empty() };
        let split_at = if ops.is_empty() { 0 } else { cut.index(ops.len() + 1) };
        let mut original = Engine::new(config(custom));
        run(&mut original, &ops[..split_at]);
        let mut bytes = Vec::new();
        original.write_checkpoint(&mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut restored = Engine::read_checkpoint(config(custom), &mut bytes.as_slice())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(original.message_count(), restored.message_count());
        prop_assert_eq!(original.event_count(), restored.event_count());
        prop_assert_eq!(original.campaign_ids(), restored.campaign_ids());
        for c in CAMPAIGNS {
            prop_assert_eq!(original.first_event_ms(c), restored.first_event_ms(c));
        }
        assert_same_answers(&original, &restored, &queries, &rates)?;
        // Writing the restored engine gives the same bytes.
        let mut again = Vec::new();
        restored.write_checkpoint(&mut again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&bytes, &again);
        // Both continue identically (including duplicates of events already applied).
        run(&mut original, &ops[split_at..]);
        run(&mut restored, &ops[split_at..]);
        run(&mut original, &ops[..split_at]);
        run(&mut restored, &ops[..split_at]);
        prop_assert_eq!(original.event_count(), restored.event_count());
        assert_same_answers(&original, &restored, &queries, &rates)?;
        prop_assert!(restored.aggregates_consistent());
    }
}
