//! Checkpoints: the engine's state as a versioned binary stream with a checksum.
//!
//! Layout (all integers little-endian):
//! ```text
//! magic "CAMSINSC" | version u32 | counts | campaigns | recipients | prices | messages | clicks
//!   | price overflow | aggregates (non-zero buckets per campaign and country) | checksum u64
//! ```
//! The checksum covers every byte before it. Message states, interned strings, click records and directory
//! countries are the primary state; the aggregates (a function of it) are written too so that loading does
//! not recompute every message's contribution. Lookup tables and per-recipient lists are rebuilt. Loading
//! validates every index and value and the checksum, so a damaged file is an error, never a panic.

use std::io::{self, Read, Write};

use crate::aggregates::Counters;
use crate::country::CountryCode;
use crate::dates::QH_SPAN;
use crate::engine::{Engine, EngineConfig};
use crate::intern::NO_ID;
use crate::model::MAX_ID_BYTES;
use crate::state::{
    price_slot, sel_country, sel_time, Click, Message, NO_SEL, NO_TIME, PRICE_OVERFLOW_SLOT,
    PRICE_SLOT_BITS, UNKNOWN_COUNTRY,
};

const MAGIC: &[u8; 8] = b"CAMSINSC";
const VERSION: u32 = 1;
const IO_BUF: usize = 1 << 16;
/// Upper bound for preallocation from counts read in the file (which are untrusted until the checksum).
const MAX_PREALLOC: usize = 1 << 20;
/// Largest valid time in ms since 2000 (exclusive): 2100-01-01.
const REL_MS_LIMIT: u64 = 3_155_760_000_000;

/// Why a checkpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("not a cams-insights checkpoint (bad magic)")]
    BadMagic,
    #[error("unsupported checkpoint version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    #[error("corrupt checkpoint: {0}")]
    Corrupt(String),
    #[error("checkpoint checksum mismatch")]
    ChecksumMismatch,
}

fn corrupt(what: impl Into<String>) -> CheckpointError {
    CheckpointError::Corrupt(what.into())
}

/// Streaming 64-bit checksum over 8-byte words (folded multiply; detects corruption, not tampering).
struct Checksum {
    state: u64,
    pending: [u8; 8],
    pending_len: usize,
}

impl Checksum {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new() -> Checksum {
        Checksum {
            state: 0x243f_6a88_85a3_08d3,
            pending: [0; 8],
            pending_len: 0,
        }
    }

    fn word(&mut self, w: u64) {
        let p = u128::from(self.state ^ w) * u128::from(Self::K);
        self.state = (p as u64) ^ ((p >> 64) as u64);
    }

    fn update(&mut self, mut bytes: &[u8]) {
        if self.pending_len > 0 {
            let take = (8 - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.pending));
            self.pending_len = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.word(u64::from_le_bytes(a));
        }
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    fn finish(mut self, total_len: u64) -> u64 {
        let mut last = [0u8; 8];
        last[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        self.word(u64::from_le_bytes(last));
        self.word(total_len);
        self.state
    }
}

struct Encoder<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    sum: Checksum,
    total: u64,
}

impl<W: Write> Encoder<'_, W> {
    fn flush_buf(&mut self) -> io::Result<()> {
        self.sum.update(&self.buf);
        self.total += self.buf.len() as u64;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= IO_BUF {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn u16(&mut self, v: u16) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn i64(&mut self, v: i64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn text(&mut self, s: &str) -> io::Result<()> {
        self.u16(u16::try_from(s.len()).unwrap_or(u16::MAX))?;
        self.bytes(s.as_bytes())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush_buf()?;
        let sum = self.sum.finish(self.total);
        self.out.write_all(&sum.to_le_bytes())?;
        self.out.flush()
    }
}

struct Decoder<'r, R: Read> {
    input: &'r mut R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes of `buf` before this index are already in the checksum.
    hashed: usize,
    sum: Checksum,
    total: u64,
}

impl<R: Read> Decoder<'_, R> {
    /// Makes `n` (≤ IO_BUF) unread bytes available in `buf[pos..]`.
    fn ensure(&mut self, n: usize) -> Result<(), CheckpointError> {
        if self.buf.len() - self.pos >= n {
            return Ok(());
        }
        self.hash_consumed();
        self.buf.drain(..self.pos);
        self.pos = 0;
        self.hashed = 0;
        let mut chunk = [0u8; 8192];
        while self.buf.len() < n {
            let got = self.input.read(&mut chunk)?;
            if got == 0 {
                return Err(corrupt("truncated"));
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }

    fn hash_consumed(&mut self) {
        self.sum.update(&self.buf[self.hashed..self.pos]);
        self.total += (self.pos - self.hashed) as u64;
        self.hashed = self.pos;
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], CheckpointError> {
        self.ensure(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, CheckpointError> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, CheckpointError> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, CheckpointError> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, CheckpointError> {
        self.take().map(i64::from_le_bytes)
    }

    /// A length-prefixed id string, borrowed from the read buffer.
    fn text(&mut self, what: &str) -> Result<&str, CheckpointError> {
        let len = usize::from(self.u16()?);
        if len == 0 || len > MAX_ID_BYTES {
            return Err(corrupt(format!("{what} of length {len}")));
        }
        self.ensure(len)?;
        let start = self.pos;
        self.pos += len;
        std::str::from_utf8(&self.buf[start..start + len])
            .map_err(|_| corrupt(format!("{what} is not UTF-8")))
    }

    /// Reads and checks the trailing checksum; the stream must end there.
    fn verify(&mut self) -> Result<(), CheckpointError> {
        self.hash_consumed();
        let sum = std::mem::replace(&mut self.sum, Checksum::new());
        let expected = sum.finish(self.total);
        let stored = u64::from_le_bytes(self.take::<8>()?);
        if stored != expected {
            return Err(CheckpointError::ChecksumMismatch);
        }
        Ok(())
    }
}

fn is_start(starts: &[u64], id: u32) -> bool {
    let word = (id >> 2) as usize;
    id.is_multiple_of(4)
        && starts
            .get(word / 64)
            .is_some_and(|w| w & (1 << (word % 64)) != 0)
}

impl Engine {
    /// Writes a checkpoint of the whole state to `w`.
    pub fn write_checkpoint<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut enc = Encoder {
            out: w,
            buf: Vec::with_capacity(IO_BUF + 512),
            sum: Checksum::new(),
            total: 0,
        };
        enc.bytes(MAGIC)?;
        enc.u32(VERSION)?;
        let overflow: Vec<(u32, i64)> = self.prices.overflow().collect();
        enc.u64(self.event_count)?;
        for n in [
            self.campaigns.len(),
            self.recipients.len(),
            self.prices.values().len(),
            self.messages.len(),
            self.clicks.records.len(),
            overflow.len(),
        ] {
            enc.u32(n as u32)?;
        }
        for (name, first) in self
            .campaigns
            .names
            .iter()
            .zip(&self.campaigns.first_event_ms)
        {
            enc.text(name)?;
            enc.i64(*first)?;
        }
        for id in self.recipients.ids() {
            enc.u32(id)?;
            enc.u16(self.recipients.fallback_country(id))?;
            enc.text(self.recipients.text(id))?;
        }
        for &p in self.prices.values() {
            enc.i64(p)?;
        }
        for m in self.messages.iter() {
            let mut rec = [0u8; 40];
            for (i, v) in [
                m.campaign,
                m.recipient,
                m.sent,
                m.delivered,
                m.read,
                m.failed,
            ]
            .into_iter()
            .enumerate()
            {
                rec[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
            rec[24..32].copy_from_slice(&m.country_sel.to_le_bytes());
            rec[32..40].copy_from_slice(&m.price_sel.to_le_bytes());
            enc.bytes(&rec)?;
        }
        // Each message's clicks are written tail first: loading prepends, which restores the list order (so
        // a loaded engine writes byte-identical checkpoints).
        let mut list = Vec::new();
        for (id, m) in self.messages.iter().enumerate() {
            list.clear();
            let mut cur = m.first_click;
            while cur != NO_ID {
                let c = self.clicks.records.get(cur as usize);
                list.push((c.key, c.secs));
                cur = c.next;
            }
            for &(key, secs) in list.iter().rev() {
                enc.u32(id as u32)?;
                enc.u64(key)?;
                enc.u32(secs)?;
            }
        }
        for (message, price) in overflow {
            enc.u32(message)?;
            enc.i64(price)?;
        }
        for campaign in 0..self.campaigns.len() {
            // Series that became empty (their messages moved to another country) are left out.
            let series: Vec<(u16, Vec<(u32, Counters)>)> = self
                .series
                .get(campaign)
                .map(|s| {
                    s.iter()
                        .map(|(c, s)| (c, s.buckets()))
                        .filter(|(_, b)| !b.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            enc.u16(series.len() as u16)?;
            for (country, buckets) in series {
                enc.u16(country)?;
                enc.u32(buckets.len() as u32)?;
                for (qh, c) in buckets {
                    enc.u32(qh)?;
                    for v in c.0 {
                        enc.i64(v)?;
                    }
                }
            }
        }
        enc.finish()
    }

    /// Reads a checkpoint written by [`Engine::write_checkpoint`] and rebuilds indexes and aggregates.
    pub fn read_checkpoint<R: Read>(
        config: EngineConfig,
        r: &mut R,
    ) -> Result<Engine, CheckpointError> {
        let mut dec = Decoder {
            input: r,
            buf: Vec::with_capacity(IO_BUF),
            pos: 0,
            hashed: 0,
            sum: Checksum::new(),
            total: 0,
        };
        let magic: [u8; 8] = dec.take().map_err(|_| CheckpointError::BadMagic)?;
        if &magic != MAGIC {
            return Err(CheckpointError::BadMagic);
        }
        let version = dec.u32()?;
        if version != VERSION {
            return Err(CheckpointError::UnsupportedVersion(version));
        }
        let mut engine = Engine::new(config);
        engine.event_count = dec.u64()?;
        let mut counts = [0usize; 6];
        for c in &mut counts {
            *c = dec.u32()? as usize;
        }
        let [n_campaigns, n_recipients, n_prices, n_messages, n_clicks, n_overflow] = counts;
        if n_prices > PRICE_OVERFLOW_SLOT as usize {
            return Err(corrupt("too many prices"));
        }

        for _ in 0..n_campaigns {
            let name = dec.text("campaign id")?.to_string();
            let first = dec.i64()?;
            let before = engine.campaigns.len();
            let id = engine
                .campaigns
                .intern(&name)
                .ok_or_else(|| corrupt("too many campaigns"))?;
            if engine.campaigns.len() == before {
                return Err(corrupt(format!("duplicate campaign `{name}`")));
            }
            engine.campaigns.first_event_ms[id as usize] = first;
        }
        // Recipient ids are arena positions; rebuilding the arena in the same order reproduces them, which
        // is checked so that message references stay valid.
        // Bitset of valid recipient ids (record starts are 4-byte aligned, so `id >> 2` is unique).
        let mut recipient_starts: Vec<u64> = Vec::new();
        for _ in 0..n_recipients {
            let stored_id = dec.u32()?;
            let fallback = dec.u16()?;
            if fallback != UNKNOWN_COUNTRY && CountryCode::from_index(fallback).is_none() {
                return Err(corrupt(format!("bad country index {fallback}")));
            }
            let text = dec.text("recipient")?;
            let id = engine
                .recipients
                .push_loaded(text, fallback)
                .ok_or_else(|| corrupt("too many recipients"))?;
            if id != stored_id {
                return Err(corrupt("recipient layout mismatch"));
            }
            let word = (id >> 2) as usize;
            if recipient_starts.len() <= word / 64 {
                recipient_starts.resize(word / 64 + 1, 0);
            }
            recipient_starts[word / 64] |= 1 << (word % 64);
        }
        let mut prices = Vec::with_capacity(n_prices.min(MAX_PREALLOC));
        for _ in 0..n_prices {
            let p = dec.i64()?;
            if p < 0 {
                return Err(corrupt("negative price"));
            }
            prices.push(p);
        }
        for p in prices {
            engine.prices.slot(p);
        }
        if engine.prices.values().len() != n_prices {
            return Err(corrupt("duplicate price"));
        }

        let valid_time = |t: u32| t == NO_TIME || u64::from(t) * 1000 < REL_MS_LIMIT;
        let mut overflow_slots = 0usize;
        for _ in 0..n_messages {
            // One 40-byte record at a time.
            let rec: [u8; 40] = dec.take()?;
            let u32_at =
                |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
            let u64_at = |i: usize| {
                u64::from_le_bytes([
                    rec[i],
                    rec[i + 1],
                    rec[i + 2],
                    rec[i + 3],
                    rec[i + 4],
                    rec[i + 5],
                    rec[i + 6],
                    rec[i + 7],
                ])
            };
            let [campaign, recipient, sent, delivered, read, failed] = [
                u32_at(0),
                u32_at(4),
                u32_at(8),
                u32_at(12),
                u32_at(16),
                u32_at(20),
            ];
            let country_sel = u64_at(24);
            let price_sel = u64_at(32);
            if campaign as usize >= n_campaigns || !is_start(&recipient_starts, recipient) {
                return Err(corrupt(
                    "message refers to an unknown campaign or recipient",
                ));
            }
            if ![sent, delivered, read, failed].into_iter().all(valid_time) {
                return Err(corrupt("message time out of range"));
            }
            if country_sel != NO_SEL
                && (sel_time(country_sel, 10) >= REL_MS_LIMIT
                    || CountryCode::from_index(sel_country(country_sel)).is_none())
            {
                return Err(corrupt("bad message country"));
            }
            if price_sel != NO_SEL {
                let slot = price_slot(price_sel);
                if sel_time(price_sel, PRICE_SLOT_BITS) >= REL_MS_LIMIT
                    || (slot != PRICE_OVERFLOW_SLOT && slot as usize >= n_prices)
                {
                    return Err(corrupt("bad message price"));
                }
                overflow_slots += usize::from(slot == PRICE_OVERFLOW_SLOT);
            }
            let mut m = Message::new(campaign, recipient);
            (
                m.sent,
                m.delivered,
                m.read,
                m.failed,
                m.country_sel,
                m.price_sel,
            ) = (sent, delivered, read, failed, country_sel, price_sel);
            engine.messages.push(m);
        }
        for _ in 0..n_clicks {
            let message = dec.u32()?;
            let key = dec.u64()?;
            let secs = dec.u32()?;
            if message as usize >= n_messages || secs == NO_TIME || !valid_time(secs) {
                return Err(corrupt("bad click record"));
            }
            let m = engine.messages.get_mut(message as usize);
            let next = m.first_click;
            m.first_click = engine.clicks.records.push(Click { key, secs, next }) as u32;
        }
        if n_overflow != overflow_slots {
            return Err(corrupt("price overflow entries do not match messages"));
        }
        for _ in 0..n_overflow {
            let message = dec.u32()?;
            let price = dec.i64()?;
            let ok = (message as usize) < n_messages && {
                let sel = engine.messages.get(message as usize).price_sel;
                sel != NO_SEL && price_slot(sel) == PRICE_OVERFLOW_SLOT
            };
            if !ok || price < 0 {
                return Err(corrupt("bad price overflow entry"));
            }
            engine.prices.set_overflow(message, price);
        }
        if engine.prices.overflow().count() != n_overflow {
            return Err(corrupt("duplicate price overflow entry"));
        }
        engine.series.resize_with(n_campaigns, Default::default);
        for campaign in 0..n_campaigns {
            let n_series = dec.u16()?;
            for _ in 0..n_series {
                let country = dec.u16()?;
                if country != UNKNOWN_COUNTRY && CountryCode::from_index(country).is_none() {
                    return Err(corrupt(format!("bad aggregate country index {country}")));
                }
                let n_buckets = dec.u32()?;
                for _ in 0..n_buckets {
                    let qh = dec.u32()?;
                    if qh >= QH_SPAN {
                        return Err(corrupt("aggregate bucket out of range"));
                    }
                    let mut c = Counters::default();
                    for v in &mut c.0 {
                        *v = dec.i64()?;
                    }
                    engine.series[campaign].add(country, qh, &c);
                }
            }
        }
        dec.verify()?;

        engine.recipients.rebuild_table();
        engine.rebuild_message_links();
        Ok(engine)
    }
}
