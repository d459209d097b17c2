//! The public surface the server is written against: system policies, session evaluation,
//! explanations and diagnostics, helpers.

use ram_policy::{
    action_matches, evaluate, evaluate_session, explain, keys, parse_policy, resource_matches,
    system_policy, system_policy_document, system_policy_names, Decision, DecisionKind, Effect,
    Policy, PolicyKind, PolicyType, RequestContext, StatementRef,
};

fn policy(name: &str, document: &str) -> Policy {
    parse_policy(name, document).unwrap_or_else(|error| panic!("{error}"))
}

fn system(name: &str) -> Policy {
    system_policy(name).unwrap_or_else(|| panic!("no system policy {name}"))
}

fn on_everything(action: &str) -> RequestContext {
    RequestContext::new(action).with_resource("*")
}

#[test]
fn system_policies_grant_what_their_names_say() {
    assert_eq!(
        system_policy_names(),
        &[
            "AliyunCamsFullAccess",
            "AliyunCamsReadOnlyAccess",
            "AliyunSTSAssumeRoleAccess"
        ]
    );
    let full = system("AliyunCamsFullAccess");
    let read_only = system("AliyunCamsReadOnlyAccess");
    let assume = system("AliyunSTSAssumeRoleAccess");
    assert_eq!(full.kind(), PolicyKind::System);
    assert_eq!(full.version(), "1");
    assert_eq!(full.name(), "AliyunCamsFullAccess");
    let kind = |policy: &Policy, action: &str| evaluate(&[policy], &on_everything(action)).kind;
    for action in [
        "cams:GetMessageCampaignInsights",
        "cams:CreateMessageCampaign",
        "cams:DeleteMessageCampaign",
    ] {
        assert_eq!(kind(&full, action), DecisionKind::Allow, "{action}");
    }
    assert_eq!(kind(&full, "sts:AssumeRole"), DecisionKind::ImplicitDeny);
    assert_eq!(
        kind(&read_only, "cams:GetMessageCampaignInsights"),
        DecisionKind::Allow
    );
    assert_eq!(
        kind(&read_only, "cams:ListPageAdAccount"),
        DecisionKind::Allow
    );
    assert_eq!(
        kind(&read_only, "cams:CreateMessageCampaign"),
        DecisionKind::ImplicitDeny
    );
    assert_eq!(kind(&assume, "sts:AssumeRole"), DecisionKind::Allow);
    assert_eq!(
        kind(&assume, "cams:GetMessageCampaignInsights"),
        DecisionKind::ImplicitDeny
    );
    assert!(system_policy("NoSuchPolicy").is_none());
    assert!(system_policy_document("AliyunCamsReadOnlyAccess")
        .is_some_and(|text| text.contains("cams:List*")));
    assert_eq!(
        policy("mine", r#"{"Version":"1","Statement":[]}"#).kind(),
        PolicyKind::Custom
    );
}

#[test]
fn describe_names_the_deciding_statement() {
    let read_only = system("AliyunCamsReadOnlyAccess");
    let deny_ip = policy(
        "deny-ip",
        r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
    );
    let request =
        on_everything("cams:GetMessageCampaignInsights").with_condition("acs:SourceIp", "10.1.2.3");
    assert_eq!(
        explain::describe(&evaluate(&[&read_only, &deny_ip], &request)),
        "Allow by policy `AliyunCamsReadOnlyAccess` Statement[0]"
    );
    let outside = on_everything("cams:GetMessageCampaignInsights")
        .with_condition("acs:SourceIp", "192.0.2.1");
    assert_eq!(
        explain::describe(&evaluate(&[&read_only, &deny_ip], &outside)),
        "ExplicitDeny by policy `deny-ip` Statement[0]"
    );
    assert_eq!(
        explain::describe(&evaluate(
            &[&read_only],
            &on_everything("cams:CreateMessageCampaign")
        )),
        "ImplicitDeny: no statement allows cams:CreateMessageCampaign"
    );
    let full = system("AliyunCamsFullAccess");
    assert_eq!(
        explain::describe(&evaluate(&[&read_only, &full], &request)),
        "Allow by policy `AliyunCamsReadOnlyAccess` Statement[0], policy `AliyunCamsFullAccess` Statement[0]"
    );
}

#[test]
fn encoded_diagnostic_names_policies_and_indexes_only() {
    let secretive = policy(
        "tenant-policy",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:List*","Resource":"*"},{"Effect":"Deny","Action":"cams:*","Resource":"acs:cams:*:*:custspace/cams-secret-*"}]}"#,
    );
    let request = RequestContext::new("cams:GetMessageCampaignInsights")
        .with_resource(
            "acs:cams:ap-southeast-1:6543210987654321:custspace/cams-secret-9/campaign/77",
        )
        .with_condition("acs:SourceIp", "198.51.100.23");
    let decision = evaluate(&[&secretive], &request);
    assert_eq!(decision.kind, DecisionKind::ExplicitDeny);
    let encoded = explain::encoded_diagnostic(&decision, &request.action);
    let decoded =
        explain::decode_diagnostic(&encoded).unwrap_or_else(|| panic!("undecodable {encoded}"));
    assert_eq!(
        decoded,
        serde_json::json!({
            "AuthAction": "cams:GetMessageCampaignInsights",
            "Decision": "ExplicitDeny",
            "DecidingStatements": [{ "Policy": "tenant-policy", "Statement": 1, "Effect": "Deny" }],
        })
    );
    let plain = decoded.to_string();
    for leaked in [
        "cams-secret-9",
        "6543210987654321",
        "198.51.100.23",
        "campaign/77",
    ] {
        assert!(
            !plain.contains(leaked),
            "diagnostic leaks {leaked}: {plain}"
        );
    }
    let implicit = evaluate(&[&secretive], &on_everything("cams:CreateMessageCampaign"));
    let decoded = explain::decode_diagnostic(&explain::encoded_diagnostic(
        &implicit,
        "cams:CreateMessageCampaign",
    ));
    assert_eq!(
        decoded,
        Some(
            serde_json::json!({ "AuthAction": "cams:CreateMessageCampaign", "Decision": "ImplicitDeny", "DecidingStatements": [] })
        )
    );
    assert!(explain::decode_diagnostic("not base64!").is_none());
    assert!(
        explain::decode_diagnostic("e30=").is_none(),
        "`{{}}` is not a diagnostic"
    );
}

#[test]
fn session_needs_both_sides_to_allow_and_says_which_side_denied() {
    let role_all = system("AliyunCamsFullAccess");
    let role_deny_delete = policy(
        "no-delete",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:*","Resource":"*"},{"Effect":"Deny","Action":"cams:Delete*","Resource":"*"}]}"#,
    );
    let session_reads = policy(
        "session",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:Get*","Resource":"*"},{"Effect":"Deny","Action":"cams:DeleteMessageCampaign","Resource":"*"}]}"#,
    );
    let read = on_everything("cams:GetMessageCampaignInsights");
    let create = on_everything("cams:CreateMessageCampaign");
    let delete = on_everything("cams:DeleteMessageCampaign");
    let sts = on_everything("sts:AssumeRole");

    // Both allow: the deciding statements of both sides, role first.
    let both = evaluate_session(&[&role_all], Some(&session_reads), &read);
    assert_eq!(both.denied_by, None);
    assert_eq!(both.decision.kind, DecisionKind::Allow);
    assert_eq!(
        both.decision.deciding,
        vec![
            StatementRef {
                policy: "AliyunCamsFullAccess".into(),
                statement_index: 0,
                effect: Effect::Allow
            },
            StatementRef {
                policy: "session".into(),
                statement_index: 0,
                effect: Effect::Allow
            },
        ]
    );
    // Without a session policy, the role decides alone.
    let alone = evaluate_session(&[&role_all], None, &create);
    assert_eq!(
        (alone.decision.kind, alone.denied_by),
        (DecisionKind::Allow, None)
    );
    let alone = evaluate_session(&[&role_all], None, &sts);
    assert_eq!(
        (alone.decision.kind, alone.denied_by),
        (
            DecisionKind::ImplicitDeny,
            Some(PolicyType::AccountLevelIdentityBasedPolicy)
        )
    );
    // The role allows, the session does not mention the action.
    let narrowed = evaluate_session(&[&role_all], Some(&session_reads), &create);
    assert_eq!(
        (narrowed.decision.kind, narrowed.denied_by),
        (DecisionKind::ImplicitDeny, Some(PolicyType::SessionPolicy))
    );
    assert_eq!(
        explain::describe_session(&narrowed),
        "ImplicitDeny: no statement allows cams:CreateMessageCampaign (SessionPolicy)"
    );
    // The session denies explicitly even though the role allows.
    let session_denies = evaluate_session(&[&role_all], Some(&session_reads), &delete);
    assert_eq!(
        (session_denies.decision.kind, session_denies.denied_by),
        (DecisionKind::ExplicitDeny, Some(PolicyType::SessionPolicy))
    );
    // An explicit deny in the session wins over an implicit deny of the role.
    let session_over_role = evaluate_session(&[], Some(&session_reads), &delete);
    assert_eq!(
        (session_over_role.decision.kind, session_over_role.denied_by),
        (DecisionKind::ExplicitDeny, Some(PolicyType::SessionPolicy))
    );
    // Both deny explicitly: the role's side is reported.
    let both_deny = evaluate_session(&[&role_deny_delete], Some(&session_reads), &delete);
    assert_eq!(
        (both_deny.decision.kind, both_deny.denied_by),
        (
            DecisionKind::ExplicitDeny,
            Some(PolicyType::AccountLevelIdentityBasedPolicy)
        )
    );
    assert_eq!(both_deny.decision.deciding[0].policy, "no-delete");
    // The role does not allow, the session would.
    let role_silent = evaluate_session(&[], Some(&session_reads), &read);
    assert_eq!(
        (role_silent.decision.kind, role_silent.denied_by),
        (
            DecisionKind::ImplicitDeny,
            Some(PolicyType::AccountLevelIdentityBasedPolicy)
        )
    );
    let encoded = explain::encoded_session_diagnostic(&session_denies, &delete.action);
    let decoded = explain::decode_diagnostic(&encoded).unwrap_or_else(|| panic!("undecodable"));
    assert_eq!(decoded["PolicyType"], "SessionPolicy");
    assert_eq!(decoded["DecidingStatements"][0]["Policy"], "session");
    assert_eq!(
        PolicyType::AccountLevelIdentityBasedPolicy.as_str(),
        "AccountLevelIdentityBasedPolicy"
    );
    assert_eq!(PolicyType::SessionPolicy.as_str(), "SessionPolicy");
}

#[test]
fn wildcard_helpers() {
    assert!(action_matches(
        "cams:Get*",
        "cams:GetMessageCampaignInsights"
    ));
    assert!(action_matches(
        "CAMS:GET*",
        "cams:getmessagecampaigninsights"
    ));
    assert!(action_matches(
        "cams:?etMessage*",
        "cams:GetMessageCampaignInsights"
    ));
    assert!(!action_matches("cams:Get?", "cams:Get"));
    assert!(action_matches("*", ""));
    assert!(resource_matches(
        "acs:cams:*:1234567890123456:custspace/*",
        "acs:cams:ap-southeast-1:1234567890123456:custspace/cams-x1/campaign/23"
    ));
    assert!(!resource_matches(
        "acs:cams:*:1234567890123456:custspace/Cams*",
        "acs:cams:ap-southeast-1:1234567890123456:custspace/cams-x1"
    ));
    assert!(resource_matches(
        "acs:cams:*:*:custspace/cams-x?",
        "acs:cams:r:1:custspace/cams-x1"
    ));
}

#[test]
fn request_context_helpers_fold_keys() {
    let request = RequestContext::new("cams:X")
        .with_resource("*")
        .with_condition("acs:SourceIp", "10.0.0.1")
        .with_condition("ACS:SOURCEIP", "10.0.0.2")
        .with_condition("cams:CustSpaceId", "cams-1");
    assert_eq!(
        request.condition_values[keys::SOURCE_IP],
        vec!["10.0.0.1", "10.0.0.2"]
    );
    assert_eq!(
        request.condition_values[keys::CUST_SPACE_ID],
        vec!["cams-1"]
    );
    assert_eq!(request.resources, vec!["*"]);
}

#[test]
fn decisions_carry_their_action_and_kind_names() {
    let decision: Decision = evaluate(&[], &on_everything("cams:GetMessageCampaignInsights"));
    assert_eq!(decision.action, "cams:GetMessageCampaignInsights");
    assert!(!decision.is_allowed());
    assert_eq!(DecisionKind::Allow.as_str(), "Allow");
    assert_eq!(DecisionKind::ImplicitDeny.as_str(), "ImplicitDeny");
    assert_eq!(DecisionKind::ExplicitDeny.as_str(), "ExplicitDeny");
    assert_eq!(Effect::Deny.to_string(), "Deny");
}

/// Policies are loaded once and shared by every request-handling thread.
#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<Decision>();
    assert_send_sync::<ram_policy::SessionDecision>();
    assert_send_sync::<ram_policy::PolicyError>();
    assert_send_sync::<RequestContext>();
}
