//! Under a small open-file limit, silent connections cannot starve the server of descriptors: started
//! with `ulimit -n 256` (soft and hard), the server takes its connection cap from that limit, and with
//! 300 silent connections open it still answers `/healthz` at once (signed calls under the cap:
//! `crates/server/tests/door.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_small_open_file_limit_and_many_silent_connections_do_not_lock_the_server_out() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint_file = dir.path().join("endpoint.json");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec '{}' serve --demo --data-dir '{}' --endpoint-file '{}'",
            env!("CARGO_BIN_EXE_cams-insights"),
            dir.path().join("data").display(),
            endpoint_file.display()
        ))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let endpoint = loop {
        if let Ok(text) = std::fs::read_to_string(&endpoint_file) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            break v["endpoint"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never came up");
        std::thread::sleep(Duration::from_millis(50));
    };
    let silent: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&endpoint).ok())
        .collect();
    assert!(silent.len() >= 250, "the test opened its connections");
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        let asked = Instant::now();
        let mut s = TcpStream::connect(&endpoint).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(asked.elapsed() < Duration::from_secs(3));
    }
    drop(silent);
    let _ = child.kill();
    let _ = child.wait();
}
