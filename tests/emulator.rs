//! The emulator's controls, black-box against `serve --demo`: fault rules as the official SDK meets
//! them, snapshot → change → restore, reset (empty and to the demo's seed), refusals of bad snapshots
//! with the running state untouched, `serve --from-snapshot`, and the CLI for each.

mod common;

use std::process::{Command, Output};

use acs_client::{Call, Client};
use common::{python_venv, repo, signing_client, DemoServer};
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cams-insights"));
    c.env("RUST_LOG", "warn");
    c
}

/// What the tests here ask of the demo.
trait DemoCalls {
    fn client(&self) -> Client;
    fn admin(&self, args: &[&str]) -> Output;
    fn admin_ok(&self, args: &[&str]) -> String;
    fn insights(&self, rt: &tokio::runtime::Runtime) -> Vec<String>;
    fn change(&self, rt: &tokio::runtime::Runtime);
}

impl DemoCalls for DemoServer {
    fn client(&self) -> Client {
        signing_client(
            &self.s("endpoint"),
            &self.s("access_key_id"),
            &self.s("access_key_secret"),
        )
    }

    fn admin(&self, args: &[&str]) -> Output {
        bin()
            .arg("admin")
            .args(args)
            .arg("--demo-file")
            .arg(&self.file)
            .output()
            .expect("the CLI runs")
    }

    fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The insights answers that must survive a snapshot: whole span, daily, by country. Request ids
    /// aside, byte for byte.
    fn insights(&self, rt: &tokio::runtime::Runtime) -> Vec<String> {
        let c = self.client();
        let (cs, page, ad, campaign) = (
            self.s("cust_space_id"),
            self.s("page_id"),
            self.s("ad_account_id"),
            self.s("campaign_id"),
        );
        // A fixed range around the demo's data (which ends today), within the API's 37 months.
        let today = chrono::Utc::now().date_naive();
        let start = (today - chrono::Duration::days(400)).to_string();
        let stop = (today + chrono::Duration::days(1)).to_string();
        let base = [
            ("CustSpaceId", cs.as_str()),
            ("PageId", page.as_str()),
            ("AdAccountId", ad.as_str()),
            ("CampaignId", campaign.as_str()),
            ("DateStart", start.as_str()),
            ("DateStop", stop.as_str()),
        ];
        let mut out = Vec::new();
        for extra in [
            vec![],
            vec![
                ("TimeIncrement", "1"),
                (
                    "Fields",
                    "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed",
                ),
            ],
            vec![("Breakdowns", "country")],
        ] {
            let mut params = base.to_vec();
            params.extend(extra);
            let r = rt
                .block_on(c.call(&Call::new(
                    "GetMessageCampaignInsights",
                    "2020-06-06",
                    &params,
                )))
                .unwrap();
            let mut v = r.json();
            v.as_object_mut().unwrap().remove("RequestId");
            out.push(v.to_string());
        }
        let r = rt
            .block_on(c.call(&Call::new(
                "ListMessageCampaign",
                "2020-06-06",
                &[
                    ("CustSpaceId", cs.as_str()),
                    ("PageId", page.as_str()),
                    ("Page", r#"{"Index":1,"Size":100}"#),
                ],
            )))
            .unwrap();
        let mut v = r.json();
        v.as_object_mut().unwrap().remove("RequestId");
        out.push(v.to_string());
        out
    }

    /// A change: a new campaign and a delivery of the demo campaign.
    fn change(&self, rt: &tokio::runtime::Runtime) {
        let c = self.client();
        let r = rt
            .block_on(c.call(&Call::new(
                "CreateMessageCampaign",
                "2020-06-06",
                &[
                    ("CustSpaceId", &self.s("cust_space_id")),
                    ("PageId", &self.s("page_id")),
                    ("AdAccountId", &self.s("ad_account_id")),
                    ("Name", "made after the snapshot"),
                    ("BudgetType", "daily"),
                    ("Budget", "100"),
                ],
            )))
            .unwrap();
        assert_eq!(r.json()["Code"], "OK", "{}", r.json());
        let now = (chrono::Utc::now() - chrono::Duration::minutes(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let line = format!(
            r#"{{"campaign_id":"{}","recipient":"after-snapshot-{now}","event":"delivered","timestamp":"{now}","country":"BR"}}"#,
            self.s("campaign_id")
        );
        let mut call = Call::new("PutMessageEvents", "2020-06-06", &[]);
        call.body = Some((line.into(), "application/x-ndjson".into()));
        let r = rt.block_on(c.call(&call)).unwrap();
        assert_eq!(r.json()["Code"], "OK", "{}", r.json());
    }
}

#[test]
fn faults_as_the_official_sdk_meets_them() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let python = python_venv(
        "sdk-venv",
        &[repo().join("tests/sdk/requirements.txt").to_str().unwrap()],
    );
    let out = Command::new(python)
        .arg(repo().join("tests/sdk/emulator_checks.py"))
        .arg(&demo.file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Injected answers are counted.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let metrics = rt.block_on(async {
        let c = demo.client();
        let req = http::Request::get(format!("http://{}/metrics", demo.s("endpoint")))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        String::from_utf8(c.send(req).await.unwrap().body.to_vec()).unwrap()
    });
    assert!(
        metrics.contains(
            r#"cams_faults_injected_total{action="GetMessageCampaignInsights",code="Throttling.User"} 1"#
        ),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("fault"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_fault_cli_adds_lists_refuses_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let added = demo.admin_ok(&[
        "fault",
        "add",
        "--action",
        "ListPageAdAccount",
        "--code",
        "InternalError",
        "--count",
        "2",
    ]);
    assert!(added.contains("\"Id\""), "{added}");
    for (args, words) in [
        (
            vec!["--action", "Nope", "--code", "InternalError"],
            "unknown action",
        ),
        (
            vec!["--action", "ListPageAdAccount", "--code", "Nope"],
            "unknown error code",
        ),
        (
            vec![
                "--action",
                "ListPageAdAccount",
                "--code",
                "InternalError",
                "--probability",
                "2",
            ],
            "probability",
        ),
    ] {
        let mut all = vec!["fault", "add"];
        all.extend(args);
        let out = demo.admin(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Admin.InvalidFaultRule") && err.contains(words),
            "{err}"
        );
    }
    let listed: Value = serde_json::from_str(&demo.admin_ok(&["fault", "list"])).unwrap();
    assert_eq!(listed["Faults"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["Faults"][0]["remaining"], 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = demo.client();
    let call = |c: &Client| {
        rt.block_on(c.call(&Call::new(
            "ListPageAdAccount",
            "2020-06-06",
            &[
                ("CustSpaceId", &demo.s("cust_space_id")),
                ("PageId", &demo.s("page_id")),
            ],
        )))
        .unwrap()
    };
    assert_eq!(call(&c).status, 500);
    assert_eq!(call(&c).json()["Code"], "InternalError");
    assert_eq!(call(&c).json()["Code"], "OK");
    let cleared = demo.admin_ok(&["fault", "clear"]);
    assert!(cleared.contains("\"Cleared\": 1"), "{cleared}");
}

#[test]
fn snapshot_change_restore_reset_and_start_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seeded = demo.insights(&rt);
    let snap = dir.path().join("state.snapshot");
    let said = demo.admin_ok(&["snapshot", "--out", snap.to_str().unwrap()]);
    assert!(said.contains("snapshot written"), "{said}");

    // snapshot → change → restore: byte-identical answers.
    demo.change(&rt);
    let changed = demo.insights(&rt);
    assert_ne!(changed, seeded, "the change shows");
    demo.admin_ok(&["restore", snap.to_str().unwrap()]);
    assert_eq!(demo.insights(&rt), seeded, "restored");

    // Bad snapshots are refused with a clear message, and the running state is untouched.
    demo.change(&rt);
    let before = demo.insights(&rt);
    let good = std::fs::read(&snap).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x40;
    let mut other_version = good.clone();
    other_version[8..12].copy_from_slice(&7u32.to_le_bytes());
    for (name, bytes, words) in [
        ("truncated", good[..good.len() / 3].to_vec(), "cut short"),
        ("flipped", flipped, "checksum"),
        ("other-version", other_version, "another version"),
        (
            "not-a-snapshot",
            b"hello".to_vec(),
            "not a cams-insights snapshot",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = demo.admin(&["restore", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{name} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{name}: {err}");
        // The server refuses it too when the CLI's check is skipped.
        let status = rt.block_on(async {
            let req =
                http::Request::post(format!("http://{}/admin/v1/restore", demo.s("endpoint")))
                    .header("authorization", format!("Bearer {}", demo.s("admin_token")))
                    .body(http_body_util::Full::new(bytes::Bytes::from(
                        std::fs::read(&path).unwrap(),
                    )))
                    .unwrap();
            demo.client().send(req).await.unwrap()
        });
        assert_eq!(status.status, 400, "{name}");
        assert_eq!(status.json()["Code"], "Admin.InvalidSnapshot", "{name}");
        assert_eq!(demo.insights(&rt), before, "{name} changed the state");
    }

    // reset: empty; reset --demo: the seed.
    demo.admin_ok(&["reset"]);
    let empty = demo.insights(&rt);
    assert!(
        empty[0].contains("InvalidParameter.CampaignInvalid"),
        "{}",
        empty[0]
    );
    assert!(empty[3].contains(r#""Total":0"#), "{}", empty[3]);
    demo.admin_ok(&["reset", "--demo"]);
    assert_eq!(demo.insights(&rt), seeded, "reset to the demo's seed");

    // A new server started from the snapshot answers the same, with the snapshot's keys.
    let restarted = DemoServer::start(
        &dir.path().join("data2"),
        &["--from-snapshot", snap.to_str().unwrap()],
    );
    assert_eq!(restarted.s("access_key_id"), demo.s("access_key_id"));
    assert_eq!(restarted.s("campaign_id"), demo.s("campaign_id"));
    assert_eq!(restarted.insights(&rt), seeded, "started from the snapshot");
}

#[test]
fn the_admin_api_needs_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let send = |auth: Option<&str>| {
        rt.block_on(async {
            let mut req =
                http::Request::get(format!("http://{}/admin/v1/faults", demo.s("endpoint")));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            demo.client()
                .send(
                    req.body(http_body_util::Full::new(bytes::Bytes::new()))
                        .unwrap(),
                )
                .await
                .unwrap()
        })
    };
    let r = send(None);
    assert_eq!(
        (r.status, r.json()["Code"].as_str()),
        (401, Some("Admin.MissingToken"))
    );
    let r = send(Some("Bearer wrong"));
    assert_eq!(
        (r.status, r.json()["Code"].as_str()),
        (403, Some("Admin.WrongToken"))
    );
    let r = send(Some(&format!("Bearer {}", demo.s("admin_token"))));
    assert_eq!(r.status, 200);
    // The token is never in the server's answers or the demo's log lines.
    assert!(!String::from_utf8_lossy(&r.body).contains(&demo.s("admin_token")));
}

/// `simulate --check` against our server agrees field by field, for three seeds (the demo reset to its
/// seed between them, so that each run's campaign holds only its own traffic); `--json` prints the
/// same fields; bad rates are refused before anything is posted.
#[test]
fn the_simulator_and_the_server_agree_for_three_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoServer::start(&dir.path().join("data"), &[]);
    let simulate = |args: &[&str]| {
        bin()
            .arg("simulate")
            .arg("--demo-file")
            .arg(&demo.file)
            .args(args)
            .output()
            .expect("the CLI runs")
    };
    for seed in ["1", "2", "3"] {
        demo.admin_ok(&["reset", "--demo"]);
        let out = simulate(&["--messages", "1500", "--seed", seed, "--check", "--json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "seed {seed}: {stderr}");
        assert!(
            stderr.contains("check: the server answers exactly the expected 14 fields"),
            "seed {seed}: {stderr}"
        );
        let expected: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            expected["MarketingMessagesDelivered"]
                .as_str()
                .is_some_and(|d| d.parse::<u64>().unwrap() > 500),
            "{expected}"
        );
        assert_eq!(expected["MarketingMessagesSpendCurrency"], "USD");
    }
    // A different seed gives different traffic, and a rerun of the same seed the same expectation.
    demo.admin_ok(&["reset", "--demo"]);
    let a = simulate(&["--messages", "300", "--seed", "9", "--json", "--pace", "0"]);
    demo.admin_ok(&["reset", "--demo"]);
    let b = simulate(&["--messages", "300", "--seed", "9", "--json"]);
    let c = simulate(&["--messages", "300", "--seed", "10", "--json"]);
    let fields = |o: &Output| -> Value {
        let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
        // The span's dates follow the clock; the counts must not.
        v.as_object_mut().unwrap().remove("DateStart");
        v.as_object_mut().unwrap().remove("DateStop");
        v
    };
    assert_eq!(fields(&a), fields(&b));
    assert_ne!(fields(&a), fields(&c));
    for (bad, name) in [
        ("--delivery-rate=1.5", "--delivery-rate"),
        ("--duplicate-rate=-0.1", "--duplicate-rate"),
        ("--read-rate=0.5.", "--read-rate"),
    ] {
        let out = simulate(&["--messages", "10", bad]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name) && err.contains("between 0 and 1"),
            "{err}"
        );
        assert!(!err.contains("posted"), "{err}");
    }
}
