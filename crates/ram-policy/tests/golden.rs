//! Golden cases: every `tests/golden/*.json` file holds policies and requests with the expected
//! decision and deciding statements. Each case is also checked against the reference evaluator.
//!
//! File format:
//! `{"description": …, "policies": [{"name": …, "document": {…} | "…"}],
//!   "cases": [{"name": …, "request": {"action": …, "resources": […], "context": {key: v | [v]}},
//!              "expect": "Allow" | "ImplicitDeny" | "ExplicitDeny", "deciding": [["policy", index], …]}]}`

mod reference;

use std::fs;
use std::path::PathBuf;

use ram_policy::{evaluate, parse_policy, DecisionKind, Policy, RequestContext};
use serde_json::Value;

fn golden_files() -> Vec<PathBuf> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    files
}

fn text_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .unwrap_or_else(|| panic!("not a string: {item}"))
                    .to_string()
            })
            .collect(),
        other => panic!("expected a string or a list of strings, found {other}"),
    }
}

fn request_of(case: &Value) -> RequestContext {
    let request = &case["request"];
    let mut context = RequestContext::new(
        request["action"]
            .as_str()
            .unwrap_or_else(|| panic!("case without action")),
    );
    context.resources = text_list(&request["resources"]);
    if let Some(Value::Object(facts)) = request.get("context") {
        for (key, values) in facts {
            for value in text_list(values) {
                context.insert_condition(key, value);
            }
        }
    }
    context
}

fn kind_of(name: &str) -> DecisionKind {
    match name {
        "Allow" => DecisionKind::Allow,
        "ImplicitDeny" => DecisionKind::ImplicitDeny,
        "ExplicitDeny" => DecisionKind::ExplicitDeny,
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn golden_cases() {
    let files = golden_files();
    assert!(
        files.len() >= 8,
        "expected at least 8 golden files, found {}",
        files.len()
    );
    let mut case_count = 0;
    for file in files {
        let label = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(&file).unwrap_or_else(|error| panic!("{label}: {error}"));
        let golden: Value =
            serde_json::from_str(&text).unwrap_or_else(|error| panic!("{label}: {error}"));
        let mut documents: Vec<(String, Value)> = Vec::new();
        let mut policies: Vec<Policy> = Vec::new();
        for entry in golden["policies"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no policies"))
        {
            let name = entry["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: policy without name"));
            let document_text = match &entry["document"] {
                Value::String(text) => text.clone(),
                object => object.to_string(),
            };
            let policy = parse_policy(name, &document_text)
                .unwrap_or_else(|error| panic!("{label}: {error}"));
            let document: Value = serde_json::from_str(&document_text)
                .unwrap_or_else(|error| panic!("{label}: {error}"));
            documents.push((name.to_string(), document));
            policies.push(policy);
        }
        let references: Vec<&Policy> = policies.iter().collect();
        for case in golden["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no cases"))
        {
            let case_name = format!("{label}: {}", case["name"].as_str().unwrap_or("(unnamed)"));
            let request = request_of(case);
            let expected_kind = kind_of(case["expect"].as_str().unwrap_or_default());
            let expected_deciding: Vec<(String, usize)> = case["deciding"]
                .as_array()
                .unwrap_or_else(|| panic!("{case_name}: no deciding list"))
                .iter()
                .map(|pair| {
                    let policy = pair[0]
                        .as_str()
                        .unwrap_or_else(|| panic!("{case_name}: bad pair {pair}"));
                    let index = pair[1]
                        .as_u64()
                        .unwrap_or_else(|| panic!("{case_name}: bad pair {pair}"));
                    (policy.to_string(), index as usize)
                })
                .collect();
            let decision = evaluate(&references, &request);
            let deciding: Vec<(String, usize)> = decision
                .deciding
                .iter()
                .map(|statement| (statement.policy.clone(), statement.statement_index))
                .collect();
            assert_eq!(decision.kind, expected_kind, "{case_name}");
            assert_eq!(deciding, expected_deciding, "{case_name}");
            assert_eq!(
                reference::evaluate(&documents, &request),
                (expected_kind, expected_deciding),
                "{case_name} (reference)"
            );
            case_count += 1;
        }
    }
    assert!(case_count >= 60, "only {case_count} golden cases");
}
