//! The embedded log backend: one data directory, nothing to install.
//!
//! - **The durable truth** is an append-only table in SQLite (WAL, `synchronous=FULL`): one row per
//!   [`Entry`], in its [`codec`] form, written by a single writer thread. The writer takes every proposal
//!   waiting when it starts a transaction, so concurrent requests share one commit (group commit).
//! - **The fold** runs on the same thread: right after a commit, the writer applies the committed entries
//!   to the [`EngineHost`] in sequence order and only then answers their proposals, so a write is visible
//!   to reads as soon as it is answered.
//! - **Checkpoints** (`checkpoint.bin`, written by the host) cover a sequence number; opening replays only
//!   the rows after it. Applying is idempotent per sequence number, so a crash between writing a
//!   checkpoint and anything else costs nothing.
//! - Data directories of the first schema (campaigns and rate cards in tables of their own) are migrated
//!   on open: their catalog becomes entries at the end of the log.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use insights::CountryCode;
use rusqlite::{params, Connection};

use crate::codec;
use crate::entry::Entry;
use crate::host::{EngineHost, HostOptions};
use crate::log::{Committed, LogBackend, Proposal};
use crate::{Store, StoreError};

/// Row kinds of the `log` table. 0 and 1 are the first schema's event batches and directory entries
/// (still read); every row written now is an encoded entry.
const KIND_V1_EVENTS: i64 = 0;
const KIND_V1_DIRECTORY: i64 = 1;
const KIND_ENTRY: i64 = 2;

/// Most proposals taken into one transaction.
const MAX_GROUP_PROPOSALS: usize = 512;
/// Most events taken into one transaction (bounds the time a commit keeps others waiting).
const MAX_GROUP_EVENTS: usize = 1_000_000;

/// Opens (or creates) the embedded store in `dir`: loads the checkpoint, replays the log after it, and
/// starts the writer.
pub fn open(dir: &Path, options: HostOptions) -> Result<Store, StoreError> {
    std::fs::create_dir_all(dir)?;
    let conn = schema::open(&dir.join("store.sqlite3"))?;
    let host = Arc::new(EngineHost::load(dir, options)?);
    let last_seq = replay(&conn, &host)?;
    let log = SqliteLog::start(dir, conn, host.clone(), last_seq)?;
    Ok(Store::new(host, Box::new(log)))
}

/// Applies every row after the host's checkpoint; returns the last sequence number of the log.
fn replay(conn: &Connection, host: &EngineHost) -> Result<u64, StoreError> {
    let from = host.applied_seq();
    let mut stmt =
        conn.prepare("SELECT seq, account_uid, kind, data FROM log WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = stmt.query(params![from as i64])?;
    let mut replayed = 0u64;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let account: String = row.get(1)?;
        let kind: i64 = row.get(2)?;
        let data: Vec<u8> = row.get(3)?;
        let entry = decode_row(seq, account, kind, &data)?;
        replayed += entry.event_count() as u64;
        host.apply(seq, &entry);
    }
    if replayed > 0 {
        tracing::info!(
            replayed,
            from_seq = from,
            "replayed the log after the checkpoint"
        );
    }
    let max: Option<i64> = conn.query_row("SELECT MAX(seq) FROM log", [], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m as u64).max(from))
}

fn decode_row(seq: u64, account: String, kind: i64, data: &[u8]) -> Result<Entry, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("log row {seq}: {what}"));
    match kind {
        KIND_ENTRY => codec::decode_entry(data).map_err(|e| corrupt(e.to_string())),
        KIND_V1_EVENTS => Ok(Entry::Events {
            account,
            page_hint: None,
            events: codec::decode(data).map_err(|e| corrupt(e.to_string()))?,
        }),
        KIND_V1_DIRECTORY => Ok(Entry::RecipientCountries {
            account,
            entries: decode_v1_directory(data).ok_or_else(|| corrupt("directory".into()))?,
        }),
        other => Err(corrupt(format!("kind {other}"))),
    }
}

/// The first schema's directory rows: lines of a two-letter country code followed by the recipient.
fn decode_v1_directory(data: &[u8]) -> Option<Vec<(String, CountryCode)>> {
    let text = std::str::from_utf8(data).ok()?;
    text.lines()
        .map(|line| {
            let code = line.get(0..2)?;
            let recipient = line.get(2..)?;
            Some((recipient.to_string(), code.parse().ok()?))
        })
        .collect()
}

enum Msg {
    Propose(Vec<Proposal>),
    Checkpoint(Box<dyn FnOnce(Result<u64, StoreError>) + Send>),
}

impl Msg {
    fn weight(&self) -> usize {
        match self {
            Msg::Propose(p) => p.iter().map(|p| p.entry.weight()).sum(),
            Msg::Checkpoint(_) => 1,
        }
    }

    fn proposals(&self) -> usize {
        match self {
            Msg::Propose(p) => p.len(),
            Msg::Checkpoint(_) => 1,
        }
    }
}

/// The SQLite log and its writer thread.
struct SqliteLog {
    sender: Mutex<Option<mpsc::Sender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    last_seq: Arc<AtomicU64>,
    dir: PathBuf,
}

impl SqliteLog {
    fn start(
        dir: &Path,
        conn: Connection,
        host: Arc<EngineHost>,
        last_seq: u64,
    ) -> Result<SqliteLog, StoreError> {
        let (tx, rx) = mpsc::channel();
        let last = Arc::new(AtomicU64::new(last_seq));
        let writer = Writer {
            conn,
            host,
            dir: dir.to_path_buf(),
            last_seq: last.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok(SqliteLog {
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            last_seq: last,
            dir: dir.to_path_buf(),
        })
    }

    fn send(&self, msg: Msg) {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let undelivered = match sender.as_ref() {
            Some(s) => s.send(msg).err().map(|e| e.0),
            None => Some(msg),
        };
        // The writer is gone: answer here.
        match undelivered {
            Some(Msg::Propose(proposals)) => {
                for p in proposals {
                    (p.answer)(Err(StoreError::Closed));
                }
            }
            Some(Msg::Checkpoint(answer)) => answer(Err(StoreError::Closed)),
            None => {}
        }
    }
}

impl LogBackend for SqliteLog {
    fn state_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn propose(&self, proposals: Vec<Proposal>) {
        self.send(Msg::Propose(proposals));
    }

    fn checkpoint(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>) {
        self.send(Msg::Checkpoint(answer));
    }

    fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

struct Writer {
    conn: Connection,
    host: Arc<EngineHost>,
    dir: PathBuf,
    last_seq: Arc<AtomicU64>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let (mut weight, mut count) = (first.weight(), first.proposals());
            let mut msgs = vec![first];
            while count < MAX_GROUP_PROPOSALS && weight < MAX_GROUP_EVENTS {
                match rx.try_recv() {
                    Ok(m) => {
                        weight += m.weight();
                        count += m.proposals();
                        msgs.push(m);
                    }
                    Err(_) => break,
                }
            }
            let mut proposals = Vec::new();
            let mut checkpoints = Vec::new();
            for m in msgs {
                match m {
                    Msg::Propose(p) => proposals.extend(p),
                    Msg::Checkpoint(a) => checkpoints.push(a),
                }
            }
            if !proposals.is_empty() {
                self.commit_and_apply(proposals);
            }
            if !checkpoints.is_empty() || self.host.checkpoint_due() {
                let result = self.host.write_checkpoint(&self.dir);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "checkpoint failed");
                }
                for answer in checkpoints {
                    answer(match &result {
                        Ok(seq) => Ok(*seq),
                        Err(e) => Err(StoreError::Corrupt(format!("checkpoint failed: {e}"))),
                    });
                }
            }
        }
        // Closed: leave a checkpoint so the next open replays nothing.
        if let Err(e) = self.host.write_checkpoint(&self.dir) {
            tracing::error!(error = %e, "final checkpoint failed");
        }
    }

    /// One transaction for the whole group; after the commit, each entry is applied and answered in
    /// order. On any failure nothing of the group is applied and every proposal gets the error.
    fn commit_and_apply(&mut self, proposals: Vec<Proposal>) {
        let first = self.last_seq.load(Ordering::Acquire) + 1;
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = self.conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO log (seq, account_uid, kind, count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (i, p) in proposals.iter().enumerate() {
                    insert.execute(params![
                        (first + i as u64) as i64,
                        p.entry.account().unwrap_or(""),
                        KIND_ENTRY,
                        p.entry.weight() as i64,
                        codec::encode_entry(&p.entry)
                    ])?;
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "log commit failed");
            for p in proposals {
                (p.answer)(Err(StoreError::Corrupt(format!("commit failed: {e}"))));
            }
            return;
        }
        self.last_seq
            .store(first + proposals.len() as u64 - 1, Ordering::Release);
        for (i, p) in proposals.into_iter().enumerate() {
            let seq = first + i as u64;
            let answer = match self.host.apply(seq, &p.entry) {
                Some(outcome) => Ok(Committed { seq, outcome }),
                None => Err(StoreError::Corrupt(format!("entry {seq} applied twice"))),
            };
            (p.answer)(answer);
        }
    }
}
