//! `ListMessageCampaign`: a cust space's campaigns under a page, newest first.
//!
//! Required: `CustSpaceId`, `PageId`, `Page` (JSON `{"Index":1,"Size":10}`, or flattened
//! `Page.Index` / `Page.Size`). `Index` ≥ 1, `Size` 1 ..= 100. Optional filters: `AdAccountId`,
//! `CampaignId`, `CampaignName` (case-insensitive substring), `Status` (`AVAILABLE`, the default,
//! or `DELETED`). Answers `Data[]` and `Total` (matches in all, before paging).

use serde_json::{json, Value};
use store::{CampaignFilter, CampaignStatus};

use crate::errors::ApiError;
use crate::rpc::catalog::object;
use crate::rpc::params::Params;
use crate::rpc::placement::PagePlacement;
use crate::rpc::request::{Answered, Ctx};

/// Largest page size.
pub const MAX_PAGE_SIZE: u64 = 100;

pub fn handle(ctx: &Ctx<'_>) -> Answered {
    let p = ctx.params();
    let placement = PagePlacement::required(ctx)?;
    let (index, size) = page_request(p)?;
    let status = match p.optional("Status") {
        Some(s) => Some(s.parse::<CampaignStatus>().map_err(|_| {
            ApiError::invalid_parameter("Status", "it must be AVAILABLE or DELETED")
        })?),
        None => None,
    };
    placement.resolve(ctx)?;
    let filter = CampaignFilter {
        account_uid: ctx.account().to_string(),
        cust_space_id: placement.cust_space_id.to_string(),
        page_id: Some(placement.page_id.to_string()),
        ad_account_id: p.optional("AdAccountId").map(str::to_string),
        campaign_id: p.optional("CampaignId").map(str::to_string),
        name_contains: p.optional("CampaignName").map(str::to_string),
        status,
    };
    let page = ctx
        .store
        .list_campaigns(&filter, (index - 1).saturating_mul(size), size);
    let data: Vec<Value> = page
        .campaigns
        .iter()
        .map(|c| {
            json!({
                "AdAccountId": c.placement.ad_account_id,
                "Budget": c.budget,
                "BudgetType": c.budget_type.as_str(),
                "CampaignId": c.campaign_id,
                "CampaignName": c.name,
                "CreateTime": c.create_time_ms,
                "PageId": c.placement.page_id,
                "Status": c.status.as_str(),
            })
        })
        .collect();
    Ok(object([
        ("Data", Value::Array(data)),
        ("Total", json!(page.total)),
    ]))
}

/// `Page` as JSON, or its flattened form.
fn page_request(p: &Params) -> Result<(u64, u64), ApiError> {
    let (index, size) = match p.optional("Page") {
        Some(json) => {
            let v: Value = serde_json::from_str(json).map_err(|_| {
                ApiError::invalid_parameter(
                    "Page",
                    "it must be a JSON object like {\"Index\":1,\"Size\":10}",
                )
            })?;
            let obj = v.as_object().ok_or_else(|| {
                ApiError::invalid_parameter(
                    "Page",
                    "it must be a JSON object like {\"Index\":1,\"Size\":10}",
                )
            })?;
            (
                field(obj.get("Index"), "Page.Index")?,
                field(obj.get("Size"), "Page.Size")?,
            )
        }
        None => {
            let index = p.optional("Page.Index");
            let size = p.optional("Page.Size");
            if index.is_none() && size.is_none() {
                return Err(ApiError::missing_parameter("Page"));
            }
            (
                text_field(index, "Page.Index")?,
                text_field(size, "Page.Size")?,
            )
        }
    };
    let index = index.ok_or_else(|| ApiError::missing_parameter("Page.Index"))?;
    let size = size.ok_or_else(|| ApiError::missing_parameter("Page.Size"))?;
    if index < 1 {
        return Err(ApiError::invalid_parameter(
            "Page.Index",
            "it must be 1 or more",
        ));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::invalid_parameter(
            "Page.Size",
            format!("it must be from 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    Ok((index, size))
}

fn field(v: Option<&Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid_parameter(name, "it must be a whole number")),
        Some(Value::String(s)) => text_field(Some(s), name),
        Some(_) => Err(ApiError::invalid_parameter(
            name,
            "it must be a whole number",
        )),
    }
}

fn text_field(v: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) if !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(s.parse().ok())
        }
        Some(_) => Err(ApiError::invalid_parameter(
            name,
            "it must be a whole number",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorCode;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn page_forms() {
        assert_eq!(
            page_request(&params(&[("Page", r#"{"Index":2,"Size":5}"#)])).unwrap(),
            (2, 5)
        );
        assert_eq!(
            page_request(&params(&[("Page", r#"{"Index":"3","Size":"7"}"#)])).unwrap(),
            (3, 7)
        );
        assert_eq!(
            page_request(&params(&[("Page.Index", "1"), ("Page.Size", "100")])).unwrap(),
            (1, 100)
        );
        let code = |p: &[(&str, &str)]| page_request(&params(p)).unwrap_err().code;
        assert_eq!(code(&[]), ErrorCode::MissingParameter);
        assert_eq!(code(&[("Page", "{}")]), ErrorCode::MissingParameter);
        assert_eq!(code(&[("Page", "[1]")]), ErrorCode::InvalidParameter);
        assert_eq!(code(&[("Page", "{")]), ErrorCode::InvalidParameter);
        assert_eq!(
            code(&[("Page", r#"{"Index":0,"Size":5}"#)]),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            code(&[("Page", r#"{"Index":1,"Size":101}"#)]),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            code(&[("Page", r#"{"Index":-1,"Size":5}"#)]),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            code(&[("Page", r#"{"Index":1.5,"Size":5}"#)]),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            code(&[("Page.Index", "x"), ("Page.Size", "5")]),
            ErrorCode::InvalidParameter
        );
    }
}
