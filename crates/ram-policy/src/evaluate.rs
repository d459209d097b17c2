//! Policies × request → decision.
//!
//! A statement *matches* a request resource when its action element covers the request action,
//! its resource element covers that resource, and every condition holds. Then:
//! - any matching Deny statement (for any resource) → `ExplicitDeny`;
//! - otherwise, if every request resource is matched by some Allow statement → `Allow`;
//! - otherwise → `ImplicitDeny`. A request naming no resource at all is never allowed: there is
//!   nothing an Allow could have been granted on, and allowing it vacuously would fail open.

use crate::matching::with_ascii_folded;
use crate::model::{Effect, Facts, Policy, RequestContext, Statement};

/// The outcome class, named as Alibaba's `NoPermissionType` names the denials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "Allow",
            DecisionKind::ImplicitDeny => "ImplicitDeny",
            DecisionKind::ExplicitDeny => "ExplicitDeny",
        }
    }
}

/// A statement that took part in a decision: the policy's name and the statement's 0-based index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementRef {
    pub policy: String,
    pub statement_index: usize,
    pub effect: Effect,
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    /// For `Allow`: every Allow statement that matched; for `ExplicitDeny`: every Deny statement
    /// that matched; for `ImplicitDeny`: empty. In policy order, then statement order.
    pub deciding: Vec<StatementRef>,
    /// The action asked about, so a decision can be described on its own.
    pub action: String,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.kind == DecisionKind::Allow
    }
}

/// Which family of policies denied an assumed-role request, named as Alibaba's `PolicyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    AccountLevelIdentityBasedPolicy,
    SessionPolicy,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::AccountLevelIdentityBasedPolicy => "AccountLevelIdentityBasedPolicy",
            PolicyType::SessionPolicy => "SessionPolicy",
        }
    }
}

/// The answer for an assumed-role request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecision {
    pub decision: Decision,
    /// `None` when allowed; otherwise the side whose policies denied.
    pub denied_by: Option<PolicyType>,
}

/// Decides a request against the identity's policies (user, groups, role: all of them together).
pub fn evaluate(policies: &[&Policy], request: &RequestContext) -> Decision {
    // Actions compare case-insensitively: fold the request's once, not per pattern.
    with_ascii_folded(&request.action, |folded_action| {
        evaluate_folded(policies, request, folded_action)
    })
}

fn evaluate_folded(
    policies: &[&Policy],
    request: &RequestContext,
    folded_action: &[u8],
) -> Decision {
    let facts = Facts::new(request);
    let resource_count = request.resources.len();
    let mut allows: Vec<StatementRef> = Vec::new();
    let mut denies: Vec<StatementRef> = Vec::new();
    // Resources some matching Allow covers; only tracked per resource when there are several.
    let mut covered: Vec<bool> = if resource_count > 1 {
        vec![false; resource_count]
    } else {
        Vec::new()
    };
    let mut uncovered = resource_count;

    for policy in policies {
        for (statement_index, statement) in policy.statements.iter().enumerate() {
            // Cheapest, most selective test first: most statements fail on the action.
            if !statement.actions.covers(folded_action) {
                continue;
            }
            let is_deny = statement.effect == Effect::Deny;
            if !is_deny && !denies.is_empty() {
                // The decision is already an explicit deny; Allow statements no longer count.
                continue;
            }
            if !request
                .resources
                .iter()
                .any(|resource| statement.resources.covers(resource.as_bytes()))
            {
                continue;
            }
            if !conditions_hold(statement, &facts) {
                continue;
            }
            let reference = StatementRef {
                policy: policy.name.clone(),
                statement_index,
                effect: statement.effect,
            };
            if is_deny {
                denies.push(reference);
                continue;
            }
            if resource_count == 1 {
                uncovered = 0;
            } else {
                for (flag, resource) in covered.iter_mut().zip(&request.resources) {
                    if !*flag && statement.resources.covers(resource.as_bytes()) {
                        *flag = true;
                        uncovered -= 1;
                    }
                }
            }
            allows.push(reference);
        }
    }

    let action = request.action.clone();
    if !denies.is_empty() {
        Decision {
            kind: DecisionKind::ExplicitDeny,
            deciding: denies,
            action,
        }
    } else if resource_count > 0 && uncovered == 0 {
        Decision {
            kind: DecisionKind::Allow,
            deciding: allows,
            action,
        }
    } else {
        Decision {
            kind: DecisionKind::ImplicitDeny,
            deciding: Vec::new(),
            action,
        }
    }
}

#[inline]
fn conditions_hold(statement: &Statement, facts: &Facts<'_>) -> bool {
    statement
        .conditions
        .iter()
        .all(|condition| condition.holds(facts))
}

/// Decides a request made with assumed-role credentials: the role's policies and, when the
/// `AssumeRole` call passed one, the session policy must both allow; an explicit deny on either
/// side wins over anything else.
///
/// When both sides deny explicitly, the role's side is reported (its statements are the ones an
/// administrator of the account controls). An `Allow` lists the deciding statements of both sides,
/// role first.
pub fn evaluate_session(
    role_policies: &[&Policy],
    session_policy: Option<&Policy>,
    request: &RequestContext,
) -> SessionDecision {
    let role = evaluate(role_policies, request);
    let Some(session_policy) = session_policy else {
        let denied_by = (!role.is_allowed()).then_some(PolicyType::AccountLevelIdentityBasedPolicy);
        return SessionDecision {
            decision: role,
            denied_by,
        };
    };
    let session = evaluate(&[session_policy], request);
    let (decision, denied_by) = match (role.kind, session.kind) {
        (DecisionKind::ExplicitDeny, _) => {
            (role, Some(PolicyType::AccountLevelIdentityBasedPolicy))
        }
        (_, DecisionKind::ExplicitDeny) => (session, Some(PolicyType::SessionPolicy)),
        (DecisionKind::ImplicitDeny, _) => {
            (role, Some(PolicyType::AccountLevelIdentityBasedPolicy))
        }
        (_, DecisionKind::ImplicitDeny) => (session, Some(PolicyType::SessionPolicy)),
        (DecisionKind::Allow, DecisionKind::Allow) => {
            let mut both = role;
            both.deciding.extend(session.deciding);
            (both, None)
        }
    };
    SessionDecision {
        decision,
        denied_by,
    }
}
