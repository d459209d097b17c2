//! Alibaba Cloud RAM policies: parse documents, evaluate requests, explain decisions.
//!
//! Pure logic in three steps, after the split of AWS's cedar:
//! - [`parse_policy`]: a JSON document → a typed, precompiled [`Policy`], or a [`PolicyError`] that
//!   names the statement and key at fault;
//! - [`evaluate`] / [`evaluate_session`]: policies × [`RequestContext`] → [`Decision`];
//! - [`explain`]: which policy and statement decided, as a sentence or an encoded diagnostic.
//!
//! No I/O, no clock (the request carries `acs:CurrentTime`), no logging, no panics on any input.
//!
//! # Semantics
//! - A lone string is a one-element list (`Action`, `NotAction`, `Resource`, `NotResource`,
//!   condition values, and a lone statement object for `Statement`).
//! - Wildcards: `*` any run of characters (including none, and across `:` and `/`), `?` exactly
//!   one character. Actions compare case-insensitively (ASCII), resources case-sensitively.
//! - Condition: every operator of the block must hold, and within an operator every key; condition
//!   keys compare case-insensitively, operator names case-sensitively. A request value satisfies a
//!   positive operator when it matches ANY policy value, a negated one (`StringNotEquals`,
//!   `StringNotEqualsIgnoreCase`, `StringNotLike`, `NumericNotEquals`, `DateNotEquals`,
//!   `NotIpAddress`) when it matches NONE. A key absent from the request, or a request value that
//!   is not of the operator's type, satisfies no operator, negated ones included.
//! - Numbers compare exactly as decimals; dates as instants (ISO 8601 with or without zone, a date
//!   alone, or epoch seconds); networks by prefix, IPv4-mapped IPv6 addresses as IPv4.
//! - Decision: any matching Deny → `ExplicitDeny`; otherwise, when every request resource is
//!   covered by a matching Allow → `Allow`; otherwise `ImplicitDeny` (also for a request naming no
//!   resource).
//! - Policies are refused at load time, with a message naming the statement and key, for unknown
//!   keys or operators, missing or malformed elements, repeated JSON keys, values an operator
//!   cannot read, and a `Version` other than `"1"`.

mod condition;
mod error;
mod evaluate;
pub mod explain;
mod matching;
mod model;
mod parse;
mod system;
mod trust;
mod values;

pub use condition::{Operator, ValueProblem};
pub use error::{PolicyError, PolicyErrorKind};
pub use evaluate::{
    evaluate, evaluate_session, Decision, DecisionKind, PolicyType, SessionDecision, StatementRef,
};
pub use matching::{action_matches, resource_matches};
pub use model::{keys, Effect, Policy, PolicyKind, RequestContext, Statement};
pub use parse::{parse_policy, POLICY_VERSION};
pub use system::{system_policy, system_policy_document, system_policy_names};
pub use trust::{parse_trust_policy, TrustPolicy, TrustPolicyError};
