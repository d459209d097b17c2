//! `SyncMessageCampaign`: registers the campaigns found in the caller's ingested events for a page
//! and ad account that are not registered yet.
//!
//! Required: `AdAccountId`, `PageId` (the SDK sends no cust space: the page's own is used).
//! A campaign whose events came through a page's webhooks is only registered under that page;
//! campaigns from native events (no page) are registered under the page asked. Ids that are not
//! numeric, or registered already (by anyone), are skipped. Answers `SyncedCampaignIds` (an
//! extension) besides the common fields.

use std::sync::Arc;

use serde_json::{Map, Value};
use store::Placement;

use crate::errors::{ApiError, ErrorCode};
use crate::gateway::Authenticated;
use crate::AppState;

pub async fn handle(
    state: &Arc<AppState>,
    req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    let p = &req.params;
    let ad_account_id = p.required("AdAccountId")?;
    let page_id = p.required("PageId")?;
    let account = req.caller.account_uid();
    let tenants = state.tenants();
    let (cust_space, page) = tenants.page_of_account(account, page_id)?;
    if let Some(given) = p.optional("CustSpaceId") {
        if given != cust_space.id {
            return Err(ErrorCode::PageInvalid.into());
        }
    }
    if !page.ad_accounts.iter().any(|a| a.id == ad_account_id) {
        return Err(ErrorCode::AdAccountInvalid.into());
    }
    let placement = Placement {
        account_uid: account.to_string(),
        cust_space_id: cust_space.id.clone(),
        page_id: page.id.clone(),
        ad_account_id: ad_account_id.to_string(),
    };
    let synced = store::wait_async(state.store.sync_campaigns(placement, state.now_ms())).await?;
    let ids: Vec<Value> = synced
        .into_iter()
        .map(|c| Value::String(c.campaign_id))
        .collect();
    Ok(super::object([("SyncedCampaignIds", Value::Array(ids))]))
}
