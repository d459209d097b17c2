//! Where an operation acts: the `CustSpaceId` / `PageId` / `AdAccountId` (and `CampaignId`) placement
//! that most operations name, read from the parameters and resolved in the caller's account.
//!
//! Reading and resolving are two steps, so that an operation can refuse every malformed parameter
//! before any lookup (an error must not depend on data the caller may not see).

use std::sync::Arc;

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::request::Ctx;
use crate::tenants::{AdAccount, Page};

/// The ids of a cust space and page.
#[derive(Debug, Clone, Copy)]
pub struct PagePlacement<'a> {
    pub cust_space_id: &'a str,
    pub page_id: &'a str,
}

/// The ids of a cust space, page and ad account.
#[derive(Debug, Clone, Copy)]
pub struct AdAccountPlacement<'a> {
    pub cust_space_id: &'a str,
    pub page_id: &'a str,
    pub ad_account_id: &'a str,
}

impl<'a> PagePlacement<'a> {
    /// `CustSpaceId` and `PageId`, both required.
    pub fn required(ctx: &'a Ctx<'_>) -> Result<PagePlacement<'a>, ApiError> {
        let p = ctx.params();
        Ok(PagePlacement {
            cust_space_id: p.required("CustSpaceId")?,
            page_id: p.required("PageId")?,
        })
    }

    /// The caller's page, or the error of the first id that does not resolve.
    pub fn resolve<'t>(&self, ctx: &'t Ctx<'_>) -> Result<&'t Page, ApiError> {
        ctx.tenants
            .page(ctx.account(), self.cust_space_id, self.page_id)
    }
}

impl<'a> AdAccountPlacement<'a> {
    /// `CustSpaceId`, `PageId` and `AdAccountId`, all required.
    pub fn required(ctx: &'a Ctx<'_>) -> Result<AdAccountPlacement<'a>, ApiError> {
        let p = ctx.params();
        Ok(AdAccountPlacement {
            cust_space_id: p.required("CustSpaceId")?,
            page_id: p.required("PageId")?,
            ad_account_id: p.required("AdAccountId")?,
        })
    }

    /// The caller's ad account, or the error of the first id that does not resolve.
    pub fn resolve<'t>(&self, ctx: &'t Ctx<'_>) -> Result<&'t AdAccount, ApiError> {
        ctx.tenants.ad_account(
            ctx.account(),
            self.cust_space_id,
            self.page_id,
            self.ad_account_id,
        )
    }

    /// The campaign `campaign_id` if it is available and placed exactly here in the caller's account; a
    /// deleted campaign, another tenant's, or one placed elsewhere answers `CampaignInvalid`, like an id
    /// that does not exist.
    pub fn campaign(
        &self,
        ctx: &Ctx<'_>,
        campaign_id: &str,
    ) -> Result<Arc<store::Campaign>, ApiError> {
        ctx.store
            .campaign(campaign_id)
            .filter(|c| {
                c.status == store::CampaignStatus::Available
                    && c.placement.account_uid == ctx.account()
                    && c.placement.cust_space_id == self.cust_space_id
                    && c.placement.page_id == self.page_id
                    && c.placement.ad_account_id == self.ad_account_id
            })
            .ok_or(ApiError::new(ErrorCode::CampaignInvalid))
    }

    /// The store's placement record for a campaign placed here.
    pub fn to_store(&self, ctx: &Ctx<'_>) -> store::Placement {
        store::Placement {
            account_uid: ctx.account().to_string(),
            cust_space_id: self.cust_space_id.to_string(),
            page_id: self.page_id.to_string(),
            ad_account_id: self.ad_account_id.to_string(),
        }
    }
}
