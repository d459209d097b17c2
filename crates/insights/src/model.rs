//! The event model: what happened to which message, when.

use std::fmt;
use std::str::FromStr;

use crate::country::CountryCode;
use crate::parse::EventError;

/// First valid event instant: 2000-01-01T00:00:00Z, in ms since the Unix epoch.
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;
/// Last valid event instant: 2099-12-31T23:59:59.999Z, in ms since the Unix epoch.
pub const MAX_TIMESTAMP_MS: i64 = 4_102_444_799_999;
/// Longest accepted `campaign_id`, `recipient` and `event_id`, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// What an event reports about a message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum EventKind {
    Sent,
    Delivered,
    Read,
    Click,
    Failed,
}

impl EventKind {
    /// Every kind, in lifecycle order.
    pub const ALL: [EventKind; 5] = [
        EventKind::Sent,
        EventKind::Delivered,
        EventKind::Read,
        EventKind::Click,
        EventKind::Failed,
    ];

    /// The native-format name: `sent`, `delivered`, `read`, `click` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sent => "sent",
            EventKind::Delivered => "delivered",
            EventKind::Read => "read",
            EventKind::Click => "click",
            EventKind::Failed => "failed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = EventError;

    /// Accepts the native names in any ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| EventError::UnknownKind(crate::text::clip(s).into_owned()))
    }
}

/// One event about the message (`campaign_id`, `recipient`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Event {
    pub campaign_id: String,
    pub recipient: String,
    pub kind: EventKind,
    /// UTC instant in ms since the Unix epoch, within [`MIN_TIMESTAMP_MS`]`..=`[`MAX_TIMESTAMP_MS`].
    pub timestamp_ms: i64,
    /// The country the event itself reports (e.g. from the channel), if any.
    pub country: Option<CountryCode>,
    /// Identity of the event at its source; identifies clicks (see the crate docs).
    pub event_id: Option<String>,
    /// Price of the message in the ad account's currency, micro-units (1e-6 of the major unit), `>= 0`.
    pub price_micros: Option<i64>,
}

impl Event {
    /// Checks the invariants that [`crate::parse_native_event`] guarantees. Events built by hand should pass
    /// this; the engine ignores (does not apply) events that do not.
    pub fn validate(&self) -> Result<(), EventError> {
        check_id("campaign_id", &self.campaign_id)?;
        check_id("recipient", &self.recipient)?;
        if let Some(id) = &self.event_id {
            check_id("event_id", id)?;
        }
        if !(MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(&self.timestamp_ms) {
            return Err(EventError::TimestampOutOfRange);
        }
        if matches!(self.price_micros, Some(p) if p < 0) {
            return Err(EventError::NegativePrice);
        }
        Ok(())
    }

    /// Whether [`Event::validate`] passes.
    pub fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }
}

/// Non-empty and at most [`MAX_ID_BYTES`] bytes.
pub(crate) fn check_id(field: &'static str, value: &str) -> Result<(), EventError> {
    if value.is_empty() {
        Err(EventError::EmptyField(field))
    } else if value.len() > MAX_ID_BYTES {
        Err(EventError::FieldTooLong(field))
    } else {
        Ok(())
    }
}
