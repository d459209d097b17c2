//! The web console in a real headless Chromium against `cams-insights serve --demo`.
//!
//! The test brings what it needs itself: Debian's `chromium` and `chromium-driver` (installed with apt
//! when missing), and a venv under the target directory with the official SDK (the reference the console
//! is compared with) and Selenium. It starts the real binary on an ephemeral port, runs
//! `tests/console/console_checks.py`, and leaves the screenshots under `target/console-screenshots/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{python_venv, repo, DemoServer};

#[test]
fn the_console_in_headless_chromium_shows_what_the_sdk_answers() {
    let (chromium, chromedriver) = testkit::chromium();
    let sdk = repo().join("tests/sdk/requirements.txt");
    let selenium = repo().join("tests/console/requirements.txt");
    let python = python_venv(
        "console-venv",
        &[sdk.to_str().unwrap(), selenium.to_str().unwrap()],
    );
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("console-screenshots");
    let out = Command::new(&python)
        .arg(repo().join("tests/console/console_checks.py"))
        .arg(&demo.file)
        .arg(&artifacts)
        .env("CHROMIUM", &chromium)
        .env("CHROMEDRIVER", &chromedriver)
        .output()
        .expect("the checks run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "console checks failed (screenshots in {}):\n{stdout}\n{}",
        artifacts.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The browser's V3 signer (`crates/server/console/sign.js`) against the published signing vectors, in
/// Node.js (the same WebCrypto API as the browser).
#[test]
fn the_browser_signer_matches_the_signing_vectors() {
    let node = testkit::node();
    let out = Command::new(node)
        .arg(repo().join("crates/server/console/sign.test.mjs"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("all passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
