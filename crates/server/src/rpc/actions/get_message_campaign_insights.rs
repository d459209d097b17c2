//! `GetMessageCampaignInsights`: the campaign's marketing-message metrics.
//!
//! Required: `CustSpaceId`, `PageId`, `AdAccountId`, `CampaignId`. Extensions (absent: exactly the
//! documented behaviour): `DateStart`, `DateStop`, `TimeIncrement`, `Breakdowns=country`, `Fields`.

use insights::{Breakdown, ExtraFields, Query, TimeIncrement};
use serde_json::Value;

use crate::errors::ApiError;
use crate::rpc::catalog::object;
use crate::rpc::placement::AdAccountPlacement;
use crate::rpc::request::{Answered, Ctx};

pub fn handle(ctx: &Ctx<'_>) -> Answered {
    let p = ctx.params();
    let placement = AdAccountPlacement::required(ctx)?;
    let campaign_id = p.required("CampaignId")?;
    // Malformed extensions are refused before any lookup, so their errors do not depend on data.
    let increment = match p.optional("TimeIncrement") {
        Some(v) => v.parse::<TimeIncrement>().map_err(|_| {
            ApiError::invalid_parameter(
                "TimeIncrement",
                "it must be all_days, monthly or a number of days from 1 to 90",
            )
        })?,
        None => TimeIncrement::AllDays,
    };
    let breakdown = match p.optional("Breakdowns") {
        Some(v) => v.parse::<Breakdown>().map_err(|_| {
            ApiError::invalid_parameter("Breakdowns", "the only breakdown is country")
        })?,
        None => Breakdown::None,
    };
    let extra = match p.optional("Fields") {
        Some(v) => ExtraFields::parse(v).map_err(|e| ApiError::invalid_parameter("Fields", e))?,
        None => ExtraFields::default(),
    };

    let account = ctx.account();
    let ad_account = placement.resolve(ctx)?;
    let campaign = placement.campaign(ctx, campaign_id)?;

    let first_event = ctx.store.first_event_ms(account, campaign_id);
    let default = insights::default_range(
        campaign.create_time_ms,
        first_event,
        ctx.now_ms,
        ad_account.timezone,
    );
    let range =
        insights::parse_date_range(p.optional("DateStart"), p.optional("DateStop"), default)
            .map_err(|e| ApiError::invalid_parameter(e.param(), e))?;
    let query = Query {
        tz: ad_account.timezone,
        currency: ad_account.currency,
        range,
        increment,
        breakdown,
    };
    let rows = ctx.store.insights(account, campaign_id, &query);
    let data: Vec<Value> = rows
        .iter()
        .map(|row| {
            Value::Object(
                row.format(&ad_account.currency)
                    .into_wire_fields(&extra)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v)))
                    .collect(),
            )
        })
        .collect();
    Ok(object([("Data", Value::Array(data))]))
}
