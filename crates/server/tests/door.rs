//! The front door, over raw TCP with the exact bytes: every refusal of the HTTP layer comes back with its
//! documented status and Alibaba's JSON envelope; slow and silent clients are timed out; silent
//! connections beyond the cap never lock out real requests.

mod common;

use std::time::{Duration, Instant};

use acs_client::{Call, SignatureScheme};
use bytes::Bytes;
use serde_json::Value;
use server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{test_config, TestServer};

/// The test configuration with tighter connection settings.
fn config(tune: impl FnOnce(&mut server::config::ServerConfig)) -> Config {
    let mut c = test_config();
    tune(&mut c.server);
    c.validate().expect("valid");
    c
}

/// Everything the server sends until it closes the connection (or `wait` passes).
async fn exchange(server: &TestServer, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    read_until_closed(&mut s, wait).await
}

async fn read_until_closed(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    out
}

/// A response's status, headers (lowercase names), body, and the bytes that follow it.
type Parsed = (u16, Vec<(String, String)>, Vec<u8>, Vec<u8>);

/// One HTTP/1.1 response parsed off the front of `raw`.
fn response(raw: &[u8]) -> Parsed {
    let text_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..text_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let body_start = text_end + 4;
    let body = raw[body_start..body_start + len].to_vec();
    (status, headers, body, raw[body_start + len..].to_vec())
}

/// Asserts an envelope of `code` with `status`, its request id in the header and the body.
fn assert_envelope(raw: &[u8], status: u16, code: &str) -> Value {
    let (got, headers, body, _) = response(raw);
    assert_eq!(got, status, "{}", String::from_utf8_lossy(raw));
    let v: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("a JSON envelope: {}", String::from_utf8_lossy(raw)));
    assert_eq!(v["Code"], code, "{v}");
    for field in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(
            v[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {v}"
        );
    }
    assert_eq!(v["HostId"], "cams.test.local");
    let header_id = headers
        .iter()
        .find(|(k, _)| k == "x-acs-request-id")
        .map(|(_, v)| v.clone());
    assert_eq!(header_id.as_deref(), v["RequestId"].as_str());
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/json")));
    v
}

const HOST: &str = "Host: 127.0.0.1\r\n";

#[tokio::test]
async fn every_malformed_request_gets_its_status_and_the_envelope() {
    let server = TestServer::start(test_config()).await;
    let long = "a".repeat(300 * 1024);
    let many: String = (0..600).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("a 300 KiB header", format!("GET / HTTP/1.1\r\n{HOST}X-Big: {long}\r\n\r\n").into_bytes(), 431, "RequestHeaderTooLarge"),
        ("600 headers", format!("GET / HTTP/1.1\r\n{HOST}{many}\r\n").into_bytes(), 431, "RequestHeaderTooLarge"),
        ("a 20 KiB header", format!("GET / HTTP/1.1\r\n{HOST}X-Big: {}\r\n\r\n", "a".repeat(20 * 1024)).into_bytes(), 431, "RequestHeaderTooLarge"),
        ("a 64 KiB URI", format!("GET /?{} HTTP/1.1\r\n{HOST}\r\n", "a".repeat(64 * 1024)).into_bytes(), 414, "RequestURITooLong"),
        ("Content-Length: -1", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: -1\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("Content-Length: abc", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: abc\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("Content-Length: 1e3", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 1e3\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("Content-Length: 0x10", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 0x10\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("a 23-digit Content-Length", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 99999999999999999999999\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("two different Content-Lengths", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab").into_bytes(), 400, "MalformedRequest"),
        ("Content-Length and chunked", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("Transfer-Encoding: xchunked", format!("POST / HTTP/1.1\r\n{HOST}Transfer-Encoding: xchunked\r\n\r\n").into_bytes(), 501, "UnsupportedTransferEncoding"),
        ("a NUL byte in a header", format!("GET / HTTP/1.1\r\n{HOST}X-A: a\0b\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("a control byte in a header", format!("GET / HTTP/1.1\r\n{HOST}X-A: a\x01b\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("a header line without a colon", format!("GET / HTTP/1.1\r\n{HOST}NoColonHere\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("raw 0xFF in the path", [b"GET /\xff HTTP/1.1\r\n".as_slice(), HOST.as_bytes(), b"\r\n"].concat(), 400, "MalformedRequest"),
        ("HTTP/9.9", format!("GET / HTTP/9.9\r\n{HOST}\r\n").into_bytes(), 505, "HTTPVersionNotSupported"),
        ("a TLS ClientHello", [&[0x16u8, 0x03, 0x01, 0x00, 0xc8, 0x01][..], &[0u8; 200]].concat(), 400, "MalformedRequest"),
        ("a malformed chunk size", format!("POST / HTTP/1.1\r\n{HOST}Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").into_bytes(), 400, "MalformedRequest"),
        ("a body shorter than announced", format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 10\r\n\r\nabc").into_bytes(), 400, "MalformedRequest"),
    ];
    for (name, bytes, status, code) in cases {
        // The short body's client closes its side after writing, so the server sees the body end early.
        let raw = if name == "a body shorter than announced" {
            let mut s = TcpStream::connect(server.addr).await.unwrap();
            s.write_all(&bytes).await.unwrap();
            s.shutdown().await.unwrap();
            read_until_closed(&mut s, Duration::from_secs(5)).await
        } else {
            exchange(&server, &bytes, Duration::from_secs(5)).await
        };
        assert!(!raw.is_empty(), "{name}: no answer at all");
        let v = assert_envelope(&raw, status, code);
        println!("{name}: {} {}", status, v["Message"]);
    }
}

#[tokio::test]
async fn a_good_request_before_a_bad_one_is_answered_first() {
    let server = TestServer::start(test_config()).await;
    let raw = exchange(
        &server,
        format!("GET /healthz HTTP/1.1\r\n{HOST}\r\nGET / HTTP/9.9\r\n{HOST}\r\n").as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    let (status, _, body, rest) = response(&raw);
    assert_eq!(
        (status, body.as_slice()),
        (200, br#"{"status":"ok"}"#.as_slice())
    );
    assert_envelope(&rest, 505, "HTTPVersionNotSupported");
}

#[tokio::test]
async fn keep_alive_goes_on_after_bodies_of_every_framing() {
    let server = TestServer::start(test_config()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // A form body by length, a chunked form body with a trailer, then a plain GET, pipelined.
    let form = "Action=ListPageAdAccount&Version=2020-06-06";
    let chunked = format!("{:x}\r\n{form}\r\n0\r\nX-T: 1\r\n\r\n", form.len());
    let bytes = format!(
        "POST / HTTP/1.1\r\n{HOST}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}\
         POST / HTTP/1.1\r\n{HOST}Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}\
         GET /healthz HTTP/1.1\r\n{HOST}Connection: close\r\n\r\n",
        form.len()
    );
    s.write_all(bytes.as_bytes()).await.unwrap();
    let raw = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let (status, _, body, rest) = response(&raw);
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["Code"],
        "MissingSignature"
    );
    let (status, _, body, rest) = response(&rest);
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["Code"],
        "MissingSignature"
    );
    let (status, _, _, _) = response(&rest);
    assert_eq!(status, 200);
}

/// A signed request's bytes, with a second `Authorization` header before or after the real one.
fn signed_with_two_authorizations(server: &TestServer, garbage_first: bool) -> Vec<u8> {
    let client = server.client(SignatureScheme::parse("v3").unwrap());
    let request = client.build(&Call::new("ListPageAdAccount", "2020-06-06", &[]));
    let (parts, _) = request.into_parts();
    let mut out = format!("POST {} HTTP/1.1\r\n", parts.uri.path_and_query().unwrap());
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let at = headers
        .iter()
        .position(|(k, _)| k == "authorization")
        .unwrap();
    let garbage = ("authorization".to_string(), "garbage".to_string());
    headers.insert(if garbage_first { at } else { at + 1 }, garbage);
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    out.into_bytes()
}

#[tokio::test]
async fn two_authorization_headers_are_refused_in_either_order() {
    let server = TestServer::start(test_config()).await;
    for garbage_first in [false, true] {
        let raw = exchange(
            &server,
            &signed_with_two_authorizations(&server, garbage_first),
            Duration::from_secs(5),
        )
        .await;
        let v = assert_envelope(&raw, 400, "InvalidHeader.Duplicate");
        assert!(v["Message"].as_str().unwrap().contains("authorization"));
    }
}

#[tokio::test]
async fn a_slowloris_head_is_answered_408_and_closed_within_the_header_read_timeout() {
    let server = TestServer::start(config(|s| s.header_read_timeout_secs = 1)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let head = format!("GET /healthz HTTP/1.1\r\n{HOST}X-Slow: ");
    let mut raw = Vec::new();
    // One byte every 100 ms: never a whole head.
    for b in head.bytes().chain(std::iter::repeat(b'a')) {
        if s.write_all(&[b]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
    }
    raw.extend(read_until_closed(&mut s, Duration::from_secs(2)).await);
    let elapsed = started.elapsed();
    assert_envelope(&raw, 408, "RequestTimeout");
    assert!(elapsed < Duration::from_secs(3), "closed after {elapsed:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start(config(|s| s.idle_timeout_secs = 1)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\n{HOST}\r\n").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let raw = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let (status, _, _, rest) = response(&raw);
    assert_eq!(status, 200);
    assert!(rest.is_empty(), "nothing after the answer");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let server = TestServer::start(config(|s| s.body_read_timeout_secs = 1)).await;
    let started = Instant::now();
    let raw = exchange(
        &server,
        format!("POST / HTTP/1.1\r\n{HOST}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=").as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_envelope(&raw, 408, "RequestTimeout");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// `/metrics`' value of a series, 0 when absent.
async fn metric(server: &TestServer, series: &str) -> f64 {
    let client = server.client(SignatureScheme::parse("v3").unwrap());
    let r = client
        .send(
            http::Request::get(format!("http://{}/metrics", server.endpoint()))
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn silent_connections_beyond_the_cap_never_lock_out_real_requests() {
    let cap = 8;
    let server = TestServer::start(config(|s| {
        s.max_connections = Some(cap);
        s.header_read_timeout_secs = 60;
        s.idle_timeout_secs = 60;
    }))
    .await;
    // Three times the cap of connections that say nothing, and some that started a head.
    let mut silent = Vec::new();
    for i in 0..cap * 3 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET /healthz HT").await.unwrap();
        }
        silent.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Real requests still get through, each on a fresh connection.
    for _ in 0..5 {
        let started = Instant::now();
        let raw = exchange(
            &server,
            format!("GET /healthz HTTP/1.1\r\n{HOST}Connection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(response(&raw).0, 200);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let client = server.client(SignatureScheme::parse("v3").unwrap());
    let answer = client
        .call(&Call::new("ListPageAdAccount", "2020-06-06", &[]))
        .await
        .unwrap();
    // The signed request reached the operation (which asks for its parameters).
    assert_eq!(answer.code().as_deref(), Some("MissingParameter"));
    assert!(
        metric(&server, "cams_connections_closed_total{reason=\"evicted\"}").await
            >= (cap * 2) as f64
    );
    assert!(metric(&server, "cams_connections_open{listener=\"http\"}").await <= cap as f64 + 1.0);
    drop(silent);
}

#[tokio::test]
async fn when_every_slot_is_busy_a_newcomer_gets_503_in_the_envelope() {
    let server = TestServer::start(config(|s| {
        s.max_connections = Some(2);
        s.body_read_timeout_secs = 30;
    }))
    .await;
    // Two requests in progress: their bodies are still on the way.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 100\r\n\r\nAc").as_bytes())
            .await
            .unwrap();
        busy.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let raw = exchange(
        &server,
        format!("GET /healthz HTTP/1.1\r\n{HOST}\r\n").as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_envelope(&raw, 503, "ServiceUnavailable");
    // The busy ones finish normally.
    for mut s in busy {
        s.write_all(&[b'x'; 98]).await.unwrap();
        let raw = read_until_closed(&mut s, Duration::from_millis(500)).await;
        assert_eq!(response(&raw).0, 400, "{}", String::from_utf8_lossy(&raw));
    }
}

#[tokio::test]
async fn hyper_level_limits_never_answer_before_ours() {
    // A body within the RPC limit but over hyper's buffer, sent in one go: still ours to judge.
    let server = TestServer::start(test_config()).await;
    let body = "a".repeat(70 * 1024);
    let raw = exchange(
        &server,
        format!(
            "POST / HTTP/1.1\r\n{HOST}Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    // The test server's RPC body limit is 64 KiB.
    assert_envelope(&raw, 413, "RequestTooLarge");
}
