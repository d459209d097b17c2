//! `cams-insights import-recipients` and `import-rates`: the recipient directory (recipient →
//! country) and rate cards (price per delivered message by country and currency, effective from a
//! date), offline into a data directory (the server stopped).

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args, Debug)]
pub struct RecipientsArgs {
    /// CSV with a header and the columns `recipient,country`.
    file: PathBuf,
    #[arg(long, env = "CAMS_DATA_DIR")]
    data_dir: PathBuf,
    /// The account whose directory this is.
    #[arg(long)]
    account: String,
    /// Configuration file, for its storage and metric settings.
    #[arg(long, env = "CAMS_CONFIG")]
    config: Option<PathBuf>,
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
    /// Configuration file, for its storage and metric settings.
    #[arg(long, env = "CAMS_CONFIG")]
    config: Option<PathBuf>,
}

fn open(config: Option<&PathBuf>, data_dir: &std::path::Path) -> anyhow::Result<store::Store> {
    let config = config.map(|p| server::Config::load(p)).transpose()?;
    crate::open_store(config.as_ref(), Some(data_dir))
}

pub fn recipients(args: RecipientsArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let entries = insights::parse_recipients(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let store = open(args.config.as_ref(), &args.data_dir)?;
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
    let store = open(args.config.as_ref(), &args.data_dir)?;
    store::wait(store.add_rate_card(&text, from))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    store.close();
    println!("rate card effective from {from} added");
    Ok(())
}
