//! `cams-insights`: serve the CAMS-compatible API, and the tools around it.

mod admin;
mod bench;
mod bench_http;
mod connect;
mod demo;
mod import;
mod loadgen;
mod query_cmd;
mod reference_data;
mod serve;
mod workload;

use clap::{Parser, Subcommand};

// The request path allocates many small, short-lived buffers; glibc's allocator was a quarter of
// the gateway's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cams-insights",
    version,
    about = "Wire-compatible Alibaba Cloud CAMS message-campaign insights"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (and, with --demo, a ready-to-use demo tenant).
    Serve(serve::ServeArgs),
    /// Import native NDJSON events, offline into a data directory or into a running server.
    Import(import::ImportArgs),
    /// Import a recipient directory (recipient,country CSV) into a data directory.
    ImportRecipients(reference_data::RecipientsArgs),
    /// Import a rate card (Meta's CSV layout) into a data directory.
    ImportRates(reference_data::RatesArgs),
    /// Print a campaign's insights from a running server.
    Query(query_cmd::QueryArgs),
    /// RAM policies: simulate a decision, check a document.
    #[command(subcommand)]
    Policy(admin::PolicyCommand),
    /// Access keys in the configuration file: create, disable, list.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Benchmarks: the deterministic workload and the measurements of performance.md.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Query(args) => query_cmd::run(args),
        Command::ImportRecipients(args) => reference_data::recipients(args),
        Command::ImportRates(args) => reference_data::rates(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Policy(cmd) => admin::policy(cmd),
        Command::Keys(cmd) => admin::keys(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
