//! `DeleteMessageCampaign`: marks a campaign deleted. Its data is kept (audit), but it no longer
//! answers queries or appears in lists (except when listing `Status=DELETED`).

use std::sync::Arc;

use serde_json::{Map, Value};
use store::CampaignStatus;

use crate::errors::{ApiError, ErrorCode};
use crate::gateway::Authenticated;
use crate::AppState;

pub async fn handle(
    state: &Arc<AppState>,
    req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    let p = &req.params;
    let cust_space_id = p.required("CustSpaceId")?;
    let page_id = p.required("PageId")?;
    let ad_account_id = p.required("AdAccountId")?;
    let campaign_id = p.required("CampaignId")?;
    let account = req.caller.account_uid();
    state
        .tenants()
        .ad_account(account, cust_space_id, page_id, ad_account_id)?;
    let placed_here = state.store.campaign(campaign_id).is_some_and(|c| {
        c.status == CampaignStatus::Available
            && c.placement.account_uid == account
            && c.placement.cust_space_id == cust_space_id
            && c.placement.page_id == page_id
            && c.placement.ad_account_id == ad_account_id
    });
    if !placed_here {
        return Err(ErrorCode::CampaignInvalid.into());
    }
    if !store::wait_async(state.store.delete_campaign(account, campaign_id)).await? {
        // Deleted by a concurrent request in between.
        return Err(ErrorCode::CampaignInvalid.into());
    }
    Ok(Map::new())
}
