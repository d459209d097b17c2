//! The cluster log backend: one NATS JetStream stream, replicated (R=3 in production), that every API
//! node publishes to and folds, in stream order, into its own [`EngineHost`].
//!
//! - **Frames.** Proposals waiting together are packed, per account, into one message (a *frame*) on the
//!   subject `<prefix>.<account uid>` (`<prefix>._` for service-wide entries such as rate cards), so one
//!   publish carries many events and accounts can later be split between node groups by subject. A frame
//!   holds up to 4096 entries; entry `i` of the message at stream sequence `s` has the log sequence
//!   `s << 12 | i`, so sequence numbers stay unique and ordered and the fold's rules (campaign ids derived
//!   from them, …) give every node the same result. An entry too large for one message (a big batch of
//!   events) is split into several, answered together.
//! - **Durability.** A publish is acknowledged by the stream's leader once a quorum stored it. Publishes
//!   are pipelined; one that fails (a leader election, a lost connection) is retried with the same
//!   `Nats-Msg-Id` for up to 30 s, so the stream's duplicate window keeps it exactly once.
//! - **Read-your-writes.** A proposal is answered by this node's fold when it applies the proposal's own
//!   frame (recognised by the node's id and a token), never on the acknowledgment alone: when the answer
//!   comes, the write is durable *and* visible to reads here. Other nodes see it when their fold gets there
//!   (the lag is the difference between the stream's last sequence and the sequence folded).
//! - **Restart.** The host's checkpoint (local directory) says which sequence it covers; the fold starts
//!   at that message, and opening returns only once the node caught up with the stream as it was when
//!   opening began. A node with an empty directory rebuilds from the whole stream.
//! - **Partitions.** A node may fold only some accounts (`JetStreamOptions::folds`): entries of other
//!   accounts are read past without being applied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, message::PublishMessage, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::codec::{decode_entry, encode_entry};
use crate::entry::{Entry, Outcome};
use crate::host::{EngineHost, HostOptions};
use crate::log::{Committed, LogBackend, Proposal};
use crate::{Store, StoreError};

/// Largest payload of one message (the server's default `max_payload` is 1 MiB; headers need room).
pub const MAX_FRAME_BYTES: usize = 900 * 1024;
/// Most entries in one frame (the low 12 bits of a log sequence number).
pub const MAX_FRAME_ENTRIES: usize = 4096;
const INDEX_BITS: u32 = 12;
/// A consumer silent for this long while the stream holds more than was folded is recreated.
const STALL: Duration = Duration::from_secs(2);
/// Frames published and not yet acknowledged, at most.
const MAX_IN_FLIGHT: usize = 64;
/// How long a publish is retried (a leader election takes seconds).
const PUBLISH_RETRY: Duration = Duration::from_secs(30);
const FRAME_MAGIC: &[u8; 4] = b"CJF1";

/// Which accounts a node folds.
pub type AccountFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// How to reach and shape the stream.
#[derive(Clone)]
pub struct JetStreamOptions {
    /// NATS server URLs (any of them; the client finds the rest).
    pub urls: Vec<String>,
    /// Stream name (no `.`, `*`, `>` or spaces).
    pub stream: String,
    /// Subject prefix: entries go to `<prefix>.<account uid>`.
    pub subject_prefix: String,
    /// Replicas of the stream when this node creates it (1 for a single dev server, 3 in production).
    pub replicas: usize,
    /// This node's id, unique in the cluster while it runs (frames carry it to find their proposals).
    pub node_id: String,
    /// The accounts this node folds (`None`: all).
    pub folds: Option<AccountFilter>,
    /// How to authenticate to NATS and whether to require TLS.
    pub auth: NatsAuth,
}

/// Credentials and TLS for the NATS connection (all optional: a NATS server on a private network may
/// need none).
#[derive(Clone, Default)]
pub struct NatsAuth {
    pub user_password: Option<(String, String)>,
    pub token: Option<String>,
    /// A PEM file of CA certificates; given, TLS is required.
    pub ca_file: Option<PathBuf>,
}

impl NatsAuth {
    /// Applies these settings to connect options.
    pub fn apply(&self, mut options: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        if let Some((user, password)) = &self.user_password {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(ca) = &self.ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        options
    }
}

/// How long a publish waits for its acknowledgment before it is retried (with the same message id):
/// short, so that a publish caught by a leader's death is retried soon after the election.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

impl std::fmt::Debug for JetStreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamOptions")
            .field("urls", &self.urls)
            .field("stream", &self.stream)
            .field("subject_prefix", &self.subject_prefix)
            .field("replicas", &self.replicas)
            .field("node_id", &self.node_id)
            .field("partitioned", &self.folds.is_some())
            .finish()
    }
}

/// The log sequence number of entry `index` of the message at `stream_seq`.
pub fn log_seq(stream_seq: u64, index: usize) -> u64 {
    (stream_seq << INDEX_BITS) | index as u64
}

/// The stream sequence a log sequence number's entry is in.
pub fn stream_seq_of(log_seq: u64) -> u64 {
    log_seq >> INDEX_BITS
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Opens the store over the stream: connects, creates the stream when it does not exist, loads the
/// checkpoint in `dir`, and folds the stream until caught up.
pub fn open(dir: &Path, host: HostOptions, options: JetStreamOptions) -> Result<Store, StoreError> {
    std::fs::create_dir_all(dir)?;
    let host = Arc::new(EngineHost::load(dir, host)?);
    let log = JetStreamLog::start(dir, host.clone(), options)?;
    Ok(Store::new(host, Box::new(log)))
}

// ---------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------

/// A frame as read back: who published it, and its entries with their tokens.
struct Frame {
    origin: String,
    entries: Vec<(u64, Entry)>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A frame being built.
struct FrameBuilder {
    bytes: Vec<u8>,
    count: usize,
    tokens: Vec<u64>,
}

impl FrameBuilder {
    fn new(origin: &str) -> FrameBuilder {
        let mut bytes = Vec::with_capacity(64 * 1024);
        bytes.extend_from_slice(FRAME_MAGIC);
        put_varint(&mut bytes, origin.len() as u64);
        bytes.extend_from_slice(origin.as_bytes());
        FrameBuilder {
            bytes,
            count: 0,
            tokens: Vec::new(),
        }
    }

    fn fits(&self, entry_len: usize) -> bool {
        self.count < MAX_FRAME_ENTRIES && self.bytes.len() + entry_len + 20 <= MAX_FRAME_BYTES
    }

    fn push(&mut self, token: u64, encoded: &[u8]) {
        put_varint(&mut self.bytes, token);
        put_varint(&mut self.bytes, encoded.len() as u64);
        self.bytes.extend_from_slice(encoded);
        self.count += 1;
        if !self.tokens.contains(&token) {
            self.tokens.push(token);
        }
    }
}

fn decode_frame(data: &[u8]) -> Result<Frame, String> {
    if !data.starts_with(FRAME_MAGIC) {
        return Err("not a frame".into());
    }
    let mut pos = FRAME_MAGIC.len();
    let bad = |what: &str| format!("damaged frame: {what}");
    let n = get_varint(data, &mut pos).ok_or_else(|| bad("origin"))? as usize;
    let origin = data
        .get(pos..pos + n)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| bad("origin"))?
        .to_string();
    pos += n;
    let mut entries = Vec::new();
    while pos < data.len() {
        let token = get_varint(data, &mut pos).ok_or_else(|| bad("token"))?;
        let len = get_varint(data, &mut pos).ok_or_else(|| bad("length"))? as usize;
        let bytes = data.get(pos..pos + len).ok_or_else(|| bad("entry"))?;
        pos += len;
        let entry = decode_entry(bytes).map_err(|e| e.to_string())?;
        entries.push((token, entry));
        if entries.len() > MAX_FRAME_ENTRIES {
            return Err(bad("too many entries"));
        }
    }
    Ok(Frame { origin, entries })
}

/// An entry's encoded parts, each small enough for a frame: a big batch of events is split.
fn encoded_parts(entry: &Entry) -> Result<Vec<Vec<u8>>, StoreError> {
    let whole = encode_entry(entry);
    if whole.len() + 64 <= MAX_FRAME_BYTES {
        return Ok(vec![whole]);
    }
    let pieces = whole.len().div_ceil(MAX_FRAME_BYTES / 2).max(2);
    let split: Vec<Entry> = match entry {
        Entry::Events {
            account,
            page_hint,
            events,
        } if events.len() > 1 => events
            .chunks(events.len().div_ceil(pieces))
            .map(|chunk| Entry::Events {
                account: account.clone(),
                page_hint: page_hint.clone(),
                events: chunk.to_vec(),
            })
            .collect(),
        Entry::RecipientCountries { account, entries } if entries.len() > 1 => entries
            .chunks(entries.len().div_ceil(pieces))
            .map(|chunk| Entry::RecipientCountries {
                account: account.clone(),
                entries: chunk.to_vec(),
            })
            .collect(),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "a log entry of {} bytes is larger than a message may be",
                whole.len()
            )))
        }
    };
    let mut parts = Vec::new();
    for part in &split {
        parts.extend(encoded_parts(part)?);
    }
    Ok(parts)
}

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

/// A proposal waiting for its frame(s) to come back through the fold.
struct Waiting {
    answer: Option<crate::log::Answer>,
    parts_left: usize,
    accepted: u64,
    changed: u64,
}

type WaitingMap = Arc<Mutex<HashMap<u64, Waiting>>>;

enum Control {
    Propose(Vec<Proposal>),
    Barrier(Box<dyn FnOnce(Result<u64, StoreError>) + Send>),
    Checkpoint(Box<dyn FnOnce(Result<u64, StoreError>) + Send>),
}

enum FoldMsg {
    Message {
        stream_seq: u64,
        pending: u64,
        subject: String,
        payload: Bytes,
    },
    Checkpoint(Box<dyn FnOnce(Result<u64, StoreError>) + Send>),
}

/// What the backend's threads share.
struct Shared {
    /// The stream sequence folded (applied or read past) so far.
    folded: AtomicU64,
    /// The stream's last sequence as far as this node knows (acks and the consumer's pending counts).
    known_last: AtomicU64,
    folded_tx: watch::Sender<u64>,
    closing: AtomicBool,
    /// Whether the stream answered its last poll.
    reachable: AtomicBool,
    /// Set when the fold met an entry it cannot read: it stops there rather than skip it.
    halted: AtomicBool,
}

impl Shared {
    fn saw_last(&self, seq: u64) {
        self.known_last.fetch_max(seq, Ordering::AcqRel);
    }
}

struct JetStreamLog {
    control: Mutex<Option<mpsc::UnboundedSender<Control>>>,
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    dir: PathBuf,
}

impl JetStreamLog {
    fn start(
        dir: &Path,
        host: Arc<EngineHost>,
        options: JetStreamOptions,
    ) -> Result<JetStreamLog, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("nats-log")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let folded_at_start = stream_seq_of(host.applied_seq());
        let (folded_tx, _) = watch::channel(folded_at_start);
        let shared = Arc::new(Shared {
            folded: AtomicU64::new(folded_at_start),
            known_last: AtomicU64::new(0),
            folded_tx,
            closing: AtomicBool::new(false),
            reachable: AtomicBool::new(true),
            halted: AtomicBool::new(false),
        });
        // Connect and make sure the stream exists.
        let (js, stream) = run_blocking(&handle, async {
            let connect = options.auth.apply(
                async_nats::ConnectOptions::new()
                    .name(format!("cams-insights {}", options.node_id))
                    .retry_on_initial_connect()
                    .connection_timeout(Duration::from_secs(5)),
            );
            let client = connect
                .connect(options.urls.clone())
                .await
                .map_err(unavailable)?;
            let js = jetstream::ContextBuilder::new()
                .timeout(ACK_TIMEOUT)
                .build(client);
            let config = stream::Config {
                name: options.stream.clone(),
                subjects: vec![format!("{}.>", options.subject_prefix)],
                num_replicas: options.replicas.max(1),
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                max_message_size: (MAX_FRAME_BYTES + 64 * 1024) as i32,
                ..Default::default()
            };
            let stream = create_stream_patiently(&js, config, Duration::from_secs(30))
                .await
                .map_err(unavailable)?;
            Ok::<_, StoreError>((js, stream))
        })?;
        let last_at_open = run_blocking(&handle, async {
            let mut s = stream.clone();
            s.info().await.map(|i| i.state.last_sequence)
        })
        .map_err(unavailable)?;
        if folded_at_start > last_at_open {
            return Err(StoreError::Corrupt(format!(
                "the checkpoint in {} covers stream message {folded_at_start}, but the stream {} ends at \
                 {last_at_open}: it is older than this node's state (restored from a backup?); remove \
                 checkpoint.bin there to rebuild from the stream",
                dir.display(),
                options.stream
            )));
        }
        shared.saw_last(last_at_open);

        let waiting: WaitingMap = Arc::new(Mutex::new(HashMap::new()));
        // The fold: a thread of its own, fed by the consumer task.
        let (fold_tx, fold_rx) = mpsc::channel::<FoldMsg>(256);
        // Frames carry who proposed them: the node's id and this process's random instance, so that
        // two nodes given the same id by mistake never take each other's answers.
        let origin = format!("{}/{:016x}", options.node_id, rand_u64());
        let fold = Fold {
            host: host.clone(),
            dir: dir.to_path_buf(),
            origin: origin.clone(),
            prefix: options.subject_prefix.clone(),
            folds: options.folds.clone(),
            waiting: waiting.clone(),
            shared: shared.clone(),
        };
        let fold_thread = std::thread::Builder::new()
            .name("store-fold".into())
            .spawn(move || fold.run(fold_rx))?;

        // The consumer: an ordered consumer from the message after the checkpoint's on.
        let consumer_tx = fold_tx.clone();
        let consumer_shared = shared.clone();
        let prefix = options.subject_prefix.clone();
        runtime.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                if consumer_shared.closing.load(Ordering::Acquire) {
                    return;
                }
                let from = consumer_shared.folded.load(Ordering::Acquire) + 1;
                let consumed =
                    consume(&stream, &prefix, from, &consumer_tx, &consumer_shared).await;
                if consumer_shared.closing.load(Ordering::Acquire) {
                    return;
                }
                if let Err(e) = consumed {
                    tracing::warn!(error = %e, "the stream's consumer stopped; resuming");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });

        // The stream's end, polled every second: the lag stays true when nothing is written here, and a
        // node that cannot reach the stream says so.
        let poll_shared = shared.clone();
        let poll_js = js.clone();
        let poll_name = options.stream.clone();
        runtime.spawn(async move {
            loop {
                let last = async {
                    let mut s = poll_js.get_stream(&poll_name).await.ok()?;
                    tokio::time::timeout(Duration::from_secs(2), s.info())
                        .await
                        .ok()?
                        .ok()
                        .map(|i| i.state.last_sequence)
                };
                match last.await {
                    Some(last) => {
                        poll_shared.saw_last(last);
                        poll_shared.reachable.store(true, Ordering::Release);
                    }
                    None => poll_shared.reachable.store(false, Ordering::Release),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });

        // The publisher.
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let publisher = Publisher {
            js,
            stream_name: options.stream.clone(),
            prefix: options.subject_prefix.clone(),
            origin: origin.clone(),
            frames: 0,
            next_token: 1,
            waiting,
            shared: shared.clone(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            fold_tx,
        };
        runtime.spawn(publisher.run(control_rx));

        let log = JetStreamLog {
            control: Mutex::new(Some(control_tx)),
            shared: shared.clone(),
            threads: Mutex::new(vec![fold_thread]),
            runtime: Mutex::new(Some(runtime)),
            dir: dir.to_path_buf(),
        };
        // Serve only once caught up with the stream as it was at open.
        let started = Instant::now();
        let mut folded = shared.folded_tx.subscribe();
        let caught_up = log.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(3600),
                folded.wait_for(|f| *f >= last_at_open),
            )
            .await
            .is_ok()
        });
        if !caught_up {
            return Err(unavailable("did not catch up with the stream"));
        }
        if last_at_open > 0 {
            tracing::info!(
                last_at_open,
                millis = started.elapsed().as_millis() as u64,
                "caught up with the stream"
            );
        }
        Ok(log)
    }

    fn block_on<F: std::future::Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        let rt = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
        let handle = rt.as_ref().expect("running").handle().clone();
        drop(rt);
        run_blocking(&handle, f)
    }

    fn control(&self, msg: Control) {
        let sender = self.control.lock().unwrap_or_else(|p| p.into_inner());
        let undelivered = match sender.as_ref() {
            Some(s) => s.send(msg).err().map(|e| e.0),
            None => Some(msg),
        };
        match undelivered {
            Some(Control::Propose(proposals)) => {
                for p in proposals {
                    (p.answer)(Err(StoreError::Closed));
                }
            }
            Some(Control::Barrier(answer)) | Some(Control::Checkpoint(answer)) => {
                answer(Err(StoreError::Closed))
            }
            None => {}
        }
    }
}

/// Runs a future on the log's runtime from synchronous code, inside another runtime or not (the caller
/// may be a server's worker): a scoped thread does the blocking.
fn run_blocking<F>(handle: &tokio::runtime::Handle, f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| handle.block_on(f))
            .join()
            .expect("the blocking wait does not panic")
    })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Reads the stream from `from` on, in order, into the fold, until an error or closing.
/// Gets or creates a stream, retrying while the NATS cluster cannot place it yet.
///
/// A JetStream cluster that has just started knows its meta leader before it knows every peer, so an
/// R3 stream asked for in that moment is refused with "no suitable peers for placement" although it
/// could be placed a second later. Such refusals (and timeouts, and a cluster without a leader) are
/// retried until `within` has passed; any other refusal (a stream of that name with a different
/// configuration, say) is reported at once.
pub async fn create_stream_patiently(
    js: &jetstream::Context,
    config: stream::Config,
    within: Duration,
) -> Result<stream::Stream, String> {
    use async_nats::jetstream::context::CreateStreamErrorKind as Kind;
    use async_nats::jetstream::ErrorCode;
    let deadline = Instant::now() + within;
    loop {
        let attempt = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            js.get_or_create_stream(config.clone()),
        )
        .await;
        let error = match attempt {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => e,
            Err(_) => return Err(format!("creating the stream {} timed out", config.name)),
        };
        let transient = match error.kind() {
            Kind::TimedOut | Kind::JetStreamUnavailable => true,
            Kind::JetStream(api) => [
                ErrorCode::CLUSTER_NO_PEERS,
                ErrorCode::CLUSTER_NOT_AVAILABLE,
                ErrorCode::CLUSTER_INCOMPLETE,
                ErrorCode::CLUSTER_NOT_ACTIVE,
                ErrorCode::CLUSTER_NOT_LEADER,
                ErrorCode::INSUFFICIENT_RESOURCES,
            ]
            .contains(&api.error_code()),
            _ => false,
        };
        if !transient || Instant::now() + Duration::from_millis(250) >= deadline {
            return Err(error.to_string());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn consume(
    stream: &stream::Stream,
    prefix: &str,
    from: u64,
    fold: &mpsc::Sender<FoldMsg>,
    shared: &Shared,
) -> Result<(), String> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: format!("{prefix}.>"),
            deliver_policy: if from <= 1 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                }
            },
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    loop {
        // An ordered consumer lives on the stream's leader; when that server dies, the client learns it
        // only from missed heartbeats, seconds later. The stream's end is polled every second, so a
        // consumer that delivers nothing while the stream holds more than was folded is recreated at
        // once.
        let next = match tokio::time::timeout(STALL, messages.next()).await {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(_) => {
                if shared.known_last.load(Ordering::Acquire) > shared.folded.load(Ordering::Acquire)
                {
                    return Err("the consumer delivers nothing while the stream holds more".into());
                }
                continue;
            }
        };
        if shared.closing.load(Ordering::Acquire) {
            return Ok(());
        }
        let message = next.map_err(|e| e.to_string())?;
        let (stream_seq, pending) = {
            let info = message.info().map_err(|e| e.to_string())?;
            (info.stream_sequence, info.pending)
        };
        shared.saw_last(stream_seq + pending);
        let msg = FoldMsg::Message {
            stream_seq,
            pending,
            subject: message.subject.to_string(),
            payload: message.payload.clone(),
        };
        // A full channel makes the consumer wait for the fold (the ordered consumer flow-controls).
        if fold.send(msg).await.is_err() {
            return Ok(());
        }
    }
    Err("the message stream ended".into())
}

impl LogBackend for JetStreamLog {
    fn state_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn propose(&self, proposals: Vec<Proposal>) {
        self.control(Control::Propose(proposals));
    }

    fn checkpoint(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>) {
        self.control(Control::Checkpoint(answer));
    }

    fn last_seq(&self) -> u64 {
        // In stream sequence numbers scaled like log sequence numbers, so lag = last - applied works.
        log_seq(self.shared.known_last.load(Ordering::Acquire), 0)
    }

    fn barrier(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>) {
        self.control(Control::Barrier(answer));
    }

    fn healthy(&self) -> bool {
        self.shared.reachable.load(Ordering::Acquire) && !self.shared.halted.load(Ordering::Acquire)
    }

    fn lag(&self) -> u64 {
        self.shared
            .known_last
            .load(Ordering::Acquire)
            .saturating_sub(self.shared.folded.load(Ordering::Acquire))
    }

    fn close(&self) {
        let Some(control) = self
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        // The publisher drains what is in flight, then the fold writes its final checkpoint.
        drop(control);
        let rt = self
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(rt) = &rt {
            let shared = self.shared.clone();
            let wait = async move {
                let known = shared.known_last.load(Ordering::Acquire);
                let mut folded = shared.folded_tx.subscribe();
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), folded.wait_for(|f| *f >= known))
                        .await;
            };
            let handle = rt.handle().clone();
            std::thread::scope(|s| {
                s.spawn(|| handle.block_on(wait));
            });
        }
        self.shared.closing.store(true, Ordering::Release);
        // Stopping the runtime drops the consumer and the publisher, and with them the fold's inputs:
        // the fold then writes its final checkpoint and ends.
        if let Some(rt) = rt {
            // Dropping a runtime may not happen on one of another runtime's threads (a store may be
            // dropped by a server's task): a thread of its own does it.
            std::thread::scope(|s| {
                s.spawn(move || rt.shutdown_timeout(Duration::from_secs(2)));
            });
        }
        for t in self
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The publisher
// ---------------------------------------------------------------------------------------------

struct Publisher {
    js: jetstream::Context,
    stream_name: String,
    prefix: String,
    /// The node id and process instance frames carry (also the `Nats-Msg-Id` prefix).
    origin: String,
    frames: u64,
    next_token: u64,
    waiting: WaitingMap,
    shared: Arc<Shared>,
    in_flight: Arc<Semaphore>,
    fold_tx: mpsc::Sender<FoldMsg>,
}

impl Publisher {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Control>) {
        let mut in_flight = Vec::new();
        while let Some(first) = rx.recv().await {
            let mut proposals = Vec::new();
            let mut barriers = Vec::new();
            let mut checkpoints = Vec::new();
            let mut next = Some(first);
            while let Some(c) = next.take() {
                match c {
                    Control::Propose(p) => proposals.extend(p),
                    Control::Barrier(b) => barriers.push(b),
                    Control::Checkpoint(c) => checkpoints.push(c),
                }
                if proposals.len() < MAX_FRAME_ENTRIES {
                    next = rx.try_recv().ok();
                }
            }
            for b in barriers {
                self.barrier(b);
            }
            for c in checkpoints {
                if let Err(e) = self.fold_tx.send(FoldMsg::Checkpoint(c)).await {
                    if let FoldMsg::Checkpoint(c) = e.0 {
                        c(Err(StoreError::Closed));
                    }
                }
            }
            in_flight.retain(|h: &tokio::task::JoinHandle<()>| !h.is_finished());
            in_flight.extend(self.publish(proposals).await);
        }
        // Closed: let what is in flight finish.
        for h in in_flight {
            let _ = h.await;
        }
    }

    /// A linearizable read's wait: the stream's last sequence now, then the fold reaching it.
    fn barrier(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>) {
        let js = self.js.clone();
        let name = self.stream_name.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let last = match js.get_stream(&name).await {
                Ok(mut s) => s.info().await.map(|i| i.state.last_sequence),
                Err(e) => {
                    answer(Err(unavailable(e)));
                    return;
                }
            };
            match last {
                Ok(last) => {
                    shared.saw_last(last);
                    let mut folded = shared.folded_tx.subscribe();
                    let reached = tokio::time::timeout(
                        Duration::from_secs(30),
                        folded.wait_for(|f| *f >= last),
                    )
                    .await
                    .is_ok();
                    answer(if reached {
                        Ok(log_seq(last, 0))
                    } else {
                        Err(unavailable(
                            "the fold did not reach the stream's end in time",
                        ))
                    });
                }
                Err(e) => answer(Err(unavailable(e))),
            }
        });
    }

    /// Packs proposals into frames per account and publishes each (acknowledgments awaited in tasks).
    async fn publish(&mut self, proposals: Vec<Proposal>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut frames: HashMap<String, Vec<FrameBuilder>> = HashMap::new();
        for p in proposals {
            let parts = match encoded_parts(&p.entry) {
                Ok(parts) => parts,
                Err(e) => {
                    (p.answer)(Err(e));
                    continue;
                }
            };
            let token = self.next_token;
            self.next_token += 1;
            self.waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    token,
                    Waiting {
                        answer: Some(p.answer),
                        parts_left: parts.len(),
                        accepted: 0,
                        changed: 0,
                    },
                );
            let subject = match p.entry.account() {
                Some(a) if !a.is_empty() => format!("{}.{a}", self.prefix),
                _ => format!("{}._", self.prefix),
            };
            let list = frames.entry(subject).or_default();
            for part in parts {
                if list.last().is_none_or(|f| !f.fits(part.len())) {
                    list.push(FrameBuilder::new(&self.origin));
                }
                list.last_mut().expect("a frame").push(token, &part);
            }
        }
        let mut handles = Vec::new();
        for (subject, list) in frames {
            for frame in list {
                self.frames += 1;
                let msg_id = format!("{}-{}", self.origin, self.frames);
                let permit = self
                    .in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed");
                let js = self.js.clone();
                let subject = subject.clone();
                let waiting = self.waiting.clone();
                let shared = self.shared.clone();
                handles.push(tokio::spawn(async move {
                    let payload = Bytes::from(frame.bytes);
                    match publish_with_retry(&js, &subject, &msg_id, payload).await {
                        Ok(seq) => shared.saw_last(seq),
                        Err(e) => {
                            tracing::error!(error = %e, subject, "a frame could not be published");
                            let mut waiting = waiting.lock().unwrap_or_else(|p| p.into_inner());
                            for token in frame.tokens {
                                if let Some(mut w) = waiting.remove(&token) {
                                    if let Some(answer) = w.answer.take() {
                                        answer(Err(unavailable(&e)));
                                    }
                                }
                            }
                        }
                    }
                    drop(permit);
                }));
            }
        }
        handles
    }
}

/// Publishes a frame, retrying with the same message id (the stream's duplicate window makes a retry of
/// a stored frame a no-op) until acknowledged or [`PUBLISH_RETRY`] passes. Returns its stream sequence.
async fn publish_with_retry(
    js: &jetstream::Context,
    subject: &str,
    msg_id: &str,
    payload: Bytes,
) -> Result<u64, String> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(50);
    loop {
        let attempt = async {
            let ack = js
                .send_publish(
                    subject.to_string(),
                    PublishMessage::build()
                        .payload(payload.clone())
                        .message_id(msg_id),
                )
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map_err(|e| e.to_string())
        };
        match attempt.await {
            Ok(ack) => return Ok(ack.sequence),
            Err(e) if started.elapsed() < PUBLISH_RETRY => {
                tracing::debug!(error = %e, "publish failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The fold
// ---------------------------------------------------------------------------------------------

struct Fold {
    host: Arc<EngineHost>,
    dir: PathBuf,
    origin: String,
    prefix: String,
    folds: Option<AccountFilter>,
    waiting: WaitingMap,
    shared: Arc<Shared>,
}

impl Fold {
    fn run(self, mut rx: mpsc::Receiver<FoldMsg>) {
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                FoldMsg::Message {
                    stream_seq,
                    pending,
                    subject,
                    payload,
                } => {
                    // A consumer that resumed may deliver again what was folded already; a halted fold
                    // applies nothing more.
                    if stream_seq <= self.shared.folded.load(Ordering::Acquire)
                        || self.shared.halted.load(Ordering::Acquire)
                    {
                        continue;
                    }
                    if !self.apply(stream_seq, &subject, &payload) {
                        self.shared.halted.store(true, Ordering::Release);
                        continue;
                    }
                    self.shared.folded.fetch_max(stream_seq, Ordering::AcqRel);
                    self.shared.folded_tx.send_replace(stream_seq);
                    let _ = pending;
                    if self.host.checkpoint_due() {
                        if let Err(e) = self.host.write_checkpoint(&self.dir) {
                            tracing::error!(error = %e, "checkpoint failed");
                        }
                    }
                }
                FoldMsg::Checkpoint(answer) => {
                    answer(
                        self.host
                            .write_checkpoint(&self.dir)
                            .map_err(|e| StoreError::Corrupt(format!("checkpoint failed: {e}"))),
                    );
                }
            }
        }
        if let Err(e) = self.host.write_checkpoint(&self.dir) {
            tracing::error!(error = %e, "final checkpoint failed");
        }
    }

    /// Applies a message's frame; `false` when the frame cannot be read (a damaged message, or one
    /// written by a newer build): the fold then stops there and the node reports itself unhealthy,
    /// rather than go on without those entries and silently differ from the other nodes.
    fn apply(&self, stream_seq: u64, subject: &str, payload: &[u8]) -> bool {
        let account = subject
            .strip_prefix(&self.prefix)
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or("");
        let frame = match decode_frame(payload) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(
                    stream_seq,
                    error = %e,
                    "cannot read a log message (damaged, or written by a newer build): the fold stops here"
                );
                return false;
            }
        };
        let mine = frame.origin == self.origin;
        let folded_here = account == "_" || self.folds.as_ref().is_none_or(|folds| folds(account));
        for (i, (token, entry)) in frame.entries.into_iter().enumerate() {
            let seq = log_seq(stream_seq, i);
            let outcome = if folded_here {
                self.host.apply(seq, &entry)
            } else {
                None
            };
            if !mine || token == 0 {
                continue;
            }
            let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            let Some(w) = waiting.get_mut(&token) else {
                continue;
            };
            w.parts_left = w.parts_left.saturating_sub(1);
            let finished = match outcome {
                Some(Outcome::Events { accepted, changed }) => {
                    w.accepted += accepted;
                    w.changed += changed;
                    (w.parts_left == 0).then_some(Outcome::Events {
                        accepted: w.accepted,
                        changed: w.changed,
                    })
                }
                Some(other) => Some(other),
                // Applied already (a replay overlapping the checkpoint) or not folded here.
                None => (w.parts_left == 0).then_some(Outcome::Events {
                    accepted: w.accepted,
                    changed: w.changed,
                }),
            };
            if let Some(outcome) = finished {
                if let Some(mut w) = waiting.remove(&token) {
                    if let Some(answer) = w.answer.take() {
                        drop(waiting);
                        answer(Ok(Committed { seq, outcome }));
                    }
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights::{Event, EventKind};

    fn event(i: usize) -> Event {
        Event {
            campaign_id: "120200000000000001".into(),
            recipient: format!("psid-{i:08}"),
            kind: EventKind::Delivered,
            timestamp_ms: 1_751_443_200_000 + i as i64,
            country: None,
            event_id: None,
            price_micros: None,
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut f = FrameBuilder::new("node-a");
        let e = Entry::DeleteCampaign {
            account: "1".into(),
            campaign_id: "9".into(),
        };
        f.push(7, &encode_entry(&e));
        f.push(0, &encode_entry(&e));
        let back = decode_frame(&f.bytes).unwrap();
        assert_eq!(back.origin, "node-a");
        assert_eq!(back.entries, vec![(7, e.clone()), (0, e)]);
        assert!(decode_frame(&f.bytes[..f.bytes.len() - 1]).is_err());
        assert!(decode_frame(b"nope").is_err());
    }

    #[test]
    fn big_event_batches_are_split_to_fit_a_message() {
        let events: Vec<Event> = (0..60_000).map(event).collect();
        let entry = Entry::Events {
            account: "1".into(),
            page_hint: None,
            events: events.clone(),
        };
        let parts = encoded_parts(&entry).unwrap();
        assert!(parts.len() >= 2);
        let mut back = Vec::new();
        for p in &parts {
            assert!(p.len() + 64 <= MAX_FRAME_BYTES);
            match decode_entry(p).unwrap() {
                Entry::Events { events, .. } => back.extend(events),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, events);
    }

    #[test]
    fn big_recipient_directories_are_split_too_and_rate_cards_are_not() {
        let entries: Vec<(String, insights::CountryCode)> = (0..120_000)
            .map(|i| (format!("recipient-{i:012}"), "BR".parse().unwrap()))
            .collect();
        let entry = Entry::RecipientCountries {
            account: "1".into(),
            entries: entries.clone(),
        };
        let parts = encoded_parts(&entry).unwrap();
        assert!(parts.len() >= 2);
        let back: Vec<_> = parts
            .iter()
            .flat_map(|p| match decode_entry(p).unwrap() {
                Entry::RecipientCountries { entries, .. } => entries,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(back, entries);
        let huge = Entry::RateCard {
            csv: "x".repeat(MAX_FRAME_BYTES),
            effective_from: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        };
        assert!(encoded_parts(&huge).is_err());
    }

    #[test]
    fn log_sequence_numbers_order_like_the_stream() {
        assert!(log_seq(1, MAX_FRAME_ENTRIES - 1) < log_seq(2, 0));
        assert_eq!(stream_seq_of(log_seq(77, 5)), 77);
    }
}
