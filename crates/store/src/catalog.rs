//! The campaign catalog and its rules: which ids may be registered, what a synced campaign looks like,
//! how a new campaign gets its id. Pure: no I/O, no clock, no randomness — the fold calls these with the
//! entry's own data, so every node that folds the same log decides the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::{
    BudgetType, Campaign, CampaignFilter, CampaignPage, CampaignStatus, NewCampaign, Placement,
};

/// Campaign ids are numeric strings of at most 32 digits; anything else found in events is not
/// registrable.
pub fn is_campaign_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The id a new campaign gets: 18 digits starting `1202`, as Meta's campaign ids look, derived from the
/// log sequence number of its entry (and an attempt counter, should that id be taken already, e.g. by a
/// synced Meta campaign). Deterministic, so every node folding the log assigns the same id; scrambled, so
/// ids do not reveal how many campaigns exist.
pub fn campaign_id_for(seq: u64, attempt: u32) -> String {
    // splitmix64 finaliser: a bijection on u64, so distinct (seq, attempt) rarely meet modulo 10^14.
    let mut z = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(attempt).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("1202{:014}", z % 100_000_000_000_000)
}

/// The name a campaign registered by `SyncMessageCampaign` gets.
pub fn synced_name(campaign_id: &str) -> String {
    format!("Synced campaign {campaign_id}")
}

/// Every registered campaign, and the page each account's unregistered campaigns were first seen on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Shared records: readers on the request path take a reference count, not a copy.
    campaigns: BTreeMap<String, Arc<Campaign>>,
    /// account → campaign → the page its first hinted events came from.
    pages: HashMap<String, HashMap<String, String>>,
}

impl Catalog {
    /// A campaign by id, whatever its account or status.
    pub fn campaign(&self, campaign_id: &str) -> Option<&Arc<Campaign>> {
        self.campaigns.get(campaign_id)
    }

    /// Every campaign, by id.
    pub fn campaigns(&self) -> impl Iterator<Item = &Campaign> {
        self.campaigns.values().map(|c| c.as_ref())
    }

    /// Every noted campaign page: (account, campaign, page).
    pub fn pages(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.pages.iter().flat_map(|(account, campaigns)| {
            campaigns
                .iter()
                .map(move |(c, p)| (account.as_str(), c.as_str(), p.as_str()))
        })
    }

    /// The number of registered campaigns (any status).
    pub fn len(&self) -> usize {
        self.campaigns.len()
    }

    /// Whether no campaign is registered.
    pub fn is_empty(&self) -> bool {
        self.campaigns.is_empty()
    }

    /// Registers a new campaign under the first free id for `seq`.
    pub fn create(&mut self, seq: u64, new: NewCampaign) -> Campaign {
        let id = (0u32..)
            .map(|attempt| campaign_id_for(seq, attempt))
            .find(|id| !self.campaigns.contains_key(id))
            .expect("some attempt finds a free id");
        let campaign = Campaign {
            campaign_id: id.clone(),
            placement: new.placement,
            name: new.name,
            budget_type: new.budget_type,
            budget: new.budget,
            status: CampaignStatus::Available,
            create_time_ms: new.create_time_ms,
        };
        self.campaigns.insert(id, Arc::new(campaign.clone()));
        campaign
    }

    /// Takes over a whole campaign record; `false` (and no change) when its id is taken.
    pub fn register(&mut self, campaign: Campaign) -> bool {
        if self.campaigns.contains_key(&campaign.campaign_id) {
            return false;
        }
        self.campaigns
            .insert(campaign.campaign_id.clone(), Arc::new(campaign));
        true
    }

    /// Notes the page a campaign's events came from; the first page noted is kept.
    pub fn note_page(&mut self, account: &str, campaign_id: &str, page_id: &str) {
        // Looked up before anything is allocated: webhooks note the page of every event.
        if self.page_of(account, campaign_id).is_some() {
            return;
        }
        self.pages
            .entry(account.to_string())
            .or_default()
            .insert(campaign_id.to_string(), page_id.to_string());
    }

    /// The page an account's events for a campaign were first seen on.
    pub fn page_of(&self, account: &str, campaign_id: &str) -> Option<&str> {
        self.pages
            .get(account)
            .and_then(|m| m.get(campaign_id))
            .map(String::as_str)
    }

    /// Whether the account's events for a campaign were first seen on another page than `page_id`.
    fn seen_elsewhere(&self, account: &str, campaign_id: &str, page_id: &str) -> bool {
        self.page_of(account, campaign_id)
            .is_some_and(|p| p != page_id)
    }

    /// `SyncMessageCampaign`: registers, at `placement`, every campaign id among `ids_with_events` (the
    /// account's events) that is a campaign id, is not registered, and was not first seen on another page.
    /// Synced campaigns have budget 0 (lifetime): their budget lives in Meta's Ads Manager, not here.
    pub fn sync<'a>(
        &mut self,
        placement: &Placement,
        now_ms: i64,
        ids_with_events: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Campaign> {
        let mut registered = Vec::new();
        for id in ids_with_events {
            if !is_campaign_id(id)
                || self.campaigns.contains_key(id)
                || self.seen_elsewhere(&placement.account_uid, id, &placement.page_id)
            {
                continue;
            }
            let campaign = Campaign {
                campaign_id: id.to_string(),
                placement: placement.clone(),
                name: synced_name(id),
                budget_type: BudgetType::Lifetime,
                budget: 0,
                status: CampaignStatus::Available,
                create_time_ms: now_ms,
            };
            self.campaigns
                .insert(id.to_string(), Arc::new(campaign.clone()));
            registered.push(campaign);
        }
        registered
    }

    /// Marks an account's available campaign deleted; `false` when there is none with that id.
    pub fn delete(&mut self, account: &str, campaign_id: &str) -> bool {
        match self.campaigns.get_mut(campaign_id) {
            Some(c)
                if c.placement.account_uid == account && c.status == CampaignStatus::Available =>
            {
                Arc::make_mut(c).status = CampaignStatus::Deleted;
                true
            }
            _ => false,
        }
    }

    /// Campaigns matching a filter, newest first (ids break ties, so pages are stable), `offset`/`limit`
    /// applied after filtering.
    pub fn list(&self, filter: &CampaignFilter, offset: u64, limit: u64) -> CampaignPage {
        let mut matching: Vec<&Campaign> = self.campaigns().filter(|c| filter.matches(c)).collect();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(account: &str, page: &str) -> Placement {
        Placement {
            account_uid: account.into(),
            cust_space_id: "cams-1".into(),
            page_id: page.into(),
            ad_account_id: "ad".into(),
        }
    }

    fn new(account: &str) -> NewCampaign {
        NewCampaign {
            placement: placement(account, "p"),
            name: "n".into(),
            budget_type: BudgetType::Daily,
            budget: 1,
            create_time_ms: 5,
        }
    }

    #[test]
    fn ids_look_like_meta_ids_and_are_deterministic() {
        for seq in [0, 1, 2, 1 << 40, u64::MAX] {
            let id = campaign_id_for(seq, 0);
            assert_eq!(id.len(), 18, "{id}");
            assert!(id.starts_with("1202") && is_campaign_id(&id));
            assert_eq!(id, campaign_id_for(seq, 0));
            assert_ne!(id, campaign_id_for(seq, 1));
        }
        let distinct: std::collections::HashSet<String> =
            (0..100_000).map(|s| campaign_id_for(s, 0)).collect();
        assert_eq!(distinct.len(), 100_000);
    }

    #[test]
    fn create_skips_taken_ids() {
        let mut c = Catalog::default();
        let taken = campaign_id_for(7, 0);
        assert!(c.register(Campaign {
            campaign_id: taken.clone(),
            placement: placement("1", "p"),
            name: "synced".into(),
            budget_type: BudgetType::Lifetime,
            budget: 0,
            status: CampaignStatus::Available,
            create_time_ms: 0,
        }));
        let created = c.create(7, new("1"));
        assert_eq!(created.campaign_id, campaign_id_for(7, 1));
        assert_eq!(c.len(), 2);
        assert!(!c.register(created), "a taken id is not registered twice");
    }

    #[test]
    fn sync_registers_only_free_numeric_ids_seen_on_this_page() {
        let mut c = Catalog::default();
        let existing = c.create(1, new("1"));
        c.note_page("1", "555", "other-page");
        c.note_page("1", "556", "p");
        c.note_page("1", "556", "later-page");
        let got = c.sync(
            &placement("1", "p"),
            99,
            [existing.campaign_id.as_str(), "abc", "555", "556", "557"],
        );
        let ids: Vec<&str> = got.iter().map(|c| c.campaign_id.as_str()).collect();
        assert_eq!(ids, ["556", "557"]);
        assert_eq!(got[0].name, "Synced campaign 556");
        assert_eq!((got[0].budget, got[0].create_time_ms), (0, 99));
        assert!(c.sync(&placement("1", "p"), 100, ["556"]).is_empty());
    }

    #[test]
    fn delete_only_the_accounts_available_campaign() {
        let mut c = Catalog::default();
        let id = c.create(1, new("1")).campaign_id;
        assert!(!c.delete("2", &id), "another account's campaign");
        assert!(c.delete("1", &id));
        assert!(!c.delete("1", &id), "already deleted");
        assert_eq!(c.campaign(&id).unwrap().status, CampaignStatus::Deleted);
        assert!(!c.delete("1", "404"));
    }

    #[test]
    fn list_is_newest_first_and_paged() {
        let mut c = Catalog::default();
        let mut ids = Vec::new();
        for seq in 0..5 {
            let mut n = new("1");
            n.create_time_ms = seq as i64 % 3;
            ids.push(c.create(seq, n));
        }
        let filter = CampaignFilter {
            account_uid: "1".into(),
            cust_space_id: "cams-1".into(),
            ..CampaignFilter::default()
        };
        let all = c.list(&filter, 0, 100);
        assert_eq!(all.total, 5);
        for w in all.campaigns.windows(2) {
            assert!(
                (w[0].create_time_ms, &w[0].campaign_id) > (w[1].create_time_ms, &w[1].campaign_id)
            );
        }
        let page = c.list(&filter, 2, 2);
        assert_eq!(page.campaigns, all.campaigns[2..4]);
        assert_eq!(page.total, 5);
    }
}
