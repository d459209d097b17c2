//! The engine host: folds the ordered log into per-account engines and the campaign catalog, and answers
//! reads from memory. The same code for every log backend.
//!
//! Entries are applied by one thread at a time (the backend's fold), in log order; readers never wait for
//! more than one entry's application. Checkpoints (`checkpoint.bin` in a local directory) hold everything
//! the fold built and the sequence number it covers, so a restart replays only the log after it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDate;
use insights::{Engine, EngineConfig, Query, RateCard, Row};

use crate::catalog::Catalog;
use crate::checkpoint;
use crate::entry::{Entry, Outcome};
use crate::model::{Campaign, CampaignFilter, CampaignPage, StoreStats};
use crate::StoreError;

/// Settings of the fold.
#[derive(Debug, Clone)]
pub struct HostOptions {
    pub engine: EngineConfig,
    /// Write a checkpoint after this many applied events (and on close).
    pub checkpoint_every_events: u64,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            engine: EngineConfig::default(),
            checkpoint_every_events: 20_000_000,
        }
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // Every update is a single call that leaves the structure whole, so a lock poisoned by a panic
    // elsewhere is still safe to use.
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// Everything the fold builds.
pub struct EngineHost {
    options: HostOptions,
    engines: RwLock<HashMap<String, Arc<RwLock<Engine>>>>,
    catalog: RwLock<Catalog>,
    rates: RwLock<Arc<RateCard>>,
    /// The rate card files in the order applied (the checkpoint keeps them; the card is rebuilt).
    rate_sources: Mutex<Vec<(NaiveDate, String)>>,
    applied_seq: AtomicU64,
    checkpoint_seq: AtomicU64,
    events_logged: AtomicU64,
    since_checkpoint: AtomicU64,
}

impl EngineHost {
    /// An empty host (nothing applied).
    pub fn new(options: HostOptions) -> EngineHost {
        EngineHost {
            options,
            engines: RwLock::new(HashMap::new()),
            catalog: RwLock::new(Catalog::default()),
            rates: RwLock::new(Arc::new(RateCard::empty())),
            rate_sources: Mutex::new(Vec::new()),
            applied_seq: AtomicU64::new(0),
            checkpoint_seq: AtomicU64::new(0),
            events_logged: AtomicU64::new(0),
            since_checkpoint: AtomicU64::new(0),
        }
    }

    /// The host as the checkpoint in `dir` left it, or an empty one when there is none.
    pub fn load(dir: &Path, options: HostOptions) -> Result<EngineHost, StoreError> {
        let host = EngineHost::new(options);
        if let Some(loaded) = checkpoint::read(dir, &host.options.engine)? {
            let seq = loaded.seq;
            host.install(loaded)?;
            host.applied_seq.store(seq, Ordering::Release);
            host.checkpoint_seq.store(seq, Ordering::Relaxed);
        }
        Ok(host)
    }

    /// Replaces everything the fold built with a loaded state (its rate card rebuilt first, so that a
    /// card that does not apply changes nothing). Sequence numbers are the caller's business.
    fn install(&self, loaded: checkpoint::Loaded) -> Result<(), StoreError> {
        let mut card = RateCard::empty();
        for (from, csv) in &loaded.rate_sources {
            card.add_csv(csv, *from)?;
        }
        *write(&self.rates) = Arc::new(card);
        *self.rate_sources.lock().unwrap_or_else(|p| p.into_inner()) = loaded.rate_sources;
        *write(&self.catalog) = loaded.catalog;
        *write(&self.engines) = loaded
            .engines
            .into_iter()
            .map(|(account, engine)| (account, Arc::new(RwLock::new(engine))))
            .collect();
        self.events_logged
            .store(loaded.events_logged, Ordering::Relaxed);
        Ok(())
    }

    /// Checks that `state` (a checkpoint's bytes) is one this version can install, without installing
    /// it.
    pub fn check_state(&self, state: &[u8]) -> Result<(), StoreError> {
        let loaded = checkpoint::decode(state, &self.options.engine)?;
        let mut card = RateCard::empty();
        for (from, csv) in &loaded.rate_sources {
            card.add_csv(csv, *from)?;
        }
        Ok(())
    }

    /// The fold's settings.
    pub fn options(&self) -> &HostOptions {
        &self.options
    }

    /// The sequence number of the last entry applied (0: none).
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq.load(Ordering::Acquire)
    }

    /// The sequence number the last checkpoint covers.
    pub fn checkpoint_seq(&self) -> u64 {
        self.checkpoint_seq.load(Ordering::Relaxed)
    }

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

    /// Applies the entry at `seq`. Entries must come in increasing sequence order, from one thread at a
    /// time; one at or below [`applied_seq`](Self::applied_seq) was applied already (a replay overlapping
    /// a checkpoint) and is skipped: `None`.
    pub fn apply(&self, seq: u64, entry: &Entry) -> Option<Outcome> {
        if seq <= self.applied_seq() {
            return None;
        }
        let outcome = match entry {
            Entry::Events {
                account,
                page_hint,
                events,
            } => {
                if let Some(page) = page_hint {
                    let mut catalog = write(&self.catalog);
                    for e in events {
                        catalog.note_page(account, &e.campaign_id, page);
                    }
                }
                let engine = self.engine_or_new(account);
                let mut changed = 0u64;
                {
                    let mut engine = write(&engine);
                    for e in events {
                        if engine.apply(e) == insights::Applied::Changed {
                            changed += 1;
                        }
                    }
                }
                let n = events.len() as u64;
                self.events_logged.fetch_add(n, Ordering::Relaxed);
                self.since_checkpoint.fetch_add(n, Ordering::Relaxed);
                Outcome::Events {
                    accepted: n,
                    changed,
                }
            }
            Entry::RecipientCountries { account, entries } => {
                let engine = self.engine_or_new(account);
                let mut engine = write(&engine);
                for (recipient, country) in entries {
                    engine.set_recipient_country(recipient, *country);
                }
                Outcome::RecipientCountries(entries.len() as u64)
            }
            Entry::RateCard {
                csv,
                effective_from,
            } => {
                let mut card = RateCard::clone(&read(&self.rates));
                match card.add_csv(csv, *effective_from) {
                    Ok(()) => {
                        *write(&self.rates) = Arc::new(card);
                        self.rate_sources
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((*effective_from, csv.clone()));
                        Outcome::RateCard(true)
                    }
                    Err(e) => {
                        tracing::warn!(seq, error = %e, "a logged rate card does not apply; skipped");
                        Outcome::RateCard(false)
                    }
                }
            }
            Entry::CreateCampaign(new) => {
                Outcome::Registered(write(&self.catalog).create(seq, new.clone()))
            }
            Entry::RegisterCampaign(c) => {
                if write(&self.catalog).register(c.clone()) {
                    Outcome::Registered(c.clone())
                } else {
                    Outcome::IdTaken(c.campaign_id.clone())
                }
            }
            Entry::SyncCampaigns { placement, now_ms } => {
                let ids = self.campaign_ids_with_events(&placement.account_uid);
                Outcome::Synced(write(&self.catalog).sync(
                    placement,
                    *now_ms,
                    ids.iter().map(String::as_str),
                ))
            }
            Entry::DeleteCampaign {
                account,
                campaign_id,
            } => Outcome::Deleted(write(&self.catalog).delete(account, campaign_id)),
            Entry::CampaignPage {
                account,
                campaign_id,
                page_id,
            } => {
                write(&self.catalog).note_page(account, campaign_id, page_id);
                Outcome::Noted
            }
            Entry::Reset => {
                let empty = checkpoint::Loaded {
                    seq: 0,
                    events_logged: 0,
                    catalog: Default::default(),
                    rate_sources: Vec::new(),
                    engines: Vec::new(),
                };
                Outcome::Replaced(self.install(empty).is_ok())
            }
            Entry::Restore { state } => {
                // Checked before it was logged, so this decodes; if it ever did not, nothing changes
                // (on every node alike, as decoding is deterministic).
                let installed = checkpoint::decode(state, &self.options.engine)
                    .and_then(|loaded| self.install(loaded));
                if let Err(e) = &installed {
                    tracing::error!(error = %e, seq, "a logged saved state did not install");
                }
                Outcome::Replaced(installed.is_ok())
            }
        };
        self.applied_seq.store(seq, Ordering::Release);
        Some(outcome)
    }

    /// Whether enough events were applied since the last checkpoint to write one.
    pub fn checkpoint_due(&self) -> bool {
        self.since_checkpoint.load(Ordering::Relaxed) >= self.options.checkpoint_every_events
    }

    /// Writes a checkpoint of everything applied so far into `dir` (atomically: a crash leaves the old
    /// one or the new one). Call it from the fold, between entries. Returns the sequence number it covers.
    pub fn write_checkpoint(&self, dir: &Path) -> Result<u64, StoreError> {
        let seq = self.applied_seq();
        if seq == self.checkpoint_seq() && checkpoint::exists(dir) {
            return Ok(seq);
        }
        let started = std::time::Instant::now();
        let engines: Vec<(String, Arc<RwLock<Engine>>)> = read(&self.engines)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let rate_sources = self
            .rate_sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        checkpoint::write(
            dir,
            &checkpoint::Snapshot {
                seq,
                events_logged: self.events_logged.load(Ordering::Relaxed),
                catalog: &read(&self.catalog),
                rate_sources: &rate_sources,
                engines: &engines,
            },
        )?;
        self.checkpoint_seq.store(seq, Ordering::Relaxed);
        self.since_checkpoint.store(0, Ordering::Relaxed);
        tracing::info!(
            seq,
            millis = started.elapsed().as_millis() as u64,
            "checkpoint written"
        );
        Ok(seq)
    }

    // --- reads ---

    /// A campaign by id, whatever its account or status.
    pub fn campaign(&self, campaign_id: &str) -> Option<Arc<Campaign>> {
        read(&self.catalog).campaign(campaign_id).cloned()
    }

    /// Campaigns matching a filter, newest first, `offset`/`limit` applied after filtering.
    pub fn list_campaigns(&self, filter: &CampaignFilter, offset: u64, limit: u64) -> CampaignPage {
        read(&self.catalog).list(filter, offset, limit)
    }

    /// The insights rows of a campaign of an account.
    pub fn insights(&self, account_uid: &str, campaign_id: &str, query: &Query) -> Vec<Row> {
        let rates = self.rate_card();
        match self.engine(account_uid) {
            Some(engine) => read(&engine).query(campaign_id, query, &rates),
            None => Engine::new(self.options.engine.clone()).query(campaign_id, query, &rates),
        }
    }

    /// Every campaign id the account's events mention (registered or not), sorted.
    pub fn campaign_ids_with_events(&self, account_uid: &str) -> Vec<String> {
        match self.engine(account_uid) {
            Some(engine) => read(&engine).campaign_ids(),
            None => Vec::new(),
        }
    }

    /// The earliest event time of a campaign of an account.
    pub fn first_event_ms(&self, account_uid: &str, campaign_id: &str) -> Option<i64> {
        self.engine(account_uid)
            .and_then(|e| read(&e).first_event_ms(campaign_id))
    }

    /// The current rate card.
    pub fn rate_card(&self) -> Arc<RateCard> {
        read(&self.rates).clone()
    }

    /// Numbers about what the host holds.
    pub fn stats(&self) -> StoreStats {
        let engines = read(&self.engines);
        let (mut messages, mut heap) = (0u64, 0u64);
        for e in engines.values() {
            let e = read(e);
            messages += e.message_count() as u64;
            heap += e.heap_bytes_estimate() as u64;
        }
        StoreStats {
            accounts: engines.len() as u64,
            campaigns: read(&self.catalog).len() as u64,
            messages,
            events_logged: self.events_logged.load(Ordering::Relaxed),
            engine_heap_bytes: heap,
            last_seq: self.applied_seq(),
            checkpoint_seq: self.checkpoint_seq(),
        }
    }
}
