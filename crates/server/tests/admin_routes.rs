//! The admin API's door, through the router without a socket: off without a token, loopback only unless
//! allowed, the token checked; and fault rules given in the configuration.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use common::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use server::config::{Config, SecretConfig};
use server::ConnectionInfo;
use tower::ServiceExt;

const TOKEN: &str = "an-admin-token-of-forty-characters-000000";

fn with_admin(allow_remote: bool) -> Config {
    let mut config = test_config();
    config.admin.token = Some(SecretConfig {
        value: Some(TOKEN.into()),
        env: None,
    });
    config.admin.allow_remote = allow_remote;
    config
}

async fn get(
    config: Config,
    local: Option<&str>,
    auth: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let (state, _dir) = test_state(config);
    let app = server::http::router(state);
    let mut request = Request::get("/admin/v1/faults");
    if let Some(a) = auth {
        request = request.header("authorization", a);
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(local) = local {
        request.extensions_mut().insert(ConnectionInfo {
            peer: "10.1.2.3:40000".parse::<SocketAddr>().unwrap(),
            local: local.parse().unwrap(),
            secure: false,
        });
    }
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn without_a_token_there_is_no_admin_api() {
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = get(test_config(), Some("127.0.0.1:8080"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["Code"], "Admin.Disabled");
}

#[tokio::test]
async fn a_non_loopback_listener_refuses_unless_allowed() {
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = get(with_admin(false), Some("10.0.0.5:8080"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["Code"], "Admin.NotLoopback");
    let (status, _) = get(with_admin(true), Some("10.0.0.5:8080"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(with_admin(false), Some("127.0.0.1:8080"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(with_admin(false), Some("[::1]:8080"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_token_is_checked_and_never_echoed() {
    for (auth, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "Admin.MissingToken"),
        (
            Some("Basic abc"),
            StatusCode::UNAUTHORIZED,
            "Admin.MissingToken",
        ),
        (
            Some("Bearer nope"),
            StatusCode::FORBIDDEN,
            "Admin.WrongToken",
        ),
        (
            Some("Bearer an-admin-token-of-forty-characters-000001"),
            StatusCode::FORBIDDEN,
            "Admin.WrongToken",
        ),
    ] {
        let (got, body) = get(with_admin(false), Some("127.0.0.1:1"), auth).await;
        assert_eq!(
            (got, body["Code"].as_str()),
            (status, Some(code)),
            "{auth:?}"
        );
        assert!(!body.to_string().contains("an-admin-token"), "{body}");
    }
}

#[tokio::test]
async fn fault_rules_from_the_configuration_are_in_force_and_bad_ones_refused() {
    let mut config = with_admin(false);
    config.faults = vec![toml::from_str(
        "action = \"GetMessageCampaignInsights\"\ncode = \"Throttling.User\"\nprobability = \"0.25\"\nseed = 3\n",
    )
    .unwrap()];
    config.validate().unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = get(config, Some("127.0.0.1:1"), Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Faults"][0]["code"], "Throttling.User");
    assert_eq!(body["Faults"][0]["probability"], "0.25");
    for (rule, words) in [
        (
            "action = \"Nope\"\ncode = \"InternalError\"\n",
            "unknown action",
        ),
        ("action = \"*\"\ncode = \"Nope\"\n", "unknown error code"),
        (
            "action = \"*\"\ncode = \"InternalError\"\nprobability = 1.5\n",
            "probability",
        ),
    ] {
        let mut config = test_config();
        config.faults = vec![toml::from_str(rule).unwrap()];
        let e = config.validate().unwrap_err().to_string();
        assert!(e.contains("faults") && e.contains(words), "{rule}: {e}");
    }
}
