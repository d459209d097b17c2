//! The operations, one file each, and the catalog the gateway dispatches on.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::errors::{ApiError, ErrorCode};
use crate::gateway::Authenticated;
use crate::AppState;

/// The CAMS API version this server implements.
pub const CAMS_VERSION: &str = "2020-06-06";

/// One operation of the catalog.
#[derive(Debug)]
pub struct ActionSpec {
    /// The `Action` name.
    pub name: &'static str,
    /// The API version it belongs to.
    pub version: &'static str,
    /// The RAM action authorised for it.
    pub ram_action: &'static str,
}

/// Every operation the gateway knows.
pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "GetMessageCampaignInsights",
        version: CAMS_VERSION,
        ram_action: "cams:GetMessageCampaignInsights",
    },
    ActionSpec {
        name: "CreateMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:CreateMessageCampaign",
    },
    ActionSpec {
        name: "ListMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:ListMessageCampaign",
    },
    ActionSpec {
        name: "DeleteMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:DeleteMessageCampaign",
    },
    ActionSpec {
        name: "SyncMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:SyncMessageCampaign",
    },
    ActionSpec {
        name: "ListPageAdAccount",
        version: CAMS_VERSION,
        ram_action: "cams:ListPageAdAccount",
    },
    ActionSpec {
        name: "PutMessageEvents",
        version: CAMS_VERSION,
        ram_action: "cams:PutMessageEvents",
    },
];

/// Finds an operation: an unknown version is `InvalidVersion`; a known version without that
/// action is `InvalidAction.NotFound`.
pub fn lookup(action: &str, version: &str) -> Result<&'static ActionSpec, ApiError> {
    if !ACTIONS.iter().any(|a| a.version == version) {
        return Err(ErrorCode::InvalidVersion.into());
    }
    ACTIONS
        .iter()
        .find(|a| a.name == action && a.version == version)
        .ok_or_else(|| ErrorCode::InvalidActionNotFound.into())
}

/// Runs an authenticated request.
pub async fn dispatch(
    _state: &Arc<AppState>,
    _req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    Err(ErrorCode::OperationUnavailable.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_distinguishes_version_and_action() {
        assert_eq!(
            lookup("GetMessageCampaignInsights", CAMS_VERSION)
                .unwrap()
                .name,
            "GetMessageCampaignInsights"
        );
        assert_eq!(
            lookup("GetMessageCampaignInsights", "2019-01-01")
                .unwrap_err()
                .code,
            ErrorCode::InvalidVersion
        );
        assert_eq!(
            lookup("Nope", CAMS_VERSION).unwrap_err().code,
            ErrorCode::InvalidActionNotFound
        );
        // Action names are case-sensitive, as in Alibaba's gateway.
        assert_eq!(
            lookup("getmessagecampaigninsights", CAMS_VERSION)
                .unwrap_err()
                .code,
            ErrorCode::InvalidActionNotFound
        );
    }
}
