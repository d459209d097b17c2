//! `ListPageAdAccount`: the ad accounts bound to a page.

use serde_json::{json, Value};

use crate::rpc::catalog::object;
use crate::rpc::placement::PagePlacement;
use crate::rpc::request::{Answered, Ctx};

pub fn handle(ctx: &Ctx<'_>) -> Answered {
    let page = PagePlacement::required(ctx)?.resolve(ctx)?;
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
    Ok(object([("Data", Value::Array(data))]))
}
