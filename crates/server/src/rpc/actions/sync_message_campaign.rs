//! `SyncMessageCampaign`: registers the campaigns found in the caller's ingested events for a page
//! and ad account that are not registered yet.
//!
//! Required: `AdAccountId`, `PageId` (the SDK sends no cust space: the page's own is used).
//! A campaign whose events came through a page's webhooks is only registered under that page;
//! campaigns from native events (no page) are registered under the page asked. Ids that are not
//! numeric, or registered already (by anyone), are skipped. Answers `SyncedCampaignIds` (an
//! extension) besides the common fields.

use serde_json::Value;
use store::Placement;

use crate::errors::ErrorCode;
use crate::rpc::catalog::object;
use crate::rpc::request::{Answered, Ctx, Pending};

pub fn handle<'a>(ctx: &'a Ctx<'a>) -> Pending<'a> {
    Box::pin(run(ctx))
}

async fn run(ctx: &Ctx<'_>) -> Answered {
    let p = ctx.params();
    let ad_account_id = p.required("AdAccountId")?;
    let page_id = p.required("PageId")?;
    let account = ctx.account();
    let (cust_space, page) = ctx.tenants.page_of_account(account, page_id)?;
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
    let synced = store::wait_async(ctx.store.sync_campaigns(placement, ctx.now_ms)).await?;
    let ids: Vec<Value> = synced
        .into_iter()
        .map(|c| Value::String(c.campaign_id))
        .collect();
    Ok(object([("SyncedCampaignIds", Value::Array(ids))]))
}
