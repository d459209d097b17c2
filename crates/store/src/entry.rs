//! The entries of the ordered log, and what applying one did.
//!
//! Everything that changes state is an [`Entry`]: a backend only stores and replays entries in order;
//! the [`EngineHost`](crate::EngineHost) folds them. Applying an entry is deterministic — the same log
//! prefix gives every node the same state and every entry the same [`Outcome`] — so decisions that depend
//! on state (which id a new campaign gets, which campaigns a sync registers, whether a delete finds its
//! campaign) are taken by the fold, not by the node that wrote the entry.

use chrono::NaiveDate;
use insights::{CountryCode, Event};

use crate::model::{Campaign, NewCampaign, Placement};

/// One state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Validated events of an account. `page_hint` is the page they came from when known (webhooks),
    /// which `SyncMessageCampaign` uses to place campaigns.
    Events {
        account: String,
        page_hint: Option<String>,
        events: Vec<Event>,
    },
    /// Recipient directory entries (recipient → country) of an account; the latest entry wins.
    RecipientCountries {
        account: String,
        entries: Vec<(String, CountryCode)>,
    },
    /// A rate card file (Meta's CSV layout) effective from a date. Checked before it is logged; a file
    /// that still fails to apply changes nothing.
    RateCard {
        csv: String,
        effective_from: NaiveDate,
    },
    /// A new campaign; the fold gives it an id no campaign has (derived from the entry's sequence
    /// number, so every node gives the same one).
    CreateCampaign(NewCampaign),
    /// A campaign record taken over whole (migration of an earlier data directory). Refused when its id
    /// is taken.
    RegisterCampaign(Campaign),
    /// `SyncMessageCampaign`: register the campaigns the account's events mention that nobody registered,
    /// at this placement.
    SyncCampaigns { placement: Placement, now_ms: i64 },
    /// Mark an account's available campaign deleted.
    DeleteCampaign {
        account: String,
        campaign_id: String,
    },
    /// The page a campaign's events came from (migration of an earlier data directory; live events carry
    /// it as `Events::page_hint`).
    CampaignPage {
        account: String,
        campaign_id: String,
        page_id: String,
    },
    /// Everything the fold built is dropped: no campaign, no event, no rate card, no directory
    /// (the emulator's reset). Later entries apply to the empty state.
    Reset,
    /// The fold's whole state is replaced by a saved one (the emulator's restore): `state` is a
    /// checkpoint's bytes, checked before the entry was logged. Its sequence number is ignored: the
    /// state continues this log.
    Restore { state: Vec<u8> },
}

impl Entry {
    /// The account the entry belongs to (`None` for service-wide entries such as rate cards).
    pub fn account(&self) -> Option<&str> {
        match self {
            Entry::Events { account, .. }
            | Entry::RecipientCountries { account, .. }
            | Entry::DeleteCampaign { account, .. }
            | Entry::CampaignPage { account, .. } => Some(account),
            Entry::CreateCampaign(new) => Some(&new.placement.account_uid),
            Entry::RegisterCampaign(c) => Some(&c.placement.account_uid),
            Entry::SyncCampaigns { placement, .. } => Some(&placement.account_uid),
            Entry::RateCard { .. } | Entry::Reset | Entry::Restore { .. } => None,
        }
    }

    /// How much work the entry is, in items (events, directory entries; 1 otherwise): bounds how much one
    /// commit takes.
    pub fn weight(&self) -> usize {
        match self {
            Entry::Events { events, .. } => events.len().max(1),
            Entry::RecipientCountries { entries, .. } => entries.len().max(1),
            _ => 1,
        }
    }

    /// The number of events the entry carries.
    pub fn event_count(&self) -> usize {
        match self {
            Entry::Events { events, .. } => events.len(),
            _ => 0,
        }
    }
}

/// What applying an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Events: how many there were and how many changed the metrics (the rest were duplicates or
    /// superseded).
    Events { accepted: u64, changed: u64 },
    /// Directory entries set.
    RecipientCountries(u64),
    /// The rate card was added (`false`: the file did not apply and nothing changed).
    RateCard(bool),
    /// The campaign registered (created, or taken over).
    Registered(Campaign),
    /// `RegisterCampaign` of an id that is taken: nothing changed.
    IdTaken(String),
    /// The campaigns a sync registered.
    Synced(Vec<Campaign>),
    /// Whether a delete found an available campaign of the account.
    Deleted(bool),
    /// A campaign page noted.
    Noted,
    /// The state was reset or restored (`false`: a saved state that did not decode; nothing changed).
    Replaced(bool),
}
