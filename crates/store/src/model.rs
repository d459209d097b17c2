//! What the store keeps besides events: campaigns, and the receipts of writes.

use std::fmt;
use std::str::FromStr;

/// `BudgetType` of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetType {
    Daily,
    Lifetime,
}

impl BudgetType {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetType::Daily => "daily",
            BudgetType::Lifetime => "lifetime",
        }
    }
}

impl FromStr for BudgetType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "daily" => Ok(BudgetType::Daily),
            "lifetime" => Ok(BudgetType::Lifetime),
            _ => Err(()),
        }
    }
}

/// `Status` of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignStatus {
    Available,
    Deleted,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Available => "AVAILABLE",
            CampaignStatus::Deleted => "DELETED",
        }
    }
}

impl FromStr for CampaignStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "AVAILABLE" => Ok(CampaignStatus::Available),
            "DELETED" => Ok(CampaignStatus::Deleted),
            _ => Err(()),
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a campaign belongs: account → cust space → page → ad account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Placement {
    pub account_uid: String,
    pub cust_space_id: String,
    pub page_id: String,
    pub ad_account_id: String,
}

/// A registered campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Numeric string, unique across the whole store.
    pub campaign_id: String,
    pub placement: Placement,
    pub name: String,
    pub budget_type: BudgetType,
    /// Minor units of the ad account's currency.
    pub budget: i64,
    pub status: CampaignStatus,
    /// Milliseconds since the epoch.
    pub create_time_ms: i64,
}

/// A campaign to create (the fold assigns its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub placement: Placement,
    pub name: String,
    pub budget_type: BudgetType,
    pub budget: i64,
    pub create_time_ms: i64,
}

/// Which campaigns `list_campaigns` returns: always within one account and cust space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignFilter {
    pub account_uid: String,
    pub cust_space_id: String,
    pub page_id: Option<String>,
    pub ad_account_id: Option<String>,
    pub campaign_id: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// `None`: available campaigns only.
    pub status: Option<CampaignStatus>,
}

impl CampaignFilter {
    /// Whether a campaign passes the filter.
    pub fn matches(&self, c: &Campaign) -> bool {
        c.placement.account_uid == self.account_uid
            && c.placement.cust_space_id == self.cust_space_id
            && self
                .page_id
                .as_ref()
                .is_none_or(|p| *p == c.placement.page_id)
            && self
                .ad_account_id
                .as_ref()
                .is_none_or(|a| *a == c.placement.ad_account_id)
            && self
                .campaign_id
                .as_ref()
                .is_none_or(|id| *id == c.campaign_id)
            && self
                .name_contains
                .as_ref()
                .is_none_or(|n| c.name.to_lowercase().contains(&n.to_lowercase()))
            && c.status == self.status.unwrap_or(CampaignStatus::Available)
    }
}

/// A page of campaigns, newest first, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignPage {
    pub campaigns: Vec<Campaign>,
    pub total: u64,
}

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Events written to the log (all that were given).
    pub accepted: u64,
    /// Of those, how many changed the metrics (the rest were duplicates or superseded).
    pub changed: u64,
    /// The log sequence number of the batch (monotonic).
    pub seq: u64,
}

/// Numbers about a store, for `/metrics` and the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub accounts: u64,
    pub campaigns: u64,
    pub messages: u64,
    pub events_logged: u64,
    pub engine_heap_bytes: u64,
    pub last_seq: u64,
    pub checkpoint_seq: u64,
}
