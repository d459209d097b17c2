//! # insights — the metrics engine of cams-insights
//!
//! Pure domain logic: events and their native format, message state, incrementally maintained aggregates,
//! the metrics of `GetMessageCampaignInsights` and their exact formatting. No I/O (checkpoints go to a
//! caller-provided `Write`/`Read`), no threads, no clock ("now" is a parameter), no floating point.
//!
//! ## Semantics
//! `docs/metrics.md` is the reference for users; these are the rules as the engine implements them, with
//! the decisions the project took where Meta's definitions leave a question open:
//! - **Message** = (campaign id, recipient). `sent`/`delivered`/`read` are facts whose time is the earliest
//!   event establishing them: `read` ⇒ delivered ⇒ sent, `click` ⇒ delivered ⇒ sent, and `failed` ⇒ sent
//!   (a failed message was sent), at the failure time when there is no earlier event.
//! - **Failed** counts (at the earliest failure) only for a message never delivered.
//! - **Clicks** are distinct events. Identity: the event id when present, else the timestamp (ms); a click
//!   with an id and one without are different clicks. Ids are scoped to their message and kept as a 63-bit
//!   stable hash (a false merge needs two distinct ids of one message to collide: ≈ k²/2⁶⁴ for k clicks).
//!   A click seen several times counts at its earliest time.
//! - **Country** of a message: among its events that carry one, the earliest (ties: the smaller code); else
//!   the recipient directory ([`Engine::set_recipient_country`], latest call wins); else the phone number's
//!   calling code ([`phone::country_of`]) when the recipient [`is_phone_number`]; else unknown. Unknown is
//!   never excluded. When a message's country changes, everything it counts moves with it.
//! - **Price** of a message: among its events that carry one, the earliest (ties: the smaller price); else the
//!   rate card for (country, query currency, local delivery date in the query's zone), else the card's
//!   default for the currency, else 0. Spend = prices of messages delivered in range, all countries.
//! - **Exclusions**: sent/delivered/read/failed exclude E2, link clicks exclude E5 (by the message's country).
//! - **Dates**: a local date covers `[its first instant, the next date's first instant)` in the query zone,
//!   DST-correct (see [`dates`]). Periods: `all_days`, N days from the start (last one shorter), or calendar
//!   months clipped to the range; every period gets a row. With a country breakdown, each period has one row
//!   per country with any activity (a counted fact or click before exclusions) anywhere in the range,
//!   alphabetically, unknown last; a campaign without activity then has no rows.
//! - Events that fail [`Event::validate`] are ignored by the engine and the reference alike.
//! - Duplicates and permutations of the event stream never change any result.
//!
//! ## Design
//! - **Messages** are 48-byte records (`state` module) in chunked storage (64 Ki per chunk: no doubling
//!   slack, no moves): four fact times as `u32` seconds since 2000, the country and price selections packed
//!   with their millisecond timestamps into one `u64` each (prices interned to 22-bit slots; an overflow map
//!   takes over past 4 Mi distinct prices), and two `u32` links.
//! - **Recipients** are arena records `[len][fallback country][first message][text]` whose id is their arena
//!   position, found through an open-addressing table of (32-bit hash tag, id) slots: one probe line, one
//!   record access. A message is found by walking its recipient's list of messages (one per campaign,
//!   most-recently-used first), so there is no (campaign, recipient) table at all.
//! - **Clicks** are 16-byte records linked per message (identity hash or timestamp, earliest time).
//! - **Aggregates**: per campaign × country (unknown included), counters (sent, delivered, read, failed,
//!   clicks, unpriced deliveries, own-price spend) per UTC quarter-hour, with hour, day, 8-day and 64-day
//!   totals. Every state change subtracts the message's old contribution and adds the new one (merged per
//!   bucket). A query sums a few dozen totals per country and period, prices unpriced deliveries from the
//!   rate card per country (splitting a period only where an effective date falls inside it), and applies the
//!   exclusions: its cost does not depend on the number of messages.
//! - **Checkpoints** (`write_checkpoint`/`read_checkpoint`) hold the primary state plus the non-zero
//!   aggregate buckets, with a magic, a version and a checksum; lookup tables and lists are rebuilt.
//! - Limits: 2³²−1 messages and clicks, 4 GiB of recipient records, ids of at most 256 bytes. A recipient
//!   messaged by many campaigns costs a walk of its list when an old campaign's message is touched again.
//!
//! [`reference::evaluate`] recomputes everything naively and is the oracle of the property tests;
//! [`Engine::aggregates_consistent`] checks the incremental aggregates against a rebuild.

#![forbid(unsafe_code)]

mod aggregates;
mod checkpoint;
mod chunked;
mod country;
mod currency;
pub mod dates;
mod engine;
mod exclusions;
mod format;
mod hash;
mod idtable;
mod intern;
mod json;
mod model;
mod parse;
pub mod phone;
mod query;
mod rates;
mod recipients;
pub mod reference;
mod state;
mod text;

pub use checkpoint::CheckpointError;
pub use country::{CountryCode, UnknownCountry};
pub use currency::Currency;
pub use dates::{
    default_range, parse_date_range, DateRange, IncrementError, RangeError, TimeIncrement,
    MAX_RANGE_MONTHS,
};
pub use engine::{Applied, Engine, EngineConfig};
pub use exclusions::Exclusions;
pub use format::{
    format_money, format_ratio, ExtraFields, FieldsError, FormattedRow, ALWAYS_FIELDS,
};
pub use model::{Event, EventKind, MAX_ID_BYTES, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS};
pub use parse::{format_price, parse_native_event, parse_price, to_native_line, EventError};
pub use phone::is_phone_number;
pub use query::{Breakdown, BreakdownError, Query, Row};
pub use rates::{RateCard, RateCardError};
pub use recipients::parse_recipients;
