//! The operation catalog: one row per operation — its name, version, RAM action, parameters and
//! handler. The gateway dispatches on it, `/metrics` labels by it, and the console's "Try it now" builds
//! its forms from it.

use serde_json::{Map, Value};

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::actions::*;
use crate::rpc::request::{ActionSpec, Handler, ParamKind, ParamSpec};

/// The CAMS API version this server implements.
pub const CAMS_VERSION: &str = "2020-06-06";
/// The STS API version of `AssumeRole`.
pub const STS_VERSION: &str = "2015-04-01";

const fn required(name: &'static str, kind: ParamKind, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required: true,
        kind,
        doc,
    }
}

const fn optional(name: &'static str, kind: ParamKind, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required: false,
        kind,
        doc,
    }
}

use ParamKind::*;

const CUST_SPACE: ParamSpec = required("CustSpaceId", Text, "The cust space (e.g. cams-7k2m9x).");
const PAGE: ParamSpec = required(
    "PageId",
    Text,
    "The Messenger Page bound to the cust space.",
);
const AD_ACCOUNT: ParamSpec = required("AdAccountId", Text, "The ad account bound to the page.");
const CAMPAIGN: ParamSpec = required("CampaignId", Text, "The campaign (a numeric string).");

/// Every operation the gateway knows.
pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "GetMessageCampaignInsights",
        version: CAMS_VERSION,
        ram_action: "cams:GetMessageCampaignInsights",
        doc: "A campaign's marketing-message metrics over a date range.",
        params: &[
            CUST_SPACE,
            PAGE,
            AD_ACCOUNT,
            CAMPAIGN,
            optional("DateStart", Date, "First day (YYYY-MM-DD, the ad account's time zone); default: the campaign's first day."),
            optional("DateStop", Date, "Last day (YYYY-MM-DD, inclusive); default: today."),
            optional("TimeIncrement", OneOf(&["all_days", "monthly", "1", "7", "30"]), "all_days (one row), monthly, or a number of days from 1 to 90 per row."),
            optional("Breakdowns", OneOf(&["country"]), "country: one row per country."),
            optional("Fields", Text, "Extra fields, comma-separated: MarketingMessagesSent, MarketingMessagesRead, MarketingMessagesFailed, MarketingMessagesSpendCurrency."),
        ],
        handler: Handler::Sync(get_message_campaign_insights::handle),
    },
    ActionSpec {
        name: "CreateMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:CreateMessageCampaign",
        doc: "Registers a campaign under a page and ad account; answers its CampaignId.",
        params: &[
            CUST_SPACE,
            PAGE,
            AD_ACCOUNT,
            required("Name", Text, "1 to 128 characters."),
            required("BudgetType", OneOf(&["daily", "lifetime"]), "daily or lifetime."),
            required("Budget", Integer, "Whole minor units of the ad account's currency, 1 to 10^15."),
        ],
        handler: Handler::Async(create_message_campaign::handle),
    },
    ActionSpec {
        name: "ListMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:ListMessageCampaign",
        doc: "A cust space's campaigns under a page, newest first, one page at a time.",
        params: &[
            CUST_SPACE,
            PAGE,
            required("Page", Json, "{\"Index\":1,\"Size\":10}: Index from 1, Size 1 to 100 (or Page.Index and Page.Size)."),
            optional("AdAccountId", Text, "Only this ad account's campaigns."),
            optional("CampaignId", Text, "Only this campaign."),
            optional("CampaignName", Text, "Names containing this (case-insensitive)."),
            optional("Status", OneOf(&["AVAILABLE", "DELETED"]), "AVAILABLE (default) or DELETED."),
        ],
        handler: Handler::Sync(list_message_campaign::handle),
    },
    ActionSpec {
        name: "DeleteMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:DeleteMessageCampaign",
        doc: "Marks a campaign deleted (its data is kept; it no longer answers queries).",
        params: &[CUST_SPACE, PAGE, AD_ACCOUNT, CAMPAIGN],
        handler: Handler::Async(delete_message_campaign::handle),
    },
    ActionSpec {
        name: "SyncMessageCampaign",
        version: CAMS_VERSION,
        ram_action: "cams:SyncMessageCampaign",
        doc: "Registers the campaigns the account's events mention that nobody registered yet.",
        params: &[
            required("AdAccountId", Text, "The ad account to register them under."),
            required("PageId", Text, "The page (its cust space is the page's own)."),
            optional("CustSpaceId", Text, "When given, it must be the page's cust space."),
        ],
        handler: Handler::Async(sync_message_campaign::handle),
    },
    ActionSpec {
        name: "ListPageAdAccount",
        version: CAMS_VERSION,
        ram_action: "cams:ListPageAdAccount",
        doc: "The ad accounts bound to a page.",
        params: &[CUST_SPACE, PAGE],
        handler: Handler::Sync(list_page_ad_account::handle),
    },
    ActionSpec {
        name: "ListCustSpacePage",
        version: CAMS_VERSION,
        ram_action: "cams:ListCustSpacePage",
        doc: "Extension (not in CAMS): the caller's cust spaces and the pages bound to each.",
        params: &[],
        handler: Handler::Sync(list_cust_space_page::handle),
    },
    ActionSpec {
        name: "PutMessageEvents",
        version: CAMS_VERSION,
        ram_action: "cams:PutMessageEvents",
        doc: "Native events as NDJSON (V3-signed body, application/x-ndjson); answers per line.",
        params: &[required("body", Body, "One event per line (docs/events.md).")],
        handler: Handler::Async(put_message_events::handle),
    },
    ActionSpec {
        name: "AssumeRole",
        version: STS_VERSION,
        ram_action: "sts:AssumeRole",
        doc: "Temporary credentials for a RAM role.",
        params: &[
            required("RoleArn", Text, "acs:ram::<account uid>:role/<name>."),
            required("RoleSessionName", Text, "2 to 64 characters of A-Za-z0-9.@_-."),
            optional("Policy", Json, "A session policy (at most 2048 characters) that narrows the role's."),
            optional("DurationSeconds", Integer, "900 to the role's maximum; default 3600."),
        ],
        handler: Handler::Async(assume_role::handle),
    },
];

/// Finds an operation: an unknown version is `InvalidVersion`; a known version without that action is
/// `InvalidAction.NotFound`.
pub fn lookup(action: &str, version: &str) -> Result<&'static ActionSpec, ApiError> {
    if !ACTIONS.iter().any(|a| a.version == version) {
        return Err(ErrorCode::InvalidVersion.into());
    }
    ACTIONS
        .iter()
        .find(|a| a.name == action && a.version == version)
        .ok_or_else(|| ErrorCode::InvalidActionNotFound.into())
}

/// A JSON object from pairs.
pub(crate) fn object<I: IntoIterator<Item = (&'static str, Value)>>(
    pairs: I,
) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_distinguishes_version_and_action() {
        assert_eq!(
            lookup("GetMessageCampaignInsights", CAMS_VERSION)
                .unwrap()
                .name,
            "GetMessageCampaignInsights"
        );
        assert_eq!(
            lookup("GetMessageCampaignInsights", CAMS_VERSION)
                .unwrap()
                .ram_action,
            "cams:GetMessageCampaignInsights"
        );
        assert_eq!(
            lookup("GetMessageCampaignInsights", "2019-01-01")
                .unwrap_err()
                .code,
            ErrorCode::InvalidVersion
        );
        assert_eq!(
            lookup("Nope", CAMS_VERSION).unwrap_err().code,
            ErrorCode::InvalidActionNotFound
        );
        // Action names are case-sensitive, as in Alibaba's gateway.
        assert_eq!(
            lookup("getmessagecampaigninsights", CAMS_VERSION)
                .unwrap_err()
                .code,
            ErrorCode::InvalidActionNotFound
        );
    }

    #[test]
    fn rows_are_consistent() {
        let mut names = std::collections::HashSet::new();
        for a in ACTIONS {
            assert!(names.insert(a.name), "{} twice", a.name);
            let service = if a.version == STS_VERSION {
                "sts"
            } else {
                "cams"
            };
            assert_eq!(a.ram_action, format!("{service}:{}", a.name));
            // Required parameters come first, in the order the handler checks them.
            let first_optional = a.params.iter().position(|p| !p.required);
            if let Some(i) = first_optional {
                assert!(a.params[i..].iter().all(|p| !p.required), "{}", a.name);
            }
        }
    }
}
