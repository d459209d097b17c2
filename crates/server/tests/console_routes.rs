//! The console's routes through the router, without a socket: the page, its files, deep links, the
//! catalog, and the headers that keep the page to its own scripts.

mod common;

use axum::body::Body;
use common::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(path: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let (state, _dir) = test_state(test_config());
    let app = server::http::router(state);
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn console_without_a_slash_redirects_to_the_page() {
    let (status, headers, _) = get("/console").await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(headers["location"], "/console/");
}

#[tokio::test]
async fn the_page_and_every_deep_link_answer_the_application() {
    let (status, headers, page) = get("/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("app.js"), "the page loads its script");
    for deep in [
        "/console/campaigns/cams-x/1/2/3",
        "/console/explorer/GetMessageCampaignInsights",
        "/console/spaces/cams-x/pages/1",
    ] {
        let (status, _, body) = get(deep).await;
        assert_eq!(status, StatusCode::OK, "{deep}");
        assert_eq!(String::from_utf8(body).unwrap(), page, "{deep}");
    }
}

#[tokio::test]
async fn files_answer_with_their_types() {
    for (path, media) in [
        ("/console/app.js", "text/javascript"),
        ("/console/sign.js", "text/javascript"),
        ("/console/charts.js", "text/javascript"),
        ("/console/style.css", "text/css"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(media),
            "{path}"
        );
        assert!(!body.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn the_catalog_lists_every_operation_the_gateway_knows() {
    let (status, headers, body) = get("/console/catalog.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let catalog: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = catalog["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let known: Vec<&str> = server::rpc::catalog::ACTIONS
        .iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, known);
    for wanted in [
        "GetMessageCampaignInsights",
        "CreateMessageCampaign",
        "ListMessageCampaign",
        "DeleteMessageCampaign",
        "SyncMessageCampaign",
        "ListPageAdAccount",
        "ListCustSpacePage",
        "PutMessageEvents",
        "AssumeRole",
    ] {
        assert!(names.contains(&wanted), "{wanted}");
    }
}
