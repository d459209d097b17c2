//! The crate's evaluator against the naive reference evaluator, over random policies and
//! requests from small colliding alphabets: same decision kind and same deciding statements.

mod common;
mod reference;

use common::{decide, deciding_pairs, documents, parse_all, request};
use proptest::prelude::*;
use ram_policy::{action_matches, resource_matches, DecisionKind};

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn evaluator_agrees_with_reference(documents in documents(), request in request()) {
        let policies = parse_all(&documents);
        let decision = decide(&policies, &request);
        let (expected_kind, expected_deciding) = reference::evaluate(&documents, &request);
        prop_assert_eq!(decision.kind, expected_kind, "documents: {:?}\nrequest: {:?}", documents, request);
        prop_assert_eq!(deciding_pairs(&decision), expected_deciding);
    }

    /// Wildcard matching alone, over tiny alphabets where `*`, `?`, repeats and multi-byte
    /// characters collide constantly.
    #[test]
    fn resource_wildcards_agree_with_reference(pattern in "[ab*?é/]{0,8}", text in "[abé/]{0,10}") {
        prop_assert_eq!(resource_matches(&pattern, &text), reference::glob(&pattern, &text), "{:?} vs {:?}", pattern, text);
    }

    #[test]
    fn action_wildcards_agree_with_reference(pattern in "[aAbB:*?]{0,8}", text in "[aAbB:]{0,10}") {
        prop_assert_eq!(action_matches(&pattern, &text), reference::action_glob(&pattern, &text), "{:?} vs {:?}", pattern, text);
    }
}

/// The property above is only meaningful if the alphabets really collide: every outcome must be
/// reachable, and conditions must decide some cases both ways.
#[test]
fn generated_cases_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut counts = [0usize; 3];
    let mut condition_decided = 0usize;
    for _ in 0..3000 {
        let documents = match documents().new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(reason) => panic!("{reason}"),
        };
        let request = match request().new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(reason) => panic!("{reason}"),
        };
        let policies = parse_all(&documents);
        let decision = decide(&policies, &request);
        counts[match decision.kind {
            DecisionKind::Allow => 0,
            DecisionKind::ImplicitDeny => 1,
            DecisionKind::ExplicitDeny => 2,
        }] += 1;
        let mut without_facts = request.clone();
        without_facts.condition_values.clear();
        if decide(&policies, &without_facts).kind != decision.kind {
            condition_decided += 1;
        }
    }
    eprintln!("outcomes {counts:?}, condition-decided {condition_decided}");
    assert!(
        counts.iter().all(|count| *count > 300),
        "outcome counts {counts:?}"
    );
    assert!(
        condition_decided > 150,
        "conditions decided only {condition_decided} cases"
    );
}
