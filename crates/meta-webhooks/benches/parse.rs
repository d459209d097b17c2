//! Webhook signature verification and payload parsing. Run: `cargo bench -p meta-webhooks`.

use std::collections::HashMap;

use criterion::{criterion_group, criterion_main, Criterion};

const MESSENGER: &str = r#"{"object":"page","entry":[{"id":"140984918491243","time":1751400000000,"changes":[{"field":"marketing_message_deliveries","value":{"page_id":"140984918491243","app_id":"1","timestamp":1751400000000,"messenger_subscription_token":"tok","recipient_id":"9000000","message_id":"120200000000000001","mid":"m-1"}}]}]}"#;

fn bench(c: &mut Criterion) {
    let signature = meta_webhooks::sign(b"app-secret", MESSENGER.as_bytes());
    c.bench_function("verify X-Hub-Signature-256", |b| {
        b.iter(|| {
            meta_webhooks::verify_signature(
                Some(&signature),
                MESSENGER.as_bytes(),
                &[b"app-secret"],
            )
            .unwrap()
        })
    });
    let empty = HashMap::new();
    let known = |_: &str| false;
    let ctx = meta_webhooks::ParseContext {
        whatsapp_callback_campaigns: &empty,
        whatsapp_phone_number_campaigns: &empty,
        is_known_marketing: &known,
    };
    c.bench_function("parse Messenger delivery webhook", |b| {
        b.iter(|| meta_webhooks::parse(std::hint::black_box(MESSENGER.as_bytes()), &ctx).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
