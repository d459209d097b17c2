//! `ListPageAdAccount`: the ad accounts bound to a page.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::errors::ApiError;
use crate::gateway::Authenticated;
use crate::AppState;

pub fn handle(state: &Arc<AppState>, req: &Authenticated) -> Result<Map<String, Value>, ApiError> {
    let p = &req.params;
    let cust_space_id = p.required("CustSpaceId")?;
    let page_id = p.required("PageId")?;
    let tenants = state.tenants();
    let page = tenants.page(req.caller.account_uid(), cust_space_id, page_id)?;
    let data: Vec<Value> = page
        .ad_accounts
        .iter()
        .map(|a| {
            json!({
                "AdAccountId": a.id,
                "AdAccountName": a.name,
                "Currency": a.currency.code(),
                "PageId": page.id,
            })
        })
        .collect();
    Ok(super::object([("Data", Value::Array(data))]))
}
