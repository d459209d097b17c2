//! Storage of cams-insights.
//!
//! [`Store`] is what the server needs from storage: campaigns, a durable event log with the metrics
//! engine kept in step with it, the recipient directory, rate cards, and the insights query.
//! Backends: [`sqlite::SqliteStore`] (embedded, the default; nothing to install). Every backend runs
//! the same [`conformance`] suite.
//!
//! Writes return a [`Pending`] answer: the caller awaits it (async) or blocks on it, and it resolves
//! only once the write is durable. Many concurrent writers share one commit (group commit).
//!
//! Each account has its own metrics engine: one tenant's events, recipient directory and campaigns
//! never touch another's numbers.

pub mod codec;
pub mod conformance;
mod model;
pub mod sqlite;

pub use model::*;

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

/// The storage the server runs on.
pub trait Store: Send + Sync + 'static {
    // --- campaigns ---
    /// Registers a new campaign with a fresh id.
    fn create_campaign(&self, new: NewCampaign) -> Pending<Campaign>;
    /// Registers campaigns found in an account's events but not registered yet, for a page/ad account
    /// (`SyncMessageCampaign`). Returns those registered.
    fn sync_campaigns(&self, placement: Placement, now_ms: i64) -> Pending<Vec<Campaign>>;
    /// Marks a campaign deleted; `false` when there is no such available campaign in that account.
    fn delete_campaign(&self, account_uid: &str, campaign_id: &str) -> Pending<bool>;
    /// A campaign by id, whatever its account or status.
    fn campaign(&self, campaign_id: &str) -> Option<Campaign>;
    /// Campaigns matching a filter, newest first, `offset`/`limit` applied after filtering.
    fn list_campaigns(&self, filter: &CampaignFilter, offset: u64, limit: u64) -> CampaignPage;

    // --- events ---
    /// Appends validated events of an account to the log and the engine. `page_hint` is the page they
    /// came from when known (webhooks), used by `sync_campaigns`.
    fn append(
        &self,
        account_uid: &str,
        page_hint: Option<&str>,
        events: Vec<Event>,
    ) -> Pending<AppendReceipt>;
    /// Sets recipient countries (the recipient directory) of an account.
    fn set_recipient_countries(
        &self,
        account_uid: &str,
        entries: Vec<(String, CountryCode)>,
    ) -> Pending<u64>;
    /// Adds a rate card file (CSV) effective from a date.
    fn add_rate_card(&self, csv: &str, effective_from: NaiveDate) -> Pending<()>;

    // --- reads ---
    /// The insights rows of a campaign of an account.
    fn insights(&self, account_uid: &str, campaign_id: &str, query: &Query) -> Vec<Row>;
    /// Every campaign id the account's events mention (registered or not).
    fn campaign_ids_with_events(&self, account_uid: &str) -> Vec<String>;
    /// The earliest event time of a campaign of an account.
    fn first_event_ms(&self, account_uid: &str, campaign_id: &str) -> Option<i64>;
    /// The current rate card.
    fn rate_card(&self) -> RateCard;
    /// Numbers about the store.
    fn stats(&self) -> StoreStats;

    // --- lifecycle ---
    /// Writes a checkpoint now (restart then replays only what follows).
    fn checkpoint(&self) -> Pending<u64>;
}
