//! Evaluation cost for a realistic identity: 5 policies, 20 statements, conditions on source IP,
//! time, transport, user agent, cust space and numbers; a request carrying 8 condition keys.
//!
//! `cargo bench -p ram-policy --bench evaluate`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ram_policy::{evaluate, parse_policy, system_policy, Policy, RequestContext};

const OPS: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":["cams:CreateMessageCampaign","cams:ListMessageCampaign"],"Resource":"acs:cams:*:1234567890123456:custspace/cams-ops*","Condition":{"StringEquals":{"cams:CustSpaceId":["cams-ops1","cams-ops2"]}}},
  {"Effect":"Allow","Action":"cams:Delete*","Resource":"acs:cams:*:1234567890123456:custspace/*/campaign/*","Condition":{"DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00+08:00"}}},
  {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram::1234567890123456:role/cams-*"},
  {"Effect":"Allow","Action":["ecs:Describe*","vpc:Describe*"],"Resource":"*"},
  {"Effect":"Allow","Action":"oss:Get*","Resource":["acs:oss:*:*:cams-exports/*","acs:oss:*:*:cams-reports/*"]},
  {"Effect":"Allow","Action":"cams:Sync*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}
]}"#;

const NETWORK_GUARD: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.0.2.0/24","2001:db8::/32"]}}},
  {"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"false"}}}
]}"#;

const WINDOWS: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"cams:GetMessageCampaignInsights","Resource":"*","Condition":{"DateGreaterThanEquals":{"acs:CurrentTime":"2019-01-01"},"DateLessThan":{"acs:CurrentTime":"2031-01-01T00:00:00Z"}}},
  {"Effect":"Allow","Action":"cams:ListPageAdAccount","Resource":"*","Condition":{"DateGreaterThan":{"acs:CurrentTime":"2024-06-01T00:00:00Z"}}},
  {"Effect":"Deny","Action":"cams:CreateMessageCampaign","Resource":"*","Condition":{"DateGreaterThan":{"acs:CurrentTime":"2031-01-01T00:00:00Z"}}},
  {"Effect":"Allow","Action":"cams:Get*","Resource":"*","Condition":{"Bool":{"acs:MFAPresent":"true"}}}
]}"#;

const TEAM: &str = r#"{"Version":"1","Statement":[
  {"Effect":"Allow","NotAction":["ram:*","sts:*"],"Resource":"acs:ecs:*:*:instance/i-team*"},
  {"Effect":"Deny","Action":"cams:*","NotResource":["acs:cams:*:1234567890123456:*","*"]},
  {"Effect":"Allow","Action":"cams:Get*","Resource":"*","Condition":{"StringLike":{"acs:UserAgent":["AlibabaCloud*","aliyun-cli/*"]}}},
  {"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{"StringLike":{"acs:UserAgent":"*curl*"}}},
  {"Effect":"Allow","Action":"cams:CreateMessageCampaign","Resource":"*","Condition":{"NumericLessThanEquals":{"cams:Budget":"100000.00"}}},
  {"Effect":"Deny","Action":"cams:DeleteMessageCampaign","Resource":"*","Condition":{"StringNotEquals":{"acs:PrincipalARN":"acs:ram::1234567890123456:user/lead"}}},
  {"Effect":"Allow","Action":"cams:List*","Resource":"acs:cams:*:1234567890123456:custspace/*"}
]}"#;

fn policies() -> Vec<Policy> {
    let mut policies = vec![system_policy("AliyunCamsReadOnlyAccess").expect("system policy")];
    for (name, document) in [
        ("ops", OPS),
        ("network-guard", NETWORK_GUARD),
        ("windows", WINDOWS),
        ("team", TEAM),
    ] {
        policies.push(parse_policy(name, document).expect("bench policy parses"));
    }
    let statements: usize = policies
        .iter()
        .map(|policy| policy.statements().len())
        .sum();
    assert_eq!((policies.len(), statements), (5, 20));
    policies
}

fn request(action: &str, source_ip: &str) -> RequestContext {
    RequestContext::new(action)
        .with_resource("acs:cams:ap-southeast-1:1234567890123456:custspace/cams-x1/campaign/23")
        .with_condition("acs:SourceIp", source_ip)
        .with_condition("acs:CurrentTime", "2025-03-14T09:26:53Z")
        .with_condition("acs:SecureTransport", "true")
        .with_condition(
            "acs:UserAgent",
            "AlibabaCloud (Linux; x86_64) Python/3.12 Core/1.0 TeaDSL/1",
        )
        .with_condition("acs:AccessId", "LTAI5tExampleExample1234")
        .with_condition("acs:MFAPresent", "false")
        .with_condition("acs:PrincipalARN", "acs:ram::1234567890123456:user/analyst")
        .with_condition("cams:CustSpaceId", "cams-x1")
}

fn bench(c: &mut Criterion) {
    let policies = policies();
    let references: Vec<&Policy> = policies.iter().collect();
    let cases = [
        (
            "allow_get_insights",
            request("cams:GetMessageCampaignInsights", "10.1.2.3"),
        ),
        (
            "implicit_deny_create",
            request("cams:CreateMessageCampaign", "10.1.2.3"),
        ),
        (
            "explicit_deny_outside_network",
            request("cams:GetMessageCampaignInsights", "198.51.100.7"),
        ),
        (
            "no_statement_for_service",
            request("ram:CreateUser", "10.1.2.3"),
        ),
    ];
    let mut group = c.benchmark_group("evaluate_5_policies_20_statements");
    for (name, request) in &cases {
        group.bench_function(*name, |bencher| {
            bencher.iter(|| evaluate(black_box(&references), black_box(request)))
        });
    }
    group.finish();
    c.bench_function("parse_team_policy", |bencher| {
        bencher.iter(|| parse_policy("team", black_box(TEAM)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
