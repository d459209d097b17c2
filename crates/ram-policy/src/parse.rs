//! Policy documents → typed, precompiled [`Policy`] values.
//!
//! The document is read into a `serde_json::Value` and walked by hand, so every refusal can name
//! the statement and key at fault (derived deserialisers report only a line and column). A second
//! pass over the raw text catches repeated object keys, which `serde_json::Value` would otherwise
//! resolve silently to the last one: `{"Effect":"Deny", …, "Effect":"Allow"}` must not load.
//!
//! Object key order never matters: keys are examined in sorted order, so even the choice of which
//! error to report among several does not depend on how the document was written.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::condition::{Condition, Operator};
use crate::error::{PolicyError, PolicyErrorKind};
use crate::matching::{Case, Pattern};
use crate::model::{Coverage, Effect, Policy, PolicyKind, Statement};

/// The only policy language version Alibaba defines.
pub const POLICY_VERSION: &str = "1";

/// Parses a custom policy document. `name` is used in error messages and in decisions.
pub fn parse_policy(name: &str, document: &str) -> Result<Policy, PolicyError> {
    parse_policy_of_kind(name, document, PolicyKind::Custom)
}

pub(crate) fn parse_policy_of_kind(
    name: &str,
    document: &str,
    kind: PolicyKind,
) -> Result<Policy, PolicyError> {
    let refuse = |kind: PolicyErrorKind| PolicyError {
        policy: name.to_string(),
        kind,
    };
    let root: Value = serde_json::from_str(document)
        .map_err(|error| refuse(PolicyErrorKind::InvalidJson(error.to_string())))?;
    if let Some(duplicate) = find_duplicate_key(document) {
        return Err(refuse(duplicate));
    }
    let statements = parse_document(&root).map_err(refuse)?;
    Ok(Policy {
        name: name.to_string(),
        version: POLICY_VERSION.to_string(),
        kind,
        statements,
    })
}

type Parsed<T> = Result<T, PolicyErrorKind>;

fn parse_document(root: &Value) -> Parsed<Vec<Statement>> {
    let Value::Object(root) = root else {
        return Err(PolicyErrorKind::NotAnObject);
    };
    if let Some(unknown) = sorted_keys(root).find(|key| !matches!(*key, "Version" | "Statement")) {
        return Err(PolicyErrorKind::UnknownTopLevelKey(unknown.to_string()));
    }
    match root.get("Version") {
        None => return Err(PolicyErrorKind::MissingVersion),
        Some(Value::String(version)) if version == POLICY_VERSION => {}
        Some(other) => return Err(PolicyErrorKind::InvalidVersion(other.to_string())),
    }
    let statement_values: &[Value] = match root.get("Statement") {
        None => return Err(PolicyErrorKind::MissingStatement),
        Some(Value::Array(statements)) => statements,
        // A lone statement object reads as a one-element list, as a lone string does elsewhere.
        Some(single @ Value::Object(_)) => std::slice::from_ref(single),
        Some(_) => return Err(PolicyErrorKind::StatementNotList),
    };
    statement_values
        .iter()
        .enumerate()
        .map(|(index, value)| parse_statement(index, value))
        .collect()
}

fn parse_statement(statement: usize, value: &Value) -> Parsed<Statement> {
    let Value::Object(fields) = value else {
        return Err(PolicyErrorKind::StatementNotObject { statement });
    };
    if let Some(unknown) = sorted_keys(fields).find(|key| {
        !matches!(
            *key,
            "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition"
        )
    }) {
        return Err(PolicyErrorKind::UnknownStatementKey {
            statement,
            key: unknown.to_string(),
        });
    }
    let effect = match fields.get("Effect") {
        None => return Err(PolicyErrorKind::MissingEffect { statement }),
        Some(Value::String(effect)) if effect == "Allow" => Effect::Allow,
        Some(Value::String(effect)) if effect == "Deny" => Effect::Deny,
        Some(_) => return Err(PolicyErrorKind::InvalidEffect { statement }),
    };
    let actions = parse_coverage(statement, fields, Element::Action)?;
    let resources = parse_coverage(statement, fields, Element::Resource)?;
    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(block)) => parse_condition_block(statement, block)?,
        Some(_) => return Err(PolicyErrorKind::ConditionNotObject { statement }),
    };
    Ok(Statement {
        effect,
        actions,
        resources,
        conditions,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Action,
    Resource,
}

impl Element {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Element::Action => ("Action", "NotAction"),
            Element::Resource => ("Resource", "NotResource"),
        }
    }
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: exactly one of the pair, a string or a
/// non-empty list of strings.
fn parse_coverage(
    statement: usize,
    fields: &Map<String, Value>,
    element: Element,
) -> Parsed<Coverage> {
    let (positive, negative) = element.names();
    let (name, value, negated) = match (fields.get(positive), fields.get(negative)) {
        (Some(_), Some(_)) => {
            return Err(PolicyErrorKind::BothForms {
                statement,
                element: positive,
            })
        }
        (None, None) => {
            return Err(PolicyErrorKind::NeitherForm {
                statement,
                element: positive,
            })
        }
        (Some(value), None) => (positive, value, false),
        (None, Some(value)) => (negative, value, true),
    };
    let items: Vec<(Option<usize>, &str)> = match value {
        Value::String(single) => vec![(None, single.as_str())],
        Value::Array(list) if list.is_empty() => {
            return Err(PolicyErrorKind::EmptyList {
                statement,
                element: name,
            })
        }
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok((Some(index), text.as_str())),
                _ => Err(PolicyErrorKind::ItemNotString {
                    statement,
                    element: name,
                    index,
                }),
            })
            .collect::<Parsed<_>>()?,
        _ => {
            return Err(PolicyErrorKind::NotStrings {
                statement,
                element: name,
            })
        }
    };
    let mut patterns = Vec::with_capacity(items.len());
    for (index, text) in items {
        let pattern = match element {
            Element::Action => {
                // `service:Name` patterns, or stars alone; anything else is a typo that would
                // silently match nothing (or, worse, something unintended).
                if !(text.contains(':')
                    || (!text.is_empty() && text.bytes().all(|byte| byte == b'*')))
                {
                    return Err(PolicyErrorKind::InvalidAction {
                        statement,
                        element: name,
                        index,
                        value: text.to_string(),
                    });
                }
                Pattern::compile(text, Case::AsciiInsensitive)
            }
            Element::Resource => {
                if text.is_empty() {
                    return Err(PolicyErrorKind::EmptyResource {
                        statement,
                        element: name,
                        index,
                    });
                }
                Pattern::compile(text, Case::Sensitive)
            }
        };
        patterns.push(pattern);
    }
    Ok(Coverage { patterns, negated })
}

/// `{Operator: {Key: value | [values]}}` → one [`Condition`] per (operator, key).
fn parse_condition_block(statement: usize, block: &Map<String, Value>) -> Parsed<Vec<Condition>> {
    let mut conditions = Vec::new();
    for operator_name in sorted_keys(block) {
        let Some(operator) = Operator::from_name(operator_name) else {
            return Err(PolicyErrorKind::UnknownOperator {
                statement,
                operator: operator_name.to_string(),
            });
        };
        let Some(Value::Object(keyed_values)) = block.get(operator_name) else {
            return Err(PolicyErrorKind::OperatorNotObject {
                statement,
                operator,
            });
        };
        for key in sorted_keys(keyed_values) {
            if key.is_empty() {
                return Err(PolicyErrorKind::EmptyConditionKey {
                    statement,
                    operator,
                });
            }
            let not_scalar = || PolicyErrorKind::ValueNotScalar {
                statement,
                operator,
                key: key.to_string(),
            };
            let values: Vec<String> = match keyed_values.get(key) {
                Some(Value::Array(list)) if list.is_empty() => {
                    return Err(PolicyErrorKind::EmptyValueList {
                        statement,
                        operator,
                        key: key.to_string(),
                    })
                }
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|item| scalar_text(item).ok_or_else(not_scalar))
                    .collect::<Parsed<_>>()?,
                Some(single) => vec![scalar_text(single).ok_or_else(not_scalar)?],
                None => Vec::new(),
            };
            let condition = Condition::compile(operator, key, &values).map_err(|problem| {
                PolicyErrorKind::InvalidValue {
                    statement,
                    operator,
                    key: key.to_string(),
                    problem,
                }
            })?;
            conditions.push(condition);
        }
    }
    conditions.sort_by_key(Condition::cost_rank);
    Ok(conditions)
}

/// Alibaba accepts numbers and booleans as condition values and compares them as text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Keys in sorted order whatever map implementation `serde_json` was built with.
fn sorted_keys(map: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys.into_iter()
}

/// Finds the first object that repeats a key, in document order. Runs only on text that already
/// parsed as JSON, so the deserializer cannot fail for any other reason.
fn find_duplicate_key(document: &str) -> Option<PolicyErrorKind> {
    let mut path = Vec::new();
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_str(document);
    // Any error here is the duplicate we stopped at (or a limit already hit by the first pass).
    let _ = DuplicateFinder {
        path: &mut path,
        found: &mut found,
    }
    .deserialize(&mut deserializer);
    found
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

struct DuplicateFinder<'a> {
    path: &'a mut Vec<PathStep>,
    found: &'a mut Option<PolicyErrorKind>,
}

impl DuplicateFinder<'_> {
    fn record(&mut self, key: String) {
        let mut text = String::new();
        for step in self.path.iter() {
            match step {
                PathStep::Key(key) if text.is_empty() => text.push_str(key),
                PathStep::Key(key) => {
                    text.push('.');
                    text.push_str(key);
                }
                PathStep::Index(index) => text.push_str(&format!("[{index}]")),
            }
        }
        let statement = match self.path.as_slice() {
            [PathStep::Key(top), PathStep::Index(index), ..] if top == "Statement" => Some(*index),
            _ => None,
        };
        *self.found = Some(PolicyErrorKind::DuplicateKey {
            path: text,
            statement,
            key,
        });
    }
}

impl<'de> DeserializeSeed<'de> for DuplicateFinder<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DuplicateFinder<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            self.path.push(PathStep::Index(index));
            let more = sequence.next_element_seed(DuplicateFinder {
                path: &mut *self.path,
                found: &mut *self.found,
            });
            self.path.pop();
            if more?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                self.record(key);
                return Err(serde::de::Error::custom("duplicate key"));
            }
            self.path.push(PathStep::Key(key.clone()));
            let value = map.next_value_seed(DuplicateFinder {
                path: &mut *self.path,
                found: &mut *self.found,
            });
            self.path.pop();
            value?;
            seen.insert(key);
        }
        Ok(())
    }
}
