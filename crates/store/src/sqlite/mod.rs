//! The embedded backend: one data directory, nothing to install.
//!
//! - **The durable truth** is an append-only log in SQLite (WAL, `synchronous=FULL`): every accepted
//!   batch of events is one row (the compact [`codec`](crate::codec) form), written by a single writer
//!   thread. The writer takes every write waiting when it starts a transaction, so concurrent requests
//!   share one commit (group commit); each learns its outcome only after that commit.
//! - **The metrics** live in memory, one [`insights::Engine`] per account, updated right after the
//!   commit. Queries read only those aggregates.
//! - **Checkpoints** (`checkpoint.bin`) hold every engine and the log sequence number they cover.
//!   Opening a store loads the checkpoint and replays only the log rows after it. Applying events is
//!   idempotent, so a crash between writing the checkpoint and anything else at worst replays a few
//!   batches twice, harmlessly.
//! - Campaigns, the page each campaign's events came from, and rate cards are small SQLite tables,
//!   mirrored in memory.

mod checkpoint;
mod schema;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use chrono::NaiveDate;
use insights::{CountryCode, Engine, EngineConfig, Event, Query, RateCard, Row};
use rusqlite::{params, Connection, OptionalExtension};

use crate::codec;
use crate::model::*;
use crate::{Pending, Store, StoreError};

/// Log row kinds.
const LOG_EVENTS: i64 = 0;
const LOG_DIRECTORY: i64 = 1;

/// Tuning of the embedded store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub engine: EngineConfig,
    /// Write a checkpoint after this many logged events (and on close).
    pub checkpoint_every_events: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            engine: EngineConfig::default(),
            checkpoint_every_events: 20_000_000,
        }
    }
}

type Reply<T> = tokio::sync::oneshot::Sender<Result<T, StoreError>>;

enum Op {
    Append {
        account: String,
        page_hint: Option<String>,
        events: Vec<Event>,
        reply: Reply<AppendReceipt>,
    },
    Directory {
        account: String,
        entries: Vec<(String, CountryCode)>,
        reply: Reply<u64>,
    },
    RateCard {
        csv: String,
        effective_from: NaiveDate,
        reply: Reply<()>,
    },
    Create {
        new: NewCampaign,
        reply: Reply<Campaign>,
    },
    Sync {
        placement: Placement,
        now_ms: i64,
        reply: Reply<Vec<Campaign>>,
    },
    Delete {
        account: String,
        campaign_id: String,
        reply: Reply<bool>,
    },
    Checkpoint {
        reply: Reply<u64>,
    },
}

/// State shared by readers and the writer thread.
struct Shared {
    dir: PathBuf,
    options: SqliteOptions,
    engines: RwLock<HashMap<String, Arc<RwLock<Engine>>>>,
    campaigns: RwLock<BTreeMap<String, Campaign>>,
    /// (account, campaign) → the page its first hinted events came from.
    campaign_pages: RwLock<HashMap<(String, String), String>>,
    rates: RwLock<RateCard>,
    last_seq: AtomicU64,
    checkpoint_seq: AtomicU64,
    events_logged: AtomicU64,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A panic elsewhere never leaves these structures half-updated (every update is a single call),
    // so a poisoned lock is still safe to use.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn engine(&self, account: &str) -> Option<Arc<RwLock<Engine>>> {
        read(&self.engines).get(account).cloned()
    }

    fn engine_or_new(&self, account: &str) -> Arc<RwLock<Engine>> {
        if let Some(e) = self.engine(account) {
            return e;
        }
        write(&self.engines)
            .entry(account.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(Engine::new(self.options.engine.clone()))))
            .clone()
    }
}

/// The embedded store.
pub struct SqliteStore {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<Op>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (or creates) a store in `dir`: loads the checkpoint, replays the log after it.
    pub fn open(dir: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)?;
        let conn = schema::open(&dir.join("store.sqlite3"))?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            options,
            engines: RwLock::new(HashMap::new()),
            campaigns: RwLock::new(BTreeMap::new()),
            campaign_pages: RwLock::new(HashMap::new()),
            rates: RwLock::new(RateCard::empty()),
            last_seq: AtomicU64::new(0),
            checkpoint_seq: AtomicU64::new(0),
            events_logged: AtomicU64::new(0),
        });
        load(&conn, &shared)?;
        let (tx, rx) = mpsc::channel();
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, writer_shared, rx))?;
        Ok(SqliteStore {
            shared,
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Pending<T> {
        let (reply, pending) = tokio::sync::oneshot::channel();
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        match sender.as_ref() {
            Some(s) => {
                // A send error means the writer is gone; the dropped reply reports Closed.
                let _ = s.send(make(reply));
            }
            None => {
                let _ = reply.send(Err(StoreError::Closed));
            }
        }
        pending
    }

    /// Stops the writer after it has written a final checkpoint. Further writes fail with `Closed`.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store for SqliteStore {
    fn create_campaign(&self, new: NewCampaign) -> Pending<Campaign> {
        self.submit(|reply| Op::Create { new, reply })
    }

    fn sync_campaigns(&self, placement: Placement, now_ms: i64) -> Pending<Vec<Campaign>> {
        self.submit(|reply| Op::Sync {
            placement,
            now_ms,
            reply,
        })
    }

    fn delete_campaign(&self, account_uid: &str, campaign_id: &str) -> Pending<bool> {
        self.submit(|reply| Op::Delete {
            account: account_uid.to_string(),
            campaign_id: campaign_id.to_string(),
            reply,
        })
    }

    fn campaign(&self, campaign_id: &str) -> Option<Campaign> {
        read(&self.shared.campaigns).get(campaign_id).cloned()
    }

    fn list_campaigns(&self, filter: &CampaignFilter, offset: u64, limit: u64) -> CampaignPage {
        let campaigns = read(&self.shared.campaigns);
        let mut matching: Vec<&Campaign> =
            campaigns.values().filter(|c| filter.matches(c)).collect();
        // Newest first; ids break ties so pages are stable.
        matching.sort_by(|a, b| {
            b.create_time_ms
                .cmp(&a.create_time_ms)
                .then_with(|| b.campaign_id.cmp(&a.campaign_id))
        });
        let total = matching.len() as u64;
        let campaigns = matching
            .into_iter()
            .skip(offset.min(usize::MAX as u64) as usize)
            .take(limit.min(usize::MAX as u64) as usize)
            .cloned()
            .collect();
        CampaignPage { campaigns, total }
    }

    fn append(
        &self,
        account_uid: &str,
        page_hint: Option<&str>,
        events: Vec<Event>,
    ) -> Pending<AppendReceipt> {
        self.submit(|reply| Op::Append {
            account: account_uid.to_string(),
            page_hint: page_hint.map(str::to_string),
            events,
            reply,
        })
    }

    fn set_recipient_countries(
        &self,
        account_uid: &str,
        entries: Vec<(String, CountryCode)>,
    ) -> Pending<u64> {
        self.submit(|reply| Op::Directory {
            account: account_uid.to_string(),
            entries,
            reply,
        })
    }

    fn add_rate_card(&self, csv: &str, effective_from: NaiveDate) -> Pending<()> {
        self.submit(|reply| Op::RateCard {
            csv: csv.to_string(),
            effective_from,
            reply,
        })
    }

    fn insights(&self, account_uid: &str, campaign_id: &str, query: &Query) -> Vec<Row> {
        let rates = read(&self.shared.rates);
        match self.shared.engine(account_uid) {
            Some(engine) => read(&engine).query(campaign_id, query, &rates),
            None => {
                Engine::new(self.shared.options.engine.clone()).query(campaign_id, query, &rates)
            }
        }
    }

    fn campaign_ids_with_events(&self, account_uid: &str) -> Vec<String> {
        match self.shared.engine(account_uid) {
            Some(engine) => read(&engine).campaign_ids(),
            None => Vec::new(),
        }
    }

    fn first_event_ms(&self, account_uid: &str, campaign_id: &str) -> Option<i64> {
        self.shared
            .engine(account_uid)
            .and_then(|e| read(&e).first_event_ms(campaign_id))
    }

    fn rate_card(&self) -> RateCard {
        read(&self.shared.rates).clone()
    }

    fn stats(&self) -> StoreStats {
        let engines = read(&self.shared.engines);
        let (mut messages, mut heap) = (0u64, 0u64);
        for e in engines.values() {
            let e = read(e);
            messages += e.message_count() as u64;
            heap += e.heap_bytes_estimate() as u64;
        }
        StoreStats {
            accounts: engines.len() as u64,
            campaigns: read(&self.shared.campaigns).len() as u64,
            messages,
            events_logged: self.shared.events_logged.load(Ordering::Relaxed),
            engine_heap_bytes: heap,
            last_seq: self.shared.last_seq.load(Ordering::Relaxed),
            checkpoint_seq: self.shared.checkpoint_seq.load(Ordering::Relaxed),
        }
    }

    fn checkpoint(&self) -> Pending<u64> {
        self.submit(|reply| Op::Checkpoint { reply })
    }
}

/// Loads campaigns, pages, rate cards, the checkpoint, and replays the log after it.
fn load(conn: &Connection, shared: &Shared) -> Result<(), StoreError> {
    {
        let mut campaigns = write(&shared.campaigns);
        let mut stmt = conn.prepare(
            "SELECT campaign_id, account_uid, cust_space_id, page_id, ad_account_id, name, budget_type, budget, status, create_time_ms FROM campaigns",
        )?;
        let rows = stmt.query_map([], schema::campaign_from_row)?;
        for row in rows {
            let c = row??;
            campaigns.insert(c.campaign_id.clone(), c);
        }
    }
    {
        let mut pages = write(&shared.campaign_pages);
        let mut stmt =
            conn.prepare("SELECT account_uid, campaign_id, page_id FROM campaign_pages")?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        for row in rows {
            let (k, v) = row?;
            pages.insert(k, v);
        }
    }
    {
        let mut rates = write(&shared.rates);
        let mut stmt = conn.prepare("SELECT effective_from, csv FROM rate_cards ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (from, csv) = row?;
            let from = NaiveDate::parse_from_str(&from, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("rate card date {from}")))?;
            rates.add_csv(&csv, from)?;
        }
    }
    let from_seq = match checkpoint::read(&shared.dir, &shared.options.engine)? {
        Some((seq, engines)) => {
            let mut map = write(&shared.engines);
            for (account, engine) in engines {
                map.insert(account, Arc::new(RwLock::new(engine)));
            }
            seq
        }
        None => 0,
    };
    shared.checkpoint_seq.store(from_seq, Ordering::Relaxed);
    let mut stmt =
        conn.prepare("SELECT seq, account_uid, kind, data FROM log WHERE seq > ?1 ORDER BY seq")?;
    let mut rows = stmt.query(params![from_seq as i64])?;
    let mut last = from_seq;
    let mut replayed = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let account: String = row.get(1)?;
        let kind: i64 = row.get(2)?;
        let data: Vec<u8> = row.get(3)?;
        let engine = shared.engine_or_new(&account);
        let mut engine = write(&engine);
        match kind {
            LOG_EVENTS => {
                let events = codec::decode(&data)
                    .map_err(|e| StoreError::Corrupt(format!("log row {seq}: {e}")))?;
                replayed += events.len() as u64;
                for e in &events {
                    engine.apply(e);
                }
            }
            LOG_DIRECTORY => {
                for (recipient, country) in decode_directory(&data)
                    .ok_or_else(|| StoreError::Corrupt(format!("log row {seq}: directory")))?
                {
                    engine.set_recipient_country(&recipient, country);
                }
            }
            other => return Err(StoreError::Corrupt(format!("log row {seq}: kind {other}"))),
        }
        last = seq as u64;
    }
    let total: i64 = conn.query_row(
        "SELECT COALESCE(SUM(count), 0) FROM log WHERE kind = 0",
        [],
        |r| r.get(0),
    )?;
    shared.events_logged.store(total as u64, Ordering::Relaxed);
    let max_seq: Option<i64> = conn
        .query_row("SELECT MAX(seq) FROM log", [], |r| r.get(0))
        .optional()?
        .flatten();
    shared
        .last_seq
        .store(last.max(max_seq.unwrap_or(0) as u64), Ordering::Relaxed);
    if replayed > 0 {
        tracing::info!(replayed, from_seq, "replayed the log after the checkpoint");
    }
    Ok(())
}

fn encode_directory(entries: &[(String, CountryCode)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (recipient, country) in entries {
        out.extend_from_slice(country.to_string().as_bytes());
        out.extend_from_slice(recipient.as_bytes());
        out.push(b'\n');
    }
    out
}

fn decode_directory(data: &[u8]) -> Option<Vec<(String, CountryCode)>> {
    let text = std::str::from_utf8(data).ok()?;
    text.lines()
        .map(|line| {
            let code = line.get(0..2)?;
            let recipient = line.get(2..)?;
            Some((recipient.to_string(), code.parse().ok()?))
        })
        .collect()
}

/// Outcomes staged inside the transaction, delivered after the commit.
enum Staged {
    Append {
        account: String,
        events: Vec<Event>,
        reply: Reply<AppendReceipt>,
        seq: u64,
    },
    Directory {
        account: String,
        entries: Vec<(String, CountryCode)>,
        reply: Reply<u64>,
    },
    RateCard {
        card: RateCard,
        reply: Reply<()>,
    },
    Campaigns {
        campaigns: Vec<Campaign>,
        reply: CampaignReply,
    },
    Deleted {
        campaign: Option<Campaign>,
        reply: Reply<bool>,
    },
    Checkpoint {
        reply: Reply<u64>,
    },
    Failed,
}

enum CampaignReply {
    One(Reply<Campaign>),
    Many(Reply<Vec<Campaign>>),
}

/// Most operations taken into one transaction.
const MAX_GROUP_OPS: usize = 512;
/// Most events taken into one transaction (bounds the time a commit keeps others waiting).
const MAX_GROUP_EVENTS: usize = 1_000_000;

fn writer_loop(mut conn: Connection, shared: Arc<Shared>, rx: mpsc::Receiver<Op>) {
    let mut since_checkpoint = 0u64;
    while let Ok(first) = rx.recv() {
        let mut ops = vec![first];
        let mut events: usize = op_events(&ops[0]);
        while ops.len() < MAX_GROUP_OPS && events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(op) => {
                    events += op_events(&op);
                    ops.push(op);
                }
                Err(_) => break,
            }
        }
        let staged = run_group(&mut conn, &shared, ops);
        let mut wants_checkpoint = Vec::new();
        for s in staged {
            match s {
                Staged::Append {
                    account,
                    events,
                    reply,
                    seq,
                } => {
                    let engine = shared.engine_or_new(&account);
                    let mut changed = 0u64;
                    {
                        let mut engine = write(&engine);
                        for e in &events {
                            if engine.apply(e) == insights::Applied::Changed {
                                changed += 1;
                            }
                        }
                    }
                    since_checkpoint += events.len() as u64;
                    shared
                        .events_logged
                        .fetch_add(events.len() as u64, Ordering::Relaxed);
                    let _ = reply.send(Ok(AppendReceipt {
                        accepted: events.len() as u64,
                        changed,
                        seq,
                    }));
                }
                Staged::Directory {
                    account,
                    entries,
                    reply,
                } => {
                    let engine = shared.engine_or_new(&account);
                    let mut engine = write(&engine);
                    for (recipient, country) in &entries {
                        engine.set_recipient_country(recipient, *country);
                    }
                    let _ = reply.send(Ok(entries.len() as u64));
                }
                Staged::RateCard { card, reply } => {
                    *write(&shared.rates) = card;
                    let _ = reply.send(Ok(()));
                }
                Staged::Campaigns { campaigns, reply } => {
                    let mut map = write(&shared.campaigns);
                    for c in &campaigns {
                        map.insert(c.campaign_id.clone(), c.clone());
                    }
                    drop(map);
                    match reply {
                        CampaignReply::One(r) => {
                            let _ = match campaigns.into_iter().next() {
                                Some(c) => r.send(Ok(c)),
                                None => {
                                    r.send(Err(StoreError::Corrupt("no campaign staged".into())))
                                }
                            };
                        }
                        CampaignReply::Many(r) => {
                            let _ = r.send(Ok(campaigns));
                        }
                    }
                }
                Staged::Deleted { campaign, reply } => {
                    let found = campaign.is_some();
                    if let Some(c) = campaign {
                        write(&shared.campaigns).insert(c.campaign_id.clone(), c);
                    }
                    let _ = reply.send(Ok(found));
                }
                Staged::Checkpoint { reply } => wants_checkpoint.push(reply),
                Staged::Failed => {}
            }
        }
        if !wants_checkpoint.is_empty()
            || since_checkpoint >= shared.options.checkpoint_every_events
        {
            let result = write_checkpoint(&shared);
            since_checkpoint = 0;
            for reply in wants_checkpoint {
                let _ = reply.send(match &result {
                    Ok(seq) => Ok(*seq),
                    Err(e) => Err(StoreError::Corrupt(format!("checkpoint failed: {e}"))),
                });
            }
        }
    }
    // Closed: leave a checkpoint so the next open replays nothing.
    if let Err(e) = write_checkpoint(&shared) {
        tracing::error!(error = %e, "final checkpoint failed");
    }
}

fn write_checkpoint(shared: &Shared) -> Result<u64, StoreError> {
    let seq = shared.last_seq.load(Ordering::Relaxed);
    if seq == shared.checkpoint_seq.load(Ordering::Relaxed) && checkpoint::exists(&shared.dir) {
        return Ok(seq);
    }
    let engines: Vec<(String, Arc<RwLock<Engine>>)> = read(&shared.engines)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let started = std::time::Instant::now();
    checkpoint::write(&shared.dir, seq, &engines)?;
    shared.checkpoint_seq.store(seq, Ordering::Relaxed);
    tracing::info!(
        seq,
        millis = started.elapsed().as_millis() as u64,
        "checkpoint written"
    );
    Ok(seq)
}

fn op_events(op: &Op) -> usize {
    match op {
        Op::Append { events, .. } => events.len(),
        Op::Directory { entries, .. } => entries.len(),
        _ => 1,
    }
}

/// A fresh campaign id: 18 digits starting `1202`, as Meta's campaign ids look.
fn new_campaign_id(taken: impl Fn(&str) -> bool) -> String {
    loop {
        let mut buf = [0u8; 8];
        getrandom::fill(&mut buf).expect("the OS random source works");
        let n = u64::from_le_bytes(buf) % 100_000_000_000_000;
        let id = format!("1202{n:014}");
        if !taken(&id) {
            return id;
        }
    }
}

/// Runs a group of operations in one transaction. On a commit failure every operation gets the error.
fn run_group(conn: &mut Connection, shared: &Shared, ops: Vec<Op>) -> Vec<Staged> {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(ops, &e.to_string());
            return Vec::new();
        }
    };
    let mut staged = Vec::with_capacity(ops.len());
    // Campaign ids created, synced or deleted earlier in this group: the in-memory map only
    // learns of them after the commit, so the group keeps its own record.
    let mut touched_ids: HashSet<String> = HashSet::new();
    let mut seq = shared.last_seq.load(Ordering::Relaxed);
    let mut pending_pages: Vec<((String, String), String)> = Vec::new();
    for op in ops {
        staged.push(stage(
            &tx,
            shared,
            op,
            &mut seq,
            &mut touched_ids,
            &mut pending_pages,
        ));
    }
    match tx.commit() {
        Ok(()) => {
            shared.last_seq.store(seq, Ordering::Relaxed);
            if !pending_pages.is_empty() {
                let mut pages = write(&shared.campaign_pages);
                for (k, v) in pending_pages {
                    pages.entry(k).or_insert(v);
                }
            }
            staged
        }
        Err(e) => {
            let message = e.to_string();
            for s in staged {
                fail_staged(s, &message);
            }
            Vec::new()
        }
    }
}

fn stage(
    tx: &rusqlite::Transaction<'_>,
    shared: &Shared,
    op: Op,
    seq: &mut u64,
    touched_ids: &mut HashSet<String>,
    pending_pages: &mut Vec<((String, String), String)>,
) -> Staged {
    match op {
        Op::Append {
            account,
            page_hint,
            events,
            reply,
        } => {
            let data = codec::encode(&events);
            let next = *seq + 1;
            let r = tx.execute(
                "INSERT INTO log (seq, account_uid, kind, count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![next as i64, account, LOG_EVENTS, events.len() as i64, data],
            );
            if let Err(e) = r {
                return fail(reply, e.into());
            }
            *seq = next;
            if let Some(page) = page_hint {
                let known = read(&shared.campaign_pages);
                let mut seen = HashSet::new();
                for e in &events {
                    let key = (account.clone(), e.campaign_id.clone());
                    if !known.contains_key(&key) && seen.insert(e.campaign_id.as_str()) {
                        let _ = tx.execute(
                            "INSERT OR IGNORE INTO campaign_pages (account_uid, campaign_id, page_id) VALUES (?1, ?2, ?3)",
                            params![account, e.campaign_id, page],
                        );
                        pending_pages.push((key, page.clone()));
                    }
                }
            }
            Staged::Append {
                account,
                events,
                reply,
                seq: next,
            }
        }
        Op::Directory {
            account,
            entries,
            reply,
        } => {
            let next = *seq + 1;
            let r = tx.execute(
                "INSERT INTO log (seq, account_uid, kind, count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    next as i64,
                    account,
                    LOG_DIRECTORY,
                    entries.len() as i64,
                    encode_directory(&entries)
                ],
            );
            match r {
                Ok(_) => {
                    *seq = next;
                    Staged::Directory {
                        account,
                        entries,
                        reply,
                    }
                }
                Err(e) => fail(reply, e.into()),
            }
        }
        Op::RateCard {
            csv,
            effective_from,
            reply,
        } => {
            let mut card = read(&shared.rates).clone();
            if let Err(e) = card.add_csv(&csv, effective_from) {
                return fail(reply, e.into());
            }
            let r = tx.execute(
                "INSERT INTO rate_cards (effective_from, csv) VALUES (?1, ?2)",
                params![effective_from.format("%Y-%m-%d").to_string(), csv],
            );
            match r {
                Ok(_) => Staged::RateCard { card, reply },
                Err(e) => fail(reply, e.into()),
            }
        }
        Op::Create { new, reply } => {
            let campaigns = read(&shared.campaigns);
            let id = new_campaign_id(|id| campaigns.contains_key(id) || touched_ids.contains(id));
            drop(campaigns);
            let campaign = Campaign {
                campaign_id: id.clone(),
                placement: new.placement.clone(),
                name: new.name.clone(),
                budget_type: new.budget_type,
                budget: new.budget,
                status: CampaignStatus::Available,
                create_time_ms: new.create_time_ms,
            };
            match schema::insert_campaign(tx, &campaign) {
                Ok(()) => {
                    touched_ids.insert(id);
                    Staged::Campaigns {
                        campaigns: vec![campaign],
                        reply: CampaignReply::One(reply),
                    }
                }
                Err(e) => fail(reply, e.into()),
            }
        }
        Op::Sync {
            placement,
            now_ms,
            reply,
        } => {
            let candidates: Vec<String> = match shared.engine(&placement.account_uid) {
                Some(engine) => read(&engine).campaign_ids(),
                None => Vec::new(),
            };
            let campaigns = read(&shared.campaigns);
            let pages = read(&shared.campaign_pages);
            let mut registered = Vec::new();
            for id in candidates {
                if campaigns.contains_key(&id) || touched_ids.contains(&id) || !is_campaign_id(&id)
                {
                    continue;
                }
                let hinted = pages.get(&(placement.account_uid.clone(), id.clone()));
                if hinted.is_some_and(|p| *p != placement.page_id) {
                    continue;
                }
                registered.push(Campaign {
                    campaign_id: id.clone(),
                    placement: placement.clone(),
                    name: format!("Synced campaign {id}"),
                    budget_type: BudgetType::Lifetime,
                    budget: 0,
                    status: CampaignStatus::Available,
                    create_time_ms: now_ms,
                });
            }
            drop((campaigns, pages));
            for c in &registered {
                if let Err(e) = schema::insert_campaign(tx, c) {
                    return fail(reply, e.into());
                }
            }
            for c in &registered {
                touched_ids.insert(c.campaign_id.clone());
            }
            Staged::Campaigns {
                campaigns: registered,
                reply: CampaignReply::Many(reply),
            }
        }
        Op::Delete {
            account,
            campaign_id,
            reply,
        } => {
            if touched_ids.contains(&campaign_id) {
                // Deleted by an earlier operation of this same group.
                return Staged::Deleted {
                    campaign: None,
                    reply,
                };
            }
            let current = read(&shared.campaigns).get(&campaign_id).cloned();
            let target = current.filter(|c| {
                c.placement.account_uid == account && c.status == CampaignStatus::Available
            });
            let Some(mut campaign) = target else {
                return Staged::Deleted {
                    campaign: None,
                    reply,
                };
            };
            campaign.status = CampaignStatus::Deleted;
            match tx.execute(
                "UPDATE campaigns SET status = ?1 WHERE campaign_id = ?2",
                params![campaign.status.as_str(), campaign.campaign_id],
            ) {
                Ok(_) => {
                    touched_ids.insert(campaign.campaign_id.clone());
                    Staged::Deleted {
                        campaign: Some(campaign),
                        reply,
                    }
                }
                Err(e) => fail(reply, e.into()),
            }
        }
        Op::Checkpoint { reply } => Staged::Checkpoint { reply },
    }
}

/// Answers an operation's error at once; nothing of it is staged.
fn fail<T>(reply: Reply<T>, e: StoreError) -> Staged {
    let _ = reply.send(Err(e));
    Staged::Failed
}

/// Campaign ids are numeric strings; anything else found in events is not registrable.
pub fn is_campaign_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

fn reply_err(op: Op, e: StoreError) {
    match op {
        Op::Append { reply, .. } => drop(reply.send(Err(e))),
        Op::Directory { reply, .. } => drop(reply.send(Err(e))),
        Op::RateCard { reply, .. } => drop(reply.send(Err(e))),
        Op::Create { reply, .. } => drop(reply.send(Err(e))),
        Op::Sync { reply, .. } => drop(reply.send(Err(e))),
        Op::Delete { reply, .. } => drop(reply.send(Err(e))),
        Op::Checkpoint { reply } => drop(reply.send(Err(e))),
    }
}

fn fail_all(ops: Vec<Op>, message: &str) {
    for op in ops {
        reply_err(
            op,
            StoreError::Corrupt(format!("transaction failed: {message}")),
        );
    }
}

fn fail_staged(s: Staged, message: &str) {
    let e = || StoreError::Corrupt(format!("commit failed: {message}"));
    match s {
        Staged::Append { reply, .. } => drop(reply.send(Err(e()))),
        Staged::Directory { reply, .. } => drop(reply.send(Err(e()))),
        Staged::RateCard { reply, .. } => drop(reply.send(Err(e()))),
        Staged::Campaigns { reply, .. } => match reply {
            CampaignReply::One(r) => drop(r.send(Err(e()))),
            CampaignReply::Many(r) => drop(r.send(Err(e()))),
        },
        Staged::Deleted { reply, .. } => drop(reply.send(Err(e()))),
        Staged::Checkpoint { reply } => drop(reply.send(Err(e()))),
        Staged::Failed => {}
    }
}
