//! STS `AssumeRole` (version 2015-04-01): temporary credentials for a role.
//!
//! The caller must be allowed `sts:AssumeRole` on the role (root keys always are, within the
//! rules of the role's trust policy), and the role's trust policy must name the caller's account
//! or user. Answers `Credentials {AccessKeyId, AccessKeySecret, SecurityToken, Expiration}` and
//! `AssumedRoleUser {Arn, AssumedRoleId}`, as Alibaba's STS does.

use serde_json::json;

use crate::auth::sts::SessionClaims;
use crate::errors::{ApiError, ErrorCode};
use crate::rpc::catalog::object;
use crate::rpc::request::{Answered, Ctx, Pending};

/// Longest accepted session policy, in characters.
pub const MAX_SESSION_POLICY: usize = 2048;
/// Shortest session.
pub const MIN_DURATION: u64 = 900;

/// `acs:ram::<uid>:role/<name>` → (uid, name).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (uid, name) = rest.split_once(":role/")?;
    let uid_ok = uid.len() == 16 && uid.bytes().all(|b| b.is_ascii_digit());
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    (uid_ok && name_ok).then_some((uid, name))
}

fn session_name_ok(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

pub fn handle<'a>(ctx: &'a Ctx<'a>) -> Pending<'a> {
    Box::pin(run(ctx))
}

async fn run(ctx: &Ctx<'_>) -> Answered {
    let p = ctx.params();
    let arn = p.required("RoleArn")?;
    let session = p.required("RoleSessionName")?;
    let (uid, name) = parse_role_arn(arn).ok_or(ApiError::new(ErrorCode::InvalidRoleArn))?;
    if !session_name_ok(session) {
        return Err(ErrorCode::InvalidRoleSessionName.into());
    }
    let policy = match p.optional("Policy") {
        Some(doc) if doc.chars().count() > MAX_SESSION_POLICY => {
            return Err(ErrorCode::PolicyTooLarge.into())
        }
        Some(doc) => {
            ram_policy::parse_policy("SessionPolicy", doc).map_err(|e| {
                ApiError::with_message(
                    ErrorCode::InvalidPolicyGrammar,
                    format!("The parameter Policy has not passed grammar check: {e}."),
                )
            })?;
            Some(doc.to_string())
        }
        None => None,
    };
    let identities = ctx.identities;
    let role = identities
        .role(uid, name)
        .ok_or(ApiError::new(ErrorCode::RoleNotExist))?;
    let duration = match p.optional("DurationSeconds") {
        Some(d) => d
            .parse::<u64>()
            .ok()
            .filter(|d| (MIN_DURATION..=role.max_session_secs).contains(d))
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::InvalidDurationSeconds,
                    format!(
                        "The Min/Max value of DurationSeconds is 15min/{}s.",
                        role.max_session_secs
                    ),
                )
            })?,
        None => 3600.min(role.max_session_secs),
    };
    let caller = ctx.req.caller.principal();
    if !role.trust.allows(&caller.account_uid, &caller.arn()) {
        return Err(ErrorCode::NotTrusted.into());
    }
    let now = ctx.now_secs();
    let expires_at = now + duration as i64;
    let (key_id, secret, token) = identities.sts.issue(SessionClaims {
        key_id: String::new(),
        account_uid: role.account_uid.clone(),
        role: role.name.clone(),
        session: session.to_string(),
        expires_at,
        policy,
    });
    let expiration = acs_signature::time::format_utc(expires_at);
    let role_id = role_id(&role.account_uid, &role.name);
    Ok(object([
        (
            "Credentials",
            json!({
                "AccessKeyId": key_id,
                "AccessKeySecret": secret,
                "SecurityToken": token,
                "Expiration": expiration,
            }),
        ),
        (
            "AssumedRoleUser",
            json!({
                "Arn": format!("acs:ram::{}:role/{}/{}", role.account_uid, role.name.to_ascii_lowercase(), session),
                "AssumedRoleId": format!("{role_id}:{session}"),
            }),
        ),
    ]))
}

/// A stable numeric id for a role (Alibaba's are 19 digits).
fn role_id(account: &str, name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{account}/{}", name.to_ascii_lowercase()).as_bytes());
    let n =
        u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 10_000_000_000_000_000_000;
    format!("3{n:018}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("acs:ram::1234567890123456:role/admin"),
            Some(("1234567890123456", "admin"))
        );
        for bad in [
            "",
            "acs:ram::123:role/admin",
            "acs:ram::1234567890123456:user/admin",
            "acs:ram::1234567890123456:role/",
            "acs:ram::1234567890123456:role/a b",
            "arn:aws:iam::1:role/x",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn session_names() {
        assert!(session_name_ok("alice@example.com"));
        assert!(!session_name_ok("a"));
        assert!(!session_name_ok("has space"));
        assert!(!session_name_ok(&"x".repeat(65)));
    }
}
