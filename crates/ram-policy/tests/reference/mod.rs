//! A naive reference evaluator, written straight from the definitions in `docs/ram.md` and the crate
//! docs, sharing no code with the crate: wildcards by plain recursion over characters, conditions
//! interpreted from the raw `serde_json::Value` at every request, numbers as scaled `i128`
//! integers, dates through `chrono`, networks bit by bit over octets.
//!
//! It assumes the document is valid (the real parser accepted it) and that inputs are small.
#![allow(dead_code)]

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ram_policy::{DecisionKind, RequestContext};
use serde_json::Value;

/// (decision, deciding statements as (policy name, statement index)).
pub type Outcome = (DecisionKind, Vec<(String, usize)>);

pub fn evaluate(policies: &[(String, Value)], request: &RequestContext) -> Outcome {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    let mut resource_allowed = vec![false; request.resources.len()];
    for (name, document) in policies {
        for (index, statement) in statements(document).iter().enumerate() {
            let mut matched_any = false;
            for (resource_index, resource) in request.resources.iter().enumerate() {
                if statement_matches(statement, &request.action, resource, request) {
                    matched_any = true;
                    if effect(statement) == "Allow" {
                        resource_allowed[resource_index] = true;
                    }
                }
            }
            if matched_any {
                if effect(statement) == "Deny" {
                    denies.push((name.clone(), index));
                } else {
                    allows.push((name.clone(), index));
                }
            }
        }
    }
    if !denies.is_empty() {
        (DecisionKind::ExplicitDeny, denies)
    } else if !request.resources.is_empty() && resource_allowed.iter().all(|allowed| *allowed) {
        (DecisionKind::Allow, allows)
    } else {
        (DecisionKind::ImplicitDeny, Vec::new())
    }
}

fn statements(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    }
}

fn effect(statement: &Value) -> &str {
    statement["Effect"].as_str().unwrap_or("")
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(list) => list.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        other => panic!("reference evaluator given a non-scalar {other}"),
    }
}

fn statement_matches(
    statement: &Value,
    action: &str,
    resource: &str,
    request: &RequestContext,
) -> bool {
    let action_ok = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(list), _) => strings(list)
            .iter()
            .any(|pattern| action_glob(pattern, action)),
        (None, Some(list)) => !strings(list)
            .iter()
            .any(|pattern| action_glob(pattern, action)),
        (None, None) => false,
    };
    let resource_ok = match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(list), _) => strings(list).iter().any(|pattern| glob(pattern, resource)),
        (None, Some(list)) => !strings(list).iter().any(|pattern| glob(pattern, resource)),
        (None, None) => false,
    };
    action_ok && resource_ok && conditions_hold(statement.get("Condition"), request)
}

/// `*` any run, `?` one character, everything else itself; by recursion over characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_chars(&pattern, &text)
}

fn glob_chars(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => {
            glob_chars(rest, text) || (!text.is_empty() && glob_chars(pattern, &text[1..]))
        }
        Some(('?', rest)) => !text.is_empty() && glob_chars(rest, &text[1..]),
        Some((literal, rest)) => text.first() == Some(literal) && glob_chars(rest, &text[1..]),
    }
}

pub fn action_glob(pattern: &str, action: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

fn request_values<'a>(request: &'a RequestContext, key: &str) -> Vec<&'a String> {
    request
        .condition_values
        .iter()
        .filter(|(request_key, _)| request_key.to_lowercase() == key.to_lowercase())
        .flat_map(|(_, values)| values.iter())
        .collect()
}

fn conditions_hold(block: Option<&Value>, request: &RequestContext) -> bool {
    let Some(Value::Object(operators)) = block else {
        return true;
    };
    operators.iter().all(|(operator, keyed)| {
        let Value::Object(keyed) = keyed else {
            panic!("reference evaluator given a malformed condition block");
        };
        keyed.iter().all(|(key, values)| {
            let policy_values = strings(values);
            request_values(request, key)
                .iter()
                .any(|request_value| satisfies(operator, request_value, &policy_values))
        })
    })
}

fn satisfies(operator: &str, request_value: &str, policy_values: &[String]) -> bool {
    let negated = matches!(
        operator,
        "StringNotEquals"
            | "StringNotEqualsIgnoreCase"
            | "StringNotLike"
            | "NumericNotEquals"
            | "DateNotEquals"
            | "NotIpAddress"
    );
    let any_match: Option<bool> = match operator {
        "StringEquals" | "StringNotEquals" => {
            Some(policy_values.iter().any(|value| value == request_value))
        }
        "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => Some(
            policy_values
                .iter()
                .any(|value| value.to_lowercase() == request_value.to_lowercase()),
        ),
        "StringLike" | "StringNotLike" => {
            Some(policy_values.iter().any(|value| glob(value, request_value)))
        }
        numeric if numeric.starts_with("Numeric") => number(request_value).map(|request_number| {
            policy_values.iter().any(|value| {
                let policy_number = number(value).expect("valid policy number");
                compare(
                    numeric.trim_start_matches("Numeric"),
                    compare_numbers(request_number, policy_number),
                )
            })
        }),
        date if date.starts_with("Date") => instant(request_value).map(|request_instant| {
            policy_values.iter().any(|value| {
                let policy_instant = instant(value).expect("valid policy date");
                compare(
                    date.trim_start_matches("Date"),
                    request_instant.cmp(&policy_instant),
                )
            })
        }),
        "Bool" => boolean(request_value).map(|flag| {
            policy_values
                .iter()
                .any(|value| boolean(value) == Some(flag))
        }),
        "IpAddress" | "NotIpAddress" => address(request_value).map(|request_address| {
            policy_values
                .iter()
                .any(|value| network_contains(value, &request_address))
        }),
        other => panic!("reference evaluator given unknown operator {other}"),
    };
    match any_match {
        None => false,
        Some(matched) => matched != negated,
    }
}

fn compare(relation: &str, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match relation {
        "Equals" | "NotEquals" => ordering == Equal,
        "LessThan" => ordering == Less,
        "LessThanEquals" => ordering != Greater,
        "GreaterThan" => ordering == Greater,
        "GreaterThanEquals" => ordering != Less,
        other => panic!("unknown relation {other}"),
    }
}

/// (mantissa, power of ten): value = mantissa × 10^power.
fn number(text: &str) -> Option<(i128, i32)> {
    let (mantissa_text, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, unsigned) = match mantissa_text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (
            false,
            mantissa_text.strip_prefix('+').unwrap_or(mantissa_text),
        ),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.len() + fraction.len() == 0
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let mut mantissa: i128 = digits.parse().ok()?;
    if negative {
        mantissa = -mantissa;
    }
    Some((mantissa, exponent - fraction.len() as i32))
}

fn compare_numbers(left: (i128, i32), right: (i128, i32)) -> std::cmp::Ordering {
    let common = left.1.min(right.1);
    let scale = |(mantissa, power): (i128, i32)| mantissa * 10i128.pow((power - common) as u32);
    scale(left).cmp(&scale(right))
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !text.contains('-')
    {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if text.contains('.') && fraction.is_empty() {
            return None;
        }
        let nanos = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<9}").parse().ok()?
        };
        return DateTime::from_timestamp(whole.parse().ok()?, nanos);
    }
    if let Ok(date_time) = DateTime::parse_from_rfc3339(text) {
        return Some(date_time.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Some(naive.and_utc());
    }
    if text.len() == 10 {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
        }
    }
    None
}

fn boolean(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Octets of an address, IPv4-mapped IPv6 written as IPv4.
fn address(text: &str) -> Option<Vec<u8>> {
    Some(match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets().to_vec(),
        },
    })
}

fn network_contains(network: &str, request_address: &[u8]) -> bool {
    let (address_text, prefix) = match network.split_once('/') {
        Some((address_text, prefix)) => (
            address_text,
            Some(prefix.parse::<usize>().expect("valid prefix")),
        ),
        None => (network, None),
    };
    let written: IpAddr = address_text.parse().expect("valid policy address");
    let (octets, prefix) = match written {
        IpAddr::V4(v4) => (v4.octets().to_vec(), prefix.unwrap_or(32)),
        IpAddr::V6(v6) => match (v6.to_ipv4_mapped(), prefix.unwrap_or(128)) {
            (Some(v4), prefix) if prefix >= 96 => (v4.octets().to_vec(), prefix - 96),
            (_, prefix) => (v6.octets().to_vec(), prefix),
        },
    };
    if octets.len() != request_address.len() {
        return false;
    }
    (0..prefix).all(|bit| {
        let mask = 0x80u8 >> (bit % 8);
        octets[bit / 8] & mask == request_address[bit / 8] & mask
    })
}
