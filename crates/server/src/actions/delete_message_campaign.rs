//! `DeleteMessageCampaign`: marks a campaign deleted. Its data is kept (audit), but it no longer
//! answers queries or appears in lists (except when listing `Status=DELETED`).

use std::sync::Arc;

use serde_json::{Map, Value};

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
    super::placed_campaign(
        state,
        account,
        cust_space_id,
        page_id,
        ad_account_id,
        campaign_id,
    )?;
    if !store::wait_async(state.store.delete_campaign(account, campaign_id)).await? {
        // Deleted by a concurrent request in between.
        return Err(ErrorCode::CampaignInvalid.into());
    }
    Ok(Map::new())
}
