//! The CLI as a user runs it: `bench gen`, `import` (offline and into a running server),
//! `import-recipients`, `import-rates`, `query`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cams-insights"));
    c.env("RUST_LOG", "warn");
    c
}

fn run(c: &mut Command) -> Output {
    let out = c.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}\n{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file of generated events with a few bad lines spliced in at known places.
fn events_file(dir: &Path) -> (std::path::PathBuf, usize) {
    let generated = dir.join("gen.ndjson");
    run(bin()
        .args(["bench", "gen", "--messages", "2000", "--seed", "3", "--out"])
        .arg(&generated));
    let text = std::fs::read_to_string(&generated).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(4, "{not json".into());
    lines.insert(9, r#"{"campaign_id":"1","recipient":"r","event":"clicked","timestamp":"2025-07-01T00:00:00Z"}"#.into());
    let path = dir.join("events.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, lines.len())
}

#[test]
fn gen_is_deterministic() {
    let a = run(bin().args(["bench", "gen", "--messages", "300", "--seed", "9"]));
    let b = run(bin().args(["bench", "gen", "--messages", "300", "--seed", "9"]));
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.len() > 300 * 100);
}

#[test]
fn offline_import_reports_bad_lines_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let (file, lines) = events_file(dir.path());
    let data = dir.path().join("data");
    let first = run(bin()
        .args(["import", "--account", "1000000000000001", "--data-dir"])
        .arg(&data)
        .arg(&file));
    let err = stderr(&first);
    assert!(err.contains("line 5: "), "{err}");
    assert!(
        err.contains("line 10: unknown event kind `clicked`"),
        "{err}"
    );
    let summary = stdout(&first);
    assert!(
        summary.contains(&format!("{lines} lines: {} accepted", lines - 2)),
        "{summary}"
    );
    assert!(summary.contains("2 rejected"), "{summary}");
    let again = run(bin()
        .args(["import", "--account", "1000000000000001", "--data-dir"])
        .arg(&data)
        .arg(&file));
    assert!(
        stdout(&again).contains("(0 changed the metrics)"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn recipients_and_rates_imports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let recipients = dir.path().join("r.csv");
    std::fs::write(&recipients, "recipient,country\npsid-1,BR\npsid-2,DE\n").unwrap();
    let out = run(bin()
        .args([
            "import-recipients",
            "--account",
            "1000000000000001",
            "--data-dir",
        ])
        .arg(&data)
        .arg(&recipients));
    assert!(stdout(&out).contains("2 recipients set"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "recipient,country\npsid-1,XX\n").unwrap();
    let out = bin()
        .args([
            "import-recipients",
            "--account",
            "1000000000000001",
            "--data-dir",
        ])
        .arg(&data)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 2: unknown country code `XX`"),
        "{}",
        stderr(&out)
    );
    let rates = dir.path().join("rates.csv");
    std::fs::write(
        &rates,
        "country,currency,price\nUS,USD,0.025\nDefault,USD,0.02\n",
    )
    .unwrap();
    let out = run(bin()
        .args([
            "import-rates",
            "--effective-from",
            "2025-01-01",
            "--data-dir",
        ])
        .arg(&data)
        .arg(&rates));
    assert!(stdout(&out).contains("effective from 2025-01-01"));
    let out = bin()
        .args([
            "import-rates",
            "--effective-from",
            "2025-13-01",
            "--data-dir",
        ])
        .arg(&data)
        .arg(&rates)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn import_into_a_running_server_then_query() {
    let dir = tempfile::tempdir().unwrap();
    let demo_file = dir.path().join("demo.json");
    let _demo = Demo(
        bin()
            .args(["serve", "--demo", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--demo-file")
            .arg(&demo_file)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !demo_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&demo_file).unwrap()).unwrap();
    let campaign = demo["campaign_id"].as_str().unwrap();
    // Three more clicks on the demo campaign, one bad line, one duplicate.
    let events = dir.path().join("more.ndjson");
    let line = |i: u32| {
        format!(
            r#"{{"campaign_id":"{campaign}","recipient":"cli-{i}","event":"click","timestamp":"{}","country":"BR","event_id":"cli-{i}"}}"#,
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    std::fs::write(
        &events,
        format!(
            "{}\n{}\nnot json\n{}\n{}\n",
            line(1),
            line(2),
            line(3),
            line(3)
        ),
    )
    .unwrap();
    let before = run(bin()
        .args(["query", "--json", "--demo-file"])
        .arg(&demo_file));
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let out = run(bin()
        .args(["import", "--demo-file"])
        .arg(&demo_file)
        .arg(&events));
    assert!(stderr(&out).contains("line 3: "), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("5 lines: 4 accepted (3 changed the metrics), 1 rejected"),
        "{}",
        stdout(&out)
    );
    let after = run(bin()
        .args(["query", "--json", "--demo-file"])
        .arg(&demo_file));
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    let clicks = |v: &serde_json::Value| {
        v["Data"][0]["MarketingMessagesLinkBtnClick"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(clicks(&after), clicks(&before) + 3);
    // The table form.
    let table = stdout(&run(bin()
        .args(["query", "--demo-file"])
        .arg(&demo_file)
        .args(["--breakdown", "country"])));
    assert!(table.lines().next().unwrap().contains("country"), "{table}");
    assert!(table.contains(" BR "), "{table}");
}
