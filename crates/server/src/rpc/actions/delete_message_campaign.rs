//! `DeleteMessageCampaign`: marks a campaign deleted. Its data is kept (audit), but it no longer
//! answers queries or appears in lists (except when listing `Status=DELETED`).

use serde_json::Map;

use crate::errors::ErrorCode;
use crate::rpc::placement::AdAccountPlacement;
use crate::rpc::request::{Answered, Ctx, Pending};

pub fn handle<'a>(ctx: &'a Ctx<'a>) -> Pending<'a> {
    Box::pin(run(ctx))
}

async fn run(ctx: &Ctx<'_>) -> Answered {
    let placement = AdAccountPlacement::required(ctx)?;
    let campaign_id = ctx.params().required("CampaignId")?;
    placement.resolve(ctx)?;
    placement.campaign(ctx, campaign_id)?;
    if !store::wait_async(ctx.store.delete_campaign(ctx.account(), campaign_id)).await? {
        // Deleted by a concurrent request in between.
        return Err(ErrorCode::CampaignInvalid.into());
    }
    Ok(Map::new())
}
