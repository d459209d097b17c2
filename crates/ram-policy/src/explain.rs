//! Why a decision came out as it did: a sentence for people and an encoded diagnostic for the
//! `EncodedDiagnosticMessage` of Alibaba's denial answer.
//!
//! Both name only the action, the decision, and the deciding policies' names and statement
//! indexes: never resource values or request facts, which may belong to another tenant or reveal
//! whether something exists.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::evaluate::{Decision, DecisionKind, SessionDecision};

/// One line for logs, the CLI's `policy simulate` and error messages:
/// - `Allow by policy `AliyunCamsReadOnlyAccess` Statement[0]`
/// - `ExplicitDeny by policy `deny-ip` Statement[0]`
/// - `ImplicitDeny: no statement allows cams:CreateMessageCampaign`
///
/// Several deciding statements are listed in order, separated by `, `.
pub fn describe(decision: &Decision) -> String {
    match decision.kind {
        DecisionKind::ImplicitDeny => {
            format!("ImplicitDeny: no statement allows {}", decision.action)
        }
        DecisionKind::Allow | DecisionKind::ExplicitDeny => {
            let statements: Vec<String> = decision
                .deciding
                .iter()
                .map(|statement| {
                    format!(
                        "policy `{}` Statement[{}]",
                        statement.policy, statement.statement_index
                    )
                })
                .collect();
            format!("{} by {}", decision.kind.as_str(), statements.join(", "))
        }
    }
}

/// [`describe`], followed for a denial by the side that denied:
/// `ImplicitDeny: no statement allows cams:X (SessionPolicy)`.
pub fn describe_session(session: &SessionDecision) -> String {
    let sentence = describe(&session.decision);
    match session.denied_by {
        Some(policy_type) => format!("{sentence} ({})", policy_type.as_str()),
        None => sentence,
    }
}

/// Base64 (standard alphabet, padded) of a small JSON object:
/// `{"AuthAction":…,"Decision":"Allow"|"ImplicitDeny"|"ExplicitDeny",
///   "DecidingStatements":[{"Policy":…,"Statement":0,"Effect":"Allow"|"Deny"}]}`.
pub fn encoded_diagnostic(decision: &Decision, action: &str) -> String {
    STANDARD.encode(diagnostic_json(decision, action).to_string())
}

/// [`encoded_diagnostic`] with a `"PolicyType"` member naming the side that denied (absent when
/// allowed).
pub fn encoded_session_diagnostic(session: &SessionDecision, action: &str) -> String {
    let mut diagnostic = diagnostic_json(&session.decision, action);
    if let (Some(policy_type), Value::Object(members)) = (session.denied_by, &mut diagnostic) {
        members.insert("PolicyType".to_string(), Value::from(policy_type.as_str()));
    }
    STANDARD.encode(diagnostic.to_string())
}

/// Reads back an encoded diagnostic (for `policy simulate`, support tooling and tests); `None`
/// when the text is not one.
pub fn decode_diagnostic(encoded: &str) -> Option<Value> {
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("Decision")?;
    Some(value)
}

fn diagnostic_json(decision: &Decision, action: &str) -> Value {
    let statements: Vec<Value> = decision
        .deciding
        .iter()
        .map(|statement| {
            json!({
                "Policy": statement.policy,
                "Statement": statement.statement_index,
                "Effect": statement.effect.as_str(),
            })
        })
        .collect();
    json!({
        "AuthAction": action,
        "Decision": decision.kind.as_str(),
        "DecidingStatements": statements,
    })
}
