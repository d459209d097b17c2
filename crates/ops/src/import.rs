//! `cams-insights import`: native NDJSON events from a file of any size, either straight into a
//! data directory (server stopped) or into a running server (signed `PutMessageEvents`).
//!
//! Streams the file; reports every bad line with its line number (printing up to `--max-errors`,
//! counting all) without stopping; idempotent, so importing a file twice, or again after an
//! interruption, changes nothing that was already in.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use ingest::ImportSummary;

use anyhow::Context;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::connect::ConnectArgs;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// NDJSON file (`-` for standard input).
    file: PathBuf,
    /// Import offline into this data directory (the server must be stopped).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Account the events belong to (offline import). Defaults to the demo file's account.
    #[arg(long)]
    account: Option<String>,
    /// Configuration file, for the metrics settings and the default account (offline import).
    #[arg(long, env = "CAMS_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print at most this many bad lines (all are counted).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
    /// Events per batch (offline) .
    #[arg(long, default_value_t = 50_000)]
    batch: usize,
}

fn open_input(path: &PathBuf) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(file), len))
}

fn progress(len: Option<u64>) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let summary = match &args.data_dir {
        Some(dir) => {
            let config = match &args.config {
                Some(p) => Some(server::Config::load(p)?),
                None => None,
            };
            let demo = args.connect.demo()?;
            let account = args
                .account
                .clone()
                .or_else(|| {
                    config
                        .as_ref()
                        .and_then(|c| c.accounts.first().map(|a| a.uid.clone()))
                })
                .or_else(|| demo.map(|d| d.account_uid).filter(|a| !a.is_empty()))
                .context("give --account UID (or --config / --demo-file to take it from)")?;
            let store = crate::open_store(config.as_ref(), Some(dir))?;
            let (input, len) = open_input(&args.file)?;
            let bar = progress(len);
            let options = ingest::ImportOptions {
                batch_events: args.batch,
                max_listed_rejections: args.max_errors as usize,
            };
            let summary = ingest::import(&store, &account, input, &options, &|n| bar.inc(n))?;
            bar.finish_and_clear();
            store.close();
            for r in &summary.rejections {
                eprintln!("line {}: {}", r.line, r.reason);
            }
            if summary.rejected > args.max_errors {
                eprintln!(
                    "({} more bad lines not shown)",
                    summary.rejected - args.max_errors
                );
            }
            summary
        }
        None => {
            let client = args.connect.client()?;
            let (input, len) = open_input(&args.file)?;
            let bar = progress(len);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let summary = runtime.block_on(import_remote(&client, input, args.max_errors, &bar))?;
            bar.finish_and_clear();
            summary
        }
    };
    println!("{summary}");
    Ok(())
}

/// Largest request body sent to a server.
const MAX_REMOTE_BODY: usize = 1 << 20;

/// Imports into a running server with signed `PutMessageEvents` requests of up to 1 MiB each.
async fn import_remote(
    client: &acs_client::Client,
    input: impl Read,
    max_errors: u64,
    bar: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut summary = ImportSummary::default();
    let mut body: Vec<u8> = Vec::with_capacity(MAX_REMOTE_BODY);
    let mut first_line = 1u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n > 0 {
            bar.inc(n as u64);
            summary.lines += 1;
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
        }
        let full = !body.is_empty() && body.len() + line.len() > MAX_REMOTE_BODY;
        if full || (n == 0 && !body.is_empty()) {
            send_chunk(
                client,
                std::mem::take(&mut body),
                first_line,
                max_errors,
                bar,
                &mut summary,
            )
            .await?;
            first_line = summary.lines - u64::from(n > 0) + 1;
        }
        if n == 0 {
            break;
        }
        body.extend_from_slice(&line);
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn send_chunk(
    client: &acs_client::Client,
    body: Vec<u8>,
    first_line: u64,
    max_errors: u64,
    bar: &ProgressBar,
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let call = acs_client::Call {
        action: "PutMessageEvents",
        version: "2020-06-06",
        method: http::Method::POST,
        query: Vec::new(),
        body: Some((Bytes::from(body), "application/x-ndjson".into())),
    };
    let response = client.call(&call).await?;
    let answer = response.json();
    if response.status != 200 || answer.get("Success") != Some(&Value::Bool(true)) {
        anyhow::bail!(
            "the server refused a batch: {} {}: {}",
            response.status,
            answer.get("Code").and_then(Value::as_str).unwrap_or("?"),
            answer.get("Message").and_then(Value::as_str).unwrap_or("")
        );
    }
    summary.accepted += answer.get("Accepted").and_then(Value::as_u64).unwrap_or(0);
    summary.changed += answer.get("Changed").and_then(Value::as_u64).unwrap_or(0);
    let rejected = answer
        .get("RejectedCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    for r in answer
        .get("Rejected")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let shown = summary.rejected + 1;
        summary.rejected += 1;
        if shown <= max_errors {
            let line = first_line + r.get("Line").and_then(Value::as_u64).unwrap_or(1) - 1;
            let reason = r.get("Reason").and_then(Value::as_str).unwrap_or("");
            bar.suspend(|| eprintln!("line {line}: {reason}"));
        }
    }
    // Rejections beyond what the server lists one by one are still counted.
    let listed = answer
        .get("Rejected")
        .and_then(Value::as_array)
        .map_or(0, |a| a.len() as u64);
    summary.rejected += rejected.saturating_sub(listed);
    Ok(())
}
