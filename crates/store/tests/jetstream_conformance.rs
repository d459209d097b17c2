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
