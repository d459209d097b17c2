//! Role trust policies: who may assume a role.
//!
//! A trust policy names principals instead of resources:
//! `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::<uid>:root"]}}]}`.
//! `acs:ram::<uid>:root` (or the bare 16-digit `<uid>`) trusts every identity of that account (each still needs
//! `sts:AssumeRole` in its own policies); `acs:ram::<uid>:user/<name>` trusts one RAM user. Wildcards follow the
//! resource rules (case-sensitive `*` and `?`). A matching Deny wins over any Allow.

use serde_json::Value;

use crate::matching::{action_matches, resource_matches};
use crate::model::Effect;

/// Why a trust policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trust policy `{policy}`: {message}")]
pub struct TrustPolicyError {
    pub policy: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TrustStatement {
    effect: Effect,
    actions: Vec<String>,
    principals: Vec<String>,
}

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    name: String,
    statements: Vec<TrustStatement>,
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// Parses a trust policy; errors name the statement and the key.
pub fn parse_trust_policy(name: &str, document: &str) -> Result<TrustPolicy, TrustPolicyError> {
    let refuse = |message: String| TrustPolicyError {
        policy: name.to_string(),
        message,
    };
    let root: Value =
        serde_json::from_str(document).map_err(|e| refuse(format!("invalid JSON: {e}")))?;
    let obj = root
        .as_object()
        .ok_or_else(|| refuse("the document is not a JSON object".into()))?;
    for key in obj.keys() {
        if key != "Version" && key != "Statement" {
            return Err(refuse(format!("unknown top-level key `{key}`")));
        }
    }
    if obj.get("Version").and_then(Value::as_str) != Some("1") {
        return Err(refuse("Version must be \"1\"".into()));
    }
    let statements = match obj.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => return Err(refuse("Statement must be a list".into())),
    };
    let mut out = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        let at = |m: &str| refuse(format!("Statement[{i}]: {m}"));
        let st = st.as_object().ok_or_else(|| at("not an object"))?;
        for key in st.keys() {
            if !matches!(key.as_str(), "Effect" | "Action" | "Principal" | "Sid") {
                return Err(at(&format!("unknown key `{key}`")));
            }
        }
        let effect = match st.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err(at("Effect must be \"Allow\" or \"Deny\"")),
        };
        let actions = st
            .get("Action")
            .and_then(strings)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| at("Action must be a string or a non-empty list of strings"))?;
        let principal = st
            .get("Principal")
            .and_then(Value::as_object)
            .ok_or_else(|| at("Principal must be an object like {\"RAM\": [...]}"))?;
        let mut principals = Vec::new();
        for (kind, value) in principal {
            if kind != "RAM" {
                return Err(at(&format!(
                    "Principal.{kind}: only RAM principals are supported"
                )));
            }
            let list = strings(value)
                .ok_or_else(|| at("Principal.RAM must be a string or a list of strings"))?;
            for p in list {
                let normalized = if p.len() == 16 && p.bytes().all(|b| b.is_ascii_digit()) {
                    format!("acs:ram::{p}:root")
                } else if p.starts_with("acs:ram::") {
                    p
                } else {
                    return Err(at(&format!(
                        "Principal.RAM: `{p}` is not an account id or a RAM ARN"
                    )));
                };
                principals.push(normalized);
            }
        }
        if principals.is_empty() {
            return Err(at("Principal.RAM is empty"));
        }
        out.push(TrustStatement {
            effect,
            actions,
            principals,
        });
    }
    Ok(TrustPolicy {
        name: name.to_string(),
        statements: out,
    })
}

impl TrustPolicy {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the role trusts a caller to `sts:AssumeRole`. `caller_arn` is the caller's own ARN
    /// (`acs:ram::<uid>:root` for the account, `acs:ram::<uid>:user/<name>` for a RAM user, or
    /// `acs:ram::<uid>:assumed-role/<role>/<session>`); a statement naming the account's root trusts every
    /// identity of that account.
    pub fn allows(&self, caller_account: &str, caller_arn: &str) -> bool {
        let account_root = format!("acs:ram::{caller_account}:root");
        let mut allowed = false;
        for st in &self.statements {
            if !st
                .actions
                .iter()
                .any(|a| action_matches(a, "sts:AssumeRole"))
            {
                continue;
            }
            let named = st
                .principals
                .iter()
                .any(|p| resource_matches(p, caller_arn) || resource_matches(p, &account_root));
            if named {
                match st.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT_TRUST: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;

    #[test]
    fn account_trust_covers_its_identities_only() {
        let t = parse_trust_policy("r", ACCOUNT_TRUST).unwrap();
        assert!(t.allows("1234567890123456", "acs:ram::1234567890123456:root"));
        assert!(t.allows("1234567890123456", "acs:ram::1234567890123456:user/alice"));
        assert!(!t.allows("6543210987654321", "acs:ram::6543210987654321:root"));
    }

    #[test]
    fn user_trust_and_deny() {
        let doc = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":["sts:AssumeRole"],"Principal":{"RAM":"acs:ram::1234567890123456:user/*"}},
            {"Effect":"Deny","Action":"sts:*","Principal":{"RAM":["acs:ram::1234567890123456:user/mallory"]}}]}"#;
        let t = parse_trust_policy("r", doc).unwrap();
        assert!(t.allows("1234567890123456", "acs:ram::1234567890123456:user/alice"));
        assert!(!t.allows("1234567890123456", "acs:ram::1234567890123456:user/mallory"));
        assert!(!t.allows("1234567890123456", "acs:ram::1234567890123456:root"));
        let bare = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"1234567890123456"}}]}"#;
        assert!(parse_trust_policy("r", bare)
            .unwrap()
            .allows("1234567890123456", "acs:ram::1234567890123456:user/x"));
    }

    #[test]
    fn malformed_trust_policies_name_the_problem() {
        for (doc, needle) in [
            ("[]", "not a JSON object"),
            (r#"{"Version":"2","Statement":[]}"#, "Version"),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Maybe","Action":"sts:AssumeRole","Principal":{"RAM":"1234567890123456"}}]}"#,
                "Statement[0]: Effect",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"x"}}]}"#,
                "Principal.Service",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"bob"}}]}"#,
                "`bob`",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":"1234567890123456"}}]}"#,
                "Action",
            ),
        ] {
            let e = parse_trust_policy("r", doc).unwrap_err().to_string();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }
}
