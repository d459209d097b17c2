//! Metamorphic properties: transformations of policies or requests whose effect on the decision
//! is known without knowing the decision.

mod common;

use std::collections::BTreeSet;

use common::{
    decide, deciding_pairs, documents, parse_all, request, statement_with_effect, REQUEST_RESOURCES,
};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use ram_policy::{parse_policy, DecisionKind, RequestContext};
use serde_json::{json, Value};

fn kind_rank(kind: DecisionKind) -> u8 {
    // Ordered from most to least permissive.
    match kind {
        DecisionKind::Allow => 0,
        DecisionKind::ImplicitDeny => 1,
        DecisionKind::ExplicitDeny => 2,
    }
}

/// Serialises JSON with every object's members in an order drawn from `order` (and no space).
fn write_shuffled(value: &Value, order: &mut impl Iterator<Item = Index>, out: &mut String) {
    match value {
        Value::Object(members) => {
            let mut entries: Vec<(&String, &Value)> = members.iter().collect();
            // A random permutation: repeatedly pull a random remaining member.
            let mut shuffled = Vec::with_capacity(entries.len());
            while !entries.is_empty() {
                let at = order
                    .next()
                    .map(|index| index.index(entries.len()))
                    .unwrap_or(0);
                shuffled.push(entries.remove(at));
            }
            out.push('{');
            for (position, (key, member)) in shuffled.into_iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_shuffled(member, order, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_shuffled(item, order, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Wraps every lone string of Action/NotAction/Resource/NotResource and of condition values into
/// a one-element list, or unwraps one-element lists into lone strings.
fn respell_singletons(document: &Value, wrap: bool) -> Value {
    let mut document = document.clone();
    let respell = |value: &mut Value| {
        let replacement = match (&*value, wrap) {
            (Value::Array(items), false) if items.len() == 1 => Some(items[0].clone()),
            (Value::Array(_), _) => None,
            (single, true) => Some(json!([single.clone()])),
            (_, false) => None,
        };
        if let Some(replacement) = replacement {
            *value = replacement;
        }
    };
    if let Some(Value::Array(statements)) = document.get_mut("Statement") {
        for statement in statements {
            if let Value::Object(fields) = statement {
                for (name, value) in fields.iter_mut() {
                    if name == "Condition" {
                        if let Value::Object(operators) = value {
                            for keyed in operators.values_mut() {
                                if let Value::Object(keyed) = keyed {
                                    keyed.values_mut().for_each(respell);
                                }
                            }
                        }
                    } else if name != "Effect" {
                        respell(value);
                    }
                }
            }
        }
    }
    document
}

fn flip_case(text: &str, flips: &[bool]) -> String {
    text.chars()
        .zip(flips.iter().chain(std::iter::repeat(&false)))
        .map(
            |(character, flip)| match (flip, character.is_ascii_lowercase()) {
                (false, _) => character,
                (true, true) => character.to_ascii_uppercase(),
                (true, false) => character.to_ascii_lowercase(),
            },
        )
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Reordering statements (and policies) changes neither the decision nor which statements
    /// decided, once indexes are mapped back.
    #[test]
    fn statement_and_policy_order_is_irrelevant(
        documents in documents(),
        request in request(),
        picks in prop::collection::vec(any::<Index>(), 32),
    ) {
        let original = decide(&parse_all(&documents), &request);
        let mut picks = picks.into_iter().cycle();
        // Shuffle statements inside each policy, remembering where each came from.
        let mut shuffled_documents = Vec::new();
        let mut origin: Vec<Vec<usize>> = Vec::new();
        for (name, document) in &documents {
            let mut remaining: Vec<(usize, Value)> = match &document["Statement"] {
                Value::Array(statements) => statements.iter().cloned().enumerate().collect(),
                _ => Vec::new(),
            };
            let mut order = Vec::new();
            let mut statements = Vec::new();
            while !remaining.is_empty() {
                let at = picks.next().map(|index| index.index(remaining.len())).unwrap_or(0);
                let (from, statement) = remaining.remove(at);
                order.push(from);
                statements.push(statement);
            }
            origin.push(order);
            shuffled_documents.push((name.clone(), json!({ "Version": "1", "Statement": statements })));
        }
        // And the policies themselves.
        shuffled_documents.reverse();
        origin.reverse();
        let shuffled = decide(&parse_all(&shuffled_documents), &request);
        prop_assert_eq!(shuffled.kind, original.kind);
        let mapped_back: BTreeSet<(String, usize)> = shuffled
            .deciding
            .iter()
            .map(|statement| {
                let policy_position = shuffled_documents
                    .iter()
                    .position(|(name, _)| *name == statement.policy)
                    .unwrap_or(0);
                (statement.policy.clone(), origin[policy_position][statement.statement_index])
            })
            .collect();
        let original_set: BTreeSet<(String, usize)> = deciding_pairs(&original).into_iter().collect();
        prop_assert_eq!(mapped_back, original_set);
    }

    /// Writing the members of every JSON object in another order changes nothing at all.
    #[test]
    fn json_member_order_is_irrelevant(
        documents in documents(),
        request in request(),
        picks in prop::collection::vec(any::<Index>(), 64),
    ) {
        let original = decide(&parse_all(&documents), &request);
        let mut order = picks.into_iter().cycle();
        let mut reordered = Vec::new();
        for (name, document) in &documents {
            let mut text = String::new();
            write_shuffled(document, &mut order, &mut text);
            match parse_policy(name, &text) {
                Ok(policy) => reordered.push(policy),
                Err(error) => return Err(TestCaseError::fail(format!("{error}"))),
            }
        }
        prop_assert_eq!(decide(&reordered, &request), original);
    }

    /// A lone string and the one-element list holding it are the same thing.
    #[test]
    fn string_equals_its_one_element_list(documents in documents(), request in request(), wrap in any::<bool>()) {
        let original = decide(&parse_all(&documents), &request);
        let respelled: Vec<(String, Value)> = documents
            .iter()
            .map(|(name, document)| (name.clone(), respell_singletons(document, wrap)))
            .collect();
        prop_assert_eq!(decide(&parse_all(&respelled), &request), original);
    }

    /// Adding a Deny statement never makes a decision more permissive, and keeps every Deny that
    /// already decided.
    #[test]
    fn adding_a_deny_never_widens(
        documents in documents(),
        request in request(),
        extra in statement_with_effect(Just("Deny")),
        target in any::<Index>(),
    ) {
        let original = decide(&parse_all(&documents), &request);
        let mut extended = documents.clone();
        let at = target.index(extended.len());
        if let Some(Value::Array(statements)) = extended[at].1.get_mut("Statement") {
            statements.push(extra);
        }
        let after = decide(&parse_all(&extended), &request);
        prop_assert!(kind_rank(after.kind) >= kind_rank(original.kind), "{:?} -> {:?}", original.kind, after.kind);
        prop_assert!(after.kind == original.kind || after.kind == DecisionKind::ExplicitDeny);
        if original.kind == DecisionKind::ExplicitDeny {
            let before: BTreeSet<_> = deciding_pairs(&original).into_iter().collect();
            let now: BTreeSet<_> = deciding_pairs(&after).into_iter().collect();
            prop_assert!(before.is_subset(&now));
        }
    }

    /// Adding an Allow statement never makes a decision less permissive: an Allow stays an Allow
    /// (with every earlier deciding statement still deciding), an explicit deny stays the same
    /// explicit deny.
    #[test]
    fn adding_an_allow_never_narrows(
        documents in documents(),
        request in request(),
        extra in statement_with_effect(Just("Allow")),
        target in any::<Index>(),
    ) {
        let original = decide(&parse_all(&documents), &request);
        let mut extended = documents.clone();
        let at = target.index(extended.len());
        if let Some(Value::Array(statements)) = extended[at].1.get_mut("Statement") {
            statements.push(extra);
        }
        let after = decide(&parse_all(&extended), &request);
        prop_assert!(kind_rank(after.kind) <= kind_rank(original.kind), "{:?} -> {:?}", original.kind, after.kind);
        match original.kind {
            DecisionKind::Allow => {
                prop_assert_eq!(after.kind, DecisionKind::Allow);
                let before: BTreeSet<_> = deciding_pairs(&original).into_iter().collect();
                let now: BTreeSet<_> = deciding_pairs(&after).into_iter().collect();
                prop_assert!(before.is_subset(&now));
            }
            DecisionKind::ExplicitDeny => prop_assert_eq!(after, original),
            DecisionKind::ImplicitDeny => {}
        }
    }

    /// Actions compare case-insensitively: flipping the case of letters of the request action
    /// changes nothing.
    #[test]
    fn action_case_is_irrelevant(
        documents in documents(),
        request in request(),
        flips in prop::collection::vec(any::<bool>(), 40),
    ) {
        let policies = parse_all(&documents);
        let original = decide(&policies, &request);
        let flipped_request = RequestContext { action: flip_case(&request.action, &flips), ..request.clone() };
        let flipped = decide(&policies, &flipped_request);
        prop_assert_eq!(flipped.kind, original.kind);
        prop_assert_eq!(flipped.deciding, original.deciding);
    }

    /// Condition keys compare case-insensitively on the policy side too.
    #[test]
    fn condition_key_case_is_irrelevant(
        documents in documents(),
        request in request(),
        flips in prop::collection::vec(any::<bool>(), 24),
    ) {
        let original = decide(&parse_all(&documents), &request);
        let mut respelled = documents.clone();
        for (_, document) in respelled.iter_mut() {
            if let Some(Value::Array(statements)) = document.get_mut("Statement") {
                for statement in statements {
                    if let Some(Value::Object(operators)) = statement.get_mut("Condition") {
                        for keyed in operators.values_mut() {
                            if let Value::Object(keyed) = keyed {
                                let renamed: serde_json::Map<String, Value> = keyed
                                    .iter()
                                    .map(|(key, values)| (flip_case(key, &flips), values.clone()))
                                    .collect();
                                // Two generated keys can differ only by case; keep them both.
                                if renamed.len() == keyed.len() {
                                    *keyed = renamed;
                                }
                            }
                        }
                    }
                }
            }
        }
        prop_assert_eq!(decide(&parse_all(&respelled), &request), original);
    }

    /// Resources compare case-sensitively: with a literal resource pattern, flipping the case of
    /// one letter of the request resource turns an Allow into an implicit deny.
    #[test]
    fn resource_case_matters(resource in select(REQUEST_RESOURCES), letter in any::<Index>()) {
        let letters: Vec<usize> = resource
            .char_indices()
            .filter(|(_, character)| character.is_ascii_alphabetic())
            .map(|(at, _)| at)
            .collect();
        prop_assume!(!letters.is_empty());
        let document = json!({
            "Version": "1",
            "Statement": [{ "Effect": "Allow", "Action": "cams:*", "Resource": resource }],
        });
        let policies = parse_all(&[("literal".to_string(), document)]);
        let exact = RequestContext::new("cams:GetMessageCampaignInsights").with_resource(resource);
        prop_assert_eq!(decide(&policies, &exact).kind, DecisionKind::Allow);
        let at = letters[letter.index(letters.len())];
        let mut flipped = resource.to_string();
        let original_char = &resource[at..at + 1];
        let replacement = if original_char.chars().all(|c| c.is_ascii_lowercase()) {
            original_char.to_ascii_uppercase()
        } else {
            original_char.to_ascii_lowercase()
        };
        flipped.replace_range(at..at + 1, &replacement);
        let flipped_request = RequestContext::new("cams:GetMessageCampaignInsights").with_resource(flipped);
        prop_assert_eq!(decide(&policies, &flipped_request).kind, DecisionKind::ImplicitDeny);
    }
}
