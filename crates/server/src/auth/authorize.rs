//! RAM authorisation: the gateway's step after authentication.
//!
//! Root keys may do everything within their account. RAM users are allowed by their own and their
//! groups' policies; assumed-role sessions by the role's policies AND the session policy. The
//! request context carries the action, the resource ARN and the condition keys of `docs/ram.md`. A
//! denial answers `NoPermission` (implicit) or `Forbidden.RAM` (explicit) with `AccessDeniedDetail`.

use std::net::{IpAddr, SocketAddr};

use ram_policy::{keys, DecisionKind, PolicyType, RequestContext};
use serde_json::json;

use crate::auth::identity::{Principal, PrincipalKind};
use crate::errors::{ApiError, ErrorCode};

/// What authorisation needs to know of a request.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    pub principal: &'a Principal,
    pub access_key_id: &'a str,
    /// e.g. `cams:GetMessageCampaignInsights`.
    pub ram_action: &'static str,
    /// The `CustSpaceId`, `CampaignId` and (STS) `RoleArn` parameters, when given.
    pub cust_space_id: Option<&'a str>,
    pub campaign_id: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    pub peer: SocketAddr,
    pub secure: bool,
    pub user_agent: Option<&'a str>,
}

/// The resource a request acts on: the cust space and campaign it names (`*` where it names none).
/// STS calls act on the role named by `RoleArn`.
pub fn resource_arn(region: &str, req: &AccessRequest<'_>) -> String {
    if req.ram_action == "sts:AssumeRole" {
        return req.role_arn.unwrap_or("*").to_string();
    }
    let account = &req.principal.account_uid;
    let cust_space = req.cust_space_id.unwrap_or("*");
    match req.campaign_id {
        Some(campaign) => {
            format!("acs:cams:{region}:{account}:custspace/{cust_space}/campaign/{campaign}")
        }
        None => format!("acs:cams:{region}:{account}:custspace/{cust_space}"),
    }
}

/// The condition values a request carries.
fn context(region: &str, req: &AccessRequest<'_>, now_iso: &str) -> RequestContext {
    let mut ctx = RequestContext::new(req.ram_action).with_resource(resource_arn(region, req));
    let ip = match req.peer.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    ctx.insert_condition(keys::SOURCE_IP, ip.to_string());
    ctx.insert_condition(keys::CURRENT_TIME, now_iso.to_string());
    ctx.insert_condition(
        keys::SECURE_TRANSPORT,
        if req.secure { "true" } else { "false" },
    );
    ctx.insert_condition(keys::ACCESS_ID, req.access_key_id.to_string());
    ctx.insert_condition(keys::MFA_PRESENT, "false");
    ctx.insert_condition(keys::PRINCIPAL_ARN, req.principal.arn());
    if let Some(ua) = req.user_agent {
        ctx.insert_condition(keys::USER_AGENT, ua.to_string());
    }
    if let Some(cs) = req.cust_space_id {
        ctx.insert_condition(keys::CUST_SPACE_ID, cs.to_string());
    }
    ctx
}

/// Allows or refuses an authenticated request.
pub fn authorize(region: &str, req: &AccessRequest<'_>, now_secs: i64) -> Result<(), ApiError> {
    let principal = req.principal;
    if principal.kind == PrincipalKind::Root {
        return Ok(());
    }
    let ctx = context(region, req, &acs_signature::time::format_utc(now_secs));
    let policies: Vec<&ram_policy::Policy> =
        principal.policies.iter().map(|p| p.as_ref()).collect();
    // The diagnostic is only built for a denial: allowed requests are the hot path.
    let (decision, policy_type, diagnostic) = match &principal.kind {
        PrincipalKind::AssumedRole { .. } => {
            let session =
                ram_policy::evaluate_session(&policies, principal.session_policy.as_deref(), &ctx);
            if session.decision.is_allowed() {
                return Ok(());
            }
            let diagnostic =
                ram_policy::explain::encoded_session_diagnostic(&session, req.ram_action);
            let policy_type = session
                .denied_by
                .unwrap_or(PolicyType::AccountLevelIdentityBasedPolicy);
            (session.decision, policy_type, diagnostic)
        }
        _ => {
            let decision = ram_policy::evaluate(&policies, &ctx);
            if decision.is_allowed() {
                return Ok(());
            }
            let diagnostic = ram_policy::explain::encoded_diagnostic(&decision, req.ram_action);
            (
                decision,
                PolicyType::AccountLevelIdentityBasedPolicy,
                diagnostic,
            )
        }
    };
    let (code, no_permission_type) = match decision.kind {
        DecisionKind::ExplicitDeny => (ErrorCode::ForbiddenRam, "ExplicitDeny"),
        _ => (ErrorCode::NoPermission, "ImplicitDeny"),
    };
    let mut err = ApiError::new(code);
    err.access_denied = Some(Box::new(json!({
        "AuthAction": req.ram_action,
        "AuthPrincipalType": principal.type_name(),
        "AuthPrincipalOwnerId": principal.account_uid,
        "AuthPrincipalDisplayName": principal.display_name(),
        "NoPermissionType": no_permission_type,
        "PolicyType": policy_type.as_str(),
        "EncodedDiagnosticMessage": diagnostic,
    })));
    Err(err)
}
