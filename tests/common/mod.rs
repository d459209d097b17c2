//! Shared by the black-box tests of the binary: a Python virtualenv under the target directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A venv named `name` with `packages` installed (pip arguments, e.g. `-r FILE` or `pkg==1.0`),
/// created on first use and recreated when the package list changes.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python3");
    let marker = venv.join(".installed");
    let wanted = packages
        .iter()
        .map(|p| match std::fs::read_to_string(p) {
            Ok(text) => text,
            Err(_) => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(ok.success(), "python3 -m venv failed");
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        for p in packages {
            if Path::new(p).exists() {
                pip.arg("-r").arg(p);
            } else {
                pip.arg(p);
            }
        }
        let ok = pip.status().expect("pip runs");
        assert!(ok.success(), "pip install {packages:?} failed");
        std::fs::write(&marker, wanted).unwrap();
    }
    python
}
