//! Property-driven fuzzing of the request pipeline: no input makes it panic, and every refusal
//! is a code of the error table with its documented status.
//!
//! Two generators: arbitrary requests (random methods, paths, query bytes, header sets and
//! bodies), and mutations of a valid signed request (one field changed at a time), which reach
//! deeper into the checks. Case count: `PROPTEST_CASES` (CI runs more than the default).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use acs_client::{Call, SignatureScheme};
use acs_signature::V3Algorithm;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use server::rpc::{self as gateway, RawRequest};
use server::AppState;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn state() -> (Arc<AppState>, tempfile::TempDir) {
    common::test_state(common::test_config())
}

fn run(state: &Arc<AppState>, rt: &tokio::runtime::Runtime, raw: RawRequest) {
    let outcome = rt.block_on(gateway::handle(
        state,
        raw,
        "00000000-0000-0000-0000-000000000000",
    ));
    if let Err(e) = outcome.result {
        let spec = e.code.spec();
        assert!(server::errors::ERROR_TABLE
            .iter()
            .any(|s| std::ptr::eq(s, spec)));
        assert!(!e.message().is_empty());
        assert!(!e.message().contains(common::SECRET));
    }
}

const HEADER_NAMES: &[&str] = &[
    "authorization",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
    "content-type",
    "host",
    "x-other",
];

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just(
            "ACS3-HMAC-SHA256 Credential=LTAI5tTestKey00000000001,SignedHeaders=host,Signature=00"
                .to_string()
        ),
        Just("ACS3-HMAC-SHA256 Credential=,SignedHeaders=;;,Signature=zz".to_string()),
        Just("GetMessageCampaignInsights".to_string()),
        Just("2020-06-06".to_string()),
        Just(acs_client::now_utc()),
        Just("application/x-www-form-urlencoded".to_string()),
    ]
}

fn arbitrary_request() -> impl Strategy<Value = RawRequest> {
    (
        prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::PUT), Just(Method::DELETE)],
        prop_oneof![Just("/".to_string()), "/[a-z%]{0,8}"],
        prop_oneof![
            "[ -~]{0,80}",
            Just("Action=GetMessageCampaignInsights&Version=2020-06-06&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x&AccessKeyId=LTAI5tTestKey00000000001&SignatureNonce=1&Timestamp=2020-01-01T00:00:00Z".to_string()),
            "(%[0-9A-Fa-f]{0,2}|[a-z=&+]){0,30}",
        ],
        proptest::collection::vec((proptest::sample::select(HEADER_NAMES), header_value()), 0..8),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, path, query, headers, body)| {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    map.append(HeaderName::from_static(name), v);
                }
            }
            RawRequest {
                method,
                path,
                query,
                headers: map,
                body: Bytes::from(body),
                peer: SocketAddr::from(([127, 0, 0, 1], 9)),
                secure: false,
            }
        })
}

/// A valid signed request, as a RawRequest.
fn signed(scheme: SignatureScheme) -> RawRequest {
    let client = acs_client::Client::new(
        "127.0.0.1:1",
        acs_client::Credentials {
            access_key_id: common::KEY_ID.into(),
            access_key_secret: common::SECRET.into(),
            security_token: None,
        },
        scheme,
    )
    .unwrap();
    let call = Call::new(
        "GetMessageCampaignInsights",
        "2020-06-06",
        &[("CampaignId", "1"), ("PageId", "a b")],
    );
    let req = client.build(&call);
    let (parts, _) = req.into_parts();
    RawRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body: Bytes::new(),
        peer: SocketAddr::from(([127, 0, 0, 1], 9)),
        secure: false,
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipQueryByte(usize, u8),
    TruncateQuery(usize),
    ReplaceHeader(usize, String),
    RemoveHeader(usize),
    Body(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0x20u8..0x7f).prop_map(|(i, b)| Mutation::FlipQueryByte(i, b)),
        any::<usize>().prop_map(Mutation::TruncateQuery),
        (any::<usize>(), header_value()).prop_map(|(i, v)| Mutation::ReplaceHeader(i, v)),
        any::<usize>().prop_map(Mutation::RemoveHeader),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Mutation::Body),
    ]
}

fn apply(mut raw: RawRequest, m: &Mutation) -> RawRequest {
    match m {
        Mutation::FlipQueryByte(i, b) => {
            let mut bytes = raw.query.into_bytes();
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] = *b;
            }
            raw.query = String::from_utf8(bytes).unwrap_or_default();
        }
        Mutation::TruncateQuery(i) => {
            let n = i % (raw.query.len() + 1);
            raw.query.truncate(n);
        }
        Mutation::ReplaceHeader(i, v) => {
            let names: Vec<HeaderName> = raw.headers.keys().cloned().collect();
            if let (false, Ok(value)) = (names.is_empty(), HeaderValue::from_str(v)) {
                raw.headers.insert(names[i % names.len()].clone(), value);
            }
        }
        Mutation::RemoveHeader(i) => {
            let names: Vec<HeaderName> = raw.headers.keys().cloned().collect();
            if !names.is_empty() {
                raw.headers.remove(&names[i % names.len()]);
            }
        }
        Mutation::Body(b) => raw.body = Bytes::from(b.clone()),
    }
    raw
}

/// One store for every case: opening one per case would dominate the run time.
static STATE: std::sync::LazyLock<(Arc<AppState>, tempfile::TempDir)> =
    std::sync::LazyLock::new(state);

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(raw in arbitrary_request()) {
        let rt = runtime();
        run(&STATE.0, &rt, raw);
    }

    #[test]
    fn mutated_signed_requests_never_panic(
        scheme in prop_oneof![
            Just(SignatureScheme::V3(V3Algorithm::HmacSha256)),
            Just(SignatureScheme::V3(V3Algorithm::HmacSm3)),
            Just(SignatureScheme::V2),
        ],
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let rt = runtime();
        let mut raw = signed(scheme);
        for m in &mutations {
            raw = apply(raw, m);
        }
        run(&STATE.0, &rt, raw);
    }
}
