//! Storage of cams-insights: an ordered durable log of every state change, folded into in-memory engines.
//!
//! - [`Entry`]: one state change (events, recipient countries, a rate card, a campaign created, synced or
//!   deleted). [`codec`] gives entries and event batches their binary form.
//! - [`LogBackend`]: stores entries durably in one order and has the host fold them. Backends:
//!   [`sqlite`] (embedded, the default; nothing to install) and, with the `jetstream` feature, `jetstream`
//!   (cluster mode: a replicated NATS JetStream stream). A backend only stores and replays entries; every
//!   rule lives above it.
//! - [`EngineHost`]: folds entries into one metrics engine per account and the campaign [`Catalog`]
//!   (whose rules are pure functions), checkpoints, and answers reads from memory.
//! - [`Store`]: what the server uses — writes become proposals answered once durable and applied (so a
//!   write is visible to the next read), reads go to the host.
//!
//! Writes return a [`Pending`] answer: the caller awaits it (async) or blocks on it. Many concurrent
//! writers share one commit (group commit).
//!
//! Each account has its own metrics engine: one tenant's events, recipient directory and campaigns never
//! touch another's numbers.
//!
//! With the `conformance` feature, [`conformance`] is the test suite every backend runs.

pub mod catalog;
mod checkpoint;
pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod entry;
mod host;
#[cfg(feature = "jetstream")]
pub mod jetstream;
mod log;
mod model;
pub mod sqlite;

pub use catalog::{is_campaign_id, Catalog};
pub use entry::{Entry, Outcome};
pub use host::{EngineHost, HostOptions};
pub use log::{Answer, Committed, LogBackend, Proposal};
pub use model::*;

use std::sync::Arc;

use chrono::NaiveDate;
use insights::{CountryCode, Event, Query, RateCard, Row};

/// Why a store operation failed. Callers map these onto API codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("campaign {0} is already registered")]
    CampaignExists(String),
    #[error("invalid rate card: {0}")]
    RateCard(#[from] insights::RateCardError),
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("the log is unavailable: {0}")]
    Unavailable(String),
    #[error("the store is closed")]
    Closed,
}

/// A write on its way to durability.
pub type Pending<T> = tokio::sync::oneshot::Receiver<Result<T, StoreError>>;

/// Waits for a pending write from synchronous code (not inside an async runtime's worker).
pub fn wait<T>(pending: Pending<T>) -> Result<T, StoreError> {
    pending.blocking_recv().unwrap_or(Err(StoreError::Closed))
}

/// Waits for a pending write from async code.
pub async fn wait_async<T>(pending: Pending<T>) -> Result<T, StoreError> {
    pending.await.unwrap_or(Err(StoreError::Closed))
}

/// A pending answer that is already known.
fn ready<T>(result: Result<T, StoreError>) -> Pending<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = tx.send(result);
    rx
}

/// An outcome that does not fit the entry it answers: a bug, reported rather than hidden.
fn unexpected<T>(outcome: Outcome) -> Result<T, StoreError> {
    Err(StoreError::Corrupt(format!(
        "unexpected outcome {outcome:?}"
    )))
}

/// The storage the server runs on: a log backend and the host that folds it.
pub struct Store {
    host: Arc<EngineHost>,
    log: Box<dyn LogBackend>,
}

impl Store {
    /// A store over a backend that folds into `host`.
    pub fn new(host: Arc<EngineHost>, log: Box<dyn LogBackend>) -> Store {
        Store { host, log }
    }

    /// The host (for reads).
    pub fn host(&self) -> &Arc<EngineHost> {
        &self.host
    }

    fn propose<T: Send + 'static>(
        &self,
        entry: Entry,
        map: impl FnOnce(Committed) -> Result<T, StoreError> + Send + 'static,
    ) -> Pending<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.propose(vec![Proposal {
            entry,
            answer: Box::new(move |result| {
                let _ = tx.send(result.and_then(map));
            }),
        }]);
        rx
    }

    // --- campaigns ---

    /// Registers a new campaign; the fold gives it a fresh id.
    pub fn create_campaign(&self, new: NewCampaign) -> Pending<Campaign> {
        self.propose(Entry::CreateCampaign(new), |c| match c.outcome {
            Outcome::Registered(campaign) => Ok(campaign),
            other => unexpected(other),
        })
    }

    /// Registers campaigns found in an account's events but not registered yet, for a page/ad account
    /// (`SyncMessageCampaign`). Returns those registered.
    pub fn sync_campaigns(&self, placement: Placement, now_ms: i64) -> Pending<Vec<Campaign>> {
        self.propose(Entry::SyncCampaigns { placement, now_ms }, |c| {
            match c.outcome {
                Outcome::Synced(campaigns) => Ok(campaigns),
                other => unexpected(other),
            }
        })
    }

    /// Marks a campaign deleted; `false` when there is no such available campaign in that account.
    pub fn delete_campaign(&self, account_uid: &str, campaign_id: &str) -> Pending<bool> {
        self.propose(
            Entry::DeleteCampaign {
                account: account_uid.to_string(),
                campaign_id: campaign_id.to_string(),
            },
            |c| match c.outcome {
                Outcome::Deleted(found) => Ok(found),
                other => unexpected(other),
            },
        )
    }

    /// A campaign by id, whatever its account or status.
    pub fn campaign(&self, campaign_id: &str) -> Option<Arc<Campaign>> {
        self.host.campaign(campaign_id)
    }

    /// Campaigns matching a filter, newest first, `offset`/`limit` applied after filtering.
    pub fn list_campaigns(&self, filter: &CampaignFilter, offset: u64, limit: u64) -> CampaignPage {
        self.host.list_campaigns(filter, offset, limit)
    }

    // --- events and reference data ---

    /// Appends validated events of an account. `page_hint` is the page they came from when known
    /// (webhooks), used by `sync_campaigns`.
    pub fn append(
        &self,
        account_uid: &str,
        page_hint: Option<&str>,
        events: Vec<Event>,
    ) -> Pending<AppendReceipt> {
        self.propose(
            Entry::Events {
                account: account_uid.to_string(),
                page_hint: page_hint.map(str::to_string),
                events,
            },
            |c| match c.outcome {
                Outcome::Events { accepted, changed } => Ok(AppendReceipt {
                    accepted,
                    changed,
                    seq: c.seq,
                }),
                other => unexpected(other),
            },
        )
    }

    /// Sets recipient countries (the recipient directory) of an account.
    pub fn set_recipient_countries(
        &self,
        account_uid: &str,
        entries: Vec<(String, CountryCode)>,
    ) -> Pending<u64> {
        self.propose(
            Entry::RecipientCountries {
                account: account_uid.to_string(),
                entries,
            },
            |c| match c.outcome {
                Outcome::RecipientCountries(n) => Ok(n),
                other => unexpected(other),
            },
        )
    }

    /// Adds a rate card file (CSV) effective from a date. A file that does not parse is refused before
    /// anything is logged.
    pub fn add_rate_card(&self, csv: &str, effective_from: NaiveDate) -> Pending<()> {
        let mut check = RateCard::clone(&self.host.rate_card());
        if let Err(e) = check.add_csv(csv, effective_from) {
            return ready(Err(e.into()));
        }
        self.propose(
            Entry::RateCard {
                csv: csv.to_string(),
                effective_from,
            },
            |c| match c.outcome {
                Outcome::RateCard(true) => Ok(()),
                Outcome::RateCard(false) => {
                    Err(StoreError::Corrupt("the rate card did not apply".into()))
                }
                other => unexpected(other),
            },
        )
    }

    // --- reads ---

    /// The insights rows of a campaign of an account.
    pub fn insights(&self, account_uid: &str, campaign_id: &str, query: &Query) -> Vec<Row> {
        self.host.insights(account_uid, campaign_id, query)
    }

    /// Every campaign id the account's events mention (registered or not).
    pub fn campaign_ids_with_events(&self, account_uid: &str) -> Vec<String> {
        self.host.campaign_ids_with_events(account_uid)
    }

    /// The earliest event time of a campaign of an account.
    pub fn first_event_ms(&self, account_uid: &str, campaign_id: &str) -> Option<i64> {
        self.host.first_event_ms(account_uid, campaign_id)
    }

    /// The current rate card.
    pub fn rate_card(&self) -> Arc<RateCard> {
        self.host.rate_card()
    }

    /// Numbers about the store.
    pub fn stats(&self) -> StoreStats {
        let mut stats = self.host.stats();
        stats.last_seq = stats.last_seq.max(self.log.last_seq());
        stats
    }

    // --- lifecycle ---

    /// Writes a checkpoint now (restart then replays only what follows).
    pub fn checkpoint(&self) -> Pending<u64> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.checkpoint(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx
    }

    /// The whole folded state as bytes (a checkpoint's format): a checkpoint is written now, between
    /// entries, and read back, so the bytes are one consistent prefix of the log.
    pub fn saved_state(&self) -> Pending<Vec<u8>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let Some(dir) = self.log.state_dir().map(std::path::Path::to_path_buf) else {
            let _ = tx.send(Err(StoreError::Unavailable(
                "this storage keeps no checkpoints".into(),
            )));
            return rx;
        };
        // Read as soon as the fold has written it (a later checkpoint replacing it meanwhile would be
        // whole and later, so still consistent).
        self.log.checkpoint(Box::new(move |r| {
            let _ = tx.send(r.and_then(|_| checkpoint::read_bytes(&dir)));
        }));
        rx
    }

    /// Replaces the whole state with a saved one, through the log (every node folds it in order with
    /// the other writes). The bytes are checked first: bad ones are refused and nothing changes.
    pub fn restore(&self, state: Vec<u8>) -> Result<Pending<bool>, StoreError> {
        self.host.check_state(&state)?;
        Ok(self.propose(Entry::Restore { state }, |c| match c.outcome {
            Outcome::Replaced(done) => Ok(done),
            other => unexpected(other),
        }))
    }

    /// Drops the whole state, through the log.
    pub fn reset(&self) -> Pending<bool> {
        self.propose(Entry::Reset, |c| match c.outcome {
            Outcome::Replaced(done) => Ok(done),
            other => unexpected(other),
        })
    }

    /// How far this node's fold is behind the log, in log messages (cluster mode; 0 otherwise).
    pub fn lag(&self) -> u64 {
        self.log.lag()
    }

    /// Whether the log is reachable and its fold going on.
    pub fn healthy(&self) -> bool {
        self.log.healthy()
    }

    /// Resolves once everything the log held when called is applied on this node (a linearizable
    /// read waits for it first).
    pub fn read_barrier(&self) -> Pending<u64> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.barrier(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx
    }

    /// Stops the log after a final checkpoint. Further writes fail with `Closed`.
    pub fn close(&self) {
        self.log.close();
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.log.close();
    }
}
