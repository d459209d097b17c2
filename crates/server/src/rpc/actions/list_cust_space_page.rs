//! `ListCustSpacePage` (an extension of ours; CAMS has no such operation): the caller's cust spaces and
//! the pages bound to each, so that a client (the console) can navigate without being told ids.
//!
//! It answers only the caller's own account, sorted by id so that the answer is stable; ad accounts
//! come from `ListPageAdAccount`, campaigns from `ListMessageCampaign`.

use serde_json::{json, Value};

use crate::rpc::catalog::object;
use crate::rpc::request::{Answered, Ctx};

pub fn handle(ctx: &Ctx<'_>) -> Answered {
    let mut spaces: Vec<_> = ctx.tenants.cust_spaces_of(ctx.account()).collect();
    spaces.sort_by(|a, b| a.id.cmp(&b.id));
    let data: Vec<Value> = spaces
        .iter()
        .map(|cs| {
            let pages: Vec<Value> = cs
                .pages
                .iter()
                .map(|p| json!({ "PageId": p.id, "PageName": p.name, "AdAccountCount": p.ad_accounts.len() }))
                .collect();
            json!({ "CustSpaceId": cs.id, "Pages": pages })
        })
        .collect();
    Ok(object([("Data", Value::Array(data))]))
}
