//! Resolving the access key a request names: a long-term key of the configuration, or a temporary
//! (`STS.`) key with its security token.

use std::sync::Arc;

use crate::auth::identity::{AccessKey, Identities, SessionError};
use crate::auth::sts::{TokenError, KEY_PREFIX};
use crate::errors::{ApiError, ErrorCode};

/// The usable key `access_key_id` names at `now` (unix seconds), or why there is none.
pub fn resolve(
    identities: &Identities,
    access_key_id: &str,
    security_token: Option<&str>,
    now: i64,
) -> Result<Arc<AccessKey>, ApiError> {
    if access_key_id.starts_with(KEY_PREFIX) {
        let token = security_token
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::new(ErrorCode::MissingSecurityToken))?;
        return identities
            .session_key(access_key_id, token, now)
            .map_err(|e| {
                ApiError::new(match e {
                    SessionError::Token(TokenError::Expired) => {
                        ErrorCode::InvalidSecurityTokenExpired
                    }
                    SessionError::Token(TokenError::MismatchWithAccessKey) => {
                        ErrorCode::InvalidSecurityTokenMismatch
                    }
                    SessionError::Token(TokenError::Malformed) | SessionError::RoleGone => {
                        ErrorCode::InvalidSecurityTokenMalformed
                    }
                })
            });
    }
    let key = identities
        .key(access_key_id)
        .cloned()
        .ok_or(ApiError::new(ErrorCode::InvalidAccessKeyIdNotFound))?;
    if !key.active {
        return Err(ErrorCode::InvalidAccessKeyIdInactive.into());
    }
    Ok(key)
}
