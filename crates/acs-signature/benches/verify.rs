//! Signature verification per scheme, and canonicalisation alone: the gateway does these on every
//! request. Run: `cargo bench -p acs-signature`.

use acs_signature::{v2, v3, V3Algorithm};
use criterion::{criterion_group, criterion_main, Criterion};

fn params() -> Vec<(String, String)> {
    [
        ("CustSpaceId", "cams-7k2m9x"),
        ("PageId", "323000000000001"),
        ("AdAccountId", "230000000000001"),
        ("CampaignId", "120200000000000001"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn bench(c: &mut Criterion) {
    let query = params();
    for alg in [V3Algorithm::HmacSha256, V3Algorithm::HmacSm3] {
        let headers = v3::sign_request(&v3::SignRequest {
            algorithm: alg,
            method: "POST",
            host: "127.0.0.1:8080",
            action: "GetMessageCampaignInsights",
            version: "2020-06-06",
            query: &query,
            body: b"",
            content_type: None,
            access_key_id: "LTAI5tBench",
            access_key_secret: "secret-secret-secret-secret-00",
            security_token: None,
            date: "2026-01-01T00:00:00Z",
            nonce: "3156853299f313e23d1673dc12e1703d",
        });
        let auth = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1
            .clone();
        let auth = v3::parse_authorization(&auth).unwrap();
        let hash = headers
            .iter()
            .find(|(k, _)| k == "x-acs-content-sha256")
            .unwrap()
            .1
            .clone();
        let input = v3::CanonicalInput {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            signed_headers: &auth.signed_headers,
            payload_hash: &hash,
        };
        c.bench_function(&format!("canonical request ({})", alg.name()), |b| {
            b.iter(|| v3::canonical_request(std::hint::black_box(&input)).unwrap())
        });
        c.bench_function(&format!("verify V3 {}", alg.name()), |b| {
            b.iter(|| {
                let canonical = v3::canonical_request(&input).unwrap();
                let sts = v3::string_to_sign(alg, &canonical);
                assert!(v3::verify(
                    alg,
                    b"secret-secret-secret-secret-00",
                    &sts,
                    &auth.signature
                ));
            })
        });
    }
    let signed = v2::sign_params(&v2::SignParams {
        method: "POST",
        action: "GetMessageCampaignInsights",
        version: "2020-06-06",
        params: &query,
        access_key_id: "LTAI5tBench",
        access_key_secret: "secret-secret-secret-secret-00",
        security_token: None,
        timestamp: "2026-01-01T00:00:00Z",
        nonce: "3156853299f313e23d1673dc12e1703d",
        format: "JSON",
    });
    let signature = signed
        .iter()
        .find(|(k, _)| k == "Signature")
        .unwrap()
        .1
        .clone();
    c.bench_function("verify V2 HMAC-SHA1", |b| {
        b.iter(|| {
            let sts = v2::string_to_sign("POST", &signed);
            assert!(v2::verify(
                b"secret-secret-secret-secret-00",
                &sts,
                &signature
            ));
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
