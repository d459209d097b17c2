//! No input makes the crate panic: arbitrary text and JSON-ish documents at load time, arbitrary
//! strings at evaluation time.

mod common;

use common::{documents, parse_all, request};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use ram_policy::{evaluate, explain, parse_policy, Policy, RequestContext};
use serde_json::Value;

const VOCABULARY: &[&str] = &[
    "Version",
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Allow",
    "Deny",
    "1",
    "StringEquals",
    "StringLike",
    "NumericLessThan",
    "DateLessThan",
    "Bool",
    "IpAddress",
    "NotIpAddress",
    "acs:SourceIp",
    "acs:CurrentTime",
    "cams:*",
    "*",
    "?",
    "10.0.0.0/8",
    "2019-08-12",
    "true",
    "",
    "é",
    "1e999",
];

/// JSON values built from the policy vocabulary, nested a few levels, so that the parser's deeper
/// branches are reached with wrong shapes.
fn json_ish() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        select(VOCABULARY).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((select(VOCABULARY), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value))
                        .collect(),
                )
            }),
        ]
    })
}

fn arbitrary_request() -> impl Strategy<Value = RequestContext> {
    (
        any::<String>(),
        prop::collection::vec(any::<String>(), 0..3),
        prop::collection::btree_map(
            any::<String>(),
            prop::collection::vec(any::<String>(), 0..3),
            0..4,
        ),
    )
        .prop_map(|(action, resources, condition_values)| RequestContext {
            action,
            resources,
            condition_values,
        })
}

fn exercise(policy: &Policy, request: &RequestContext) {
    let decision = evaluate(&[policy], request);
    let _ = explain::describe(&decision);
    let _ = explain::encoded_diagnostic(&decision, &request.action);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_policy("fuzz", &text);
    }

    #[test]
    fn json_punctuation_soup_never_panics(text in r#"[\[\]{}":,0-9a-zA-Z*?/.\- \\]{0,200}"#) {
        let _ = parse_policy("fuzz", &text);
    }

    #[test]
    fn json_ish_documents_never_panic(
        statements in prop::collection::vec(json_ish(), 0..4),
        version in json_ish(),
        extra in prop::option::of(json_ish()),
        request in request(),
    ) {
        let mut document = serde_json::Map::new();
        document.insert("Version".to_string(), version);
        document.insert("Statement".to_string(), Value::Array(statements));
        if let Some(extra) = extra {
            document.insert("Extra".to_string(), extra);
        }
        if let Ok(policy) = parse_policy("fuzz", &Value::Object(document).to_string()) {
            exercise(&policy, &request);
        }
    }

    #[test]
    fn json_ish_statements_in_valid_documents_never_panic(statement in json_ish(), request in arbitrary_request()) {
        let document = serde_json::json!({ "Version": "1", "Statement": [statement] }).to_string();
        if let Ok(policy) = parse_policy("fuzz", &document) {
            exercise(&policy, &request);
        }
    }

    /// Small edits to valid documents: deleting or inserting one character anywhere.
    #[test]
    fn edited_valid_documents_never_panic(
        documents in documents(),
        at in any::<Index>(),
        inserted in prop::option::of(any::<char>()),
        request in arbitrary_request(),
    ) {
        let text = documents[0].1.to_string();
        let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).chain([text.len()]).collect();
        let position = boundaries[at.index(boundaries.len())];
        let mut edited = text.clone();
        match inserted {
            Some(character) => edited.insert(position, character),
            None if position < text.len() => {
                edited.remove(position);
            }
            None => {}
        }
        if let Ok(policy) = parse_policy("fuzz", &edited) {
            exercise(&policy, &request);
        }
    }

    /// Valid policies against requests made of arbitrary (including non-ASCII) strings.
    #[test]
    fn arbitrary_requests_never_panic(documents in documents(), request in arbitrary_request()) {
        for policy in parse_all(&documents) {
            exercise(&policy, &request);
        }
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let document = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(parse_policy("deep", &document).is_err());
    let document = format!(
        r#"{{"Version":"1","Statement":{}{}}}"#,
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    assert!(parse_policy("deep", &document).is_err());
}

#[test]
fn huge_numbers_and_strings_load_or_refuse_cleanly() {
    let long = "9".repeat(100_000);
    let document = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"NumericLessThan":{{"n":"{long}"}},"DateLessThan":{{"t":"{long}"}}}}}}]}}"#
    );
    assert!(parse_policy("huge", &document).is_err());
    let document = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"NumericLessThan":{{"n":"{long}"}}}}}}]}}"#
    );
    let policy = match parse_policy("huge", &document) {
        Ok(policy) => policy,
        Err(error) => panic!("{error}"),
    };
    let request = RequestContext::new("cams:X")
        .with_resource("*")
        .with_condition("n", "1e99999");
    exercise(&policy, &request);
}
