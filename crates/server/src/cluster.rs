//! Cluster mode beyond the log: replay nonces decided by JetStream for every node at once, and the live
//! nodes that share each account's flow-control quota.
//!
//! - **Nonces**: a request's (access key, nonce) is created in the KV bucket `<stream>_nonces` with
//!   create-if-absent; the stream's leader decides, so two nodes never both accept one nonce. The bucket
//!   keeps entries for twice the timestamp window (a request may be signed up to a window ahead of the
//!   clock and is valid up to a window after that). Creates are pipelined on one connection: they never
//!   wait for each other. A node first checks its own memory, so a replay to the same node costs no
//!   round trip. When JetStream does not answer, requests are refused (`ServiceUnavailable`) rather than
//!   let a replay through.
//! - **Membership**: each node puts a heartbeat in `<stream>_nodes` (entries live 15 s) every 5 s; the
//!   number of live heartbeats is N, and each node enforces quota/N (or N from `[cluster] nodes`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::errors::{ApiError, ErrorCode};

/// How long a nonce's create is retried while JetStream is unavailable (a leader election takes seconds).
const NONCE_RETRY: Duration = Duration::from_secs(15);
/// How long a heartbeat lives.
const HEARTBEAT_TTL: Duration = Duration::from_secs(15);
/// How often a node beats and counts the others.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Why cluster mode could not start.
#[derive(Debug, thiserror::Error)]
#[error("cluster mode: {0}")]
pub struct ClusterError(String);

/// A node's handle on the cluster's shared state.
pub struct Cluster {
    node_id: String,
    nonces: kv::Store,
    live_nodes: Arc<AtomicU64>,
    fixed_nodes: usize,
}

/// A KV key for any string: hex of its SHA-256 (keys allow only a few characters; nonces are anything).
fn kv_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut key = String::with_capacity(34);
    key.push_str("n.");
    for b in &digest[..16] {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// A node id as a KV key segment.
fn key_segment(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A KV bucket, created when it does not exist (several nodes may race to create it). The bucket's
/// stream is created directly, as a KV bucket's stream is defined (`KV_<bucket>` on `$KV.<bucket>.>`, one
/// value per key, rollups, no deletes, direct gets): the client's own bucket creation sends fields that
/// nats-server 2.9 does not answer in a form the client reads.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store, ClusterError> {
    if let Ok(store) = js.get_key_value(name).await {
        return Ok(store);
    }
    let config = jetstream::stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age,
        num_replicas: replicas.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    let created =
        store::jetstream::create_stream_patiently(js, config, Duration::from_secs(30)).await;
    js.get_key_value(name).await.map_err(|e| match created {
        Err(c) => ClusterError(format!("bucket {name}: {c}")),
        Ok(_) => ClusterError(format!("bucket {name}: {e}")),
    })
}

impl Cluster {
    /// Connects, opens (or creates) the buckets, and starts this node's heartbeats on the current
    /// runtime.
    pub async fn connect(config: &Config, node_id: &str) -> Result<Cluster, ClusterError> {
        let storage = &config.storage;
        let client = storage
            .nats_auth()
            .apply(
                async_nats::ConnectOptions::new()
                    .name(format!("cams-insights {node_id} (gateway)"))
                    .retry_on_initial_connect(),
            )
            .connect(storage.nats_urls.clone())
            .await
            .map_err(|e| ClusterError(e.to_string()))?;
        let js = jetstream::new(client);
        let window = config.server.timestamp_window_secs;
        let replicas = storage.replicas;
        let nonces = bucket(
            &js,
            &format!("{}_nonces", storage.stream),
            Duration::from_secs(2 * window),
            replicas,
        )
        .await?;
        let nodes = bucket(
            &js,
            &format!("{}_nodes", storage.stream),
            HEARTBEAT_TTL,
            replicas,
        )
        .await?;
        let live_nodes = Arc::new(AtomicU64::new(1));
        let beat = (
            nodes,
            js.clone(),
            format!("KV_{}_nodes", storage.stream),
            format!("node.{}", key_segment(node_id)),
            live_nodes.clone(),
        );
        tokio::spawn(async move {
            let (nodes, js, stream, key, live) = beat;
            loop {
                if let Err(e) = nodes.put(&key, "alive".into()).await {
                    tracing::warn!(error = %e, "cluster heartbeat not written");
                }
                // With one value kept per key, the bucket's message count is the live node count.
                if let Ok(mut s) = js.get_stream(&stream).await {
                    if let Ok(info) = s.info().await {
                        live.store(info.state.messages.max(1), Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(HEARTBEAT_EVERY).await;
            }
        });
        Ok(Cluster {
            node_id: node_id.to_string(),
            nonces,
            live_nodes,
            fixed_nodes: config.cluster.nodes,
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The number of nodes sharing each quota.
    pub fn nodes(&self) -> u64 {
        if self.fixed_nodes > 0 {
            self.fixed_nodes as u64
        } else {
            self.live_nodes.load(Ordering::Relaxed).max(1)
        }
    }

    /// Consumes a nonce for the whole cluster: `SignatureNonceUsed` when any node consumed it within the
    /// bucket's lifetime.
    ///
    /// While the bucket's leader is being elected (a NATS server died), the create is retried for up to
    /// [`NONCE_RETRY`], so the request waits through the election instead of failing. The value written
    /// is this attempt's own token: a retry that finds the key already there looks at its value, so a
    /// create whose acknowledgment was lost is recognised as ours, not taken for a replay.
    pub async fn consume_nonce(&self, key_id: &str, nonce: &str) -> Result<(), ApiError> {
        let key = kv_key(&[key_id, nonce]);
        let token = crate::config::random_string(crate::config::ALNUM, 16);
        let started = std::time::Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut retried = false;
        loop {
            match self.nonces.create(&key, token.clone().into()).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    if retried {
                        if let Ok(Some(value)) = self.nonces.get(&key).await {
                            if value.as_ref() == token.as_bytes() {
                                return Ok(());
                            }
                        }
                    }
                    return Err(ErrorCode::SignatureNonceUsed.into());
                }
                Err(e) if started.elapsed() < NONCE_RETRY => {
                    tracing::debug!(error = %e, "cluster nonce check failed; retrying");
                    retried = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cluster nonce check failed; refusing the request");
                    return Err(ErrorCode::ServiceUnavailable.into());
                }
            }
        }
    }
}

/// A node id when none is configured: the host name, the process id and a random suffix.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!(
        "{}-{}-{}",
        key_segment(&host),
        std::process::id(),
        crate::config::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 6)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_and_distinct() {
        let a = kv_key(&["LTAI1", "nonce/with spaces*and>"]);
        let b = kv_key(&["LTAI1n", "once/with spaces*and>"]);
        assert_ne!(a, b, "the separator keeps the parts apart");
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.'));
        assert_eq!(a.len(), 34);
        assert_eq!(key_segment("host.example:8080"), "host_example_8080");
    }
}
