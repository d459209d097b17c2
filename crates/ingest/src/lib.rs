//! # ingest — the one way events get into the store
//!
//! Every way in — `PutMessageEvents`, `POST /v1/events`, Meta's webhooks (after their own parsing and
//! routing) and offline `import` — goes through this crate, so they all let in exactly the same events:
//!
//! 1. **Lines** ([`admit_ndjson`]): a body of native NDJSON is split into lines (`\n`, optional `\r`;
//!    blank lines skipped); each is parsed and validated ([`insights::parse_native_event`]). A bad line is
//!    rejected with its 1-based line number and the reason.
//! 2. **Tenancy** ([`Admission::admits`]): an event whose campaign id is registered to another account is
//!    rejected ([`foreign_campaign_reason`]). Events for campaigns nobody registered are kept
//!    (`SyncMessageCampaign` can register them later).
//! 3. **Commit** ([`commit`]): the admitted events of one request are one durable append; the report says
//!    how many were accepted and how many changed a metric (the rest were duplicates or superseded).
//!    Nothing is half-written: a line is either wholly in the batch or rejected.
//!
//! [`import`] runs the same steps over a file of any size with one parser per core.

mod import;

pub use import::{import, ImportOptions, ImportSummary};

use std::collections::HashMap;

use insights::Event;
use store::{Store, StoreError};

/// At most this many rejections are listed one by one (all are counted).
pub const MAX_LISTED_REJECTIONS: usize = 1000;

/// One refused line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rejection {
    /// 1-based line number in the body (or file).
    pub line: u64,
    pub reason: String,
}

/// What happened to a body of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub accepted: u64,
    /// Accepted events that changed a metric (the rest were duplicates or superseded).
    pub changed: u64,
    pub rejected_count: u64,
    /// The first [`MAX_LISTED_REJECTIONS`] rejections.
    pub rejected: Vec<Rejection>,
}

impl Report {
    /// Records a refused line.
    pub fn reject(&mut self, line: u64, reason: String) {
        self.rejected_count += 1;
        if self.rejected.len() < MAX_LISTED_REJECTIONS {
            self.rejected.push(Rejection { line, reason });
        }
    }
}

/// The reason given for an event whose campaign is registered to another account.
pub fn foreign_campaign_reason(campaign_id: &str) -> String {
    format!("campaign `{campaign_id}` is not available to this account")
}

/// The tenancy rule: an account may send events for a campaign it registered, or one nobody registered
/// (`owner` is the account a campaign is registered to, if any).
pub fn open_to(owner: Option<&str>, account: &str) -> bool {
    owner.is_none_or(|o| o == account)
}

/// The tenancy rule for one account, remembering each campaign id's answer (a body or file mentions few
/// campaigns and many events).
pub struct Admission<'a> {
    store: &'a Store,
    account: &'a str,
    known: HashMap<String, bool>,
}

impl<'a> Admission<'a> {
    pub fn new(store: &'a Store, account: &'a str) -> Admission<'a> {
        Admission {
            store,
            account,
            known: HashMap::new(),
        }
    }

    /// The account events are admitted for.
    pub fn account(&self) -> &str {
        self.account
    }

    /// Whether the account may send events for this campaign: one it registered, or one nobody
    /// registered.
    pub fn admits(&mut self, campaign_id: &str) -> bool {
        if let Some(&open) = self.known.get(campaign_id) {
            return open;
        }
        let campaign = self.store.campaign(campaign_id);
        let open = open_to(
            campaign.as_ref().map(|c| c.placement.account_uid.as_str()),
            self.account,
        );
        self.known.insert(campaign_id.to_string(), open);
        open
    }
}

/// Whether a content type announces NDJSON (`application/x-ndjson`, or the JSON Lines names).
pub fn is_ndjson(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        ct == "application/x-ndjson" || ct == "application/jsonl" || ct == "application/json-lines"
    })
}

/// Parses, validates and admits every line of an NDJSON body whose first line is `first_line`; returns
/// the admitted events and records the refused lines in `report`.
pub fn admit_ndjson(
    admission: &mut Admission<'_>,
    body: &[u8],
    first_line: u64,
    report: &mut Report,
) -> Vec<Event> {
    let mut events = Vec::with_capacity(body.len() / 120);
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = first_line + i as u64;
        match insights::parse_native_event(line) {
            Ok(event) if admission.admits(&event.campaign_id) => events.push(event),
            Ok(event) => report.reject(number, foreign_campaign_reason(&event.campaign_id)),
            Err(e) => report.reject(number, e.to_string()),
        }
    }
    events
}

/// Commits admitted events of an account as one durable append and adds its counts to `report`.
pub async fn commit(
    store: &Store,
    account: &str,
    page_hint: Option<&str>,
    events: Vec<Event>,
    report: &mut Report,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let receipt = store::wait_async(store.append(account, page_hint, events)).await?;
    report.accepted += receipt.accepted;
    report.changed += receipt.changed;
    Ok(())
}

/// A whole NDJSON body of an account: admitted line by line, committed as one append.
pub async fn ingest_ndjson(
    store: &Store,
    account: &str,
    body: &[u8],
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let events = admit_ndjson(&mut Admission::new(store, account), body, 1, &mut report);
    commit(store, account, None, events, &mut report).await?;
    Ok(report)
}
