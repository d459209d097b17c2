//! Who owns what: accounts → cust spaces → pages → ad accounts, from the configuration.
//!
//! Every lookup takes the caller's account: an id that belongs to another account is answered
//! exactly like one that does not exist (same code, same message, same path through the code).

use std::collections::HashMap;

use chrono_tz::Tz;
use insights::Currency;

use crate::config::Config;
use crate::errors::{ApiError, ErrorCode};

/// An ad account with what the metrics need from it.
#[derive(Debug, Clone)]
pub struct AdAccount {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub timezone: Tz,
}

/// A page and its ad accounts.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: String,
    pub name: String,
    pub ad_accounts: Vec<AdAccount>,
}

/// A cust space and its pages.
#[derive(Debug, Clone)]
pub struct CustSpace {
    pub id: String,
    pub account_uid: String,
    pub pages: Vec<Page>,
}

/// The directory of tenants.
#[derive(Debug, Default)]
pub struct Tenants {
    cust_spaces: HashMap<String, CustSpace>,
    /// page id → cust space id
    page_owner: HashMap<String, String>,
}

impl Tenants {
    /// Builds the directory from a validated configuration.
    pub fn from_config(config: &Config) -> Tenants {
        let mut tenants = Tenants::default();
        for account in &config.accounts {
            for cs in &account.cust_spaces {
                let pages = cs
                    .pages
                    .iter()
                    .map(|p| {
                        tenants.page_owner.insert(p.id.clone(), cs.id.clone());
                        Page {
                            id: p.id.clone(),
                            name: p.name.clone(),
                            ad_accounts: p
                                .ad_accounts
                                .iter()
                                .filter_map(|a| {
                                    Some(AdAccount {
                                        id: a.id.clone(),
                                        name: a.name.clone(),
                                        currency: Currency::from_code(&a.currency)?,
                                        timezone: a.timezone.parse().ok()?,
                                    })
                                })
                                .collect(),
                        }
                    })
                    .collect();
                tenants.cust_spaces.insert(
                    cs.id.clone(),
                    CustSpace {
                        id: cs.id.clone(),
                        account_uid: account.uid.clone(),
                        pages,
                    },
                );
            }
        }
        tenants
    }

    /// Every cust space of an account, in no particular order.
    pub fn cust_spaces_of<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = &'a CustSpace> + 'a {
        self.cust_spaces
            .values()
            .filter(move |cs| cs.account_uid == account)
    }

    /// The caller's cust space, or `InvalidParameter.CustSpaceInvalid`.
    pub fn cust_space(&self, account: &str, cust_space_id: &str) -> Result<&CustSpace, ApiError> {
        self.cust_spaces
            .get(cust_space_id)
            .filter(|cs| cs.account_uid == account)
            .ok_or_else(|| ErrorCode::CustSpaceInvalid.into())
    }

    /// A page of the caller's cust space, or the error of the first id that does not resolve.
    pub fn page(
        &self,
        account: &str,
        cust_space_id: &str,
        page_id: &str,
    ) -> Result<&Page, ApiError> {
        self.cust_space(account, cust_space_id)?
            .pages
            .iter()
            .find(|p| p.id == page_id)
            .ok_or_else(|| ErrorCode::PageInvalid.into())
    }

    /// An ad account bound to a page of the caller's cust space.
    pub fn ad_account(
        &self,
        account: &str,
        cust_space_id: &str,
        page_id: &str,
        ad_account_id: &str,
    ) -> Result<&AdAccount, ApiError> {
        self.page(account, cust_space_id, page_id)?
            .ad_accounts
            .iter()
            .find(|a| a.id == ad_account_id)
            .ok_or_else(|| ErrorCode::AdAccountInvalid.into())
    }

    /// A page of the caller's account, whichever cust space holds it (for `SyncMessageCampaign`,
    /// which names no cust space).
    pub fn page_of_account(
        &self,
        account: &str,
        page_id: &str,
    ) -> Result<(&CustSpace, &Page), ApiError> {
        let cs = self
            .page_owner
            .get(page_id)
            .and_then(|cs| self.cust_spaces.get(cs))
            .filter(|cs| cs.account_uid == account)
            .ok_or(ApiError::new(ErrorCode::PageInvalid))?;
        let page = cs
            .pages
            .iter()
            .find(|p| p.id == page_id)
            .ok_or(ApiError::new(ErrorCode::PageInvalid))?;
        Ok((cs, page))
    }

    /// The owner of a page, whoever it is (webhooks arrive without a caller).
    pub fn page_owner(&self, page_id: &str) -> Option<(&CustSpace, &Page)> {
        let cs = self.cust_spaces.get(self.page_owner.get(page_id)?)?;
        Some((cs, cs.pages.iter().find(|p| p.id == page_id)?))
    }
}
