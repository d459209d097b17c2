//! RAM authorisation, STS sessions and flow control, black-box: a real server, real signatures.

mod common;

use acs_client::{Call, CallResponse, Client, Credentials, SignatureScheme};
use base64::Engine as _;
use common::TestServer;
use server::Config;

const UID: &str = "1234567890123456";
const OTHER_UID: &str = "6543210987654321";
const ROOT: (&str, &str) = ("LTAI5tRootKey0000000001", "RootSecret0123456789abcdefghij");
const READER: (&str, &str) = ("LTAI5tReaderKey00000001", "ReaderSecret123456789abcdefghi");
const NO_LOCAL: (&str, &str) = ("LTAI5tNoLocalKey0000001", "NoLocalSecret12345789abcdefghi");
const CONFINED: (&str, &str) = ("LTAI5tConfinedKey000001", "ConfinedSecret1234789abcdefghi");
const OTHER_ROOT: (&str, &str) = ("LTAI5tOtherRootKey00001", "OtherSecret0123456789abcdefghi");

fn config(rate: u32) -> Config {
    Config::parse(&format!(
        r#"
[flow_control]
per_second = {rate}
burst = {rate}

[sts]
signing_key = {{ value = "test-sts-key" }}

[[accounts]]
uid = "{UID}"

[[accounts.access_keys]]
id = "{}"
secret = "{}"

[[accounts.policies]]
name = "deny-loopback"
document = '{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"cams:*","Resource":"*"}},{{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{{"IpAddress":{{"acs:SourceIp":"127.0.0.0/8"}}}}}}]}}'

[[accounts.policies]]
name = "only-cs1"
document = '{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"StringEquals":{{"cams:CustSpaceId":"cams-cs1"}}}}}}]}}'

[[accounts.groups]]
name = "readers"
policies = ["AliyunCamsReadOnlyAccess"]

[[accounts.users]]
name = "reader"
groups = ["readers"]
[[accounts.users.access_keys]]
id = "{}"
secret = "{}"

[[accounts.users]]
name = "nolocal"
policies = ["deny-loopback"]
[[accounts.users.access_keys]]
id = "{}"
secret = "{}"

[[accounts.users]]
name = "confined"
policies = ["only-cs1", "AliyunSTSAssumeRoleAccess"]
[[accounts.users.access_keys]]
id = "{}"
secret = "{}"

[[accounts.roles]]
name = "CamsAdmin"
trust_policy = '{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{UID}:root"]}}}}]}}'
policies = ["AliyunCamsFullAccess"]
max_session_duration = 7200

[[accounts.cust_spaces]]
id = "cams-cs1"
[[accounts.cust_spaces.pages]]
id = "p1"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad1"
currency = "USD"
timezone = "UTC"

[[accounts.cust_spaces]]
id = "cams-cs2"
[[accounts.cust_spaces.pages]]
id = "p2"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad2"
currency = "USD"
timezone = "UTC"

[[accounts]]
uid = "{OTHER_UID}"
[[accounts.access_keys]]
id = "{}"
secret = "{}"
"#,
        ROOT.0, ROOT.1, READER.0, READER.1, NO_LOCAL.0, NO_LOCAL.1, CONFINED.0, CONFINED.1, OTHER_ROOT.0, OTHER_ROOT.1
    ))
    .expect("config parses")
}

fn client(s: &TestServer, key: (&str, &str)) -> Client {
    s.client_with(key.0, key.1, SignatureScheme::parse("v3").unwrap())
}

fn temp_client(s: &TestServer, id: &str, secret: &str, token: &str, scheme: &str) -> Client {
    Client::new(
        &s.endpoint(),
        Credentials {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: Some(token.into()),
        },
        SignatureScheme::parse(scheme).unwrap(),
    )
    .unwrap()
}

fn list(cs: &'static str, page: &'static str) -> Call<'static> {
    Call::new(
        "ListMessageCampaign",
        "2020-06-06",
        &[
            ("CustSpaceId", cs),
            ("PageId", page),
            ("Page", r#"{"Index":1,"Size":10}"#),
        ],
    )
}

fn create(cs: &'static str, page: &'static str, ad: &'static str) -> Call<'static> {
    Call::new(
        "CreateMessageCampaign",
        "2020-06-06",
        &[
            ("CustSpaceId", cs),
            ("PageId", page),
            ("AdAccountId", ad),
            ("Name", "n"),
            ("BudgetType", "daily"),
            ("Budget", "100"),
        ],
    )
}

fn assume(arn: &str, session: &str, extra: &[(&str, &str)]) -> Call<'static> {
    let mut params: Vec<(String, String)> = vec![
        ("RoleArn".into(), arn.into()),
        ("RoleSessionName".into(), session.into()),
    ];
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Call {
        action: "AssumeRole",
        version: "2015-04-01",
        method: http::Method::POST,
        query: params,
        body: None,
    }
}

fn ok(r: &CallResponse) -> serde_json::Value {
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(body["Code"], "OK", "{body}");
    body
}

fn denied(r: &CallResponse, status: u16, code: &str) -> serde_json::Value {
    let body = r.json();
    assert_eq!(r.status, status, "{body}");
    assert_eq!(body["Code"], code, "{body}");
    assert_eq!(
        r.headers["x-acs-request-id"],
        body["RequestId"].as_str().unwrap()
    );
    body
}

fn diagnostic(detail: &serde_json::Value) -> serde_json::Value {
    let encoded = detail["EncodedDiagnosticMessage"].as_str().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

const ROLE_ARN: &str = "acs:ram::1234567890123456:role/camsadmin";

#[tokio::test]
async fn root_may_do_everything_in_its_account() {
    let s = TestServer::start(config(0)).await;
    ok(&client(&s, ROOT)
        .call(&create("cams-cs2", "p2", "ad2"))
        .await
        .unwrap());
}

#[tokio::test]
async fn read_only_user_reads_but_cannot_create() {
    let s = TestServer::start(config(0)).await;
    let c = client(&s, READER);
    ok(&c.call(&list("cams-cs1", "p1")).await.unwrap());
    let body = denied(
        &c.call(&create("cams-cs1", "p1", "ad1")).await.unwrap(),
        403,
        "NoPermission",
    );
    let d = &body["AccessDeniedDetail"];
    assert_eq!(d["AuthAction"], "cams:CreateMessageCampaign");
    assert_eq!(d["AuthPrincipalType"], "SubUser");
    assert_eq!(d["AuthPrincipalOwnerId"], UID);
    assert_eq!(d["AuthPrincipalDisplayName"], "reader");
    assert_eq!(d["NoPermissionType"], "ImplicitDeny");
    assert_eq!(d["PolicyType"], "AccountLevelIdentityBasedPolicy");
    let diag = diagnostic(d);
    assert_eq!(diag["AuthAction"], "cams:CreateMessageCampaign", "{diag}");
    // Nothing was created.
    let listed = ok(&client(&s, ROOT)
        .call(&list("cams-cs1", "p1"))
        .await
        .unwrap());
    assert_eq!(listed["Total"], 0);
}

#[tokio::test]
async fn explicit_deny_on_source_ip() {
    let s = TestServer::start(config(0)).await;
    let body = denied(
        &client(&s, NO_LOCAL)
            .call(&list("cams-cs1", "p1"))
            .await
            .unwrap(),
        403,
        "Forbidden.RAM",
    );
    let d = &body["AccessDeniedDetail"];
    assert_eq!(d["NoPermissionType"], "ExplicitDeny");
    let diag = diagnostic(d);
    let deciding = diag["DecidingStatements"].as_array().unwrap();
    assert_eq!(deciding[0]["Policy"], "deny-loopback", "{diag}");
    assert_eq!(deciding[0]["Statement"], 1, "{diag}");
}

#[tokio::test]
async fn cust_space_condition_confines_a_user() {
    let s = TestServer::start(config(0)).await;
    let c = client(&s, CONFINED);
    ok(&c.call(&list("cams-cs1", "p1")).await.unwrap());
    denied(
        &c.call(&list("cams-cs2", "p2")).await.unwrap(),
        403,
        "NoPermission",
    );
}

#[tokio::test]
async fn assumed_role_sessions_work_in_both_schemes() {
    let s = TestServer::start(config(0)).await;
    let body = ok(&client(&s, ROOT)
        .call(&assume(
            ROLE_ARN,
            "ci-session",
            &[("DurationSeconds", "1800")],
        ))
        .await
        .unwrap());
    let creds = &body["Credentials"];
    let (id, secret, token) = (
        creds["AccessKeyId"].as_str().unwrap(),
        creds["AccessKeySecret"].as_str().unwrap(),
        creds["SecurityToken"].as_str().unwrap(),
    );
    assert!(id.starts_with("STS."));
    assert!(body["AssumedRoleUser"]["Arn"]
        .as_str()
        .unwrap()
        .ends_with("/ci-session"));
    let expiration = creds["Expiration"].as_str().unwrap();
    let exp = chrono::DateTime::parse_from_rfc3339(expiration)
        .unwrap()
        .timestamp();
    assert!(
        (exp - chrono::Utc::now().timestamp() - 1800).abs() < 10,
        "{expiration}"
    );
    for scheme in ["v3", "v2"] {
        ok(&temp_client(&s, id, secret, token, scheme)
            .call(&create("cams-cs1", "p1", "ad1"))
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn session_policy_narrows_the_role() {
    let s = TestServer::start(config(0)).await;
    let policy =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:List*","Resource":"*"}]}"#;
    let body = ok(&client(&s, ROOT)
        .call(&assume(ROLE_ARN, "narrow", &[("Policy", policy)]))
        .await
        .unwrap());
    let creds = &body["Credentials"];
    let c = temp_client(
        &s,
        creds["AccessKeyId"].as_str().unwrap(),
        creds["AccessKeySecret"].as_str().unwrap(),
        creds["SecurityToken"].as_str().unwrap(),
        "v3",
    );
    ok(&c.call(&list("cams-cs1", "p1")).await.unwrap());
    let body = denied(
        &c.call(&create("cams-cs1", "p1", "ad1")).await.unwrap(),
        403,
        "NoPermission",
    );
    assert_eq!(
        body["AccessDeniedDetail"]["AuthPrincipalType"],
        "AssumedRoleUser"
    );
    assert_eq!(
        body["AccessDeniedDetail"]["AuthPrincipalDisplayName"],
        "CamsAdmin:narrow"
    );
    assert_eq!(body["AccessDeniedDetail"]["PolicyType"], "SessionPolicy");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let s = TestServer::start(config(0)).await;
    let body = ok(&client(&s, ROOT)
        .call(&assume(ROLE_ARN, "tokens", &[]))
        .await
        .unwrap());
    let creds = &body["Credentials"];
    let (id, secret, token) = (
        creds["AccessKeyId"].as_str().unwrap().to_string(),
        creds["AccessKeySecret"].as_str().unwrap().to_string(),
        creds["SecurityToken"].as_str().unwrap().to_string(),
    );
    // Tampered: one character of the claims changed.
    let mut tampered = token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    denied(
        &temp_client(&s, &id, &secret, &tampered, "v3")
            .call(&list("cams-cs1", "p1"))
            .await
            .unwrap(),
        400,
        "InvalidSecurityToken.Malformed",
    );
    // Another session's token with this key.
    let other = ok(&client(&s, ROOT)
        .call(&assume(ROLE_ARN, "other", &[]))
        .await
        .unwrap());
    let other_token = other["Credentials"]["SecurityToken"].as_str().unwrap();
    denied(
        &temp_client(&s, &id, &secret, other_token, "v3")
            .call(&list("cams-cs1", "p1"))
            .await
            .unwrap(),
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );
    // Expired: a token the server's own key issued an hour ago for 15 minutes.
    let ids = s.state.identities();
    let (eid, esecret, etoken) = ids.sts.issue(server::auth::sts::SessionClaims {
        key_id: String::new(),
        account_uid: UID.into(),
        role: "CamsAdmin".into(),
        session: "old".into(),
        expires_at: chrono::Utc::now().timestamp() - 2700,
        policy: None,
    });
    denied(
        &temp_client(&s, &eid, &esecret, &etoken, "v3")
            .call(&list("cams-cs1", "p1"))
            .await
            .unwrap(),
        400,
        "InvalidSecurityToken.Expired",
    );
    // No token at all.
    let no_token = s.client_with(&id, &secret, SignatureScheme::parse("v3").unwrap());
    denied(
        &no_token.call(&list("cams-cs1", "p1")).await.unwrap(),
        400,
        "MissingSecurityToken",
    );
    // The right token still works.
    ok(&temp_client(&s, &id, &secret, &token, "v2")
        .call(&list("cams-cs1", "p1"))
        .await
        .unwrap());
}

#[tokio::test]
async fn assume_role_refusals() {
    let s = TestServer::start(config(0)).await;
    let root = client(&s, ROOT);
    for (call, status, code) in [
        (
            assume("acs:ram::123:role/x", "s1", &[]),
            400,
            "InvalidParameter.RoleArn",
        ),
        (
            assume(ROLE_ARN, "a", &[]),
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            assume(ROLE_ARN, "has space", &[]),
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            assume(ROLE_ARN, "s1", &[("DurationSeconds", "899")]),
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            assume(ROLE_ARN, "s1", &[("DurationSeconds", "7201")]),
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            assume(ROLE_ARN, "s1", &[("DurationSeconds", "abc")]),
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            assume(ROLE_ARN, "s1", &[("Policy", "{nope")]),
            400,
            "InvalidParameter.PolicyGrammar",
        ),
        (
            assume(
                ROLE_ARN,
                "s1",
                &[(
                    "Policy",
                    &format!(
                        "{{\"Version\":\"1\",\"Statement\":[],\"x\":\"{}\"}}",
                        "a".repeat(3000)
                    ),
                )],
            ),
            400,
            "InvalidParameter.PolicySize",
        ),
        (
            assume("acs:ram::1234567890123456:role/nosuch", "s1", &[]),
            404,
            "EntityNotExist.Role",
        ),
    ] {
        denied(&root.call(&call).await.unwrap(), status, code);
    }
    let body = denied(
        &root
            .call(&assume(
                ROLE_ARN,
                "s1",
                &[(
                    "Policy",
                    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:*"}]}"#,
                )],
            ))
            .await
            .unwrap(),
        400,
        "InvalidParameter.PolicyGrammar",
    );
    assert!(
        body["Message"].as_str().unwrap().contains("Statement[0]"),
        "{body}"
    );
    // Another account's root is not trusted by the role.
    denied(
        &client(&s, OTHER_ROOT)
            .call(&assume(ROLE_ARN, "s1", &[]))
            .await
            .unwrap(),
        403,
        "NoPermission.Trust",
    );
    // A RAM user without sts:AssumeRole.
    denied(
        &client(&s, READER)
            .call(&assume(ROLE_ARN, "s1", &[]))
            .await
            .unwrap(),
        403,
        "NoPermission",
    );
    // A RAM user allowed sts:AssumeRole, trusted through its account's root.
    ok(&client(&s, CONFINED)
        .call(&assume(ROLE_ARN, "s1", &[]))
        .await
        .unwrap());
}

#[tokio::test]
async fn flow_control_throttles_with_retry_after() {
    let s = TestServer::start(config(5)).await;
    let c = client(&s, ROOT);
    let mut throttled = 0;
    for _ in 0..12 {
        let r = c.call(&list("cams-cs1", "p1")).await.unwrap();
        if r.status == 400 {
            denied(&r, 400, "Throttling.User");
            let retry: u64 = r.headers["x-acs-retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=1000).contains(&retry), "{retry}");
            throttled += 1;
        } else {
            ok(&r);
        }
    }
    assert!(throttled >= 5, "{throttled} of 12 throttled at 5/s");
    // Another action of the same account has its own budget; so has another account.
    ok(&c
        .call(&Call::new(
            "ListPageAdAccount",
            "2020-06-06",
            &[("CustSpaceId", "cams-cs1"), ("PageId", "p1")],
        ))
        .await
        .unwrap());
}
