//! `cams-insights import-recipients` and `import-rates`: the recipient directory (recipient →
//! country) and rate cards (price per delivered message by country and currency, effective from a
//! date), offline into a data directory (the server stopped).

use std::path::PathBuf;

use anyhow::Context;
use insights::CountryCode;
use store::HostOptions;

#[derive(clap::Args, Debug)]
pub struct RecipientsArgs {
    /// CSV with a header and the columns `recipient,country`.
    file: PathBuf,
    #[arg(long, env = "CAMS_DATA_DIR")]
    data_dir: PathBuf,
    /// The account whose directory this is.
    #[arg(long)]
    account: String,
}

#[derive(clap::Args, Debug)]
pub struct RatesArgs {
    /// CSV in Meta's layout: a market/country column (ISO code, or `Default`), currency, price.
    file: PathBuf,
    #[arg(long, env = "CAMS_DATA_DIR")]
    data_dir: PathBuf,
    /// First delivery date (YYYY-MM-DD) the prices apply to.
    #[arg(long)]
    effective_from: String,
}

/// Parses `recipient,country` lines; errors name the line.
pub fn parse_recipients(text: &str) -> Result<Vec<(String, CountryCode)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.splitn(2, ',').map(str::trim);
        let (Some(recipient), Some(country)) = (cols.next(), cols.next()) else {
            return Err(format!("line {}: expected `recipient,country`", i + 1));
        };
        if i == 0 && recipient.eq_ignore_ascii_case("recipient") {
            continue;
        }
        if recipient.is_empty() || recipient.len() > insights::MAX_ID_BYTES {
            return Err(format!(
                "line {}: recipient must be 1-{} bytes",
                i + 1,
                insights::MAX_ID_BYTES
            ));
        }
        let country: CountryCode = country
            .parse()
            .map_err(|_| format!("line {}: unknown country code `{country}`", i + 1))?;
        out.push((recipient.to_string(), country));
    }
    Ok(out)
}

pub fn recipients(args: RecipientsArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let entries =
        parse_recipients(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let store = store::sqlite::open(&args.data_dir, HostOptions::default())?;
    let n = store::wait(store.set_recipient_countries(&args.account, entries))?;
    store.close();
    println!("{n} recipients set");
    Ok(())
}

pub fn rates(args: RatesArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let from = insights::dates::parse_ymd(&args.effective_from).with_context(|| {
        format!(
            "--effective-from `{}` is not YYYY-MM-DD",
            args.effective_from
        )
    })?;
    let store = store::sqlite::open(&args.data_dir, HostOptions::default())?;
    store::wait(store.add_rate_card(&text, from))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    store.close();
    println!("rate card effective from {from} added");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_csv() {
        let got = parse_recipients("recipient,country\npsid-1,BR\n+14155550100, us\n\n").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1.to_string(), "US");
        assert!(parse_recipients("psid-1,XX")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_recipients("a,BR\nnocomma")
            .unwrap_err()
            .contains("line 2"));
    }
}
