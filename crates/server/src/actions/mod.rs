//! The operations, one file each, and the catalog the gateway dispatches on.

mod assume_role;
mod create_message_campaign;
mod delete_message_campaign;
mod get_message_campaign_insights;
mod list_message_campaign;
mod list_page_ad_account;
pub mod put_message_events;
mod sync_message_campaign;

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

/// The STS API version of `AssumeRole`.
pub const STS_VERSION: &str = "2015-04-01";

macro_rules! catalog {
    ($($name:literal),* $(,)?) => {
        /// Every operation the gateway knows.
        pub static ACTIONS: &[ActionSpec] = &[
            $( ActionSpec { name: $name, version: CAMS_VERSION, ram_action: concat!("cams:", $name) }, )*
            ActionSpec { name: "AssumeRole", version: STS_VERSION, ram_action: "sts:AssumeRole" },
        ];
    };
}

catalog!(
    "GetMessageCampaignInsights",
    "CreateMessageCampaign",
    "ListMessageCampaign",
    "DeleteMessageCampaign",
    "SyncMessageCampaign",
    "ListPageAdAccount",
    "PutMessageEvents",
);

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
    state: &Arc<AppState>,
    req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    match req.action.name {
        "GetMessageCampaignInsights" => get_message_campaign_insights::handle(state, req),
        "CreateMessageCampaign" => create_message_campaign::handle(state, req).await,
        "ListMessageCampaign" => list_message_campaign::handle(state, req),
        "DeleteMessageCampaign" => delete_message_campaign::handle(state, req).await,
        "SyncMessageCampaign" => sync_message_campaign::handle(state, req).await,
        "ListPageAdAccount" => list_page_ad_account::handle(state, req),
        "PutMessageEvents" => put_message_events::handle(state, req).await,
        "AssumeRole" => assume_role::handle(state, req).await,
        _ => Err(ErrorCode::InvalidActionNotFound.into()),
    }
}

/// The campaign `campaign_id` if it is available and placed exactly at the caller's account, cust space,
/// page and ad account; a deleted campaign, another tenant's, or one placed elsewhere answers
/// `CampaignInvalid`, like an id that does not exist.
fn placed_campaign(
    state: &AppState,
    account: &str,
    cust_space_id: &str,
    page_id: &str,
    ad_account_id: &str,
    campaign_id: &str,
) -> Result<Arc<store::Campaign>, ApiError> {
    state
        .store
        .campaign(campaign_id)
        .filter(|c| {
            c.status == store::CampaignStatus::Available
                && c.placement.account_uid == account
                && c.placement.cust_space_id == cust_space_id
                && c.placement.page_id == page_id
                && c.placement.ad_account_id == ad_account_id
        })
        .ok_or(ApiError::new(ErrorCode::CampaignInvalid))
}

/// A JSON object from pairs.
fn object<I: IntoIterator<Item = (&'static str, Value)>>(pairs: I) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
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
            lookup("GetMessageCampaignInsights", CAMS_VERSION)
                .unwrap()
                .ram_action,
            "cams:GetMessageCampaignInsights"
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
