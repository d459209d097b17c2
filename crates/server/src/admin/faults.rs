//! Fault injection: rules that make chosen calls answer a chosen error, or wait, or both.
//!
//! Pure logic, no I/O: a rule is validated against the operation catalog and the error table, and
//! [`FaultSet::decide`] says, for one authenticated call, which rule (if any) fires and what it does.
//! Firing is deterministic given the rule's seed: each rule draws from its own SplitMix64 sequence, one
//! draw per call it matches, so the same calls in the same order meet the same faults. Probabilities are
//! exact: parts per million, parsed from a decimal string, never a float.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::errors::{ErrorCode, ERROR_TABLE};
use crate::rpc::catalog::ACTIONS;

/// Probabilities are whole parts per million.
pub const PPM: u32 = 1_000_000;
/// The longest latency a rule may add.
pub const MAX_LATENCY_MS: u64 = 60_000;
/// Most rules at once.
pub const MAX_RULES: usize = 256;

/// A rule as written in the configuration (`[[faults]]`) or sent to the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The operation (`GetMessageCampaignInsights`), or `*` for every one.
    pub action: String,
    /// Only calls signed with this AccessKey id (or STS token's key id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The error code to answer (a code of the error table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Milliseconds to wait before answering (the error, or the real answer when there is no code).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
    /// Chance that a matching call is hit, a decimal from 0 to 1 (`"0.25"`, or a number). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<Probability>,
    /// Hit only the next N matching calls, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Seed of the rule's draws (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A probability as written: a JSON/TOML number or a string, kept as its text until validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Probability {
    Text(String),
    Number(serde_json::Number),
}

impl Probability {
    fn text(&self) -> String {
        match self {
            Probability::Text(t) => t.trim().to_string(),
            Probability::Number(n) => n.to_string(),
        }
    }
}

/// Why a rule is refused. The messages name the field and the value, so that a user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaultError {
    #[error("fault rule: unknown action {0:?} (an operation of the catalog, or \"*\")")]
    UnknownAction(String),
    #[error("fault rule: unknown error code {0:?} (a code of docs/errors.md)")]
    UnknownCode(String),
    #[error("fault rule: probability {0:?} is not a decimal between 0 and 1")]
    BadProbability(String),
    #[error("fault rule: latency_ms {0} is above the maximum of {MAX_LATENCY_MS}")]
    LatencyTooLong(u64),
    #[error("fault rule: give a code, a latency, or both")]
    DoesNothing,
    #[error("fault rule: probability and count exclude each other")]
    ProbabilityAndCount,
    #[error("fault rule: count must be at least 1")]
    ZeroCount,
    #[error("too many fault rules (at most {MAX_RULES})")]
    TooMany,
}

/// A validated rule with its state (draws made, hits left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub id: u64,
    pub spec: FaultSpec,
    code: Option<ErrorCode>,
    ppm: u32,
    rng: u64,
    remaining: Option<u64>,
    pub hits: u64,
}

/// What a firing rule does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    pub rule_id: u64,
    pub code: Option<ErrorCode>,
    pub latency_ms: u64,
}

/// Parses `"0"`, `"1"`, `"0.25"`, `"1.0"`, `"0.000001"` into parts per million; more than six decimals,
/// a sign, an exponent or anything above 1 is refused.
pub fn parse_probability(text: &str) -> Option<u32> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.ends_with('.') || frac.len() > 6 || int.len() > 1 {
        return None;
    }
    let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micro: u32 = 0;
    for (i, b) in frac.bytes().enumerate() {
        micro += u32::from(b - b'0') * 10u32.pow(5 - i as u32);
    }
    let ppm = int.checked_mul(PPM)?.checked_add(micro)?;
    (ppm <= PPM).then_some(ppm)
}

fn code_of(text: &str) -> Option<ErrorCode> {
    ERROR_TABLE
        .iter()
        .position(|s| s.code == text)
        .map(|i| ErrorCode::ALL[i])
}

impl FaultRule {
    /// Checks a rule against the catalog and the error table.
    pub fn new(id: u64, spec: FaultSpec) -> Result<FaultRule, FaultError> {
        if spec.action != "*" && !ACTIONS.iter().any(|a| a.name == spec.action) {
            return Err(FaultError::UnknownAction(spec.action));
        }
        let code = match &spec.code {
            Some(c) => Some(code_of(c).ok_or_else(|| FaultError::UnknownCode(c.clone()))?),
            None => None,
        };
        if code.is_none() && spec.latency_ms == 0 {
            return Err(FaultError::DoesNothing);
        }
        if spec.latency_ms > MAX_LATENCY_MS {
            return Err(FaultError::LatencyTooLong(spec.latency_ms));
        }
        let ppm = match &spec.probability {
            Some(p) => {
                parse_probability(&p.text()).ok_or_else(|| FaultError::BadProbability(p.text()))?
            }
            None => PPM,
        };
        if spec.probability.is_some() && spec.count.is_some() {
            return Err(FaultError::ProbabilityAndCount);
        }
        if spec.count == Some(0) {
            return Err(FaultError::ZeroCount);
        }
        Ok(FaultRule {
            id,
            code,
            ppm,
            rng: spec.seed,
            remaining: spec.count,
            hits: 0,
            spec,
        })
    }

    fn matches(&self, action: &str, access_key_id: &str) -> bool {
        (self.spec.action == "*" || self.spec.action == action)
            && self
                .spec
                .access_key_id
                .as_deref()
                .is_none_or(|k| k == access_key_id)
    }

    /// One matching call: does the rule fire? Advances the rule's state.
    fn fire(&mut self) -> bool {
        let hit = match &mut self.remaining {
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
            None if self.ppm == PPM => true,
            None => (splitmix64(&mut self.rng) % u64::from(PPM)) < u64::from(self.ppm),
        };
        if hit {
            self.hits += 1;
        }
        hit
    }

    /// Hits left for a counted rule.
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }
}

/// SplitMix64: small, fast, and the same on every platform.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The rules in force, in the order they were added; the first that fires decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSet {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl FaultSet {
    /// Rules from the configuration, all validated (the first bad one is the error).
    pub fn from_specs(specs: &[FaultSpec]) -> Result<FaultSet, FaultError> {
        let mut set = FaultSet::default();
        for spec in specs {
            set.add(spec.clone())?;
        }
        Ok(set)
    }

    /// Adds a rule; answers its id. Nothing changes when it is refused.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, FaultError> {
        if self.rules.len() >= MAX_RULES {
            return Err(FaultError::TooMany);
        }
        let rule = FaultRule::new(self.next_id + 1, spec)?;
        self.next_id += 1;
        let id = rule.id;
        self.rules.push(rule);
        Ok(id)
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The fault for one authenticated call, if any. Every matching rule before the one that fires
    /// makes its draw, so each rule's sequence depends only on the calls it matches.
    pub fn decide(&mut self, action: &str, access_key_id: &str) -> Option<Injection> {
        for rule in &mut self.rules {
            if rule.matches(action, access_key_id) && rule.fire() {
                return Some(Injection {
                    rule_id: rule.id,
                    code: rule.code,
                    latency_ms: rule.spec.latency_ms,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(action: &str, code: &str) -> FaultSpec {
        FaultSpec {
            action: action.into(),
            code: Some(code.into()),
            ..FaultSpec::default()
        }
    }

    #[test]
    fn probabilities_are_exact_parts_per_million() {
        for (text, ppm) in [
            ("0", 0),
            ("1", PPM),
            ("1.0", PPM),
            ("0.5", 500_000),
            ("0.25", 250_000),
            (".1", 100_000),
            ("0.000001", 1),
            ("1.000000", PPM),
        ] {
            assert_eq!(parse_probability(text), Some(ppm), "{text}");
        }
        for bad in [
            "",
            ".",
            "1.5",
            "2",
            "-0.1",
            "+0.1",
            "0.0000001",
            "1e-3",
            "0.5.",
            "0.",
            "01",
            "NaN",
            " 0.1",
            "1.000001",
        ] {
            assert_eq!(parse_probability(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_rules_are_refused_with_what_is_wrong() {
        let r = |s: FaultSpec| FaultRule::new(1, s).unwrap_err();
        assert_eq!(
            r(spec("Nope", "Throttling.User")),
            FaultError::UnknownAction("Nope".into())
        );
        assert_eq!(
            r(spec("GetMessageCampaignInsights", "Nope")),
            FaultError::UnknownCode("Nope".into())
        );
        assert_eq!(
            r(FaultSpec {
                action: "*".into(),
                ..FaultSpec::default()
            }),
            FaultError::DoesNothing
        );
        let mut s = spec("*", "InternalError");
        s.probability = Some(Probability::Text("1.5".into()));
        assert_eq!(r(s.clone()), FaultError::BadProbability("1.5".into()));
        s.probability = Some(Probability::Text("0.5".into()));
        s.count = Some(3);
        assert_eq!(r(s), FaultError::ProbabilityAndCount);
        let mut s = spec("*", "InternalError");
        s.count = Some(0);
        assert_eq!(r(s), FaultError::ZeroCount);
        let mut s = spec("*", "InternalError");
        s.latency_ms = MAX_LATENCY_MS + 1;
        assert_eq!(r(s), FaultError::LatencyTooLong(MAX_LATENCY_MS + 1));
        // A refused rule leaves the set as it was.
        let mut set = FaultSet::default();
        set.add(spec("*", "InternalError")).unwrap();
        let before = set.clone();
        assert!(set.add(spec("Nope", "InternalError")).is_err());
        assert_eq!(set, before);
    }

    #[test]
    fn a_counted_rule_hits_the_next_n_matching_calls_only() {
        let mut set = FaultSet::default();
        let mut s = spec("GetMessageCampaignInsights", "Throttling.User");
        s.count = Some(2);
        set.add(s).unwrap();
        assert_eq!(set.decide("ListMessageCampaign", "k"), None);
        assert!(set.decide("GetMessageCampaignInsights", "k").is_some());
        assert!(set.decide("GetMessageCampaignInsights", "k").is_some());
        assert_eq!(set.decide("GetMessageCampaignInsights", "k"), None);
        assert_eq!(set.rules()[0].hits, 2);
        assert_eq!(set.rules()[0].remaining(), Some(0));
    }

    #[test]
    fn a_key_scoped_rule_spares_other_keys() {
        let mut set = FaultSet::default();
        let mut s = spec("*", "ServiceUnavailable");
        s.access_key_id = Some("LTAIone".into());
        set.add(s).unwrap();
        assert_eq!(set.decide("ListPageAdAccount", "LTAItwo"), None);
        let hit = set.decide("ListPageAdAccount", "LTAIone").unwrap();
        assert_eq!(hit.code, Some(ErrorCode::ServiceUnavailable));
    }

    #[test]
    fn rules_from_toml_and_json_read_the_same() {
        let toml: FaultSpec = toml::from_str(
            "action = \"*\"\ncode = \"InternalError\"\nprobability = 0.5\nseed = 7\n",
        )
        .unwrap();
        let json: FaultSpec = serde_json::from_str(
            r#"{"action":"*","code":"InternalError","probability":"0.5","seed":7}"#,
        )
        .unwrap();
        let a = FaultRule::new(1, toml).unwrap();
        let b = FaultRule::new(1, json).unwrap();
        assert_eq!(a.ppm, b.ppm);
        assert_eq!(a.ppm, 500_000);
    }

    proptest! {
        /// Same seed, same calls: same faults. And the observed rate follows the probability.
        #[test]
        fn firing_is_deterministic_and_near_its_probability(seed in any::<u64>(), ppm in 0u32..=PPM) {
            let mk = || {
                let mut s = spec("*", "InternalError");
                s.probability = Some(Probability::Text(format!("{}.{:06}", ppm / PPM, ppm % PPM)));
                s.seed = seed;
                FaultSet::from_specs(&[s]).unwrap()
            };
            let (mut a, mut b) = (mk(), mk());
            let calls = 4000u64;
            let mut hits = 0u64;
            for _ in 0..calls {
                let x = a.decide("GetMessageCampaignInsights", "k");
                prop_assert_eq!(x, b.decide("GetMessageCampaignInsights", "k"));
                hits += u64::from(x.is_some());
            }
            let expected = calls * u64::from(ppm) / u64::from(PPM);
            // Four standard deviations of a binomial, at most 4 * sqrt(4000 / 4) ≈ 127.
            prop_assert!(hits.abs_diff(expected) <= 130, "{} hits, expected {}", hits, expected);
            if ppm == 0 { prop_assert_eq!(hits, 0); }
            if ppm == PPM { prop_assert_eq!(hits, calls); }
        }

        /// Parsing never panics, and what it accepts is within [0, 1].
        #[test]
        fn probability_parsing_is_total(text in "[0-9.+-e ]{0,10}") {
            if let Some(ppm) = parse_probability(&text) {
                prop_assert!(ppm <= PPM);
            }
        }
    }
}
