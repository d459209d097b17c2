//! Black-box tests of the signed gateway: a real server on an ephemeral port, real signed HTTP.

mod common;

use acs_client::{Call, CallResponse, SignatureScheme};
use acs_signature::V3Algorithm;
use bytes::Bytes;
use common::*;
use http::Method;
use http_body_util::Full;

const V3: SignatureScheme = SignatureScheme::V3(V3Algorithm::HmacSha256);
const SM3: SignatureScheme = SignatureScheme::V3(V3Algorithm::HmacSm3);
const V2: SignatureScheme = SignatureScheme::V2;
const VERSION: &str = "2020-06-06";

fn insights_call() -> Call<'static> {
    Call::new(
        "GetMessageCampaignInsights",
        VERSION,
        &[
            ("CustSpaceId", "cams-x1"),
            ("PageId", "323"),
            ("AdAccountId", "23"),
            ("CampaignId", "23 / & = ~ *"),
        ],
    )
}

fn minutes_ago(m: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(m))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Every gateway error is the documented JSON envelope with the request id in header and body.
fn assert_gateway_error(r: &CallResponse, status: u16, code: &str) {
    let body = r.json();
    assert_eq!(
        r.status,
        status,
        "status for {code}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(body["Code"], code, "{body}");
    let request_id = body["RequestId"].as_str().expect("RequestId");
    assert_eq!(r.headers["x-acs-request-id"], request_id);
    assert_eq!(request_id.len(), 36);
    assert_eq!(body["HostId"], "cams.test.local");
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["Recommend"].is_string());
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

/// Authenticated: whatever the operation answers, it is not a gateway refusal.
fn assert_authenticated(r: &CallResponse) {
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert!(body["RequestId"].is_string(), "{body}");
    assert_eq!(
        r.headers["x-acs-request-id"],
        body["RequestId"].as_str().unwrap()
    );
}

#[tokio::test]
async fn every_scheme_authenticates() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, SM3, V2] {
        let r = s.client(scheme).call(&insights_call()).await.unwrap();
        assert_authenticated(&r);
    }
    // GET with parameters in the query, both schemes.
    for scheme in [V3, V2] {
        let mut call = insights_call();
        call.method = Method::GET;
        let r = s.client(scheme).call(&call).await.unwrap();
        assert_authenticated(&r);
    }
}

#[tokio::test]
async fn form_body_parameters_are_merged_and_signed() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, V2] {
        let mut call = insights_call();
        call.query = vec![("CustSpaceId".into(), "cams-x1".into())];
        call.body = Some((
            Bytes::from_static(b"PageId=323&AdAccountId=23&CampaignId=a+b"),
            "application/x-www-form-urlencoded".into(),
        ));
        let r = s.client(scheme).call(&call).await.unwrap();
        assert_authenticated(&r);
    }
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, SM3, V2] {
        let r = s
            .client_with(KEY_ID, "x".repeat(30).as_str(), scheme)
            .call(&insights_call())
            .await
            .unwrap();
        assert_gateway_error(&r, 400, "SignatureDoesNotMatch");
        let message = r.json()["Message"].as_str().unwrap().to_string();
        assert!(message.contains("string to sign"), "{message}");
        assert!(!message.contains(SECRET));
    }
}

#[tokio::test]
async fn replayed_nonce_is_refused_but_a_bad_signature_consumes_nothing() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, V2] {
        let c = s.client(scheme);
        let date = acs_client::now_utc();
        let nonce = acs_client::new_nonce();
        // A forged request with the nonce first: refused, and must not burn the nonce.
        let forged = s.client_with(KEY_ID, "wrong-secret-wrong-secret-0000", scheme);
        let r = forged
            .send(forged.build_at(&insights_call(), &date, &nonce))
            .await
            .unwrap();
        assert_gateway_error(&r, 400, "SignatureDoesNotMatch");
        let r = c
            .send(c.build_at(&insights_call(), &date, &nonce))
            .await
            .unwrap();
        assert_authenticated(&r);
        let r = c
            .send(c.build_at(&insights_call(), &date, &nonce))
            .await
            .unwrap();
        assert_gateway_error(&r, 400, "SignatureNonceUsed");
    }
}

#[tokio::test]
async fn timestamps_outside_the_window_are_expired() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, V2] {
        let c = s.client(scheme);
        for minutes in [16, -16, 60 * 24] {
            let r = c
                .send(c.build_at(
                    &insights_call(),
                    &minutes_ago(minutes),
                    &acs_client::new_nonce(),
                ))
                .await
                .unwrap();
            assert_gateway_error(&r, 400, "InvalidTimeStamp.Expired");
        }
        let r = c
            .send(c.build_at(&insights_call(), &minutes_ago(14), &acs_client::new_nonce()))
            .await
            .unwrap();
        assert_authenticated(&r);
        for odd in [
            "2026-01-01 00:00:00",
            "Thu, 01 Jan 2026 00:00:00 GMT",
            "1767225600",
            "2026-01-01T00:00:00+08:00",
        ] {
            let r = c
                .send(c.build_at(&insights_call(), odd, &acs_client::new_nonce()))
                .await
                .unwrap();
            assert_gateway_error(&r, 400, "InvalidTimeStamp.Format");
        }
    }
}

#[tokio::test]
async fn unknown_and_inactive_keys() {
    let s = TestServer::start(test_config()).await;
    for scheme in [V3, V2] {
        let r = s
            .client_with("LTAI5tNoSuchKey000000000", SECRET, scheme)
            .call(&insights_call())
            .await
            .unwrap();
        assert_gateway_error(&r, 404, "InvalidAccessKeyId.NotFound");
        let r = s
            .client_with(INACTIVE_KEY_ID, SECRET, scheme)
            .call(&insights_call())
            .await
            .unwrap();
        assert_gateway_error(&r, 400, "InvalidAccessKeyId.Inactive");
    }
}

async fn send_v3_edited(
    s: &TestServer,
    edit: impl FnOnce(&mut http::Request<Full<Bytes>>),
) -> CallResponse {
    let c = s.client(V3);
    let mut req = c.build(&insights_call());
    edit(&mut req);
    c.send(req).await.unwrap()
}

#[tokio::test]
async fn malformed_v3_signature_material() {
    let s = TestServer::start(test_config()).await;
    let r = send_v3_edited(&s, |r| {
        r.headers_mut()
            .insert("authorization", "garbage".parse().unwrap());
    })
    .await;
    assert_gateway_error(&r, 400, "IncompleteSignature");
    let r = send_v3_edited(&s, |r| {
        let v = r.headers()["authorization"]
            .to_str()
            .unwrap()
            .replace("ACS3-HMAC-SHA256", "ACS3-HMAC-MD5");
        r.headers_mut().insert("authorization", v.parse().unwrap());
    })
    .await;
    assert_gateway_error(&r, 400, "InvalidSignatureMethod");
    let r = send_v3_edited(&s, |r| {
        r.headers_mut().remove("x-acs-signature-nonce");
    })
    .await;
    assert_gateway_error(&r, 400, "MissingSignatureNonce");
    let r = send_v3_edited(&s, |r| {
        r.headers_mut().remove("x-acs-date");
    })
    .await;
    assert_gateway_error(&r, 400, "MissingTimestamp");
    // An x-acs-* header the client did not sign.
    let r = send_v3_edited(&s, |r| {
        r.headers_mut().insert("x-acs-extra", "1".parse().unwrap());
    })
    .await;
    assert_gateway_error(&r, 400, "IncompleteSignature");
    // A mandatory header left out of SignedHeaders.
    let r = send_v3_edited(&s, |r| {
        let v = r.headers()["authorization"]
            .to_str()
            .unwrap()
            .replace("x-acs-action;", "");
        r.headers_mut().insert("authorization", v.parse().unwrap());
    })
    .await;
    assert_gateway_error(&r, 400, "IncompleteSignature");
}

#[tokio::test]
async fn tampering_is_detected() {
    let s = TestServer::start(test_config()).await;
    // A parameter changed after signing.
    let r = send_v3_edited(&s, |r| {
        let uri = r.uri().to_string().replace("CampaignId=", "CampaignId=9");
        *r.uri_mut() = uri.parse().unwrap();
    })
    .await;
    assert_gateway_error(&r, 400, "SignatureDoesNotMatch");
    // The method changed after signing.
    let r = send_v3_edited(&s, |r| *r.method_mut() = Method::GET).await;
    assert_gateway_error(&r, 400, "SignatureDoesNotMatch");
    // A signed header changed.
    let r = send_v3_edited(&s, |r| {
        r.headers_mut()
            .insert("x-acs-action", "ListPageAdAccount".parse().unwrap());
    })
    .await;
    assert_gateway_error(&r, 400, "SignatureDoesNotMatch");
    // The body changed but its signed hash did not.
    let c = s.client(V3);
    let mut call = insights_call();
    call.body = Some((
        Bytes::from_static(b"PageId=323"),
        "application/x-www-form-urlencoded".into(),
    ));
    let req = c.build(&call);
    let (parts, _) = req.into_parts();
    let r = c
        .send(http::Request::from_parts(
            parts,
            Full::new(Bytes::from_static(b"PageId=324")),
        ))
        .await
        .unwrap();
    assert_gateway_error(&r, 400, "InvalidContentSha256");
}

#[tokio::test]
async fn malformed_parameters() {
    let s = TestServer::start(test_config()).await;
    let r = send_v3_edited(&s, |r| {
        let uri = format!("{}&PageId=999", r.uri());
        *r.uri_mut() = uri.parse().unwrap();
    })
    .await;
    assert_gateway_error(&r, 400, "InvalidParameter.Duplicate");
    for bad in ["%FF", "%G1", "%4"] {
        let r = send_v3_edited(&s, |r| {
            let uri = format!("{}&X={bad}", r.uri());
            *r.uri_mut() = uri.parse().unwrap();
        })
        .await;
        assert_gateway_error(&r, 400, "InvalidQueryString");
    }
}

#[tokio::test]
async fn oversized_requests_get_envelopes() {
    let s = TestServer::start(test_config()).await;
    let c = s.client(V3);
    let mut call = insights_call();
    call.body = Some((
        Bytes::from(vec![b'a'; 70_000]),
        "application/octet-stream".into(),
    ));
    let r = c.call(&call).await.unwrap();
    assert_gateway_error(&r, 413, "RequestTooLarge");
    let r = send_v3_edited(&s, |r| {
        for i in 0..40 {
            r.headers_mut().insert(
                http::HeaderName::from_bytes(format!("x-big-{i}").as_bytes()).unwrap(),
                "v".repeat(500).parse().unwrap(),
            );
        }
    })
    .await;
    assert_gateway_error(&r, 431, "RequestHeaderTooLarge");
}

#[tokio::test]
async fn action_version_method_and_path() {
    let s = TestServer::start(test_config()).await;
    let c = s.client(V3);
    let r = c
        .call(&Call::new("NoSuchAction", VERSION, &[]))
        .await
        .unwrap();
    assert_gateway_error(&r, 404, "InvalidAction.NotFound");
    let r = c
        .call(&Call::new("GetMessageCampaignInsights", "2019-01-01", &[]))
        .await
        .unwrap();
    assert_gateway_error(&r, 400, "InvalidVersion");
    let r = send_v3_edited(&s, |r| *r.method_mut() = Method::PUT).await;
    assert_gateway_error(&r, 405, "UnsupportedHTTPMethod");
    let r = send_v3_edited(&s, |r| {
        let uri = r.uri().to_string().replacen("/?", "/other?", 1);
        *r.uri_mut() = uri.parse().unwrap();
    })
    .await;
    assert_gateway_error(&r, 404, "InvalidAction.NotFound");
    // V2 without its signature material.
    let v2 = s.client(V2);
    let mut req = v2.build(&insights_call());
    let uri = req.uri().to_string();
    let stripped: String = uri
        .split('&')
        .filter(|p| !p.starts_with("Signature="))
        .collect::<Vec<_>>()
        .join("&");
    *req.uri_mut() = stripped.parse().unwrap();
    let r = v2.send(req).await.unwrap();
    assert_gateway_error(&r, 400, "MissingSignature");
}

#[tokio::test]
async fn v2_xml_format_answers_xml() {
    let s = TestServer::start(test_config()).await;
    let c = s.client_with(KEY_ID, "wrong-secret-wrong-secret-0000", V2);
    let mut req = c.build(&insights_call());
    // Format is signed, so re-sign with Format=XML by building the params by hand.
    let params = acs_signature::v2::sign_params(&acs_signature::v2::SignParams {
        method: "POST",
        action: "GetMessageCampaignInsights",
        version: VERSION,
        params: &[("CampaignId".to_string(), "1".to_string())],
        access_key_id: KEY_ID,
        access_key_secret: "wrong",
        security_token: None,
        timestamp: &acs_client::now_utc(),
        nonce: &acs_client::new_nonce(),
        format: "XML",
    });
    let uri = format!(
        "http://{}/?{}",
        s.endpoint(),
        acs_signature::encode_form(&params)
    );
    *req.uri_mut() = uri.parse().unwrap();
    let r = c.send(req).await.unwrap();
    assert_eq!(r.status, 400);
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(
        text.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{text}"
    );
    assert!(text.contains("<RequestId>"), "{text}");
}

#[tokio::test]
async fn healthz_answers() {
    let s = TestServer::start(test_config()).await;
    let c = s.client(V3);
    let req = http::Request::get(format!("http://{}/healthz", s.endpoint()))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = c.send(req).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
}
