//! `cams-insights import`: native NDJSON events from a file of any size, either straight into a
//! data directory (server stopped) or into a running server (signed `PutMessageEvents`).
//!
//! Streams the file; reports every bad line with its line number (printing up to `--max-errors`,
//! counting all) without stopping; idempotent, so importing a file twice, or again after an
//! interruption, changes nothing that was already in.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use store::HostOptions;
use store::Store;

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

/// What an import did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ImportSummary {
    pub lines: u64,
    pub accepted: u64,
    pub changed: u64,
    pub rejected: u64,
    pub seconds: f64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.accepted as f64 / self.seconds
        } else {
            0.0
        };
        write!(
            f,
            "{} lines: {} accepted ({} changed the metrics), {} rejected, in {:.2} s ({:.0} events/s)",
            self.lines, self.accepted, self.changed, self.rejected, self.seconds, rate
        )
    }
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
            let engine = config.map(|c| c.engine_config()).unwrap_or_default();
            let store = store::sqlite::open(
                dir,
                HostOptions {
                    engine,
                    ..HostOptions::default()
                },
            )
            .with_context(|| format!("opening the store in {}", dir.display()))?;
            let (input, len) = open_input(&args.file)?;
            let bar = progress(len);
            let summary =
                import_offline(&store, &account, input, args.batch, args.max_errors, &bar)?;
            bar.finish_and_clear();
            store.close();
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

/// Bytes handed to a parser thread at a time (cut at a line end).
const CHUNK_BYTES: usize = 4 << 20;

/// What a parser thread made of one chunk.
struct ParsedChunk {
    events: Vec<insights::Event>,
    /// (line number, reason)
    errors: Vec<(u64, String)>,
}

fn parse_chunk(first_line: u64, bytes: &[u8]) -> ParsedChunk {
    let mut out = ParsedChunk {
        events: Vec::with_capacity(bytes.len() / 120),
        errors: Vec::new(),
    };
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match insights::parse_native_event(text) {
            Ok(e) => out.events.push(e),
            Err(e) => out.errors.push((first_line + i as u64, e.to_string())),
        }
    }
    out
}

/// Imports into an open store. The reading thread cuts the input into chunks at line ends; parser
/// threads (one per core) turn chunks into events; the store's writer thread commits and applies
/// them. Order does not matter to the metrics (they are the same for any permutation of the
/// events), so chunks are appended as they are parsed.
pub fn import_offline(
    store: &Store,
    account: &str,
    input: impl Read,
    batch_size: usize,
    max_errors: u64,
    bar: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk_bytes = CHUNK_BYTES
        .min(batch_size.saturating_mul(160))
        .max(64 << 10);
    let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(workers);
    let chunk_rx = std::sync::Mutex::new(chunk_rx);
    let (done_tx, done_rx) =
        std::sync::mpsc::channel::<anyhow::Result<(ParsedChunk, store::AppendReceipt)>>();
    let mut summary = ImportSummary::default();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..workers {
            let (chunk_rx, done_tx) = (&chunk_rx, done_tx.clone());
            scope.spawn(move || loop {
                let next = chunk_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((first_line, bytes)) = next else {
                    return;
                };
                let mut parsed = parse_chunk(first_line, &bytes);
                let events = std::mem::take(&mut parsed.events);
                let receipt = if events.is_empty() {
                    Ok(store::AppendReceipt::default())
                } else {
                    store::wait(store.append(account, None, events)).map_err(anyhow::Error::from)
                };
                if done_tx.send(receipt.map(|r| (parsed, r))).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Read and cut; the parsers report on `done_rx`, drained after the last chunk is sent.
        let mut reader = BufReader::with_capacity(1 << 20, input);
        let mut next_line = 1u64;
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let mut chunk = std::mem::take(&mut carry);
            chunk.reserve(chunk_bytes + 1024);
            let mut eof = false;
            while chunk.len() < chunk_bytes {
                let buf = reader.fill_buf()?;
                if buf.is_empty() {
                    eof = true;
                    break;
                }
                let take = buf.len().min(chunk_bytes - chunk.len());
                chunk.extend_from_slice(&buf[..take]);
                reader.consume(take);
            }
            if chunk.is_empty() {
                break;
            }
            if !eof {
                // Keep the partial last line for the next chunk.
                match chunk.iter().rposition(|b| *b == b'\n') {
                    Some(end) => carry = chunk.split_off(end + 1),
                    None => {
                        // One line longer than a chunk: read on to its end.
                        reader.read_until(b'\n', &mut chunk)?;
                    }
                }
            } else if chunk.last() != Some(&b'\n') {
                chunk.push(b'\n');
            }
            bar.inc(chunk.len() as u64);
            let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
            let first = next_line;
            next_line += lines;
            if chunk_tx.send((first, chunk)).is_err() {
                break;
            }
            if eof {
                break;
            }
        }
        drop(chunk_tx);
        let mut errors: Vec<(u64, String)> = Vec::new();
        let mut failure = None;
        for done in done_rx {
            match done {
                Ok((parsed, receipt)) => {
                    summary.accepted += receipt.accepted;
                    summary.changed += receipt.changed;
                    summary.rejected += parsed.errors.len() as u64;
                    errors.extend(parsed.errors);
                    errors.sort_unstable();
                    errors.truncate(max_errors as usize);
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        summary.lines = next_line - 1;
        for (line, reason) in &errors {
            bar.suspend(|| eprintln!("line {line}: {reason}"));
        }
        Ok(())
    })?;
    if summary.rejected > max_errors {
        eprintln!(
            "({} more bad lines not shown)",
            summary.rejected - max_errors
        );
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
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
