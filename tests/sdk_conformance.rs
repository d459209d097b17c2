//! The official Alibaba Cloud Python SDK against `cams-insights serve --demo`, as a user runs it.
//!
//! The test prepares its own Python environment (a venv under the target directory with the
//! pinned SDK from `tests/sdk/requirements.txt`, installed once), starts the real binary on an
//! ephemeral port, waits for the demo file, and runs the SDK scripts of `tests/sdk/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{python_venv, repo, DemoServer};

/// A venv with the pinned SDK, created on first use.
fn python() -> PathBuf {
    let requirements = repo().join("tests/sdk/requirements.txt");
    python_venv("sdk-venv", &[requirements.to_str().expect("utf-8 path")])
}

fn run_script(python: &Path, script: &Path, demo_file: &Path) {
    let out = Command::new(python)
        .arg(script)
        .arg(demo_file)
        .output()
        .expect("script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn official_python_sdk_against_the_demo() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &["--tls"]);
    // The shared smoke test (the project's contract with the official SDK), then the gateway's and
    // RAM's finer checks, against one demo.
    for script in ["sdk_smoke.py", "gateway_checks.py", "ram_checks.py"] {
        run_script(&python, &repo().join("tests/sdk").join(script), &demo.file);
    }
}
