//! `CreateMessageCampaign`: registers a campaign under a page and ad account.
//!
//! Required: `CustSpaceId`, `PageId`, `AdAccountId`, `Name` (1-128 characters), `BudgetType`
//! (`daily` | `lifetime`), `Budget` (integer minor units, 1 ..= 10^15). Returns `CampaignId`.

use serde_json::Value;
use store::{BudgetType, NewCampaign};

use crate::errors::ApiError;
use crate::rpc::catalog::object;
use crate::rpc::placement::AdAccountPlacement;
use crate::rpc::request::{Answered, Ctx, Pending};

/// Largest accepted budget, in minor units (a quadrillion: far above any real budget, far below
/// where sums could overflow).
pub const MAX_BUDGET: i64 = 1_000_000_000_000_000;
/// Longest accepted campaign name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

pub fn handle<'a>(ctx: &'a Ctx<'a>) -> Pending<'a> {
    Box::pin(run(ctx))
}

async fn run(ctx: &Ctx<'_>) -> Answered {
    let p = ctx.params();
    let placement = AdAccountPlacement::required(ctx)?;
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

    placement.resolve(ctx)?;
    let campaign = store::wait_async(ctx.store.create_campaign(NewCampaign {
        placement: placement.to_store(ctx),
        name: name.to_string(),
        budget_type,
        budget,
        create_time_ms: ctx.now_ms,
    }))
    .await?;
    Ok(object([(
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
