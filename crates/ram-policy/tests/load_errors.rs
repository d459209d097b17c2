//! Every kind of malformed policy is refused at load time with a message that names the policy,
//! the statement (0-based) and the key at fault.

use ram_policy::{parse_policy, PolicyErrorKind};

/// Wraps statements into a valid document.
fn with_statements(statements: &str) -> String {
    format!(r#"{{"Version":"1","Statement":[{statements}]}}"#)
}

const GOOD: &str = r#"{"Effect":"Allow","Action":"cams:*","Resource":"*"}"#;

fn refusal(document: &str) -> String {
    match parse_policy("ops", document) {
        Ok(_) => panic!("accepted: {document}"),
        Err(error) => error.to_string(),
    }
}

#[track_caller]
fn assert_refused(document: &str, message: &str) {
    assert_eq!(refusal(document), message, "{document}");
}

#[test]
fn unknown_condition_operator() {
    let document = with_statements(&format!(
        r#"{GOOD},{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"StringEqualz":{{"acs:UserAgent":"x"}}}}}}"#
    ));
    assert_refused(
        &document,
        "policy `ops`: Statement[1]: unknown condition operator `StringEqualz`",
    );
    // Operator names are case-sensitive, and AWS-only operators are not Alibaba's.
    for operator in [
        "stringequals",
        "StringEqualsIfExists",
        "Null",
        "ArnLike",
        "BinaryEquals",
    ] {
        let document = with_statements(&format!(
            r#"{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"{operator}":{{"k":"x"}}}}}}"#
        ));
        assert_refused(
            &document,
            &format!("policy `ops`: Statement[0]: unknown condition operator `{operator}`"),
        );
    }
}

#[test]
fn effect_must_be_allow_or_deny() {
    for effect in [r#""allow""#, r#""Permit""#, "true", "null", r#"["Allow"]"#] {
        let document = with_statements(&format!(
            r#"{{"Effect":{effect},"Action":"cams:*","Resource":"*"}}"#
        ));
        assert_refused(
            &document,
            r#"policy `ops`: Statement[0].Effect must be "Allow" or "Deny""#,
        );
    }
    assert_refused(
        &with_statements(&format!(r#"{GOOD},{{"Action":"cams:*","Resource":"*"}}"#)),
        "policy `ops`: Statement[1]: missing Effect",
    );
}

#[test]
fn invalid_cidr_and_address() {
    let document = with_statements(
        r#"{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","10.0.0.0/33"]}}}"#,
    );
    assert_refused(
        &document,
        "policy `ops`: Statement[0].Condition.IpAddress.acs:SourceIp: invalid CIDR `10.0.0.0/33`",
    );
    let document = with_statements(
        r#"{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":"10.0.0.256"}}}"#,
    );
    assert_refused(
        &document,
        "policy `ops`: Statement[0].Condition.NotIpAddress.acs:SourceIp: invalid IP address `10.0.0.256`",
    );
    let document = with_statements(
        r#"{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":"2001:db8::/129"}}}"#,
    );
    assert_refused(
        &document,
        "policy `ops`: Statement[0].Condition.NotIpAddress.acs:SourceIp: invalid CIDR `2001:db8::/129`",
    );
}

#[test]
fn unknown_top_level_key() {
    assert_refused(
        &format!(r#"{{"Version":"1","Statment":[{GOOD}]}}"#),
        "policy `ops`: unknown top-level key `Statment`",
    );
    assert_refused(
        &format!(r#"{{"Version":"1","Statement":[{GOOD}],"Id":"x"}}"#),
        "policy `ops`: unknown top-level key `Id`",
    );
}

#[test]
fn unknown_statement_key() {
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","Resource":"*","Sid":"x"}"#),
        "policy `ops`: Statement[0]: unknown key `Sid`",
    );
    assert_refused(
        &with_statements(r#"{"Efect":"Allow","Action":"cams:*","Resource":"*"}"#),
        "policy `ops`: Statement[0]: unknown key `Efect`",
    );
}

#[test]
fn empty_action_and_resource_lists() {
    let document = with_statements(&format!(
        r#"{GOOD},{GOOD},{GOOD},{{"Effect":"Allow","Action":[],"Resource":"*"}}"#
    ));
    assert_refused(
        &document,
        "policy `ops`: Statement[3]: Action list is empty",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Deny","NotAction":[],"Resource":"*"}"#),
        "policy `ops`: Statement[0]: NotAction list is empty",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","Resource":[]}"#),
        "policy `ops`: Statement[0]: Resource list is empty",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","NotResource":[]}"#),
        "policy `ops`: Statement[0]: NotResource list is empty",
    );
}

#[test]
fn action_and_resource_forms_are_exclusive_and_required() {
    assert_refused(
        &with_statements(
            r#"{"Effect":"Allow","Action":"cams:*","NotAction":"ram:*","Resource":"*"}"#,
        ),
        "policy `ops`: Statement[0]: both Action and NotAction",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*"}"#),
        "policy `ops`: Statement[0]: neither Resource nor NotResource",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Resource":"*"}"#),
        "policy `ops`: Statement[0]: neither Action nor NotAction",
    );
    assert_refused(
        &with_statements(
            r#"{"Effect":"Allow","Action":"cams:*","Resource":"*","NotResource":"*"}"#,
        ),
        "policy `ops`: Statement[0]: both Resource and NotResource",
    );
}

#[test]
fn wrong_json_types_in_elements() {
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":1,"Resource":"*"}"#),
        "policy `ops`: Statement[0].Action must be a string or a list of strings",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":["cams:Get*",1],"Resource":"*"}"#),
        "policy `ops`: Statement[0].Action[1] must be a string",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","Resource":{"arn":"*"}}"#),
        "policy `ops`: Statement[0].Resource must be a string or a list of strings",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","NotResource":[null]}"#),
        "policy `ops`: Statement[0].NotResource[0] must be a string",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams","Resource":"*"}"#),
        "policy `ops`: Statement[0].Action: invalid action `cams` (expected `service:Action` or `*`)",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":["cams:*",""],"Resource":"*"}"#),
        "policy `ops`: Statement[0].Action[1]: invalid action `` (expected `service:Action` or `*`)",
    );
    assert_refused(
        &with_statements(r#"{"Effect":"Allow","Action":"cams:*","Resource":["*",""]}"#),
        "policy `ops`: Statement[0].Resource[1]: empty resource",
    );
}

#[test]
fn wrong_json_types_in_conditions() {
    let statement = |condition: &str| {
        with_statements(&format!(
            r#"{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{condition}}}"#
        ))
    };
    assert_refused(
        &statement(r#"[]"#),
        "policy `ops`: Statement[0].Condition must be an object",
    );
    assert_refused(
        &statement(r#"{"StringEquals":"x"}"#),
        "policy `ops`: Statement[0].Condition.StringEquals must be an object",
    );
    assert_refused(
        &statement(r#"{"StringEquals":{"acs:UserAgent":null}}"#),
        "policy `ops`: Statement[0].Condition.StringEquals.acs:UserAgent: values must be strings, numbers or booleans",
    );
    assert_refused(
        &statement(r#"{"StringEquals":{"acs:UserAgent":["a",{"b":1}]}}"#),
        "policy `ops`: Statement[0].Condition.StringEquals.acs:UserAgent: values must be strings, numbers or booleans",
    );
    assert_refused(
        &statement(r#"{"StringEquals":{"acs:UserAgent":[]}}"#),
        "policy `ops`: Statement[0].Condition.StringEquals.acs:UserAgent: value list is empty",
    );
    assert_refused(
        &statement(r#"{"StringEquals":{"":"x"}}"#),
        "policy `ops`: Statement[0].Condition.StringEquals: empty condition key",
    );
}

#[test]
fn numbers_and_booleans_are_accepted_as_scalar_condition_values() {
    let document = with_statements(
        r#"{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{"StringEquals":{"k":[1,true,"x"]},"NumericLessThan":{"n":10.5},"Bool":{"acs:SecureTransport":true},"DateLessThan":{"acs:CurrentTime":1565600400}}}"#,
    );
    assert!(parse_policy("ops", &document).is_ok());
}

#[test]
fn bad_dates() {
    for bad in [
        "2019-13-01",
        "2019-02-29T00:00:00Z",
        "12/08/2019",
        "2019-08-12T25:00:00Z",
        "tomorrow",
        "",
    ] {
        let document = with_statements(&format!(
            r#"{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"DateLessThan":{{"acs:CurrentTime":"{bad}"}}}}}}"#
        ));
        assert_refused(
            &document,
            &format!("policy `ops`: Statement[0].Condition.DateLessThan.acs:CurrentTime: invalid date `{bad}`"),
        );
    }
}

#[test]
fn non_numeric_values_for_numeric_operators() {
    for bad in ["ten", "1,5", "0x10", "", "1e", "NaN"] {
        let document = with_statements(&format!(
            r#"{GOOD},{{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{{"NumericGreaterThan":{{"cams:Budget":["1","{bad}"]}}}}}}"#
        ));
        assert_refused(
            &document,
            &format!("policy `ops`: Statement[1].Condition.NumericGreaterThan.cams:Budget: invalid number `{bad}`"),
        );
    }
    let document = with_statements(
        r#"{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{"NumericEquals":{"n":true}}}"#,
    );
    assert_refused(
        &document,
        "policy `ops`: Statement[0].Condition.NumericEquals.n: invalid number `true`",
    );
}

#[test]
fn non_boolean_values_for_bool() {
    for bad in [r#""yes""#, "1", r#""""#] {
        let document = with_statements(&format!(
            r#"{{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{{"Bool":{{"acs:SecureTransport":{bad}}}}}}}"#
        ));
        let shown = bad.trim_matches('"');
        assert_refused(
            &document,
            &format!(
                "policy `ops`: Statement[0].Condition.Bool.acs:SecureTransport: invalid boolean `{shown}` (expected \"true\" or \"false\")"
            ),
        );
    }
}

#[test]
fn version_must_be_one() {
    assert_refused(
        &format!(r#"{{"Version":"2","Statement":[{GOOD}]}}"#),
        r#"policy `ops`: Version must be "1", found "2""#,
    );
    assert_refused(
        &format!(r#"{{"Version":1,"Statement":[{GOOD}]}}"#),
        r#"policy `ops`: Version must be "1", found 1"#,
    );
    assert_refused(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{GOOD}]}}"#),
        r#"policy `ops`: Version must be "1", found "2012-10-17""#,
    );
    assert_refused(
        &format!(r#"{{"Statement":[{GOOD}]}}"#),
        "policy `ops`: missing Version",
    );
}

#[test]
fn document_shape() {
    assert_refused(r#"{"Version":"1"}"#, "policy `ops`: missing Statement");
    assert_refused(
        r#"{"Version":"1","Statement":"x"}"#,
        "policy `ops`: Statement must be a list of statements",
    );
    assert_refused(
        &with_statements(&format!(r#"{GOOD},"x""#)),
        "policy `ops`: Statement[1] must be an object",
    );
    assert_refused(r#"[]"#, "policy `ops`: document must be a JSON object");
    assert!(refusal(r#"{"Version":"1","#).starts_with("policy `ops`: invalid JSON: "));
    assert!(refusal("").starts_with("policy `ops`: invalid JSON: "));
}

#[test]
fn duplicate_keys_are_refused_not_silently_resolved() {
    assert_refused(
        &with_statements(r#"{"Effect":"Deny","Action":"cams:*","Resource":"*","Effect":"Allow"}"#),
        "policy `ops`: Statement[0]: duplicate key `Effect`",
    );
    assert_refused(
        &format!(r#"{{"Version":"1","Statement":[{GOOD}],"Version":"1"}}"#),
        "policy `ops`: duplicate key `Version`",
    );
    assert_refused(
        &with_statements(&format!(
            r#"{GOOD},{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"IpAddress":{{"acs:SourceIp":"10.0.0.0/8","acs:SourceIp":"0.0.0.0/0"}}}}}}"#
        )),
        "policy `ops`: Statement[1].Condition.IpAddress: duplicate key `acs:SourceIp`",
    );
}

#[test]
fn errors_are_structured_too() {
    let error = match parse_policy(
        "ops",
        &with_statements(&format!(
            r#"{GOOD},{{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{{"Bogus":{{}}}}}}"#
        )),
    ) {
        Ok(_) => panic!("accepted"),
        Err(error) => error,
    };
    assert_eq!(error.policy, "ops");
    assert_eq!(error.statement_index(), Some(1));
    assert_eq!(
        error.kind,
        PolicyErrorKind::UnknownOperator {
            statement: 1,
            operator: "Bogus".to_string()
        }
    );
}

/// When a document has several problems, which one is reported does not depend on the order its
/// members were written in.
#[test]
fn reported_error_does_not_depend_on_member_order() {
    let one = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cams:*","Resource":"*","Condition":{"Zeta":{},"Alpha":{}}}]}"#;
    let other = r#"{"Statement":[{"Condition":{"Alpha":{},"Zeta":{}},"Resource":"*","Action":"cams:*","Effect":"Allow"}],"Version":"1"}"#;
    assert_eq!(refusal(one), refusal(other));
    assert_eq!(
        refusal(one),
        "policy `ops`: Statement[0]: unknown condition operator `Alpha`"
    );
}
