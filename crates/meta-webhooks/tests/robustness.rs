//! Hostile and malformed input: never a panic; malformed JSON is an error; well-formed JSON of any shape is
//! skipped with reasons, never an error.

mod common;

use common::{fixture, fixture_names, skips, Ctx};
use meta_webhooks::{PayloadError, SkipReason};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn parse_skips(body: &str) -> Vec<(&'static str, String)> {
    let parsed = Ctx::standard().parse_ok(body.as_bytes());
    assert_eq!(parsed.event_count(), 0, "{body}: {parsed:?}");
    skips(&parsed)
        .into_iter()
        .map(|(r, d)| (r, d.to_owned()))
        .collect()
}

fn reasons(body: &str) -> Vec<&'static str> {
    parse_skips(body).into_iter().map(|(r, _)| r).collect()
}

#[test]
fn malformed_json_is_an_error() {
    let cases: &[&[u8]] = &[
        b"",
        b"   ",
        b"{",
        b"[1,]",
        br#"{"object":}"#,
        br#"{"object":"page",}"#,
        b"{} x",
        b"{}{}",
        b"\xff\xfe{}",
        b"{\"a\":\"\xff\"}",
        b"{'object':'page'}",
        b"[01]",
        b"{\"a\":\"line\nbreak\"}",
        b"NaN",
    ];
    for body in cases {
        match Ctx::standard().parse(body) {
            Err(PayloadError::MalformedJson { line, column, .. }) => {
                assert!(line >= 1 || column == 0)
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
    let error = Ctx::standard().parse(b"{\n  \"object\": ,\n}").unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed JSON at line 2, column 13: expected value"
    );
}

#[test]
fn deep_nesting_is_harmless() {
    // serde_json skips raw values iteratively and this crate only descends along the known paths, so no depth
    // is a problem: a million levels is simply an unknown array element.
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    assert_eq!(reasons(&deep), ["unknown_object"]);
    let inner = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!(
        r#"{{"field":"marketing_message_reads","junk":{inner},"value":{{"page_id":"1","recipient_id":"2","timestamp":1751450561000,"message_id":{inner}}}}}"#
    );
    assert_eq!(reasons(&body), ["invalid_value"]);
    let body = body.replace(&format!(r#""message_id":{inner}"#), r#""message_id":"3""#);
    assert_eq!(Ctx::standard().parse_ok(body.as_bytes()).event_count(), 1);
    // Unbalanced deep nesting is still malformed.
    assert!(matches!(
        Ctx::standard().parse("[".repeat(100_000).as_bytes()),
        Err(PayloadError::MalformedJson { .. })
    ));
}

#[test]
fn top_level_scalars_are_errors() {
    for (body, found) in [
        ("null", "null"),
        ("true", "boolean"),
        ("12", "number"),
        ("\"page\"", "string"),
    ] {
        assert_eq!(
            Ctx::standard().parse(body.as_bytes()),
            Err(PayloadError::NotObjectOrArray { found }),
            "{body}"
        );
    }
}

#[test]
fn wrong_shapes_are_skipped_with_reasons() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &["unknown_object"]),
        ("[]", &[]),
        (r#"[1, "x", null, [], {}]"#, &["unknown_object"; 5]),
        (r#"{"object": 5}"#, &["unknown_object"]),
        (r#"{"object": "user", "entry": []}"#, &["unknown_object"]),
        (r#"{"object": "page"}"#, &["missing_field"]),
        (r#"{"object": "page", "entry": {}}"#, &["invalid_value"]),
        (r#"{"object": "page", "entry": []}"#, &[]),
        (
            r#"{"object": "page", "entry": [1, "x"]}"#,
            &["invalid_value"; 2],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1"}]}"#,
            &["missing_field"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": {}, "changes": []}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": {}}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": [7, {}]}]}"#,
            &["invalid_value", "missing_field"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": [{"field": 3}]}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {}}]}]}"#,
            &["unknown_field"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": [{"field": "marketing_message_reads", "value": []}]}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "changes": [{"field": "marketing_message_reads", "value": {}}]}]}"#,
            &["missing_field"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "1", "standby": [{}, {}]}]}"#,
            &["unknown_field"; 2],
        ),
        (r#"{"field": null}"#, &["missing_field"]),
        (
            r#"{"field": "marketing_message_reads"}"#,
            &["missing_field"],
        ),
        (
            r#"{"field": "messages", "value": {"statuses": []}}"#,
            &["unknown_field"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"changes": []}]}"#,
            &["missing_field"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}"#,
            &["missing_field"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": {}}}]}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"metadata": [], "statuses": []}}]}]}"#,
            &["invalid_value"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": [1, {}, {"id": "w"}]}}]}]}"#,
            &["invalid_value", "missing_field", "missing_field"],
        ),
        (
            r#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {}}]}]}"#,
            &["unknown_field"],
        ),
        (
            r#"{"object": "page", "entry": [{"id": "\udc00", "changes": []}]}"#,
            &["invalid_value"],
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(&reasons(body), expected, "{body}");
    }
}

fn messenger(value: Value) -> String {
    json!({"object": "page", "entry": [{"id": "140984918491243", "changes": [
        {"field": "marketing_message_deliveries", "value": value}]}]})
    .to_string()
}

fn base_messenger_value() -> Map<String, Value> {
    json!({"page_id": "140984918491243", "messenger_subscription_token": "123",
           "timestamp": 1_751_447_703_000_i64, "message_id": "124141414124"})
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn messenger_values() {
    let with = |key: &str, value: Value| {
        let mut v = base_messenger_value();
        v.insert(key.to_owned(), value);
        messenger(Value::Object(v))
    };
    let ts = |value: Value| {
        let parsed = Ctx::standard().parse_ok(with("timestamp", value.clone()).as_bytes());
        match parsed.messenger.first() {
            Some(e) => Ok(e.event.timestamp_ms),
            None => Err(parsed.skipped[0].reason),
        }
    };
    assert_eq!(ts(json!(1_751_447_703_000_i64)), Ok(1_751_447_703_000));
    assert_eq!(ts(json!("1751447703000")), Ok(1_751_447_703_000));
    // Seconds are unambiguous (10 digits) and accepted.
    assert_eq!(ts(json!(1_751_447_703)), Ok(1_751_447_703_000));
    assert_eq!(ts(json!("1751447703")), Ok(1_751_447_703_000));
    assert_eq!(ts(json!(946_684_800_000_i64)), Ok(946_684_800_000));
    assert_eq!(ts(json!(4_102_444_799_999_i64)), Ok(4_102_444_799_999));
    assert_eq!(ts(json!(4_102_444_799_i64)), Ok(4_102_444_799_000));
    for bad in [
        json!(41_412_414_141_i64),
        json!(946_684_799_999_i64),
        json!(4_102_444_800_000_i64),
        json!(0),
        json!(-1_751_447_703_000_i64),
        json!("-1751447703000"),
        json!(1_751_447_703.5),
        json!("2025-07-02T09:15:03Z"),
        json!(""),
        json!(" 1751447703000"),
        json!(u64::MAX),
        json!(true),
        json!({}),
    ] {
        assert_eq!(ts(bad.clone()), Err(SkipReason::InvalidValue), "{bad}");
    }
    let mut v = base_messenger_value();
    v.remove("timestamp");
    assert_eq!(reasons(&messenger(Value::Object(v))), ["missing_field"]);
    assert_eq!(reasons(&with("timestamp", Value::Null)), ["missing_field"]);

    // Ids too long for the engine.
    assert_eq!(
        reasons(&with("message_id", json!("9".repeat(257)))),
        ["invalid_value"]
    );
    assert_eq!(
        reasons(&with(
            "messenger_subscription_token",
            json!("t".repeat(300))
        )),
        ["invalid_value"]
    );
    // entry.id wins, so an over-long page_id in the value is unused.
    let parsed = Ctx::standard().parse_ok(with("page_id", json!("1".repeat(300))).as_bytes());
    assert!(
        parsed.skipped.is_empty() && parsed.messenger.len() == 1,
        "{parsed:?}"
    );
    assert_eq!(reasons(&with("message_id", json!(""))), ["missing_field"]);
    assert_eq!(
        reasons(&with("message_id", json!(["1"]))),
        ["invalid_value"]
    );
    // An over-long mid is dropped, not fatal.
    let parsed = Ctx::standard().parse_ok(with("mid", json!("m".repeat(300))).as_bytes());
    assert_eq!(parsed.messenger[0].event.event_id, None);
    // Unknown keys are ignored; the last of duplicate keys wins.
    let body = messenger(json!({"page_id": "1", "messenger_subscription_token": "a", "timestamp": 1_751_447_703_000_i64,
                                 "message_id": "111", "surprise": {"deep": [1, 2, 3]}}))
        .replace("\"message_id\":\"111\"", "\"message_id\":\"111\",\"message_id\":\"222\"");
    let parsed = Ctx::standard().parse_ok(body.as_bytes());
    assert_eq!(parsed.messenger[0].event.campaign_id, "222", "{body}");
}

fn whatsapp_status(status: Value) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1314702302917944", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "15556459128", "phone_number_id": "590968830767958"},
         "statuses": [status]}}]}]})
    .to_string()
}

fn marketing_status() -> Map<String, Value> {
    json!({"id": "wamid.T", "status": "delivered", "timestamp": "1751447703", "recipient_id": "5511987654321",
           "pricing": {"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"}})
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn whatsapp_values() {
    let with = |key: &str, value: Value| {
        let mut s = marketing_status();
        s.insert(key.to_owned(), value);
        whatsapp_status(Value::Object(s))
    };
    let with_pricing = |pricing: Value| with("pricing", pricing);
    let price = |pricing: Value| {
        let parsed = Ctx::standard().parse_ok(with_pricing(pricing).as_bytes());
        match parsed.whatsapp.first() {
            Some(e) => Ok((e.event.price_micros, e.price_currency.clone())),
            None => Err(parsed.skipped[0].reason),
        }
    };
    let cost = |amount: Value, currency: Value| json!({"billable": true, "category": "marketing", "cost": {"amount": amount, "currency": currency}});
    assert_eq!(
        price(cost(json!("0.0141"), json!("USD"))),
        Ok((Some(14_100), Some("USD".into())))
    );
    assert_eq!(
        price(cost(json!(2), json!("BRL"))),
        Ok((Some(2_000_000), Some("BRL".into())))
    );
    assert_eq!(
        price(cost(json!("0.01410000"), Value::Null)),
        Ok((Some(14_100), None))
    );
    assert_eq!(price(cost(json!("0"), json!(""))), Ok((Some(0), None)));
    for bad in [
        json!("abc"),
        json!("-1"),
        json!("0.0000001"),
        json!("1e-2"),
        json!(""),
        json!(true),
        json!([1]),
    ] {
        assert_eq!(
            price(cost(bad.clone(), json!("USD"))),
            Err(SkipReason::InvalidValue),
            "{bad}"
        );
    }
    assert_eq!(
        price(cost(json!("0.5"), json!(5))),
        Err(SkipReason::InvalidValue)
    );
    assert_eq!(
        price(json!({"category": "marketing", "cost": {"currency": "USD"}})),
        Err(SkipReason::MissingField)
    );
    assert_eq!(
        price(json!({"category": "marketing", "cost": 1})),
        Err(SkipReason::InvalidValue)
    );
    assert_eq!(
        price(json!({"billable": false, "category": "marketing"})),
        Ok((Some(0), None))
    );
    assert_eq!(
        price(json!({"billable": "false", "category": "marketing"})),
        Ok((None, None))
    );
    assert_eq!(
        price(json!({"category": "MARKETING_LITE"})),
        Ok((None, None))
    );
    assert_eq!(
        price(json!({"category": "utility"})),
        Err(SkipReason::NotMarketing)
    );
    assert_eq!(price(json!([])), Err(SkipReason::InvalidValue));
    // conversation.origin.type alone establishes marketing.
    let mut s = marketing_status();
    s.remove("pricing");
    s.insert(
        "conversation".into(),
        json!({"id": "c", "origin": {"type": "marketing"}}),
    );
    let parsed = Ctx::standard().parse_ok(whatsapp_status(Value::Object(s)).as_bytes());
    assert_eq!(parsed.whatsapp.len(), 1);
    assert_eq!(parsed.marketing_wamids, ["wamid.T"]);

    assert_eq!(
        reasons(&with("status", json!("deleted"))),
        ["ignored_status"]
    );
    assert_eq!(
        reasons(&with("status", json!("warning"))),
        ["ignored_status"]
    );
    assert_eq!(reasons(&with("status", json!("SENT"))), ["ignored_status"]);
    assert_eq!(reasons(&with("status", json!(1))), ["invalid_value"]);
    assert_eq!(reasons(&with("status", Value::Null)), ["missing_field"]);
    assert_eq!(
        reasons(&with("recipient_type", json!("group"))),
        ["ignored_status"]
    );
    assert_eq!(reasons(&with("recipient_id", json!(""))), ["missing_field"]);
    assert_eq!(
        reasons(&with("timestamp", json!("later"))),
        ["invalid_value"]
    );
    assert_eq!(
        reasons(&with("id", json!("w".repeat(300)))),
        ["invalid_value"]
    );
    assert_eq!(
        reasons(&with("biz_opaque_callback_data", json!({"a": 1}))),
        ["invalid_value"]
    );
    // Unmapped callback data falls back to the phone number.
    let parsed =
        Ctx::standard().parse_ok(with("biz_opaque_callback_data", json!("nope")).as_bytes());
    assert_eq!(parsed.whatsapp[0].event.campaign_id, "2390100");
    // A timestamp in ms is accepted as well, and a non-phone recipient has no country.
    let parsed =
        Ctx::standard().parse_ok(with("timestamp", json!(1_751_447_703_250_i64)).as_bytes());
    assert_eq!(parsed.whatsapp[0].event.timestamp_ms, 1_751_447_703_250);
    let parsed = Ctx::standard().parse_ok(with("recipient_id", json!("BR.123")).as_bytes());
    assert_eq!(parsed.whatsapp[0].event.country, None);
}

#[test]
fn undecodable_text_is_described() {
    let skipped = parse_skips(r#"[{"\ud800": 1}, {"object": "page", "entry": [{"\ud800": 1}]}]"#);
    assert_eq!(
        skipped,
        [
            (
                "unknown_object",
                "[0]: an object with an undecodable key".to_owned()
            ),
            (
                "invalid_value",
                "[1].entry[0]: entry is an object with an undecodable key".to_owned()
            ),
        ]
    );
}

#[test]
fn skip_reasons_are_distinct_snake_case_labels() {
    let labels: Vec<&str> = SkipReason::ALL.iter().map(SkipReason::as_str).collect();
    assert_eq!(
        labels,
        [
            "unknown_object",
            "unknown_field",
            "not_marketing",
            "ignored_status",
            "no_campaign",
            "missing_field",
            "invalid_value"
        ]
    );
    for reason in SkipReason::ALL {
        assert_eq!(reason.to_string(), reason.as_str());
    }
}

#[test]
fn details_are_clipped_and_single_line() {
    let field = format!("evil\nfield\u{1b}[31m{}", "x".repeat(500));
    let body = json!({"object": "page", "entry": [{"id": "1", "changes": [{"field": field, "value": {}}]}]}).to_string();
    let skipped = parse_skips(&body);
    assert_eq!(skipped.len(), 1);
    let detail = &skipped[0].1;
    assert!(detail.len() < 160, "{detail}");
    assert!(
        detail.starts_with("entry[0].changes[0]: field `evil\\nfield\\u{1b}[31mxxx"),
        "{detail}"
    );
    assert!(detail.ends_with("…`"), "{detail}");
}

// ---------------------------------------------------------------------------------------------------------
// Property tests.

const KEYS: &[&str] = &[
    "object",
    "entry",
    "id",
    "time",
    "changes",
    "field",
    "value",
    "page_id",
    "app_id",
    "timestamp",
    "messenger_subscription_token",
    "recipient_id",
    "message_id",
    "mid",
    "messaging",
    "metadata",
    "phone_number_id",
    "statuses",
    "status",
    "pricing",
    "category",
    "cost",
    "amount",
    "currency",
    "billable",
    "conversation",
    "origin",
    "type",
    "biz_opaque_callback_data",
    "recipient_type",
    "user_actions",
    "messages",
];

const WORDS: &[&str] = &[
    "page",
    "whatsapp_business_account",
    "marketing_message_echoes",
    "marketing_message_deliveries",
    "marketing_message_reads",
    "marketing_message_clicks",
    "marketing_message_delivery_failed",
    "messages",
    "sent",
    "delivered",
    "read",
    "failed",
    "played",
    "marketing",
    "marketing_lite",
    "utility",
    "group",
    "1751447700",
    "1751447700000",
    "0.0141",
    "-1",
    "spring-sale-2025",
    "590968830767958",
    "5511987654321",
    "0",
    "",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        Just(Value::from(1_751_447_700_i64)),
        Just(Value::from(1_751_447_700_000_i64)),
        ".{0,10}".prop_map(Value::String),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// A scalar that is usually plausible for the key, sometimes anything.
fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any_json(),
    ]
    .boxed()
}

/// An object with each of `fields` present with probability 0.93.
fn obj_of(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let members: Vec<_> = fields
        .into_iter()
        .map(|(k, s)| prop::option::weighted(0.93, s).prop_map(move |v| (k, v)))
        .collect();
    members
        .prop_map(|members| {
            Value::Object(
                members
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                    .collect(),
            )
        })
        .boxed()
}

fn list(of: BoxedStrategy<Value>, max: usize) -> BoxedStrategy<Value> {
    prop_oneof![
        12 => prop::collection::vec(of, 0..max).prop_map(Value::Array),
        1 => any_json(),
    ]
    .boxed()
}

/// Mostly one of `choices`, sometimes anything.
fn one_of(choices: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        12 => prop::sample::select(choices).prop_map(Value::from),
        1 => scalar(),
    ]
    .boxed()
}

fn id() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => "[0-9]{1,22}".prop_map(Value::from),
        2 => any::<u64>().prop_map(Value::from),
        1 => scalar(),
    ]
    .boxed()
}

fn timestamp() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (946_684_800_000_i64..4_102_444_800_000).prop_map(Value::from),
        2 => (946_684_800_i64..4_102_444_800).prop_map(|s| Value::from(s.to_string())),
        1 => scalar(),
    ]
    .boxed()
}

fn payload() -> BoxedStrategy<Value> {
    const FIELDS: &[&str] = &[
        "marketing_message_echoes",
        "marketing_message_deliveries",
        "marketing_message_reads",
        "marketing_message_clicks",
        "marketing_message_delivery_failed",
        "messages",
        "feed",
    ];
    let messenger_value = obj_of(vec![
        ("page_id", id()),
        ("timestamp", timestamp()),
        ("messenger_subscription_token", id()),
        ("recipient_id", id()),
        ("message_id", id()),
        ("mid", scalar()),
    ]);
    let status = obj_of(vec![
        (
            "id",
            one_of(&[
                "wamid.A",
                "wamid.B",
                "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ4QjE0RjQ5QzlCRjUyQTk1NwA=",
            ]),
        ),
        (
            "status",
            one_of(&["sent", "delivered", "read", "failed", "played"]),
        ),
        ("timestamp", timestamp()),
        (
            "recipient_id",
            one_of(&["5511987654321", "447911123456", "16505551234", "0"]),
        ),
        (
            "biz_opaque_callback_data",
            one_of(&["spring-sale-2025", "cart-reminder-7", "other"]),
        ),
        (
            "recipient_type",
            one_of(&[
                "individual",
                "individual",
                "individual",
                "individual",
                "group",
            ]),
        ),
        (
            "pricing",
            obj_of(vec![
                ("billable", any::<bool>().prop_map(Value::Bool).boxed()),
                (
                    "category",
                    one_of(&["marketing", "marketing", "marketing_lite", "utility"]),
                ),
                (
                    "cost",
                    obj_of(vec![
                        (
                            "amount",
                            one_of(&[
                                "0.0141", "0.5", "2", "0.0107", "0.0411", "0.000001", "-1", "1e3",
                            ]),
                        ),
                        ("currency", one_of(&["USD", "EUR"])),
                    ]),
                ),
            ]),
        ),
        (
            "conversation",
            obj_of(vec![(
                "origin",
                obj_of(vec![("type", one_of(&["marketing", "service"]))]),
            )]),
        ),
    ]);
    let whatsapp_value = obj_of(vec![
        (
            "metadata",
            obj_of(vec![("phone_number_id", one_of(&["590968830767958", "1"]))]),
        ),
        ("statuses", list(status, 5)),
        ("messages", any_json().boxed()),
        ("user_actions", list(any_json().boxed(), 2)),
    ]);
    let messenger_change = obj_of(vec![
        ("field", one_of(FIELDS)),
        ("value", messenger_value),
        ("page_id", id()),
        ("message_id", id()),
        ("timestamp", timestamp()),
    ]);
    let whatsapp_change = obj_of(vec![
        (
            "field",
            one_of(&["messages", "messages", "messages", "account_update"]),
        ),
        ("value", whatsapp_value),
    ]);
    let entry = |change: BoxedStrategy<Value>| {
        obj_of(vec![
            ("id", id()),
            ("changes", list(change, 4)),
            ("messaging", list(any_json().boxed(), 2)),
        ])
    };
    let envelope = |object: &'static [&'static str], change: BoxedStrategy<Value>| {
        obj_of(vec![
            ("object", one_of(object)),
            ("entry", list(entry(change), 3)),
        ])
    };
    let top = prop_oneof![
        envelope(&["page", "page", "instagram"], messenger_change.clone()),
        envelope(&["whatsapp_business_account"], whatsapp_change.clone()),
        envelope(
            &["page", "whatsapp_business_account"],
            prop_oneof![messenger_change.clone(), whatsapp_change].boxed()
        ),
        messenger_change,
    ]
    .boxed();
    prop_oneof![
        3 => top.clone(),
        1 => prop::collection::vec(top, 0..3).prop_map(Value::Array),
    ]
    .boxed()
}

fn mutate(mut body: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (at, op, byte) in edits {
        if body.is_empty() {
            body.push(*byte);
            continue;
        }
        let i = at.index(body.len());
        match op % 4 {
            0 => body[i] = *byte,
            1 => {
                body.remove(i);
            }
            2 => body.insert(i, *byte),
            _ => {
                let end = (i + usize::from(*byte)).min(body.len());
                let copy = body[i..end].to_vec();
                body.splice(i..i, copy);
            }
        }
    }
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Ctx::standard().parse(&body);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let names = fixture_names();
        let body = mutate(fixture(&names[which.index(names.len())]), &edits);
        // `parse` (via Ctx) also checks that every event is valid and details are single-line.
        let _ = Ctx::standard().parse(&body);
    }

    #[test]
    fn any_json_object_or_array_is_never_an_error(value in any_json()) {
        let top = match value {
            Value::Object(_) | Value::Array(_) => value,
            other => Value::Array(vec![other]),
        };
        let body = serde_json::to_vec(&top).unwrap();
        prop_assert!(Ctx::standard().parse(&body).is_ok());
    }

    #[test]
    fn plausible_payloads_are_never_errors(value in payload()) {
        let body = serde_json::to_vec(&value).unwrap();
        let parsed = Ctx::standard().parse(&body);
        prop_assert!(parsed.is_ok(), "{:?}", parsed);
        let parsed = parsed.unwrap();
        // Whitespace does not change anything.
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        prop_assert_eq!(Ctx::standard().parse(&pretty).unwrap(), parsed.clone());
        // Every WhatsApp event came from a status that counts, with a mapped campaign.
        for e in &parsed.whatsapp {
            prop_assert!(["2390001", "2390002", "2390100"].contains(&e.event.campaign_id.as_str()));
        }
    }
}

#[test]
fn three_megabyte_payload() {
    // Meta sends up to 3 MB; every status is found and the work stays linear (a few passes over the bytes).
    let status = |i: usize| {
        json!({"id": format!("wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEj{i:020}"), "status": "delivered",
               "timestamp": "1751447703", "recipient_id": format!("55119{i:08}"),
               "biz_opaque_callback_data": "spring-sale-2025",
               "conversation": {"id": "a34a10abd87c7badad4d1fc5bafadd71", "origin": {"type": "marketing"}},
               "pricing": {"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing",
                           "cost": {"amount": "0.0625", "currency": "USD"}}})
    };
    let statuses: Vec<Value> = (0..7_500).map(status).collect();
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1314702302917944", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "15556459128", "phone_number_id": "590968830767958"},
         "statuses": statuses}}]}]})
    .to_string();
    assert!(
        body.len() > 2_500_000 && body.len() < 3_200_000,
        "{}",
        body.len()
    );
    let started = std::time::Instant::now();
    let parsed = Ctx::standard().parse_ok(body.as_bytes());
    let elapsed = started.elapsed();
    assert_eq!(parsed.whatsapp.len(), 7_500);
    assert_eq!(parsed.marketing_wamids.len(), 7_500);
    assert!(parsed.skipped.is_empty());
    assert!(parsed
        .whatsapp
        .iter()
        .all(|e| e.event.price_micros == Some(62_500)));
    eprintln!("parsed {} bytes in {elapsed:?}", body.len());
}
