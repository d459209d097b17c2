//! `CreateMessageCampaign`: registers a campaign under a page and ad account.
//!
//! Required: `CustSpaceId`, `PageId`, `AdAccountId`, `Name` (1-128 characters), `BudgetType`
//! (`daily` | `lifetime`), `Budget` (integer minor units, 1 ..= 10^15). Returns `CampaignId`.

use std::sync::Arc;

use serde_json::{Map, Value};
use store::{BudgetType, NewCampaign, Placement};

use crate::errors::ApiError;
use crate::gateway::Authenticated;
use crate::AppState;

/// Largest accepted budget, in minor units (a quadrillion: far above any real budget, far below
/// where sums could overflow).
pub const MAX_BUDGET: i64 = 1_000_000_000_000_000;
/// Longest accepted campaign name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

pub async fn handle(
    state: &Arc<AppState>,
    req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    let p = &req.params;
    let cust_space_id = p.required("CustSpaceId")?;
    let page_id = p.required("PageId")?;
    let ad_account_id = p.required("AdAccountId")?;
    let name = p.required("Name")?;
    let budget_type = p.required("BudgetType")?;
    let budget = p.required("Budget")?;
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_parameter(
            "Name",
            format!("it must be 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    let budget_type: BudgetType = budget_type
        .parse()
        .map_err(|_| ApiError::invalid_parameter("BudgetType", "it must be daily or lifetime"))?;
    let budget = parse_budget(budget)?;

    let account = req.caller.account_uid();
    state
        .tenants()
        .ad_account(account, cust_space_id, page_id, ad_account_id)?;
    let campaign = store::wait_async(state.store.create_campaign(NewCampaign {
        placement: Placement {
            account_uid: account.to_string(),
            cust_space_id: cust_space_id.to_string(),
            page_id: page_id.to_string(),
            ad_account_id: ad_account_id.to_string(),
        },
        name: name.to_string(),
        budget_type,
        budget,
        create_time_ms: state.now_ms(),
    }))
    .await?;
    Ok(super::object([(
        "CampaignId",
        Value::String(campaign.campaign_id),
    )]))
}

/// A budget: a positive integer of minor units, no sign, no decimals, no exponent.
fn parse_budget(s: &str) -> Result<i64, ApiError> {
    let err = || {
        ApiError::invalid_parameter(
            "Budget",
            format!("it must be a whole number of minor units from 1 to {MAX_BUDGET}"),
        )
    };
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    match s.parse::<i64>() {
        Ok(n) if (1..=MAX_BUDGET).contains(&n) => Ok(n),
        _ => Err(err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets() {
        assert_eq!(parse_budget("30000").unwrap(), 30000);
        assert_eq!(parse_budget("1").unwrap(), 1);
        for bad in [
            "0",
            "-5",
            "1.5",
            "1e3",
            "",
            " 1",
            "+1",
            "99999999999999999999",
            "1000000000000000001",
        ] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
    }
}
