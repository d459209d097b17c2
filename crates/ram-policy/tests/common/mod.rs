//! Random policies and requests drawn from small, deliberately colliding alphabets, so that
//! wildcards overlap, case differs only sometimes, and conditions meet values of their own type
//! often enough (and of the wrong type sometimes).
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::select;
use ram_policy::{parse_policy, Decision, Policy, RequestContext};
use serde_json::{json, Value};

pub const ACTION_PATTERNS: &[&str] = &[
    "cams:Get*",
    "cams:get?essage*",
    "CAMS:List*",
    "cams:*",
    "*",
    "cams:GetMessageCampaignInsights",
    "cams:?et*",
    "sts:AssumeRole",
    "cams:*Campaign*",
    "c*s:G*t*",
    "cams:Get?",
];

pub const REQUEST_ACTIONS: &[&str] = &[
    "cams:GetMessageCampaignInsights",
    "cams:getmessage",
    "CAMS:ListMessageCampaign",
    "cams:GetMessage",
    "cams:CreateMessageCampaign",
    "sts:AssumeRole",
    "cams:Get",
    "cams:Gets",
    "Cams:gETmESSAGEcampaignInsights",
];

pub const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "acs:cams:*:1:custspace/a*",
    "acs:cams:*:1:custspace/a?",
    "acs:cams:ap-southeast-1:1:custspace/ab",
    "acs:cams:*:2:*",
    "acs:cams:*:*:custspace/*/campaign/2?",
    "acs:cams:*:1:custspace/A*",
    "acs:*",
    "acs:cams:*:*:custspace/a*/campaign/*",
];

pub const REQUEST_RESOURCES: &[&str] = &[
    "acs:cams:ap-southeast-1:1:custspace/ab",
    "acs:cams:ap-southeast-1:1:custspace/a",
    "acs:cams:cn-hangzhou:1:custspace/Ab",
    "acs:cams:ap-southeast-1:2:custspace/ab/campaign/23",
    "acs:cams:x:1:custspace/a/campaign/2",
    "acs:cams:x:1:custspace/A/campaign/29",
    "*",
];

/// Policy-side condition keys: case variants of the same few keys.
pub const POLICY_KEYS: &[&str] = &[
    "acs:SourceIp",
    "ACS:sourceip",
    "acs:CurrentTime",
    "acs:SecureTransport",
    "k1",
    "K1",
];

/// Request-side keys, lowercase as the contract says.
pub const REQUEST_KEYS: &[&str] = &[
    "acs:sourceip",
    "acs:currenttime",
    "acs:securetransport",
    "k1",
];

pub const REQUEST_VALUES: &[&str] = &[
    "10.0.0.1",
    "10.0.0.3",
    "10.0.0.4",
    "10.0.0.5",
    "::ffff:10.0.0.2",
    "fe80::1",
    "2019-08-12T09:00:00Z",
    "2019-08-12T01:00:00Z",
    "2019-08-12",
    "1565600400",
    "1",
    "1.00",
    "10",
    "-1",
    "2.5",
    "true",
    "False",
    "ab",
    "AB",
    "a",
    "abc",
    "",
    "garbage",
];

pub const STRING_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
];
pub const NUMERIC_OPERATORS: &[&str] = &[
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
];
pub const DATE_OPERATORS: &[&str] = &[
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
];
pub const IP_OPERATORS: &[&str] = &["IpAddress", "NotIpAddress"];

fn string_values() -> Vec<Value> {
    vec![
        json!("ab"),
        json!("AB"),
        json!("a*"),
        json!("a?"),
        json!("*"),
        json!("10.0.0.1"),
        json!("true"),
        json!(""),
        json!(1),
        json!(true),
    ]
}

fn numeric_values() -> Vec<Value> {
    vec![
        json!("1"),
        json!("1.0"),
        json!("01"),
        json!("-1"),
        json!("2.5"),
        json!("1e1"),
        json!("10"),
        json!("0.10"),
        json!(1),
        json!(2.5),
        json!(-1),
    ]
}

fn date_values() -> Vec<Value> {
    vec![
        json!("2019-08-12"),
        json!("2019-08-12T09:00:00Z"),
        json!("2019-08-12T17:00:00+08:00"),
        json!("2019-08-12T09:00:01Z"),
        json!("1565600400"),
        json!("2019-08-11T23:59:59Z"),
        json!(1565600400),
    ]
}

fn bool_values() -> Vec<Value> {
    vec![
        json!("true"),
        json!("false"),
        json!("TRUE"),
        json!(true),
        json!(false),
    ]
}

fn ip_values() -> Vec<Value> {
    vec![
        json!("10.0.0.0/30"),
        json!("10.0.0.1"),
        json!("10.0.0.4/31"),
        json!("::ffff:10.0.0.0/126"),
        json!("fe80::/64"),
        json!("0.0.0.0/0"),
        json!("10.0.0.2/32"),
    ]
}

/// A single string half the time, otherwise a list of 1–3 strings.
pub fn one_or_list(alphabet: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        select(alphabet).prop_map(|item| json!(item)),
        prop::collection::vec(select(alphabet), 1..=3).prop_map(|items| json!(items)),
    ]
}

fn values_from(alphabet: Vec<Value>) -> impl Strategy<Value = Value> {
    prop_oneof![
        select(alphabet.clone()),
        prop::collection::vec(select(alphabet), 1..=3).prop_map(Value::Array),
    ]
}

/// Policy keys that usually go with each operator family (case variants included).
const IP_KEYS: &[&str] = &["acs:SourceIp", "ACS:sourceip"];
const DATE_KEYS: &[&str] = &["acs:CurrentTime", "ACS:CURRENTTIME"];
const BOOL_KEYS: &[&str] = &["acs:SecureTransport", "acs:securetransport"];
const OTHER_KEYS: &[&str] = &["k1", "K1"];

/// A key for an operator family: usually its own, sometimes any (cross-type collisions).
fn key_for(family_keys: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => select(family_keys), 1 => select(POLICY_KEYS)]
}

/// (operator, key, condition values valid for the operator).
pub fn operator_key_and_values() -> impl Strategy<Value = (String, &'static str, Value)> {
    prop_oneof![
        (
            select(STRING_OPERATORS),
            key_for(OTHER_KEYS),
            values_from(string_values())
        ),
        (
            select(NUMERIC_OPERATORS),
            key_for(OTHER_KEYS),
            values_from(numeric_values())
        ),
        (
            select(DATE_OPERATORS),
            key_for(DATE_KEYS),
            values_from(date_values())
        ),
        (Just("Bool"), key_for(BOOL_KEYS), values_from(bool_values())),
        (
            select(IP_OPERATORS),
            key_for(IP_KEYS),
            values_from(ip_values())
        ),
    ]
    .prop_map(|(operator, key, values)| (operator.to_string(), key, values))
}

pub fn condition_block() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            operator_key_and_values(),
            select(POLICY_KEYS),
            prop::bool::weighted(0.2),
        ),
        1..=2,
    )
    .prop_map(|entries| {
        let mut block = serde_json::Map::new();
        for ((operator, key, values), second_key, two_keys) in entries {
            let keyed = block
                .entry(operator)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(keyed) = keyed {
                keyed.insert(key.to_string(), values.clone());
                if two_keys {
                    keyed.insert(second_key.to_string(), values);
                }
            }
        }
        Value::Object(block)
    })
}

pub fn statement_with_effect(
    effect: impl Strategy<Value = &'static str>,
) -> impl Strategy<Value = Value> {
    (
        effect,
        any::<bool>().prop_map(|not| if not { "NotAction" } else { "Action" }),
        one_or_list(ACTION_PATTERNS),
        prop::bool::weighted(0.2).prop_map(|not| if not { "NotResource" } else { "Resource" }),
        one_or_list(RESOURCE_PATTERNS),
        prop::option::weighted(0.5, condition_block()),
    )
        .prop_map(
            |(effect, action_key, actions, resource_key, resources, condition)| {
                let mut statement =
                    json!({ "Effect": effect, action_key: actions, resource_key: resources });
                if let (Some(condition), Value::Object(fields)) = (condition, &mut statement) {
                    fields.insert("Condition".to_string(), condition);
                }
                statement
            },
        )
}

pub fn statement() -> impl Strategy<Value = Value> {
    statement_with_effect(prop::sample::select(vec!["Allow", "Allow", "Deny"]))
}

pub fn document() -> impl Strategy<Value = Value> {
    prop::collection::vec(statement(), 1..=4)
        .prop_map(|statements| json!({ "Version": "1", "Statement": statements }))
}

/// 1–3 named policy documents.
pub fn documents() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(document(), 1..=3).prop_map(|documents| {
        documents
            .into_iter()
            .enumerate()
            .map(|(index, document)| (format!("p{index}"), document))
            .collect()
    })
}

/// Request values that usually fit a request key, and sometimes anything.
fn request_values_for(key: &str) -> impl Strategy<Value = Vec<String>> {
    let typed: &'static [&'static str] = match key {
        "acs:sourceip" => &[
            "10.0.0.1",
            "10.0.0.3",
            "10.0.0.4",
            "10.0.0.5",
            "::ffff:10.0.0.2",
            "fe80::1",
        ],
        "acs:currenttime" => &[
            "2019-08-12T09:00:00Z",
            "2019-08-12T01:00:00Z",
            "2019-08-12",
            "1565600400",
            "2019-08-12T17:00:00+08:00",
        ],
        "acs:securetransport" => &["true", "false", "False", "TRUE"],
        _ => &[
            "1", "1.00", "10", "-1", "2.5", "ab", "AB", "a", "abc", "", "0.1",
        ],
    };
    prop::collection::vec(
        prop_oneof![6 => select(typed), 1 => select(REQUEST_VALUES)],
        1..=2,
    )
    .prop_map(|values| values.into_iter().map(str::to_string).collect())
}

pub fn request() -> impl Strategy<Value = RequestContext> {
    let facts: Vec<_> = REQUEST_KEYS
        .iter()
        .map(|key| {
            prop::option::weighted(0.75, request_values_for(key))
                .prop_map(move |values| (*key, values))
        })
        .collect();
    (
        select(REQUEST_ACTIONS),
        // Mostly one resource, as the gateway sends; sometimes two; rarely none.
        prop_oneof![
            1 => Just(Vec::new()),
            6 => prop::collection::vec(select(REQUEST_RESOURCES), 1..=1),
            2 => prop::collection::vec(select(REQUEST_RESOURCES), 2..=2),
        ],
        facts,
    )
        .prop_map(|(action, resources, facts)| {
            let mut request = RequestContext::new(action);
            request.resources = resources.into_iter().map(str::to_string).collect();
            for (key, values) in facts {
                if let Some(values) = values {
                    request.condition_values.insert(key.to_string(), values);
                }
            }
            request
        })
}

/// Parses generated documents; generated documents are valid by construction.
pub fn parse_all(documents: &[(String, Value)]) -> Vec<Policy> {
    documents
        .iter()
        .map(
            |(name, document)| match parse_policy(name, &document.to_string()) {
                Ok(policy) => policy,
                Err(error) => panic!("generated policy refused: {error}\n{document}"),
            },
        )
        .collect()
}

pub fn decide(policies: &[Policy], request: &RequestContext) -> Decision {
    let references: Vec<&Policy> = policies.iter().collect();
    ram_policy::evaluate(&references, request)
}

/// The deciding statements as (policy, index) pairs.
pub fn deciding_pairs(decision: &Decision) -> Vec<(String, usize)> {
    decision
        .deciding
        .iter()
        .map(|statement| (statement.policy.clone(), statement.statement_index))
        .collect()
}
