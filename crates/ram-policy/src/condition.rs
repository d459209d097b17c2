//! Condition operators and their evaluation.
//!
//! A `Condition` block is flattened at load time into one [`Condition`] per (operator, key) pair;
//! a statement applies only when every one of them holds.
//!
//! Semantics, for one (operator, key) pair:
//! - The key is looked up case-insensitively. A key the request does not carry (or carries with
//!   no value) makes the condition false, for every operator, negated ones included: a policy can
//!   only be satisfied by facts that are there.
//! - A request value that is not a valid value of the operator's type (a non-number for
//!   `Numeric*`, a non-date for `Date*`, a non-address for `*IpAddress`, neither `true` nor
//!   `false` for `Bool`) satisfies nothing, again for negated operators too.
//! - Positive operators: a request value satisfies the condition when it matches ANY of the
//!   policy's values.
//! - Negated operators (`StringNotEquals`, `StringNotEqualsIgnoreCase`, `StringNotLike`,
//!   `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`): a request value satisfies the condition
//!   when it matches NONE of the policy's values (so `NotIpAddress: [a, b]` means "outside both
//!   networks", which is what Alibaba's "deny unless from these networks" examples need).
//! - The condition holds when ANY request value satisfies it (request keys are single-valued in
//!   practice; this rule only decides the multi-valued case).

use std::cmp::Ordering;
use std::fmt;

use crate::matching::{equals_folded, fold_case, Case, Pattern};
use crate::model::Facts;
#[cfg(test)]
use crate::model::RequestContext;
use crate::values::{parse_bool, Decimal, Instant, Network, NetworkProblem};

/// A condition operator, spelled exactly as Alibaba documents it (operator names are
/// case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

impl Operator {
    pub const ALL: [Operator; 21] = [
        Operator::StringEquals,
        Operator::StringNotEquals,
        Operator::StringEqualsIgnoreCase,
        Operator::StringNotEqualsIgnoreCase,
        Operator::StringLike,
        Operator::StringNotLike,
        Operator::NumericEquals,
        Operator::NumericNotEquals,
        Operator::NumericLessThan,
        Operator::NumericLessThanEquals,
        Operator::NumericGreaterThan,
        Operator::NumericGreaterThanEquals,
        Operator::DateEquals,
        Operator::DateNotEquals,
        Operator::DateLessThan,
        Operator::DateLessThanEquals,
        Operator::DateGreaterThan,
        Operator::DateGreaterThanEquals,
        Operator::Bool,
        Operator::IpAddress,
        Operator::NotIpAddress,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Operator::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Operator::StringLike => "StringLike",
            Operator::StringNotLike => "StringNotLike",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericNotEquals => "NumericNotEquals",
            Operator::NumericLessThan => "NumericLessThan",
            Operator::NumericLessThanEquals => "NumericLessThanEquals",
            Operator::NumericGreaterThan => "NumericGreaterThan",
            Operator::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Operator::DateEquals => "DateEquals",
            Operator::DateNotEquals => "DateNotEquals",
            Operator::DateLessThan => "DateLessThan",
            Operator::DateLessThanEquals => "DateLessThanEquals",
            Operator::DateGreaterThan => "DateGreaterThan",
            Operator::DateGreaterThanEquals => "DateGreaterThanEquals",
            Operator::Bool => "Bool",
            Operator::IpAddress => "IpAddress",
            Operator::NotIpAddress => "NotIpAddress",
        }
    }

    /// The operator with exactly this name (case-sensitive).
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|operator| operator.name() == name)
    }

    /// Negated operators are satisfied by a request value that matches none of the policy values.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::NumericNotEquals
                | Operator::DateNotEquals
                | Operator::NotIpAddress
        )
    }

    fn relation(self) -> Relation {
        match self {
            Operator::NumericLessThan | Operator::DateLessThan => Relation::Less,
            Operator::NumericLessThanEquals | Operator::DateLessThanEquals => Relation::LessOrEqual,
            Operator::NumericGreaterThan | Operator::DateGreaterThan => Relation::Greater,
            Operator::NumericGreaterThanEquals | Operator::DateGreaterThanEquals => {
                Relation::GreaterOrEqual
            }
            _ => Relation::Equal,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the request value must relate to a policy value (`request < policy` for `*LessThan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Relation {
    #[inline]
    fn holds(self, request_versus_policy: Ordering) -> bool {
        match self {
            Relation::Equal => request_versus_policy == Ordering::Equal,
            Relation::Less => request_versus_policy == Ordering::Less,
            Relation::LessOrEqual => request_versus_policy != Ordering::Greater,
            Relation::Greater => request_versus_policy == Ordering::Greater,
            Relation::GreaterOrEqual => request_versus_policy != Ordering::Less,
        }
    }
}

/// Why a policy's condition value was refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("invalid number `{0}`")]
    InvalidNumber(String),
    #[error("invalid date `{0}`")]
    InvalidDate(String),
    #[error("invalid boolean `{0}` (expected \"true\" or \"false\")")]
    InvalidBoolean(String),
    #[error("invalid CIDR `{0}`")]
    InvalidCidr(String),
    #[error("invalid IP address `{0}`")]
    InvalidIpAddress(String),
}

/// One (operator, key) test of a statement's `Condition` block, values precompiled.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    operator: Operator,
    /// Case-folded, as request keys are.
    key: Box<str>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Strings(Box<[Box<str>]>),
    /// Values already case-folded.
    FoldedStrings(Box<[Box<str>]>),
    Patterns(Box<[Pattern]>),
    Numbers(Box<[Decimal]>, Relation),
    Instants(Box<[Instant]>, Relation),
    Booleans(Box<[bool]>),
    Networks(Box<[Network]>),
}

impl Condition {
    /// Compiles one (operator, key, values) triple; `values` are the policy's values as strings
    /// (JSON numbers and booleans already converted).
    pub(crate) fn compile(
        operator: Operator,
        key: &str,
        values: &[String],
    ) -> Result<Condition, ValueProblem> {
        let test = match operator {
            Operator::StringEquals | Operator::StringNotEquals => {
                Test::Strings(values.iter().map(|value| value.as_str().into()).collect())
            }
            Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                Test::FoldedStrings(values.iter().map(|value| fold_case(value).into()).collect())
            }
            Operator::StringLike | Operator::StringNotLike => Test::Patterns(
                values
                    .iter()
                    .map(|value| Pattern::compile(value, Case::Sensitive))
                    .collect(),
            ),
            Operator::NumericEquals
            | Operator::NumericNotEquals
            | Operator::NumericLessThan
            | Operator::NumericLessThanEquals
            | Operator::NumericGreaterThan
            | Operator::NumericGreaterThanEquals => Test::Numbers(
                values
                    .iter()
                    .map(|value| {
                        Decimal::parse(value)
                            .ok_or_else(|| ValueProblem::InvalidNumber(value.clone()))
                    })
                    .collect::<Result<_, _>>()?,
                operator.relation(),
            ),
            Operator::DateEquals
            | Operator::DateNotEquals
            | Operator::DateLessThan
            | Operator::DateLessThanEquals
            | Operator::DateGreaterThan
            | Operator::DateGreaterThanEquals => Test::Instants(
                values
                    .iter()
                    .map(|value| {
                        Instant::parse(value)
                            .ok_or_else(|| ValueProblem::InvalidDate(value.clone()))
                    })
                    .collect::<Result<_, _>>()?,
                operator.relation(),
            ),
            Operator::Bool => Test::Booleans(
                values
                    .iter()
                    .map(|value| {
                        parse_bool(value).ok_or_else(|| ValueProblem::InvalidBoolean(value.clone()))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Operator::IpAddress | Operator::NotIpAddress => Test::Networks(
                values
                    .iter()
                    .map(|value| {
                        Network::parse(value).map_err(|problem| match problem {
                            NetworkProblem::InvalidCidr => ValueProblem::InvalidCidr(value.clone()),
                            NetworkProblem::InvalidAddress => {
                                ValueProblem::InvalidIpAddress(value.clone())
                            }
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Condition {
            operator,
            key: fold_case(key).into(),
            test,
        })
    }

    /// Rough relative cost of testing this condition, so a statement can test its cheap
    /// conditions first (they all must hold, so order does not change the outcome).
    pub(crate) fn cost_rank(&self) -> u8 {
        match &self.test {
            Test::Booleans(_) => 0,
            Test::Strings(_) => 1,
            Test::FoldedStrings(_) => 2,
            Test::Networks(_) => 3,
            Test::Instants(..) => 4,
            Test::Patterns(_) => 5,
            Test::Numbers(..) => 6,
        }
    }

    pub(crate) fn holds(&self, facts: &Facts<'_>) -> bool {
        match facts.values_of(&self.key) {
            Some(request_values) => request_values
                .iter()
                .any(|value| self.satisfied_by(value, facts)),
            None => false,
        }
    }

    #[inline]
    fn satisfied_by<'a>(&self, request_value: &'a str, facts: &Facts<'a>) -> bool {
        match self.matches_any(request_value, facts) {
            Some(matched) => matched != self.operator.is_negated(),
            None => false,
        }
    }

    /// Whether the request value matches any policy value; `None` when the request value is not
    /// of the operator's type.
    fn matches_any<'a>(&self, request_value: &'a str, facts: &Facts<'a>) -> Option<bool> {
        Some(match &self.test {
            Test::Strings(values) => values.iter().any(|value| **value == *request_value),
            Test::FoldedStrings(values) => values
                .iter()
                .any(|value| equals_folded(request_value, value)),
            Test::Patterns(patterns) => patterns
                .iter()
                .any(|pattern| pattern.matches(request_value.as_bytes())),
            Test::Numbers(values, relation) => {
                let number = Decimal::parse(request_value)?;
                values.iter().any(|value| relation.holds(number.cmp(value)))
            }
            Test::Instants(values, relation) => {
                let instant = facts.instant(request_value)?;
                values
                    .iter()
                    .any(|value| relation.holds(instant.cmp(value)))
            }
            Test::Booleans(values) => {
                let flag = parse_bool(request_value)?;
                values.contains(&flag)
            }
            Test::Networks(networks) => {
                let address = facts.address(request_value)?;
                networks.iter().any(|network| network.contains(address))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(operator: Operator, key: &str, values: &[&str]) -> Condition {
        let values: Vec<String> = values.iter().map(|value| value.to_string()).collect();
        match Condition::compile(operator, key, &values) {
            Ok(condition) => condition,
            Err(problem) => panic!("{problem}"),
        }
    }

    fn request(key: &str, values: &[&str]) -> RequestContext {
        let mut context = RequestContext::new("cams:X");
        for value in values {
            context.insert_condition(key, *value);
        }
        context
    }

    #[test]
    fn operator_names_round_trip_and_are_case_sensitive() {
        for operator in Operator::ALL {
            assert_eq!(Operator::from_name(operator.name()), Some(operator));
        }
        assert_eq!(Operator::from_name("stringequals"), None);
        assert_eq!(Operator::from_name("StringEqualsIfExists"), None);
    }

    #[test]
    fn absent_keys_never_hold_even_for_negated_operators() {
        let empty = RequestContext::new("cams:X");
        for operator in Operator::ALL {
            let value = match operator {
                Operator::NumericEquals
                | Operator::NumericNotEquals
                | Operator::NumericLessThan
                | Operator::NumericLessThanEquals
                | Operator::NumericGreaterThan
                | Operator::NumericGreaterThanEquals => "1",
                Operator::DateEquals
                | Operator::DateNotEquals
                | Operator::DateLessThan
                | Operator::DateLessThanEquals
                | Operator::DateGreaterThan
                | Operator::DateGreaterThanEquals => "2019-08-12",
                Operator::Bool => "true",
                Operator::IpAddress | Operator::NotIpAddress => "10.0.0.0/8",
                _ => "x",
            };
            assert!(
                !condition(operator, "k", &[value]).holds(&Facts::new(&empty)),
                "{operator}"
            );
        }
    }

    #[test]
    fn negated_operators_require_matching_none() {
        let outside = condition(
            Operator::NotIpAddress,
            "acs:SourceIp",
            &["10.0.0.0/8", "192.0.2.1"],
        );
        assert!(outside.holds(&Facts::new(&request("acs:sourceip", &["203.0.113.1"]))));
        assert!(!outside.holds(&Facts::new(&request("acs:sourceip", &["192.0.2.1"]))));
        assert!(!outside.holds(&Facts::new(&request("acs:sourceip", &["10.1.1.1"]))));
        assert!(!outside.holds(&Facts::new(&request("acs:sourceip", &["not-an-ip"]))));
        let not_equals = condition(Operator::StringNotEquals, "k", &["a", "b"]);
        assert!(not_equals.holds(&Facts::new(&request("k", &["c"]))));
        assert!(!not_equals.holds(&Facts::new(&request("k", &["b"]))));
    }

    #[test]
    fn keys_are_case_insensitive_values_follow_the_operator() {
        let equals = condition(Operator::StringEquals, "CAMS:CustSpaceId", &["cams-A"]);
        assert!(equals.holds(&Facts::new(&request("cams:custspaceid", &["cams-A"]))));
        assert!(!equals.holds(&Facts::new(&request("cams:custspaceid", &["cams-a"]))));
        let ignore_case = condition(Operator::StringEqualsIgnoreCase, "k", &["ÉtÉ"]);
        assert!(ignore_case.holds(&Facts::new(&request("k", &["été"]))));
        // Unfolded request keys are still found.
        let mut unfolded = RequestContext::new("cams:X");
        unfolded
            .condition_values
            .insert("CAMS:CustSpaceId".to_string(), vec!["cams-A".to_string()]);
        assert!(equals.holds(&Facts::new(&unfolded)));
    }

    #[test]
    fn numbers_dates_and_booleans_compare_by_value() {
        let less = condition(Operator::NumericLessThan, "n", &["10.5"]);
        assert!(less.holds(&Facts::new(&request("n", &["10.49999999999999999999"]))));
        assert!(!less.holds(&Facts::new(&request("n", &["10.50"]))));
        assert!(!less.holds(&Facts::new(&request("n", &["ten"]))));
        let before = condition(
            Operator::DateLessThan,
            "acs:CurrentTime",
            &["2019-08-12T17:00:00+08:00"],
        );
        assert!(before.holds(&Facts::new(&request(
            "acs:currenttime",
            &["2019-08-12T08:59:59Z"]
        ))));
        assert!(!before.holds(&Facts::new(&request(
            "acs:currenttime",
            &["2019-08-12T09:00:00Z"]
        ))));
        let secure = condition(Operator::Bool, "acs:SecureTransport", &["TRUE"]);
        assert!(secure.holds(&Facts::new(&request("acs:securetransport", &["true"]))));
        assert!(!secure.holds(&Facts::new(&request("acs:securetransport", &["false"]))));
        assert!(!secure.holds(&Facts::new(&request("acs:securetransport", &["yes"]))));
    }
}
