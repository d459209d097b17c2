//! The P7 peer check as a test: DuckDB computes the insights from the raw events in SQL
//! (`bench/peers.py`), and every field must equal ours, on a generated dataset and on the edge-case
//! sets of `bench/fuzz_peers.py` (DST transitions, ties, duplicates, odd clicks). Timings are printed,
//! never asserted.

mod common;

use std::process::Command;

use common::{python_venv, repo};

fn python() -> std::path::PathBuf {
    // DuckDB only: chDB is large, and the full comparison is `bench/peers.py` by hand (bench/README.md).
    python_venv("peers-venv", &["duckdb==2.0.1"])
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn duckdb_computes_exactly_our_insights() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    let bin = env!("CARGO_BIN_EXE_cams-insights");
    run(Command::new(bin)
        .args([
            "bench",
            "gen",
            "--messages",
            "5000",
            "--seed",
            "7",
            "--campaigns",
            "3",
            "--out",
        ])
        .arg(&file));
    for extra in [
        &[][..],
        &["--time-increment", "1", "--breakdown", "country"][..],
        &["--time-increment", "monthly", "--tz", "Asia/Kathmandu"][..],
    ] {
        run(Command::new(&python)
            .arg(repo().join("bench/peers.py"))
            .arg(&file)
            .args([
                "--engines",
                "duckdb",
                "--runs",
                "1",
                "--iterations",
                "10",
                "--binary",
                bin,
            ])
            .args(extra));
    }
    run(Command::new(&python)
        .arg(repo().join("bench/fuzz_peers.py"))
        .args([
            "--cases",
            "12",
            "--seed",
            "3",
            "--engines",
            "duckdb",
            "--binary",
            bin,
        ]));
}
