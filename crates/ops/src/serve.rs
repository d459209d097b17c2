//! `cams-insights serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use server::{AppState, Config, RunningServer};

use crate::demo;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "CAMS_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address; overrides the file. Port 0 picks a free port (logged, and written to the
    /// demo file).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Create (or reuse) a demo tenant with keys, ids and data; needs no configuration file.
    #[arg(long)]
    demo: bool,
    /// Data directory (with --demo: reused if an earlier demo created it).
    #[arg(long, env = "CAMS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where --demo writes the endpoint, keys and ids as JSON (default: DATA_DIR/demo.json).
    #[arg(long)]
    demo_file: Option<PathBuf>,
    /// With --demo: also serve HTTPS with a generated CA and certificate for 127.0.0.1/localhost.
    #[arg(long)]
    tls: bool,
    /// Write `{"endpoint":"host:port"}` here once the server accepts connections (for scripts
    /// that start it with port 0).
    #[arg(long)]
    endpoint_file: Option<PathBuf>,
    /// With --demo: cluster mode, the log in NATS JetStream at these URLs (comma-separated). The demo
    /// is seeded into the stream once; other nodes start from DATA_DIR/demo.toml.
    #[arg(long, value_delimiter = ',')]
    nats: Vec<String>,
    /// With --demo --nats: the stream's replicas (1 for a single NATS server).
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// Start from a snapshot (`admin snapshot`): its state replaces the data directory's, and its
    /// accounts (keys, users, policies, tenants) replace the configuration's.
    #[arg(long, value_name = "FILE")]
    from_snapshot: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (mut config, mut demo) = if args.demo {
        let cluster = (!args.nats.is_empty()).then(|| demo::DemoCluster {
            nats_urls: args.nats.clone(),
            replicas: args.replicas,
        });
        let demo = demo::prepare(
            args.data_dir.clone(),
            args.config.as_deref(),
            args.tls,
            cluster.as_ref(),
        )?;
        (demo.config.clone(), Some(demo))
    } else {
        let path = args
            .config
            .as_deref()
            .context("give --config FILE (or --demo to run without one)")?;
        let mut config = Config::load(path)?;
        if let Some(dir) = &args.data_dir {
            config.storage.data_dir = Some(dir.clone());
        }
        (config, None)
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    } else if demo.is_some() && args.config.is_none() {
        // The demo binds any free port unless told otherwise, so two demos never collide.
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let listen = config.server.listen;
    let clustered = config.storage.backend == server::config::StorageBackend::Jetstream;
    if clustered && config.cluster.node_id.is_none() {
        config.cluster.node_id = Some(server::cluster::default_node_id());
    }
    let snapshot = match &args.from_snapshot {
        Some(path) => Some(crate::admin::read_snapshot(path)?),
        None => None,
    };
    if let Some((snap, accounts)) = &snapshot {
        config.accounts = accounts.clone();
        config
            .validate()
            .context("the snapshot's accounts do not fit this configuration")?;
        if let Some(demo) = demo.as_mut() {
            demo.adopt_snapshot(accounts.clone(), &snap.notes, args.config.is_none())?;
        }
    }
    let store = std::sync::Arc::new(crate::open_store(Some(&config), None)?);
    if let Some((snap, _)) = snapshot {
        let started = std::time::Instant::now();
        let pending = store
            .restore(snap.state)
            .context("the snapshot's state does not load in this version")?;
        anyhow::ensure!(
            store::wait(pending)?,
            "the snapshot's state did not install"
        );
        tracing::info!(millis = started.elapsed().as_millis() as u64, written_by = %snap.written_by, "started from a snapshot");
    }
    let demo_ids = match &demo {
        Some(demo) => Some(demo.ensure_seeded(store.as_ref())?),
        None => None,
    };
    if let (Some(demo), Some(ids)) = (demo.as_mut(), &demo_ids) {
        demo.ensure_whatsapp(&mut config, ids, args.config.is_none())?;
    }
    // The file SIGHUP re-reads: the one given, or the demo's own.
    let reload_path = args
        .config
        .clone()
        .or_else(|| demo.as_ref().map(|d| d.data_dir.join("demo.toml")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let cluster = if clustered {
        let node_id = config.cluster.node_id.clone().unwrap_or_default();
        let cluster = runtime
            .block_on(server::cluster::Cluster::connect(&config, &node_id))
            .context("joining the cluster's nonce and membership buckets")?;
        tracing::info!(node_id, stream = %config.storage.stream, "cluster mode");
        Some(cluster)
    } else {
        None
    };
    let state = AppState::new_in(config, store.clone(), cluster)?;
    if let (Some(demo), Some(ids)) = (&demo, &demo_ids) {
        let notes = serde_json::to_string(ids)?;
        state.set_snapshot_notes(notes.clone());
        runtime.block_on(demo.write_seed_snapshot(&state, &notes))?;
    }
    runtime.block_on(serve(
        state,
        listen,
        demo,
        args.demo_file,
        args.endpoint_file,
        demo_ids,
        reload_path,
    ))?;
    // Leave a checkpoint so the next start replays nothing.
    store.close();
    tracing::info!("stopped");
    Ok(())
}

async fn serve(
    state: std::sync::Arc<AppState>,
    listen: SocketAddr,
    demo: Option<demo::Demo>,
    demo_file: Option<PathBuf>,
    endpoint_file: Option<PathBuf>,
    demo_ids: Option<demo::DemoIds>,
    reload_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let server = RunningServer::bind(state.clone(), listen).await?;
    let local = server.local_addr();
    let https = server.tls_addr();
    tracing::info!(endpoint = %local, "listening");
    if let Some(https) = https {
        tracing::info!(endpoint = %https, "listening (HTTPS)");
    }

    let accepting = tokio::spawn(server.run(shutdown_signal()));
    if let Some(path) = reload_path {
        tokio::spawn(reload_on_sighup(state.clone(), path));
    }
    if let Some(path) = &endpoint_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::json!({ "endpoint": local.to_string() }).to_string(),
        )?;
        std::fs::rename(&tmp, path)?;
    }
    if let Some(demo) = &demo {
        let path = demo_file
            .clone()
            .unwrap_or_else(|| demo.data_dir.join("demo.json"));
        let ids = demo_ids.unwrap_or_default();
        demo.write_demo_file(&path, local, https, &ids)?;
        demo.print_welcome(&path, local, &ids.campaign_id);
    }
    accepting.await.context("server task")?;
    Ok(())
}

/// Re-reads the configuration on every SIGHUP; a file that does not load or validate is refused
/// and the running configuration kept.
async fn reload_on_sighup(state: std::sync::Arc<AppState>, path: PathBuf) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match Config::load(&path).and_then(|c| state.reload(&c)) {
                Ok(()) => tracing::info!(path = %path.display(), "configuration reloaded"),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "configuration NOT reloaded; keeping the running one")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (state, path);
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}
