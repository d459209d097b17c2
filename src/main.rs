//! `cams-insights`: serve the CAMS-compatible API, and the tools around it.
//!
//! A thin binary: each subcommand's arguments are parsed here and handed to one library function
//! (`ops`, and `bench` when built with the default `bench` feature).

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
    Serve(ops::serve::ServeArgs),
    /// Import native NDJSON events, offline into a data directory or into a running server.
    Import(ops::import::ImportArgs),
    /// Import a recipient directory (recipient,country CSV) into a data directory.
    ImportRecipients(ops::reference_data::RecipientsArgs),
    /// Import a rate card (Meta's CSV layout) into a data directory.
    ImportRates(ops::reference_data::RatesArgs),
    /// Print a campaign's insights from a running server.
    Query(ops::query::QueryArgs),
    /// RAM policies: simulate a decision, check a document.
    #[command(subcommand)]
    Policy(ops::policy::PolicyCommand),
    /// Access keys in the configuration file: create, disable, list.
    #[command(subcommand)]
    Keys(ops::keys::KeysCommand),
    /// The emulator's controls on a running server: faults, snapshot, restore, reset.
    #[command(subcommand)]
    Admin(ops::admin::AdminCommand),
    /// Post a campaign's marketing-message traffic as signed Meta webhooks, and print (or check) the
    /// metrics it must produce.
    Simulate(ops::simulate::SimulateArgs),
    /// Benchmarks: the deterministic workload and the measurements of docs/performance.md.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => ops::serve::run(args),
        Command::Import(args) => ops::import::run(args),
        Command::Query(args) => ops::query::run(args),
        Command::ImportRecipients(args) => ops::reference_data::recipients(args),
        Command::ImportRates(args) => ops::reference_data::rates(args),
        Command::Policy(cmd) => ops::policy::run(cmd),
        Command::Keys(cmd) => ops::keys::run(cmd),
        Command::Admin(cmd) => ops::admin::run(cmd),
        Command::Simulate(args) => ops::simulate::run(args),
        #[cfg(feature = "bench")]
        Command::Bench(cmd) => bench::run(cmd),
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
