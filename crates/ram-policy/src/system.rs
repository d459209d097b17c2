//! Built-in system policies. Their documents are kept as text so the server can show them exactly
//! as Alibaba's `GetPolicy` does.

use std::sync::OnceLock;

use crate::model::{Policy, PolicyKind};
use crate::parse::parse_policy_of_kind;

const SYSTEM_POLICIES: [(&str, &str); 3] = [
    (
        "AliyunCamsFullAccess",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:*","Resource":"*"}]}"#,
    ),
    (
        "AliyunCamsReadOnlyAccess",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["cams:Get*","cams:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AliyunSTSAssumeRoleAccess",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    ),
];

const SYSTEM_POLICY_NAMES: [&str; 3] = [
    SYSTEM_POLICIES[0].0,
    SYSTEM_POLICIES[1].0,
    SYSTEM_POLICIES[2].0,
];

/// Names of every built-in policy.
pub fn system_policy_names() -> &'static [&'static str] {
    &SYSTEM_POLICY_NAMES
}

/// The document of a built-in policy, by exact name.
pub fn system_policy_document(name: &str) -> Option<&'static str> {
    SYSTEM_POLICIES
        .iter()
        .find(|(system_name, _)| *system_name == name)
        .map(|(_, document)| *document)
}

/// A built-in policy, by exact name (parsed once per process).
pub fn system_policy(name: &str) -> Option<Policy> {
    static PARSED: OnceLock<Vec<Policy>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            SYSTEM_POLICIES
                .iter()
                // The documents are constants checked by this crate's tests; a failure here
                // would drop the policy (denying more), never grant more.
                .filter_map(|(name, document)| {
                    parse_policy_of_kind(name, document, PolicyKind::System).ok()
                })
                .collect()
        })
        .iter()
        .find(|policy| policy.name == name)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_policy_parses_as_system() {
        for name in system_policy_names() {
            let policy = system_policy(name);
            assert!(policy.is_some(), "{name}");
            assert_eq!(policy.map(|policy| policy.kind()), Some(PolicyKind::System));
            assert!(system_policy_document(name).is_some());
        }
        assert!(system_policy("AliyunCamsFullaccess").is_none());
    }
}
