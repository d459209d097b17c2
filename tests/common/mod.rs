//! Shared by the black-box tests of the binary: a Python virtualenv under the target directory, the
//! binary started as a configured server or as the demo.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A venv named `name` with `packages` installed (pip arguments, e.g. `-r FILE` or `pkg==1.0`),
/// created on first use under the target directory and recreated when the package list changes.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    testkit::python_venv(Path::new(env!("CARGO_TARGET_TMPDIR")), name, packages)
}

/// `cams-insights serve --config CONFIG` on an ephemeral port, killed (SIGKILL) and reaped on drop.
pub struct ServerProcess {
    child: std::process::Child,
    pub endpoint: String,
}

impl ServerProcess {
    /// Starts the binary and waits until it accepts connections (the endpoint file appears).
    // The child is reaped by Drop, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn start(config: &Path, dir: &Path) -> ServerProcess {
        let endpoint_file = dir.join("endpoint.json");
        let _ = std::fs::remove_file(&endpoint_file);
        let child = Command::new(env!("CARGO_BIN_EXE_cams-insights"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .arg("--endpoint-file")
            .arg(&endpoint_file)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut server = ServerProcess {
            child,
            endpoint: String::new(),
        };
        let started = std::time::Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&endpoint_file) {
                let v: serde_json::Value =
                    serde_json::from_str(&text).expect("endpoint file is JSON");
                server.endpoint = v["endpoint"].as_str().expect("endpoint").to_string();
                return server;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the server never came up"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL now.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A V3-signing client with long-term credentials.
pub fn signing_client(endpoint: &str, id: &str, secret: &str) -> acs_client::Client {
    acs_client::Client::new(
        endpoint,
        acs_client::Credentials {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: None,
        },
        acs_client::SignatureScheme::parse("v3").expect("v3"),
    )
    .expect("client")
}

/// `cams-insights serve --demo` on an ephemeral port with its data in `data` (and its demo file beside
/// it, `data.json`), killed (SIGKILL) and reaped on drop.
pub struct DemoServer {
    child: std::process::Child,
    /// The demo file.
    pub file: PathBuf,
    /// Its contents.
    pub json: serde_json::Value,
}

impl DemoServer {
    // The child is reaped by Drop, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn start(data: &Path, extra: &[&str]) -> DemoServer {
        let file = data.with_extension("json");
        let _ = std::fs::remove_file(&file);
        let child = Command::new(env!("CARGO_BIN_EXE_cams-insights"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--demo-file")
            .arg(&file)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the binary starts");
        let started = std::time::Instant::now();
        while !file.exists() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "demo file never appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let json = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        DemoServer { child, file, json }
    }

    /// A string field of the demo file ("" when absent).
    pub fn s(&self, key: &str) -> String {
        self.json[key].as_str().unwrap_or_default().to_string()
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
