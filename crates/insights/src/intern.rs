//! Interning of campaign ids and recipients to dense `u32` ids.
//!
//! Recipients are the bulk of the key memory (one per message in the worst case) and are touched on every
//! event, so each one is a single record in a 1 MiB arena chunk — `[len u16][fallback country u16]
//! [first message u32][text]`, 4-byte aligned — and its id *is* the record's position. A lookup therefore
//! costs the hash-table probe plus one access that both confirms the text and yields the recipient's data;
//! there is no per-string allocation and no doubling slack. The table holds only `u32` ids and hashes the
//! arena text on demand.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use crate::idtable::IdTable;

/// Sentinel for "no id" in `u32` link fields.
pub(crate) const NO_ID: u32 = u32::MAX;

const ARENA_CHUNK_BITS: u32 = 20;
const ARENA_CHUNK: usize = 1 << ARENA_CHUNK_BITS;
/// Bytes before the text in a record.
const HEADER: usize = 8;

/// Interned recipients. Ids are arena positions (chunk index in the high bits, byte offset in the low 20).
#[derive(Default)]
pub(crate) struct Recipients {
    arena: Vec<Vec<u8>>,
    count: usize,
    table: IdTable,
    hasher: DefaultHashBuilder,
}

fn split_id(id: u32) -> (usize, usize) {
    (
        (id >> ARENA_CHUNK_BITS) as usize,
        (id as usize) & (ARENA_CHUNK - 1),
    )
}

impl Recipients {
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The record starting at `id` (header and text).
    fn record(&self, id: u32) -> &[u8] {
        let (chunk, offset) = split_id(id);
        &self.arena[chunk][offset..]
    }

    fn header_u16(&self, id: u32, at: usize) -> u16 {
        let r = self.record(id);
        u16::from_le_bytes([r[at], r[at + 1]])
    }

    fn text_bytes(&self, id: u32) -> &[u8] {
        let r = self.record(id);
        let len = usize::from(u16::from_le_bytes([r[0], r[1]]));
        &r[HEADER..HEADER + len]
    }

    pub(crate) fn text(&self, id: u32) -> &str {
        // Only whole `&str`s are copied into the arena.
        std::str::from_utf8(self.text_bytes(id)).unwrap_or("")
    }

    /// Country used for the recipient's messages whose events carry none: the directory's, else the phone
    /// number's, else unknown.
    pub(crate) fn fallback_country(&self, id: u32) -> u16 {
        self.header_u16(id, 2)
    }

    pub(crate) fn set_fallback_country(&mut self, id: u32, country: u16) {
        let (chunk, offset) = split_id(id);
        self.arena[chunk][offset + 2..offset + 4].copy_from_slice(&country.to_le_bytes());
    }

    /// Head of the list of the recipient's messages (linked through `Message::next_of_recipient`).
    pub(crate) fn first_message(&self, id: u32) -> u32 {
        let r = self.record(id);
        u32::from_le_bytes([r[4], r[5], r[6], r[7]])
    }

    pub(crate) fn set_first_message(&mut self, id: u32, message: u32) {
        let (chunk, offset) = split_id(id);
        self.arena[chunk][offset + 4..offset + 8].copy_from_slice(&message.to_le_bytes());
    }

    pub(crate) fn find(&self, text: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(text.as_bytes());
        self.table
            .find(hash, |id| self.text_bytes(id) == text.as_bytes())
    }

    /// The id of `text` and whether it is new, interning it with `fallback_country()` when new. `None` when
    /// the arena is full (4 GiB of records) or the text is longer than 65535 bytes.
    pub(crate) fn intern(
        &mut self,
        text: &str,
        fallback_country: impl FnOnce() -> u16,
    ) -> Option<(u32, bool)> {
        let hash = self.hasher.hash_one(text.as_bytes());
        if let Some(id) = self
            .table
            .find(hash, |id| self.text_bytes(id) == text.as_bytes())
        {
            return Some((id, false));
        }
        let id = self.push(text, fallback_country())?;
        self.table.insert(hash, id);
        Some((id, true))
    }

    /// Appends a record without touching the lookup table.
    fn push(&mut self, text: &str, fallback_country: u16) -> Option<u32> {
        let len = u16::try_from(text.len()).ok()?;
        let size = (HEADER + text.len()).next_multiple_of(4);
        if self
            .arena
            .last()
            .is_none_or(|c| c.len() + size > ARENA_CHUNK)
        {
            if self.arena.len() >= 1 << (32 - ARENA_CHUNK_BITS) {
                return None;
            }
            // The first chunk grows on demand; later ones are allocated whole.
            let cap = if self.arena.is_empty() {
                0
            } else {
                ARENA_CHUNK
            };
            self.arena.push(Vec::with_capacity(cap));
        }
        let chunk_index = self.arena.len() - 1;
        let chunk = &mut self.arena[chunk_index];
        let id = ((chunk_index as u32) << ARENA_CHUNK_BITS) | chunk.len() as u32;
        if id == NO_ID {
            return None;
        }
        chunk.extend_from_slice(&len.to_le_bytes());
        chunk.extend_from_slice(&fallback_country.to_le_bytes());
        chunk.extend_from_slice(&NO_ID.to_le_bytes());
        chunk.extend_from_slice(text.as_bytes());
        chunk.resize(chunk.len() + (size - HEADER - text.len()), 0);
        self.count += 1;
        Some(id)
    }

    /// Every recipient id, in interning order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.arena
            .iter()
            .enumerate()
            .flat_map(|(chunk_index, chunk)| {
                let mut offset = 0usize;
                std::iter::from_fn(move || {
                    if offset >= chunk.len() {
                        return None;
                    }
                    let len = usize::from(u16::from_le_bytes([chunk[offset], chunk[offset + 1]]));
                    let id = ((chunk_index as u32) << ARENA_CHUNK_BITS) | offset as u32;
                    offset += (HEADER + len).next_multiple_of(4);
                    Some(id)
                })
            })
    }

    /// Appends a recipient known to be new (checkpoint loading); returns its id. Call `rebuild_table` after.
    pub(crate) fn push_loaded(&mut self, text: &str, fallback_country: u16) -> Option<u32> {
        self.push(text, fallback_country)
    }

    /// Rebuilds the lookup table after bulk loading.
    pub(crate) fn rebuild_table(&mut self) {
        let entries: Vec<(u64, u32)> = self
            .ids()
            .map(|id| (self.hasher.hash_one(self.text_bytes(id)), id))
            .collect();
        self.table = IdTable::build(entries);
    }

    /// Sets every recipient's message list to empty (before re-linking messages).
    pub(crate) fn clear_message_lists(&mut self) {
        let ids: Vec<u32> = self.ids().collect();
        for id in ids {
            self.set_first_message(id, NO_ID);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.arena.iter().map(Vec::capacity).sum::<usize>()
            + self.table.heap_bytes()
    }
}

/// Campaign ids: few, so a plain map (plus a one-entry cache, since consecutive events usually belong to the
/// same campaign).
#[derive(Default)]
pub(crate) struct Campaigns {
    pub names: Vec<Box<str>>,
    /// Earliest timestamp (ms) of any applied event of the campaign.
    pub first_event_ms: Vec<i64>,
    ids: hashbrown::HashMap<Box<str>, u32>,
    last: Option<u32>,
}

impl Campaigns {
    pub(crate) fn find(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The id of `name`, adding it when new; `None` past 2³²-1 campaigns.
    pub(crate) fn intern(&mut self, name: &str) -> Option<u32> {
        if let Some(last) = self.last.filter(|&id| &*self.names[id as usize] == name) {
            return Some(last);
        }
        if let Some(&id) = self.ids.get(name) {
            self.last = Some(id);
            return Some(id);
        }
        let id = u32::try_from(self.names.len())
            .ok()
            .filter(|&id| id != NO_ID)?;
        self.names.push(name.into());
        self.first_event_ms.push(i64::MAX);
        self.ids.insert(name.into(), id);
        self.last = Some(id);
        Some(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let text: usize = self.names.iter().map(|n| n.len()).sum();
        self.names.capacity() * std::mem::size_of::<Box<str>>()
            + self.first_event_ms.capacity() * 8
            + 2 * text
            + self.ids.allocation_size()
    }
}
