//! `cams-insights query`: a campaign's insights from a running server, as a table or JSON. The
//! request is signed like any client's.

use anyhow::Context;
use serde_json::Value;

use crate::connect::ConnectArgs;

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Defaults to the demo file's.
    #[arg(long)]
    cust_space_id: Option<String>,
    #[arg(long)]
    page_id: Option<String>,
    #[arg(long)]
    ad_account_id: Option<String>,
    #[arg(long)]
    campaign_id: Option<String>,
    /// YYYY-MM-DD (inclusive).
    #[arg(long)]
    date_start: Option<String>,
    #[arg(long)]
    date_stop: Option<String>,
    /// all_days, 1..90, or monthly.
    #[arg(long)]
    time_increment: Option<String>,
    /// country
    #[arg(long)]
    breakdown: Option<String>,
    /// Extra fields, e.g. MarketingMessagesSent,MarketingMessagesFailed
    #[arg(long)]
    fields: Option<String>,
    /// Print the raw JSON answer.
    #[arg(long)]
    json: bool,
}

const COLUMNS: &[(&str, &str)] = &[
    ("DateStart", "start"),
    ("DateStop", "stop"),
    ("Country", "country"),
    ("MarketingMessagesSent", "sent"),
    ("MarketingMessagesDelivered", "delivered"),
    ("MarketingMessagesDeliveryRate", "delivery %"),
    ("MarketingMessagesReadRate", "read %"),
    ("MarketingMessagesRead", "read"),
    ("MarketingMessagesFailed", "failed"),
    ("MarketingMessagesLinkBtnClick", "clicks"),
    ("MarketingMessagesLinkBtnClickRate", "click %"),
    ("MarketingMessagesSpend", "spend"),
    ("MarketingMessagesSpendCurrency", "currency"),
    ("MarketingMessagesCostPerDelivered", "cost/delivered"),
    ("MarketingMessagesCostPerLinkBtnClick", "cost/click"),
];

pub fn run(args: QueryArgs) -> anyhow::Result<()> {
    let demo = args.connect.demo()?.unwrap_or_default();
    let client = args.connect.client()?;
    let pick = |flag: &Option<String>, from_demo: &str, name: &str| -> anyhow::Result<String> {
        flag.clone()
            .or_else(|| (!from_demo.is_empty()).then(|| from_demo.to_string()))
            .with_context(|| format!("give --{name}"))
    };
    let mut params: Vec<(String, String)> = vec![
        (
            "CustSpaceId".into(),
            pick(&args.cust_space_id, &demo.cust_space_id, "cust-space-id")?,
        ),
        (
            "PageId".into(),
            pick(&args.page_id, &demo.page_id, "page-id")?,
        ),
        (
            "AdAccountId".into(),
            pick(&args.ad_account_id, &demo.ad_account_id, "ad-account-id")?,
        ),
        (
            "CampaignId".into(),
            pick(&args.campaign_id, &demo.campaign_id, "campaign-id")?,
        ),
    ];
    for (name, value) in [
        ("DateStart", &args.date_start),
        ("DateStop", &args.date_stop),
        ("TimeIncrement", &args.time_increment),
        ("Breakdowns", &args.breakdown),
        ("Fields", &args.fields),
    ] {
        if let Some(v) = value {
            params.push((name.into(), v.clone()));
        }
    }
    let call = acs_client::Call {
        action: "GetMessageCampaignInsights",
        version: "2020-06-06",
        method: http::Method::POST,
        query: params,
        body: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime.block_on(client.call(&call))?;
    let body = response.json();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    }
    if response.status != 200 || body.get("Success") != Some(&Value::Bool(true)) {
        anyhow::bail!(
            "{} {}: {}",
            response.status,
            body.get("Code").and_then(Value::as_str).unwrap_or("?"),
            body.get("Message").and_then(Value::as_str).unwrap_or("")
        );
    }
    if !args.json {
        let rows = body
            .get("Data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        print!("{}", render_table(&rows));
    }
    Ok(())
}

/// Renders rows as an aligned text table with the columns that appear in them.
pub fn render_table(rows: &[Value]) -> String {
    let columns: Vec<&(&str, &str)> = COLUMNS
        .iter()
        .filter(|(field, _)| rows.iter().any(|r| r.get(*field).is_some()))
        .collect();
    let cell = |row: &Value, field: &str| {
        row.get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|(field, title)| {
            rows.iter()
                .map(|r| cell(r, field).len())
                .max()
                .unwrap_or(0)
                .max(title.len())
        })
        .collect();
    let mut out = String::new();
    for (i, (_, title)) in columns.iter().enumerate() {
        out.push_str(&format!("{:>w$}  ", title, w = widths[i]));
    }
    out.push('\n');
    for row in rows {
        for (i, (field, _)) in columns.iter().enumerate() {
            out.push_str(&format!("{:>w$}  ", cell(row, field), w = widths[i]));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_present_columns_aligned() {
        let rows = vec![
            serde_json::json!({"DateStart": "2025-07-01", "DateStop": "2025-07-29", "MarketingMessagesDelivered": "2755"}),
        ];
        let t = render_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("delivered") && !lines[0].contains("country"));
        assert!(lines[1].contains("2755") && lines[1].contains("2025-07-29"));
        assert_eq!(lines[0].len(), lines[1].len());
    }
}
