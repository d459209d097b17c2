//! Binary forms of what the log holds.
//!
//! - An **event batch** ([`encode`]/[`decode`]): compact and fast to write: a version byte, the event count,
//!   then per event a kind byte, a flags byte, the timestamp (zigzag varint), length-prefixed campaign id and
//!   recipient, and the optional country, event id and price.
//! - An **entry** ([`encode_entry`]/[`decode_entry`]): a version byte, a tag byte naming the kind of
//!   [`Entry`], then its fields (strings length-prefixed, integers as varints, events as a batch).
//!
//! Decoding validates everything and never panics: a damaged record is reported as corrupt, not misread.

use chrono::NaiveDate;
use insights::{CountryCode, Event, EventKind};

use crate::entry::Entry;
use crate::model::{BudgetType, Campaign, CampaignStatus, NewCampaign, Placement};

const VERSION: u8 = 1;
const HAS_COUNTRY: u8 = 1;
const HAS_EVENT_ID: u8 = 2;
const HAS_PRICE: u8 = 4;

fn kind_byte(k: EventKind) -> u8 {
    match k {
        EventKind::Sent => 0,
        EventKind::Delivered => 1,
        EventKind::Read => 2,
        EventKind::Click => 3,
        EventKind::Failed => 4,
    }
}

fn kind_of(b: u8) -> Option<EventKind> {
    Some(match b {
        0 => EventKind::Sent,
        1 => EventKind::Delivered,
        2 => EventKind::Read,
        3 => EventKind::Click,
        4 => EventKind::Failed,
        _ => return None,
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Encodes a batch.
pub fn encode(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 48 + 8);
    encode_into(&mut out, events);
    out
}

fn encode_into(out: &mut Vec<u8>, events: &[Event]) {
    out.push(VERSION);
    put_varint(out, events.len() as u64);
    for e in events {
        let mut flags = 0;
        if e.country.is_some() {
            flags |= HAS_COUNTRY;
        }
        if e.event_id.is_some() {
            flags |= HAS_EVENT_ID;
        }
        if e.price_micros.is_some() {
            flags |= HAS_PRICE;
        }
        out.push(kind_byte(e.kind));
        out.push(flags);
        put_varint(out, zigzag(e.timestamp_ms));
        put_str(out, &e.campaign_id);
        put_str(out, &e.recipient);
        if let Some(c) = &e.country {
            out.extend_from_slice(c.to_string().as_bytes());
        }
        if let Some(id) = &e.event_id {
            put_str(out, id);
        }
        if let Some(p) = e.price_micros {
            put_varint(out, zigzag(p));
        }
    }
}

/// A damaged record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged event batch at byte {0}")]
pub struct CorruptBatch(pub usize);

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CorruptBatch> {
        let b = *self.data.get(self.pos).ok_or(CorruptBatch(self.pos))?;
        self.pos += 1;
        Ok(b)
    }
    fn varint(&mut self) -> Result<u64, CorruptBatch> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CorruptBatch(self.pos))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CorruptBatch> {
        let end = self.pos.checked_add(n).ok_or(CorruptBatch(self.pos))?;
        let s = self.data.get(self.pos..end).ok_or(CorruptBatch(self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn string(&mut self) -> Result<String, CorruptBatch> {
        let n = self.varint()? as usize;
        let at = self.pos;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| CorruptBatch(at))
    }
}

/// Decodes a batch.
pub fn decode(data: &[u8]) -> Result<Vec<Event>, CorruptBatch> {
    let mut r = Reader { data, pos: 0 };
    let events = read_batch(&mut r)?;
    if r.pos != data.len() {
        return Err(CorruptBatch(r.pos));
    }
    Ok(events)
}

fn read_batch(r: &mut Reader<'_>) -> Result<Vec<Event>, CorruptBatch> {
    let at = r.pos;
    if r.byte()? != VERSION {
        return Err(CorruptBatch(at));
    }
    let n = r.varint()? as usize;
    // Every event takes at least 6 bytes: a bogus count cannot make us allocate much.
    let mut events = Vec::with_capacity(n.min((r.data.len() - r.pos) / 6 + 1));
    for _ in 0..n {
        let at = r.pos;
        let kind = kind_of(r.byte()?).ok_or(CorruptBatch(at))?;
        let flags = r.byte()?;
        let timestamp_ms = unzigzag(r.varint()?);
        let campaign_id = r.string()?;
        let recipient = r.string()?;
        let country = if flags & HAS_COUNTRY != 0 {
            let at = r.pos;
            let code = std::str::from_utf8(r.bytes(2)?).map_err(|_| CorruptBatch(at))?;
            Some(code.parse::<CountryCode>().map_err(|_| CorruptBatch(at))?)
        } else {
            None
        };
        let event_id = if flags & HAS_EVENT_ID != 0 {
            Some(r.string()?)
        } else {
            None
        };
        let price_micros = if flags & HAS_PRICE != 0 {
            Some(unzigzag(r.varint()?))
        } else {
            None
        };
        events.push(Event {
            campaign_id,
            recipient,
            kind,
            timestamp_ms,
            country,
            event_id,
            price_micros,
        });
    }
    Ok(events)
}

/// Version byte of an encoded entry.
const ENTRY_VERSION: u8 = 2;

const TAG_EVENTS: u8 = 0;
const TAG_RECIPIENTS: u8 = 1;
const TAG_RATE_CARD: u8 = 2;
const TAG_CREATE: u8 = 3;
const TAG_REGISTER: u8 = 4;
const TAG_SYNC: u8 = 5;
const TAG_DELETE: u8 = 6;
const TAG_CAMPAIGN_PAGE: u8 = 7;
const TAG_RESET: u8 = 8;
const TAG_RESTORE: u8 = 9;

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

fn put_placement(out: &mut Vec<u8>, p: &Placement) {
    put_str(out, &p.account_uid);
    put_str(out, &p.cust_space_id);
    put_str(out, &p.page_id);
    put_str(out, &p.ad_account_id);
}

fn put_new_campaign(out: &mut Vec<u8>, n: &NewCampaign) {
    put_placement(out, &n.placement);
    put_str(out, &n.name);
    out.push(match n.budget_type {
        BudgetType::Daily => 0,
        BudgetType::Lifetime => 1,
    });
    put_varint(out, zigzag(n.budget));
    put_varint(out, zigzag(n.create_time_ms));
}

/// Days from 1970-01-01 of a date.
fn day_number(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
        .num_days()
}

/// Encodes an entry.
pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + entry.event_count() * 48);
    out.push(ENTRY_VERSION);
    match entry {
        Entry::Events {
            account,
            page_hint,
            events,
        } => {
            out.push(TAG_EVENTS);
            put_str(&mut out, account);
            put_opt_str(&mut out, page_hint.as_deref());
            encode_into(&mut out, events);
        }
        Entry::RecipientCountries { account, entries } => {
            out.push(TAG_RECIPIENTS);
            put_str(&mut out, account);
            put_varint(&mut out, entries.len() as u64);
            for (recipient, country) in entries {
                put_str(&mut out, recipient);
                out.extend_from_slice(country.to_string().as_bytes());
            }
        }
        Entry::RateCard {
            csv,
            effective_from,
        } => {
            out.push(TAG_RATE_CARD);
            put_varint(&mut out, zigzag(day_number(*effective_from)));
            put_str(&mut out, csv);
        }
        Entry::CreateCampaign(new) => {
            out.push(TAG_CREATE);
            put_new_campaign(&mut out, new);
        }
        Entry::RegisterCampaign(c) => {
            out.push(TAG_REGISTER);
            put_str(&mut out, &c.campaign_id);
            put_new_campaign(
                &mut out,
                &NewCampaign {
                    placement: c.placement.clone(),
                    name: c.name.clone(),
                    budget_type: c.budget_type,
                    budget: c.budget,
                    create_time_ms: c.create_time_ms,
                },
            );
            out.push(match c.status {
                CampaignStatus::Available => 0,
                CampaignStatus::Deleted => 1,
            });
        }
        Entry::SyncCampaigns { placement, now_ms } => {
            out.push(TAG_SYNC);
            put_placement(&mut out, placement);
            put_varint(&mut out, zigzag(*now_ms));
        }
        Entry::DeleteCampaign {
            account,
            campaign_id,
        } => {
            out.push(TAG_DELETE);
            put_str(&mut out, account);
            put_str(&mut out, campaign_id);
        }
        Entry::CampaignPage {
            account,
            campaign_id,
            page_id,
        } => {
            out.push(TAG_CAMPAIGN_PAGE);
            put_str(&mut out, account);
            put_str(&mut out, campaign_id);
            put_str(&mut out, page_id);
        }
        Entry::Reset => out.push(TAG_RESET),
        Entry::Restore { state } => {
            out.push(TAG_RESTORE);
            put_varint(&mut out, state.len() as u64);
            out.extend_from_slice(state);
        }
    }
    out
}

/// A damaged entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged log entry at byte {0}")]
pub struct CorruptEntry(pub usize);

impl From<CorruptBatch> for CorruptEntry {
    fn from(e: CorruptBatch) -> Self {
        CorruptEntry(e.0)
    }
}

impl Reader<'_> {
    fn opt_string(&mut self) -> Result<Option<String>, CorruptBatch> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.string()?)),
            _ => Err(CorruptBatch(self.pos - 1)),
        }
    }

    fn zigzag(&mut self) -> Result<i64, CorruptBatch> {
        Ok(unzigzag(self.varint()?))
    }

    fn country(&mut self) -> Result<CountryCode, CorruptBatch> {
        let at = self.pos;
        let code = std::str::from_utf8(self.bytes(2)?).map_err(|_| CorruptBatch(at))?;
        code.parse::<CountryCode>().map_err(|_| CorruptBatch(at))
    }

    fn placement(&mut self) -> Result<Placement, CorruptBatch> {
        Ok(Placement {
            account_uid: self.string()?,
            cust_space_id: self.string()?,
            page_id: self.string()?,
            ad_account_id: self.string()?,
        })
    }

    fn new_campaign(&mut self) -> Result<NewCampaign, CorruptBatch> {
        let placement = self.placement()?;
        let name = self.string()?;
        let at = self.pos;
        let budget_type = match self.byte()? {
            0 => BudgetType::Daily,
            1 => BudgetType::Lifetime,
            _ => return Err(CorruptBatch(at)),
        };
        Ok(NewCampaign {
            placement,
            name,
            budget_type,
            budget: self.zigzag()?,
            create_time_ms: self.zigzag()?,
        })
    }
}

/// Decodes an entry.
pub fn decode_entry(data: &[u8]) -> Result<Entry, CorruptEntry> {
    let mut r = Reader { data, pos: 0 };
    if r.byte()? != ENTRY_VERSION {
        return Err(CorruptEntry(0));
    }
    let at = r.pos;
    let entry = match r.byte()? {
        TAG_EVENTS => Entry::Events {
            account: r.string()?,
            page_hint: r.opt_string()?,
            events: read_batch(&mut r)?,
        },
        TAG_RECIPIENTS => {
            let account = r.string()?;
            let n = r.varint()? as usize;
            // Every entry takes at least 3 bytes.
            let mut entries = Vec::with_capacity(n.min(data.len() / 3 + 1));
            for _ in 0..n {
                let recipient = r.string()?;
                entries.push((recipient, r.country()?));
            }
            Entry::RecipientCountries { account, entries }
        }
        TAG_RATE_CARD => {
            let at = r.pos;
            let days = r.zigzag()?;
            let effective_from = NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::try_days(days)?))
                .ok_or(CorruptEntry(at))?;
            Entry::RateCard {
                csv: r.string()?,
                effective_from,
            }
        }
        TAG_CREATE => Entry::CreateCampaign(r.new_campaign()?),
        TAG_REGISTER => {
            let campaign_id = r.string()?;
            let new = r.new_campaign()?;
            let at = r.pos;
            let status = match r.byte()? {
                0 => CampaignStatus::Available,
                1 => CampaignStatus::Deleted,
                _ => return Err(CorruptEntry(at)),
            };
            Entry::RegisterCampaign(Campaign {
                campaign_id,
                placement: new.placement,
                name: new.name,
                budget_type: new.budget_type,
                budget: new.budget,
                status,
                create_time_ms: new.create_time_ms,
            })
        }
        TAG_SYNC => Entry::SyncCampaigns {
            placement: r.placement()?,
            now_ms: r.zigzag()?,
        },
        TAG_DELETE => Entry::DeleteCampaign {
            account: r.string()?,
            campaign_id: r.string()?,
        },
        TAG_CAMPAIGN_PAGE => Entry::CampaignPage {
            account: r.string()?,
            campaign_id: r.string()?,
            page_id: r.string()?,
        },
        TAG_RESET => Entry::Reset,
        TAG_RESTORE => {
            let n = r.varint()? as usize;
            Entry::Restore {
                state: r.bytes(n)?.to_vec(),
            }
        }
        _ => return Err(CorruptEntry(at)),
    };
    if r.pos != data.len() {
        return Err(CorruptEntry(r.pos));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Event> {
        vec![
            Event {
                campaign_id: "120210000000000001".into(),
                recipient: "psid-1".into(),
                kind: EventKind::Delivered,
                timestamp_ms: 1_751_443_200_000,
                country: Some("BR".parse().unwrap()),
                event_id: Some("e-1".into()),
                price_micros: Some(14_100),
            },
            Event {
                campaign_id: "c".into(),
                recipient: "+14155550100".into(),
                kind: EventKind::Click,
                timestamp_ms: 946_684_800_000,
                country: None,
                event_id: None,
                price_micros: None,
            },
        ]
    }

    #[test]
    fn round_trip() {
        let events = sample();
        assert_eq!(decode(&encode(&events)).unwrap(), events);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<Event>::new());
    }

    #[test]
    fn damage_is_detected_not_misread() {
        let data = encode(&sample());
        for cut in 0..data.len() {
            assert!(decode(&data[..cut]).is_err(), "truncated at {cut}");
        }
        let mut extra = data.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        // Any single byte flipped: either an error or a valid (different) decoding, never a panic.
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0xff;
            let _ = decode(&d);
        }
    }

    fn entries() -> Vec<Entry> {
        let placement = Placement {
            account_uid: "1000000000000001".into(),
            cust_space_id: "cams-x".into(),
            page_id: "p1".into(),
            ad_account_id: "a1".into(),
        };
        vec![
            Entry::Events {
                account: "1000000000000001".into(),
                page_hint: Some("323".into()),
                events: sample(),
            },
            Entry::Events {
                account: "1".into(),
                page_hint: None,
                events: Vec::new(),
            },
            Entry::RecipientCountries {
                account: "1".into(),
                entries: vec![("psid-1".into(), "BR".parse().unwrap())],
            },
            Entry::RateCard {
                csv: "country,currency,price\nUS,USD,0.02\n".into(),
                effective_from: NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
            },
            Entry::CreateCampaign(NewCampaign {
                placement: placement.clone(),
                name: "Sommer – Sale".into(),
                budget_type: BudgetType::Daily,
                budget: 30_000,
                create_time_ms: 1_751_443_200_000,
            }),
            Entry::RegisterCampaign(Campaign {
                campaign_id: "120200000000000009".into(),
                placement: placement.clone(),
                name: "old".into(),
                budget_type: BudgetType::Lifetime,
                budget: 0,
                status: CampaignStatus::Deleted,
                create_time_ms: -5,
            }),
            Entry::SyncCampaigns {
                placement,
                now_ms: 7,
            },
            Entry::DeleteCampaign {
                account: "1".into(),
                campaign_id: "9".into(),
            },
            Entry::CampaignPage {
                account: "1".into(),
                campaign_id: "9".into(),
                page_id: "p".into(),
            },
            Entry::Reset,
            Entry::Restore {
                state: b"CAMSCKP2 and more".to_vec(),
            },
        ]
    }

    #[test]
    fn entries_round_trip() {
        for e in entries() {
            assert_eq!(decode_entry(&encode_entry(&e)).unwrap(), e);
        }
    }

    #[test]
    fn damaged_entries_are_detected_not_misread() {
        for e in entries() {
            let data = encode_entry(&e);
            for cut in 0..data.len() {
                assert!(
                    decode_entry(&data[..cut]).is_err(),
                    "{e:?} truncated at {cut}"
                );
            }
            let mut extra = data.clone();
            extra.push(0);
            assert!(decode_entry(&extra).is_err());
            for i in 0..data.len() {
                let mut d = data.clone();
                d[i] ^= 0xff;
                let _ = decode_entry(&d);
            }
        }
    }
}
