//! The state of one message and how events change it (`docs/metrics.md`, "Messages and their state").
//!
//! Every field is a minimum over the message's events, which is what makes the result independent of the
//! order and repetition of events:
//! - `sent` = earliest event of any kind (every kind implies the message was sent; `failed` included),
//! - `delivered` = earliest `delivered`, `read` or `click`, `read` = earliest `read`, `failed` = earliest
//!   `failed` (it only counts while `delivered` is unset),
//! - `country_sel` = the (timestamp, code) minimum over events that carry a country,
//! - `price_sel` = the (timestamp, price) minimum over events that carry a price,
//! - clicks: a set of identities, each with its earliest time.
//!
//! Fact times are stored as whole seconds since 2000-01-01T00:00Z: the floor of a minimum is the minimum of
//! the floors, and quarter-hour bucketing only needs seconds. Country and price selection need the exact
//! millisecond (a tie is broken by the smaller value), so they keep it.

use crate::chunked::ChunkedVec;
use crate::country::{CountryCode, CODE_SPACE};
use crate::intern::NO_ID;
use crate::model::{EventKind, MIN_TIMESTAMP_MS};

/// Country index used for "unknown" in aggregates (one past the two-letter code space).
pub(crate) const UNKNOWN_COUNTRY: u16 = CODE_SPACE;
/// "Not established" for a fact time.
pub(crate) const NO_TIME: u32 = u32::MAX;
/// "No event carried one" for `country_sel` / `price_sel`.
pub(crate) const NO_SEL: u64 = u64::MAX;

const COUNTRY_BITS: u32 = 10;
pub(crate) const PRICE_SLOT_BITS: u32 = 22;
/// Price slot meaning "look the price up in the overflow map" (more distinct prices than slots).
pub(crate) const PRICE_OVERFLOW_SLOT: u32 = (1 << PRICE_SLOT_BITS) - 1;

/// Milliseconds since 2000-01-01T00:00Z of a validated timestamp (fits in 42 bits until 2100).
pub(crate) fn rel_ms(timestamp_ms: i64) -> u64 {
    (timestamp_ms - MIN_TIMESTAMP_MS) as u64
}

/// Whole seconds since 2000-01-01T00:00Z of a validated timestamp.
pub(crate) fn rel_secs(timestamp_ms: i64) -> u32 {
    (rel_ms(timestamp_ms) / 1000) as u32
}

/// Quarter-hour bucket of a fact time in seconds.
pub(crate) fn qh_of_secs(secs: u32) -> u32 {
    secs / 900
}

/// Country index of an optional country (`UNKNOWN_COUNTRY` for `None`).
pub(crate) fn country_index(c: Option<CountryCode>) -> u16 {
    c.map_or(UNKNOWN_COUNTRY, CountryCode::index)
}

/// Packs a country selection key: ordering by the packed value orders by (time, code).
pub(crate) fn pack_country(rel_ms: u64, country: CountryCode) -> u64 {
    (rel_ms << COUNTRY_BITS) | u64::from(country.index())
}

/// The country index held by a `country_sel` (callers check for `NO_SEL` first).
pub(crate) fn sel_country(sel: u64) -> u16 {
    (sel & ((1 << COUNTRY_BITS) - 1)) as u16
}

pub(crate) fn sel_time(sel: u64, low_bits: u32) -> u64 {
    sel >> low_bits
}

pub(crate) fn pack_price(rel_ms: u64, slot: u32) -> u64 {
    (rel_ms << PRICE_SLOT_BITS) | u64::from(slot)
}

pub(crate) fn price_slot(sel: u64) -> u32 {
    (sel & ((1 << PRICE_SLOT_BITS) - 1)) as u32
}

/// One message: 48 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Message {
    pub campaign: u32,
    pub recipient: u32,
    pub sent: u32,
    pub delivered: u32,
    pub read: u32,
    pub failed: u32,
    /// `(ms since 2000) << 10 | country index`, or `NO_SEL`.
    pub country_sel: u64,
    /// `(ms since 2000) << 22 | price slot`, or `NO_SEL`.
    pub price_sel: u64,
    /// Next message of the same recipient, or `NO_ID`.
    pub next_of_recipient: u32,
    /// First click record, or `NO_ID`.
    pub first_click: u32,
}

impl Message {
    pub(crate) fn new(campaign: u32, recipient: u32) -> Message {
        Message {
            campaign,
            recipient,
            sent: NO_TIME,
            delivered: NO_TIME,
            read: NO_TIME,
            failed: NO_TIME,
            country_sel: NO_SEL,
            price_sel: NO_SEL,
            next_of_recipient: NO_ID,
            first_click: NO_ID,
        }
    }

    /// Applies the fact part of an event (not country, price or click identity).
    pub(crate) fn establish(&mut self, kind: EventKind, secs: u32) {
        self.sent = self.sent.min(secs);
        match kind {
            EventKind::Sent => {}
            EventKind::Delivered | EventKind::Click => self.delivered = self.delivered.min(secs),
            EventKind::Read => {
                self.delivered = self.delivered.min(secs);
                self.read = self.read.min(secs);
            }
            EventKind::Failed => self.failed = self.failed.min(secs),
        }
    }

    /// Whether the message counts as failed: a failure and never a delivery.
    pub(crate) fn counts_failed(&self) -> bool {
        self.failed != NO_TIME && self.delivered == NO_TIME
    }

    /// The country index from the message's own events, if any.
    pub(crate) fn own_country(&self) -> Option<u16> {
        (self.country_sel != NO_SEL).then(|| sel_country(self.country_sel))
    }
}

/// One distinct click of a message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Click {
    /// Identity within the message: `ID_TAG | hash(event_id)` for clicks with an event id, else the
    /// timestamp in ms since 2000 (below 2⁴², so the two kinds never collide).
    pub key: u64,
    /// Earliest time of this click, seconds since 2000.
    pub secs: u32,
    /// Next click of the same message, or `NO_ID`.
    pub next: u32,
}

/// Tag bit of click identities derived from an event id.
pub(crate) const ID_TAG: u64 = 1 << 63;

/// Identity of a click event within its message (`docs/metrics.md`: same event id, or lacking one, same
/// timestamp).
pub(crate) fn click_key(event_id: Option<&str>, timestamp_ms: i64) -> u64 {
    match event_id {
        Some(id) => ID_TAG | (crate::hash::stable_hash64(id.as_bytes()) >> 1),
        None => rel_ms(timestamp_ms),
    }
}

/// What adding a click to a message did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ClickChange {
    None,
    Added { secs: u32 },
    Moved { from: u32, to: u32 },
}

/// All click records, in chunks, linked per message.
#[derive(Default)]
pub(crate) struct Clicks {
    pub records: ChunkedVec<Click>,
}

impl Clicks {
    /// Records a click for the message whose list starts at `*head`.
    pub(crate) fn add(&mut self, head: &mut u32, key: u64, secs: u32) -> ClickChange {
        let mut cur = *head;
        while cur != NO_ID {
            let rec = self.records.get_mut(cur as usize);
            if rec.key == key {
                if secs < rec.secs {
                    let from = rec.secs;
                    rec.secs = secs;
                    return ClickChange::Moved { from, to: secs };
                }
                return ClickChange::None;
            }
            cur = rec.next;
        }
        if self.records.len() >= NO_ID as usize {
            return ClickChange::None;
        }
        *head = self.records.push(Click {
            key,
            secs,
            next: *head,
        }) as u32;
        ClickChange::Added { secs }
    }

    /// Times (seconds) of the clicks of a message.
    pub(crate) fn times(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        let mut cur = head;
        std::iter::from_fn(move || {
            if cur == NO_ID {
                return None;
            }
            let rec = self.records.get(cur as usize);
            cur = rec.next;
            Some(rec.secs)
        })
    }
}

/// Distinct prices, so that a message stores a 22-bit slot instead of a full `i64`.
pub(crate) struct Prices {
    values: Vec<i64>,
    slots: hashbrown::HashMap<i64, u32>,
    /// Prices of messages whose price did not get a slot (only past 4M distinct prices).
    overflow: hashbrown::HashMap<u32, i64>,
    /// Number of slots (lowered in tests to exercise the overflow path).
    capacity: u32,
}

impl Default for Prices {
    fn default() -> Self {
        Prices::with_capacity(PRICE_OVERFLOW_SLOT)
    }
}

impl Prices {
    pub(crate) fn with_capacity(capacity: u32) -> Prices {
        Prices {
            values: Vec::new(),
            slots: hashbrown::HashMap::new(),
            overflow: hashbrown::HashMap::new(),
            capacity: capacity.min(PRICE_OVERFLOW_SLOT),
        }
    }

    /// The slot for `price`, creating it when new; `PRICE_OVERFLOW_SLOT` when the table is full.
    pub(crate) fn slot(&mut self, price: i64) -> u32 {
        if let Some(&s) = self.slots.get(&price) {
            return s;
        }
        let s = self.values.len() as u32;
        if s >= self.capacity {
            return PRICE_OVERFLOW_SLOT;
        }
        self.values.push(price);
        self.slots.insert(price, s);
        s
    }

    /// Records the price of a message that got the overflow slot.
    pub(crate) fn set_overflow(&mut self, message: u32, price: i64) {
        self.overflow.insert(message, price);
    }

    /// Forgets the overflow price of a message that now has a slot.
    pub(crate) fn clear_overflow(&mut self, message: u32) {
        if !self.overflow.is_empty() {
            self.overflow.remove(&message);
        }
    }

    /// The price selected by `price_sel` of message `message`.
    pub(crate) fn price_of(&self, message: u32, price_sel: u64) -> Option<i64> {
        if price_sel == NO_SEL {
            return None;
        }
        match price_slot(price_sel) {
            PRICE_OVERFLOW_SLOT => self.overflow.get(&message).copied(),
            s => self.values.get(s as usize).copied(),
        }
    }

    pub(crate) fn values(&self) -> &[i64] {
        &self.values
    }

    pub(crate) fn overflow(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.overflow.iter().map(|(&m, &p)| (m, p))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.values.capacity() * 8 + self.slots.allocation_size() + self.overflow.allocation_size()
    }
}
