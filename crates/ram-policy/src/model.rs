//! Typed, precompiled policies and the request they are evaluated against.
//!
//! Everything here is built once by [`crate::parse_policy`] and then only read: evaluation never
//! re-parses a pattern, a CIDR, a date or a number written in a policy.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use crate::condition::Condition;
use crate::matching::{equals_folded, fold_case, Pattern};
use crate::values::{parse_address, Address, Instant};

/// Where a policy comes from. System policies are built in and cannot be edited; custom policies
/// are documents an account wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    System,
    Custom,
}

impl PolicyKind {
    /// The name Alibaba's APIs use for this kind (`PolicyType` in RAM's `ListPolicies`).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::System => "System",
            PolicyKind::Custom => "Custom",
        }
    }
}

/// The effect of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed policy: its name, its version (always `"1"` today) and its statements in document
/// order (the order only matters for statement indexes in diagnostics).
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) kind: PolicyKind,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// One statement: an effect, the actions and resources it covers and the conditions under which
/// it applies.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(crate) effect: Effect,
    pub(crate) actions: Coverage,
    pub(crate) resources: Coverage,
    /// All must hold (one entry per operator × key of the `Condition` block).
    pub(crate) conditions: Vec<Condition>,
}

impl Statement {
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// True when the statement was written with `NotAction`.
    pub fn uses_not_action(&self) -> bool {
        self.actions.negated
    }

    /// True when the statement was written with `NotResource`.
    pub fn uses_not_resource(&self) -> bool {
        self.resources.negated
    }

    /// Number of (operator, key) tests in the statement's `Condition` block.
    pub fn condition_count(&self) -> usize {
        self.conditions.len()
    }
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: a list of patterns, possibly negated.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    pub(crate) patterns: Vec<Pattern>,
    /// `NotAction` / `NotResource`: the statement covers everything *no* pattern matches.
    pub(crate) negated: bool,
}

impl Coverage {
    /// `value` as bytes; for actions, already ASCII-folded.
    #[inline]
    pub(crate) fn covers(&self, value: &[u8]) -> bool {
        self.patterns.iter().any(|pattern| pattern.matches(value)) != self.negated
    }
}

/// The question asked of the policies: may this action be performed on these resources, given
/// these request facts?
///
/// `condition_values` keys are lowercase (condition keys are case-insensitive; the caller folds
/// them once per request instead of the evaluator folding them per statement). A key whose case
/// was not folded is still found, only more slowly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// `service:Action`, for example `cams:GetMessageCampaignInsights`.
    pub action: String,
    /// The resources the action touches: every one must be allowed. Usually exactly one.
    pub resources: Vec<String>,
    /// Request facts by lowercase condition key, for example `acs:sourceip` → `["192.0.2.7"]`.
    pub condition_values: BTreeMap<String, Vec<String>>,
}

impl RequestContext {
    pub fn new(action: impl Into<String>) -> Self {
        RequestContext {
            action: action.into(),
            resources: Vec::new(),
            condition_values: BTreeMap::new(),
        }
    }

    /// Adds one resource ARN.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Adds one value for a condition key; the key is folded to lowercase here.
    pub fn with_condition(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert_condition(key, value);
        self
    }

    /// Adds one value for a condition key; the key is folded to lowercase here.
    pub fn insert_condition(&mut self, key: &str, value: impl Into<String>) {
        self.condition_values
            .entry(fold_case(key))
            .or_default()
            .push(value.into());
    }
}

/// Condition lookups for one evaluation: the request, whether its keys are all folded already
/// (worked out at most once, and only if some key is not found as written), and the last request
/// value parsed as a date and as an address (several conditions usually test the same one).
pub(crate) struct Facts<'a> {
    request: &'a RequestContext,
    keys_all_folded: Cell<Option<bool>>,
    last_instant: ParseMemo<Instant>,
    last_address: ParseMemo<Address>,
}

/// Maps this small are scanned rather than searched: comparing lengths first settles most keys
/// without calling into `memcmp`, which a search does at every step.
const SCANNED_MAP_SIZE: usize = 16;

impl<'a> Facts<'a> {
    pub(crate) fn new(request: &'a RequestContext) -> Facts<'a> {
        Facts {
            request,
            keys_all_folded: Cell::new(None),
            last_instant: ParseMemo::default(),
            last_address: ParseMemo::default(),
        }
    }

    /// The values the request carries for a condition key (`folded_key` already case-folded).
    pub(crate) fn values_of(&self, folded_key: &str) -> Option<&'a [String]> {
        let values = &self.request.condition_values;
        let found = if values.len() <= SCANNED_MAP_SIZE {
            values
                .iter()
                .find(|(key, _)| key.len() == folded_key.len() && key.as_str() == folded_key)
                .map(|(_, found)| found.as_slice())
        } else {
            values.get(folded_key).map(Vec::as_slice)
        };
        if let Some(found) = found {
            return Some(found);
        }
        // A caller that did not fold its keys still gets case-insensitive lookup: a Deny whose
        // condition silently failed on `acs:SourceIp` vs `acs:sourceip` would fail open.
        let keys_all_folded = match self.keys_all_folded.get() {
            Some(known) => known,
            None => {
                let known = values.keys().all(|key| is_folded(key));
                self.keys_all_folded.set(Some(known));
                known
            }
        };
        if keys_all_folded {
            return None;
        }
        values
            .iter()
            .find(|(key, _)| equals_folded(key, folded_key))
            .map(|(_, found)| found.as_slice())
    }

    /// `Instant::parse(value)`, remembered for the request value last parsed.
    pub(crate) fn instant(&self, value: &'a str) -> Option<Instant> {
        self.last_instant.get_or_parse(value, Instant::parse)
    }

    /// `parse_address(value)`, remembered for the request value last parsed.
    pub(crate) fn address(&self, value: &'a str) -> Option<Address> {
        self.last_address.get_or_parse(value, parse_address)
    }
}

/// The last request value parsed and its result. The value is identified by its address and
/// length: distinct non-empty strings of a borrowed request cannot share an address, and empty
/// ones parse alike.
struct ParseMemo<T> {
    last: Cell<Option<(ValueIdentity, Option<T>)>>,
}

type ValueIdentity = (*const u8, usize);

impl<T> Default for ParseMemo<T> {
    fn default() -> Self {
        ParseMemo {
            last: Cell::new(None),
        }
    }
}

impl<T: Copy> ParseMemo<T> {
    fn get_or_parse(&self, value: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
        let identity = (value.as_ptr(), value.len());
        if let Some((remembered, parsed)) = self.last.get() {
            if remembered == identity {
                return parsed;
            }
        }
        let parsed = parse(value);
        self.last.set(Some((identity, parsed)));
        parsed
    }
}

fn is_folded(key: &str) -> bool {
    if key.is_ascii() {
        !key.bytes().any(|byte| byte.is_ascii_uppercase())
    } else {
        equals_folded(key, key)
    }
}

/// Well-known condition keys, lowercase, as [`RequestContext::condition_values`] expects them.
pub mod keys {
    pub const SOURCE_IP: &str = "acs:sourceip";
    pub const CURRENT_TIME: &str = "acs:currenttime";
    pub const SECURE_TRANSPORT: &str = "acs:securetransport";
    pub const USER_AGENT: &str = "acs:useragent";
    pub const ACCESS_ID: &str = "acs:accessid";
    pub const MFA_PRESENT: &str = "acs:mfapresent";
    pub const PRINCIPAL_ARN: &str = "acs:principalarn";
    pub const CUST_SPACE_ID: &str = "cams:custspaceid";
}
