//! What [`crate::parse`] produces, and what it needs to know.

use std::collections::HashMap;
use std::fmt;

use insights::Event;

/// Configuration and state the parser consults (it has none of its own).
pub struct ParseContext<'a> {
    /// WhatsApp campaign attribution: `biz_opaque_callback_data` value → campaign id (exact match).
    pub whatsapp_callback_campaigns: &'a HashMap<String, String>,
    /// WhatsApp campaign attribution fallback: `phone_number_id` (from the change's `metadata`) → campaign id.
    pub whatsapp_phone_number_campaigns: &'a HashMap<String, String>,
    /// Whether a wamid was earlier established as marketing (a status without marketing pricing counts only
    /// then). Only called for statuses that need it.
    pub is_known_marketing: &'a dyn Fn(&str) -> bool,
}

/// One Messenger marketing-message event with the Facebook Page it came for.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PageEvent {
    /// `entry.id` of the page envelope, else the value's `page_id` (digits kept exactly).
    pub page_id: String,
    /// Always valid ([`Event::validate`]); `campaign_id` is Meta's `message_id`, `country` is `None`.
    pub event: Event,
}

/// One WhatsApp status event.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WhatsAppEvent {
    /// The WhatsApp Business Account id (`entry.id`).
    pub waba_id: String,
    /// The business phone number id (`value.metadata.phone_number_id`), when present.
    pub phone_number_id: Option<String>,
    /// The WhatsApp message id (`status.id`); also the event's `event_id`.
    pub wamid: String,
    /// Always valid ([`Event::validate`]); `country` from the recipient's calling code.
    pub event: Event,
    /// Currency of `event.price_micros` when the price came from `pricing.cost` and named one (as sent,
    /// e.g. `USD`). `None` for no price, or for the zero price of a non-billable status.
    pub price_currency: Option<String>,
}

/// Why an item of a payload was not turned into an event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum SkipReason {
    /// The top-level `object` is neither `page` nor `whatsapp_business_account` (or the body has neither an
    /// `object` nor a `field`): the whole object is skipped.
    UnknownObject,
    /// A change whose `field` is not one this crate turns into events (per change), and Page-envelope
    /// `messaging`/`standby` items and WhatsApp `user_actions` (per item).
    UnknownField,
    /// A WhatsApp status that is not marketing traffic.
    NotMarketing,
    /// A WhatsApp status other than sent/delivered/read/failed (`played`, `deleted`, …), or one sent to a group.
    IgnoredStatus,
    /// A WhatsApp marketing status with no campaign attribution.
    NoCampaign,
    /// A required key is absent, `null` or empty.
    MissingField,
    /// A value of the wrong type or out of range: timestamp, price, an id too long, a non-object entry, ….
    InvalidValue,
}

impl SkipReason {
    /// Every reason, in declaration order (e.g. to pre-register Prometheus label values).
    pub const ALL: &'static [SkipReason] = &[
        SkipReason::UnknownObject,
        SkipReason::UnknownField,
        SkipReason::NotMarketing,
        SkipReason::IgnoredStatus,
        SkipReason::NoCampaign,
        SkipReason::MissingField,
        SkipReason::InvalidValue,
    ];

    /// The snake_case name, stable, usable as a Prometheus label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::UnknownObject => "unknown_object",
            SkipReason::UnknownField => "unknown_field",
            SkipReason::NotMarketing => "not_marketing",
            SkipReason::IgnoredStatus => "ignored_status",
            SkipReason::NoCampaign => "no_campaign",
            SkipReason::MissingField => "missing_field",
            SkipReason::InvalidValue => "invalid_value",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unusable item: its reason and a short, single-line detail (where in the payload, and what).
/// Text taken from the payload is clipped and escaped, so details are safe to log.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Skipped {
    pub reason: SkipReason,
    pub detail: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// Everything one webhook payload yields.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Parsed {
    /// Messenger events, each with the page it came for (`entry.id`, else the value's `page_id`).
    pub messenger: Vec<PageEvent>,
    /// WhatsApp events, each with the WABA id (`entry.id`) and phone_number_id.
    pub whatsapp: Vec<WhatsAppEvent>,
    /// wamids that this payload establishes as marketing (`pricing.category` `marketing`/`marketing_lite`, or
    /// `conversation.origin.type` `marketing`), in first-seen order, without duplicates. Includes statuses
    /// that were skipped for another reason (e.g. no campaign): the fact still holds.
    pub marketing_wamids: Vec<String>,
    /// Items that could not be used, by reason (for counters and logs), each with a short detail.
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    /// All events, Messenger first, in payload order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.messenger
            .iter()
            .map(|e| &e.event)
            .chain(self.whatsapp.iter().map(|e| &e.event))
    }

    /// Number of events (Messenger and WhatsApp).
    pub fn event_count(&self) -> usize {
        self.messenger.len() + self.whatsapp.len()
    }

    /// Number of skipped items with this reason.
    pub fn skipped_count(&self, reason: SkipReason) -> usize {
        self.skipped.iter().filter(|s| s.reason == reason).count()
    }
}

/// The body is not usable JSON at all (the server answers 400). Anything well-formed is never an error.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not valid JSON (syntax, invalid UTF-8, empty body, trailing data).
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        /// serde_json's description, without the position.
        message: String,
        line: usize,
        column: usize,
    },
    /// Valid JSON whose top level is not an object or an array.
    #[error("the payload is a JSON {found}, not an object or an array")]
    NotObjectOrArray {
        /// `null`, `boolean`, `number` or `string`.
        found: &'static str,
    },
}

impl From<serde_json::Error> for PayloadError {
    fn from(e: serde_json::Error) -> Self {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        PayloadError::MalformedJson {
            message,
            line: e.line(),
            column: e.column(),
        }
    }
}
