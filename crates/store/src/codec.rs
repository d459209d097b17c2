//! The binary form of an event batch in the log.
//!
//! Compact and fast to write: a version byte, the event count, then per event a kind byte, a flags
//! byte, the timestamp (zigzag varint), length-prefixed campaign id and recipient, and the optional
//! country, event id and price. Decoding validates everything and never panics: a damaged record is
//! reported as corrupt, not misread.

use insights::{CountryCode, Event, EventKind};

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
    out.push(VERSION);
    put_varint(&mut out, events.len() as u64);
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
        put_varint(&mut out, zigzag(e.timestamp_ms));
        put_str(&mut out, &e.campaign_id);
        put_str(&mut out, &e.recipient);
        if let Some(c) = &e.country {
            out.extend_from_slice(c.to_string().as_bytes());
        }
        if let Some(id) = &e.event_id {
            put_str(&mut out, id);
        }
        if let Some(p) = e.price_micros {
            put_varint(&mut out, zigzag(p));
        }
    }
    out
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
    if r.byte()? != VERSION {
        return Err(CorruptBatch(0));
    }
    let n = r.varint()? as usize;
    // Every event takes at least 6 bytes: a bogus count cannot make us allocate much.
    let mut events = Vec::with_capacity(n.min(data.len() / 6 + 1));
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
    if r.pos != data.len() {
        return Err(CorruptBatch(r.pos));
    }
    Ok(events)
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
}
