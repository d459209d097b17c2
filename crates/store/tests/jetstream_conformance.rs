//! The conformance suite, unchanged, against the JetStream backend: a real three-server JetStream
//! cluster (R=3) on loopback, once with Debian's nats-server 2.9.10 (the floor users have) and once with
//! a current release. Each test gets its own stream, named after its directory, so reopening a directory
//! reattaches to the same stream.

use std::path::Path;

use store::jetstream::{open, JetStreamOptions};
use store::{HostOptions, Store};
use testkit::{NatsCluster, NatsVersion};

fn stream_name(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    format!("T{:016x}", h.finish())
}

fn run_suite(version: NatsVersion) {
    let cluster = NatsCluster::start(version, Path::new(env!("CARGO_TARGET_TMPDIR")), 3);
    let urls = cluster.urls();
    let opener = |dir: &Path| -> Store {
        let name = stream_name(dir);
        open(
            dir,
            HostOptions::default(),
            JetStreamOptions {
                urls: urls.clone(),
                subject_prefix: name.to_lowercase(),
                stream: name,
                replicas: 3,
                node_id: "conformance".into(),
                folds: None,
                auth: Default::default(),
            },
        )
        .expect("the JetStream store opens")
    };
    for (name, test) in store::conformance::ALL {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        test(&opener, dir.path());
        println!("{version:?} {name}: ok in {:?}", started.elapsed());
    }
}

#[test]
fn conformance_on_nats_server_2_9_10() {
    run_suite(NatsVersion::Floor);
}

#[test]
fn conformance_on_a_current_nats_server() {
    run_suite(NatsVersion::Current);
}

/// A checkpoint that covers more of the stream than the stream holds (the stream restored from an older
/// backup, or recreated) is refused with a clear message instead of silently skipping new entries.
#[test]
fn a_checkpoint_ahead_of_the_stream_is_refused() {
    let cluster = NatsCluster::start(
        NatsVersion::Floor,
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = |stream: &str| JetStreamOptions {
        urls: cluster.urls(),
        subject_prefix: stream.to_lowercase(),
        stream: stream.into(),
        replicas: 1,
        node_id: "ahead".into(),
        folds: None,
        auth: Default::default(),
    };
    {
        let store = open(dir.path(), HostOptions::default(), opts("AHEAD1")).unwrap();
        for i in 0..3 {
            store::wait(store.append(
                "1000000000000001",
                None,
                vec![insights::Event {
                    campaign_id: "120200000000000001".into(),
                    recipient: format!("r{i}"),
                    kind: insights::EventKind::Sent,
                    timestamp_ms: 1_751_443_200_000,
                    country: None,
                    event_id: None,
                    price_micros: None,
                }],
            ))
            .unwrap();
        }
    }
    // The same directory over a stream that holds less (here: a new, empty one).
    let err = open(dir.path(), HostOptions::default(), opts("AHEAD2"))
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("checkpoint") && text.contains("AHEAD2"),
        "{text}"
    );
}
