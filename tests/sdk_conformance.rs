//! The official Alibaba Cloud Python SDK against `cams-insights serve --demo`, as a user runs it.
//!
//! The test prepares its own Python environment (a venv under the target directory with the
//! pinned SDK from `tests/sdk/requirements.txt`, installed once), starts the real binary on an
//! ephemeral port, waits for the demo file, and runs the SDK scripts of `tests/sdk/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{python_venv, repo};

/// A venv with the pinned SDK, created on first use.
fn python() -> PathBuf {
    let requirements = repo().join("tests/sdk/requirements.txt");
    python_venv("sdk-venv", &[requirements.to_str().expect("utf-8 path")])
}

struct Demo {
    child: Child,
    demo_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let demo_file = dir.path().join("demo.json");
    let child = Command::new(env!("CARGO_BIN_EXE_cams-insights"))
        .args(["serve", "--demo", "--tls", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--demo-file")
        .arg(&demo_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while !demo_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "demo file never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Demo {
        child,
        demo_file,
        _dir: dir,
    }
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
    let demo = start_demo();
    run_script(
        &python,
        &repo().join("tests/sdk/gateway_checks.py"),
        &demo.demo_file,
    );
}
