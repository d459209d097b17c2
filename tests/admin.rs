//! Configuration tools and hot reload: `keys create|disable|list`, `policy simulate|check`, SIGHUP.

mod common;

use common::{signing_client, ServerProcess};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use acs_client::{Call, Client};

const UID: &str = "1234567890123456";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cams-insights"));
    c.env("RUST_LOG", "warn");
    c
}

fn run(c: &mut Command) -> Output {
    let out = c.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "{c:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn config_text(data: &Path) -> String {
    format!(
        r#"# a comment the tools must keep
[storage]
data_dir = "{}"

[[accounts]]
uid = "{UID}"

[[accounts.access_keys]]
id = "LTAI5tFirstKey000000001"
secret = "FirstSecret0123456789abcdefghij"

[[accounts.users]]
name = "reader"
policies = ["AliyunCamsReadOnlyAccess"]

[[accounts.cust_spaces]]
id = "cams-a"
[[accounts.cust_spaces.pages]]
id = "p"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad"
currency = "USD"
timezone = "UTC"
"#,
        data.display()
    )
}

fn code(rt: &tokio::runtime::Runtime, c: &Client) -> String {
    let r = rt
        .block_on(c.call(&Call::new(
            "ListPageAdAccount",
            "2020-06-06",
            &[("CustSpaceId", "cams-a"), ("PageId", "p")],
        )))
        .unwrap();
    r.json()["Code"].as_str().unwrap_or("").to_string()
}

fn hup(server: &ServerProcess) {
    let ok = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn eventually(mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "condition never held"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn keys_and_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cams.toml");
    std::fs::write(&config, config_text(&dir.path().join("data"))).unwrap();
    // A key for the read-only user, created in the file before the server starts.
    let out = run(bin()
        .args(["keys", "create", "--user", "reader", "--config"])
        .arg(&config));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (reader_id, reader_secret) = (field("AccessKeyId:"), field("AccessKeySecret:"));
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .starts_with("# a comment the tools must keep"));
    let listed =
        String::from_utf8_lossy(&run(bin().args(["keys", "list", "--config"]).arg(&config)).stdout)
            .to_string();
    assert!(
        listed.contains(&reader_id)
            && listed.contains("user/reader")
            && !listed.contains(&reader_secret),
        "{listed}"
    );

    let server = ServerProcess::start(&config, dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let root = signing_client(
        &server.endpoint,
        "LTAI5tFirstKey000000001",
        "FirstSecret0123456789abcdefghij",
    );
    let reader = signing_client(&server.endpoint, &reader_id, &reader_secret);
    assert_eq!(code(&rt, &root), "OK");
    assert_eq!(code(&rt, &reader), "OK");

    // A second root key, created while the server runs: usable after SIGHUP.
    let out = run(bin().args(["keys", "create", "--config"]).arg(&config));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let second = signing_client(
        &server.endpoint,
        &field("AccessKeyId:"),
        &field("AccessKeySecret:"),
    );
    assert_eq!(code(&rt, &second), "InvalidAccessKeyId.NotFound");
    hup(&server);
    eventually(|| code(&rt, &second) == "OK");

    // Disabling the reader's key.
    run(bin()
        .args(["keys", "disable", "--config"])
        .arg(&config)
        .arg(&reader_id));
    hup(&server);
    eventually(|| code(&rt, &reader) == "InvalidAccessKeyId.Inactive");

    // A broken file is refused and the running configuration kept.
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("[[accounts]]", "[[acounts]]")).unwrap();
    hup(&server);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(code(&rt, &root), "OK");
    assert_eq!(code(&rt, &second), "OK");
    // The same keep-alive client kept working throughout: no connection was dropped.
}

#[test]
fn policy_simulate_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cams.toml");
    std::fs::write(&config, config_text(&dir.path().join("data"))).unwrap();
    let out = run(bin()
        .args([
            "policy",
            "simulate",
            "--principal",
            "reader",
            "--action",
            "cams:ListMessageCampaign",
            "--config",
        ])
        .arg(&config));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Allow") && text.contains("AliyunCamsReadOnlyAccess"),
        "{text}"
    );
    let out = run(bin()
        .args([
            "policy",
            "simulate",
            "--principal",
            "reader",
            "--action",
            "cams:CreateMessageCampaign",
            "--config",
        ])
        .arg(&config));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ImplicitDeny"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}}]}"#).unwrap();
    let out = bin().args(["policy", "check"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Statement[0]") && err.contains("10.0.0.0/33"),
        "{err}"
    );
}
