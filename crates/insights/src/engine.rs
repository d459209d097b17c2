//! The incremental engine: message states keyed by interned ids, and the aggregates kept in step with them.
//!
//! A message is found from its recipient: each recipient heads a list of its messages (one per campaign it
//! was sent), kept in most-recently-used order, so the usual lookup is the recipient's hash probe plus one
//! message access, and no (campaign, recipient) table is needed. A recipient in many campaigns costs a walk
//! of its list when an old campaign's message is touched again.
//!
//! Every state change subtracts the message's old contribution from the aggregates and adds the new one
//! (merged per bucket, so only what moved is touched). A query then only reads aggregates: its cost does
//! not depend on how many messages a campaign has.

use crate::aggregates::{
    CampaignSeries, DeltaBuffer, CLICKS, DELIVERED, FAILED, READ, SENT, SPEND, UNPRICED,
};
use crate::chunked::ChunkedVec;
use crate::country::CountryCode;
use crate::exclusions::Exclusions;
use crate::intern::{Campaigns, Recipients, NO_ID};
use crate::model::{Event, EventKind};
use crate::phone;
use crate::query::{self, Query, Row};
use crate::rates::RateCard;
use crate::state::{
    click_key, country_index, pack_country, pack_price, qh_of_secs, rel_ms, rel_secs, sel_time,
    ClickChange, Clicks, Message, Prices, NO_SEL, NO_TIME, PRICE_OVERFLOW_SLOT, PRICE_SLOT_BITS,
};

/// Engine settings that do not change its state (exclusions apply at query time, so they may change
/// between restarts without rebuilding anything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineConfig {
    pub exclusions: Exclusions,
}

/// Outcome of [`Engine::apply`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Applied {
    /// The event changed the state (and the aggregates).
    Changed,
    /// No state change: an exact duplicate, an event superseded by earlier ones (e.g. a `delivered` later
    /// than the known delivery), or an event that fails [`Event::validate`].
    Duplicate,
}

/// The metrics engine. See the crate docs for the semantics.
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) campaigns: Campaigns,
    pub(crate) recipients: Recipients,
    pub(crate) messages: ChunkedVec<Message>,
    pub(crate) clicks: Clicks,
    pub(crate) prices: Prices,
    /// Aggregates, indexed by campaign id.
    pub(crate) series: Vec<CampaignSeries>,
    pub(crate) event_count: u64,
    deltas: DeltaBuffer,
}

/// Fallback country of a recipient with no directory entry: its phone number's, else unknown.
fn phone_country(recipient: &str) -> u16 {
    country_index(phone::country_of(recipient))
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            campaigns: Campaigns::default(),
            recipients: Recipients::default(),
            messages: ChunkedVec::default(),
            clicks: Clicks::default(),
            prices: Prices::default(),
            series: Vec::new(),
            event_count: 0,
            deltas: DeltaBuffer::default(),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies one event. Idempotent and order-independent: any permutation and repetition of a set of
    /// events yields the same state.
    pub fn apply(&mut self, e: &Event) -> Applied {
        if e.validate().is_err() {
            return Applied::Duplicate;
        }
        let Some(campaign) = self.campaigns.intern(&e.campaign_id) else {
            return Applied::Duplicate;
        };
        let Some((recipient, _)) = self
            .recipients
            .intern(&e.recipient, || phone_country(&e.recipient))
        else {
            return Applied::Duplicate;
        };
        let Some(id) = self.find_or_create_message(campaign, recipient) else {
            return Applied::Duplicate;
        };
        let first = &mut self.campaigns.first_event_ms[campaign as usize];
        *first = (*first).min(e.timestamp_ms);

        let old = *self.messages.get(id as usize);
        let mut new = old;
        let secs = rel_secs(e.timestamp_ms);
        new.establish(e.kind, secs);
        if let Some(c) = e.country {
            new.country_sel = new.country_sel.min(pack_country(rel_ms(e.timestamp_ms), c));
        }
        let new_price = e
            .price_micros
            .filter(|&p| self.price_wins(id, &old, e.timestamp_ms, p));
        let click =
            (e.kind == EventKind::Click).then(|| click_key(e.event_id.as_deref(), e.timestamp_ms));

        let old_country = self.effective_country(&old);
        let new_country = self.effective_country(&new);
        let click_would_change =
            click.is_some_and(|key| self.click_would_change(old.first_click, key, secs));
        if new == old && new_price.is_none() && !click_would_change {
            return Applied::Duplicate;
        }

        self.deltas.clear();
        let old_price = self.prices.price_of(id, old.price_sel);
        let moving = old_country != new_country;
        self.emit_facts(&old, old_price, old_country, -1);
        if moving {
            self.emit_clicks(old.first_click, old_country, -1);
        }
        if let Some(p) = new_price {
            let slot = self.prices.slot(p);
            if slot == PRICE_OVERFLOW_SLOT {
                self.prices.set_overflow(id, p);
            } else {
                self.prices.clear_overflow(id);
            }
            new.price_sel = pack_price(rel_ms(e.timestamp_ms), slot);
        }
        let mut click_change = ClickChange::None;
        if let Some(key) = click {
            click_change = self.clicks.add(&mut new.first_click, key, secs);
        }
        let new_price_value = self.prices.price_of(id, new.price_sel);
        self.emit_facts(&new, new_price_value, new_country, 1);
        if moving {
            self.emit_clicks(new.first_click, new_country, 1);
        } else {
            match click_change {
                ClickChange::None => {}
                ClickChange::Added { secs } => {
                    self.deltas.push(new_country, qh_of_secs(secs), CLICKS, 1)
                }
                ClickChange::Moved { from, to } => {
                    self.deltas.push(new_country, qh_of_secs(from), CLICKS, -1);
                    self.deltas.push(new_country, qh_of_secs(to), CLICKS, 1);
                }
            }
        }
        *self.messages.get_mut(id as usize) = new;
        self.flush_deltas(campaign);
        self.event_count += 1;
        Applied::Changed
    }

    /// Whether an event price at `timestamp_ms` replaces the message's current price: earlier time wins,
    /// a tie goes to the smaller price.
    fn price_wins(&self, id: u32, m: &Message, timestamp_ms: i64, price: i64) -> bool {
        if m.price_sel == NO_SEL {
            return true;
        }
        let t = rel_ms(timestamp_ms);
        let cur_t = sel_time(m.price_sel, PRICE_SLOT_BITS);
        t < cur_t
            || (t == cur_t
                && self
                    .prices
                    .price_of(id, m.price_sel)
                    .is_some_and(|cur| price < cur))
    }

    fn click_would_change(&self, head: u32, key: u64, secs: u32) -> bool {
        let mut cur = head;
        while cur != NO_ID {
            let rec = self.clicks.records.get(cur as usize);
            if rec.key == key {
                return secs < rec.secs;
            }
            cur = rec.next;
        }
        true
    }

    /// The message (campaign, recipient), created when new. Moves it to the front of the recipient's list.
    fn find_or_create_message(&mut self, campaign: u32, recipient: u32) -> Option<u32> {
        let head = self.recipients.first_message(recipient);
        let mut prev = NO_ID;
        let mut cur = head;
        while cur != NO_ID {
            let m = self.messages.get(cur as usize);
            let next = m.next_of_recipient;
            if m.campaign == campaign {
                if prev != NO_ID {
                    self.messages.get_mut(prev as usize).next_of_recipient = next;
                    self.messages.get_mut(cur as usize).next_of_recipient = head;
                    self.recipients.set_first_message(recipient, cur);
                }
                return Some(cur);
            }
            prev = cur;
            cur = next;
        }
        if self.messages.len() >= NO_ID as usize {
            return None;
        }
        let mut m = Message::new(campaign, recipient);
        m.next_of_recipient = head;
        let id = self.messages.push(m) as u32;
        self.recipients.set_first_message(recipient, id);
        if self.series.len() <= campaign as usize {
            self.series
                .resize_with(campaign as usize + 1, CampaignSeries::default);
        }
        Some(id)
    }

    /// Country index of a message: its own events' country, else the recipient's fallback.
    pub(crate) fn effective_country(&self, m: &Message) -> u16 {
        m.own_country()
            .unwrap_or_else(|| self.recipients.fallback_country(m.recipient))
    }

    /// Pushes `sign` × the fact contribution of `m` (counts and spend, not clicks) into the delta buffer.
    fn emit_facts(&mut self, m: &Message, price: Option<i64>, country: u16, sign: i64) {
        emit_facts_into(&mut self.deltas, m, price, country, sign);
    }

    fn emit_clicks(&mut self, head: u32, country: u16, sign: i64) {
        let Engine { clicks, deltas, .. } = self;
        for secs in clicks.times(head) {
            deltas.push(country, qh_of_secs(secs), CLICKS, sign);
        }
    }

    fn flush_deltas(&mut self, campaign: u32) {
        let Some(series) = self.series.get_mut(campaign as usize) else {
            return;
        };
        for d in &self.deltas.entries {
            if !d.counters.is_zero() {
                series.add(d.country, d.qh, &d.counters);
            }
        }
    }

    /// Sets the directory country of a recipient (later calls win). Messages of the recipient whose events
    /// carry no country move, with everything they count, to the new country.
    pub fn set_recipient_country(&mut self, recipient: &str, country: CountryCode) {
        if crate::model::check_id("recipient", recipient).is_err() {
            return;
        }
        let Some((rid, _)) = self
            .recipients
            .intern(recipient, || phone_country(recipient))
        else {
            return;
        };
        let new_country = country.index();
        let old_country = self.recipients.fallback_country(rid);
        if old_country == new_country {
            return;
        }
        self.recipients.set_fallback_country(rid, new_country);
        let mut cur = self.recipients.first_message(rid);
        while cur != NO_ID {
            let m = *self.messages.get(cur as usize);
            if m.own_country().is_none() {
                let price = self.prices.price_of(cur, m.price_sel);
                self.deltas.clear();
                self.emit_facts(&m, price, old_country, -1);
                self.emit_clicks(m.first_click, old_country, -1);
                self.emit_facts(&m, price, new_country, 1);
                self.emit_clicks(m.first_click, new_country, 1);
                self.flush_deltas(m.campaign);
            }
            cur = m.next_of_recipient;
        }
    }

    /// The directory (or phone-number) country used for a recipient's messages without their own country.
    pub fn recipient_country(&self, recipient: &str) -> Option<CountryCode> {
        match self.recipients.find(recipient) {
            Some(id) => CountryCode::from_index(self.recipients.fallback_country(id)),
            None => phone::country_of(recipient),
        }
    }

    /// Rows for a campaign (see [`Query`]); an unknown campaign gives rows of zeros (or no rows when broken
    /// down by country).
    pub fn query(&self, campaign_id: &str, q: &Query, rates: &RateCard) -> Vec<Row> {
        let series = self
            .campaigns
            .find(campaign_id)
            .and_then(|id| self.series.get(id as usize));
        query::rows_from_series(series, q, rates, &self.config.exclusions)
    }

    /// Earliest event timestamp of the campaign (ms), if it has any events.
    pub fn first_event_ms(&self, campaign_id: &str) -> Option<i64> {
        let id = self.campaigns.find(campaign_id)?;
        self.campaigns
            .first_event_ms
            .get(id as usize)
            .copied()
            .filter(|&t| t != i64::MAX)
    }

    /// Every campaign id that has events, sorted.
    pub fn campaign_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.campaigns.names.iter().map(|n| n.to_string()).collect();
        ids.sort_unstable();
        ids
    }

    /// Number of messages (distinct (campaign, recipient) pairs).
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Number of applied events that changed the state.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// Heap memory held by the engine, in bytes (allocated capacity, not just what is used).
    pub fn heap_bytes_estimate(&self) -> usize {
        self.campaigns.heap_bytes()
            + self.recipients.heap_bytes()
            + self.messages.heap_bytes()
            + self.clicks.records.heap_bytes()
            + self.prices.heap_bytes()
            + self.series.capacity() * std::mem::size_of::<CampaignSeries>()
            + self
                .series
                .iter()
                .map(CampaignSeries::heap_bytes)
                .sum::<usize>()
            + self.deltas.entries.capacity() * std::mem::size_of::<crate::aggregates::Delta>()
    }

    /// Whether the incrementally maintained aggregates equal the ones recomputed from scratch from the
    /// message states (an internal consistency check for tests and diagnostics; costs a full rebuild).
    pub fn aggregates_consistent(&self) -> bool {
        let mut fresh: Vec<CampaignSeries> = Vec::new();
        fresh.resize_with(self.campaigns.len(), CampaignSeries::default);
        let mut deltas = DeltaBuffer::default();
        for id in 0..self.messages.len() {
            let m = *self.messages.get(id);
            let country = self.effective_country(&m);
            let price = self.prices.price_of(id as u32, m.price_sel);
            deltas.clear();
            emit_facts_into(&mut deltas, &m, price, country, 1);
            for secs in self.clicks.times(m.first_click) {
                deltas.push(country, qh_of_secs(secs), CLICKS, 1);
            }
            for d in deltas.entries.iter().filter(|d| !d.counters.is_zero()) {
                fresh[m.campaign as usize].add(d.country, d.qh, &d.counters);
            }
        }
        let snapshot = |all: &[CampaignSeries]| {
            let mut out = Vec::new();
            for (campaign, series) in all.iter().enumerate() {
                for (country, s) in series.iter() {
                    let buckets = s.buckets();
                    if !buckets.is_empty() {
                        out.push((campaign, country, buckets));
                    }
                }
            }
            out
        };
        snapshot(&self.series) == snapshot(&fresh)
    }

    /// Re-links every recipient's list of messages after loading (newest first, as if just applied).
    pub(crate) fn rebuild_message_links(&mut self) {
        self.recipients.clear_message_lists();
        for id in 0..self.messages.len() {
            let recipient = self.messages.get(id).recipient;
            let head = self.recipients.first_message(recipient);
            self.messages.get_mut(id).next_of_recipient = head;
            self.recipients.set_first_message(recipient, id as u32);
        }
    }
}

/// `sign` × the fact contribution of a message (everything except clicks) at its country.
pub(crate) fn emit_facts_into(
    buf: &mut DeltaBuffer,
    m: &Message,
    price: Option<i64>,
    country: u16,
    sign: i64,
) {
    if m.sent != NO_TIME {
        buf.push(country, qh_of_secs(m.sent), SENT, sign);
    }
    if m.delivered != NO_TIME {
        let qh = qh_of_secs(m.delivered);
        buf.push(country, qh, DELIVERED, sign);
        match price {
            Some(p) => buf.push(country, qh, SPEND, p.wrapping_mul(sign)),
            None => buf.push(country, qh, UNPRICED, sign),
        }
    }
    if m.read != NO_TIME {
        buf.push(country, qh_of_secs(m.read), READ, sign);
    }
    if m.counts_failed() {
        buf.push(country, qh_of_secs(m.failed), FAILED, sign);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("campaigns", &self.campaigns.len())
            .field("recipients", &self.recipients.len())
            .field("messages", &self.messages.len())
            .field("clicks", &self.clicks.records.len())
            .field("events", &self.event_count)
            .finish()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::{DateRange, TimeIncrement};
    use crate::query::Breakdown;
    use crate::reference;

    fn event(recipient: &str, kind: EventKind, ms: i64, price: Option<i64>) -> Event {
        Event {
            campaign_id: "c".into(),
            recipient: recipient.into(),
            kind,
            timestamp_ms: ms,
            country: None,
            event_id: None,
            price_micros: price,
        }
    }

    /// With only two price slots, later distinct prices take the overflow path; results, checkpoints and
    /// continued application must not notice.
    #[test]
    fn price_overflow_path_is_exact() {
        let base = 1_751_328_000_000; // 2025-07-01T00:00:00Z
        let mut events = Vec::new();
        for i in 0..12i64 {
            let r = format!("psid-{i}");
            events.push(event(
                &r,
                EventKind::Delivered,
                base + i * 3_600_000,
                Some(10_000 + i * 7),
            ));
            // An earlier price for some messages replaces the first one (overflow -> slot and back).
            if i % 3 == 0 {
                events.push(event(
                    &r,
                    EventKind::Sent,
                    base + i * 3_600_000 - 1,
                    Some(10_000),
                ));
            }
        }
        let mut engine = Engine::new(EngineConfig::default());
        engine.prices = Prices::with_capacity(2);
        for e in &events[..15] {
            engine.apply(e);
        }
        let q = Query {
            tz: chrono_tz::UTC,
            currency: crate::Currency::from_code("USD").unwrap_or_else(|| unreachable!()),
            range: DateRange {
                start: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default(),
                stop: chrono::NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default(),
            },
            increment: TimeIncrement::Days(1),
            breakdown: Breakdown::Country,
        };
        let rates = RateCard::empty();
        let expected = reference::evaluate(&events[..15], &[], engine.config(), "c", &q, &rates);
        assert_eq!(engine.query("c", &q, &rates), expected);
        assert!(engine.prices.overflow().count() > 0);

        let mut bytes = Vec::new();
        engine
            .write_checkpoint(&mut bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut restored = Engine::read_checkpoint(EngineConfig::default(), &mut bytes.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(restored.query("c", &q, &rates), expected);
        for e in &events[15..] {
            engine.apply(e);
            restored.apply(e);
        }
        let expected = reference::evaluate(&events, &[], engine.config(), "c", &q, &rates);
        assert_eq!(engine.query("c", &q, &rates), expected);
        assert_eq!(restored.query("c", &q, &rates), expected);
        assert!(engine.aggregates_consistent() && restored.aggregates_consistent());
    }
}
