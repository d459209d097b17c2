//! An open-addressing hash table of `u32` ids for interning, with one cache line per probe.
//!
//! Each slot packs the upper 32 bits of the key's hash with the id. The slot position also comes from those
//! 32 bits, so growing the table never needs the keys again (for recipients, re-hashing would mean a random
//! arena access per entry), and a lookup reads one slot region and compares key text only when the 32-bit
//! tags match. The caller supplies hashes (randomly seeded, so collisions cannot be planned) and equality.

/// Empty slot marker (an id of `u32::MAX` is never stored).
const EMPTY: u64 = u64::MAX;

#[derive(Default)]
pub(crate) struct IdTable {
    slots: Vec<u64>,
    len: usize,
}

fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl IdTable {
    pub(crate) fn with_capacity(n: usize) -> IdTable {
        let mut t = IdTable::default();
        t.resize(Self::buckets_for(n));
        t
    }

    /// Builds a table from `(hash, id)` pairs of distinct keys in bulk. Entries are first grouped by the
    /// high bits of their home slot (a counting sort), so placing them walks the table nearly sequentially
    /// instead of touching a random cache line per entry.
    pub(crate) fn build(entries: Vec<(u64, u32)>) -> IdTable {
        let mut t = IdTable::with_capacity(entries.len());
        let bits = t.slots.len().trailing_zeros();
        let shift = bits.saturating_sub(16);
        let groups = 1usize << (bits - shift);
        let mask = t.slots.len() - 1;
        let group_of = |slot: u64| (((slot >> 32) as usize) & mask) >> shift;
        let packed: Vec<u64> = entries
            .into_iter()
            .map(|(h, id)| (u64::from(tag_of(h)) << 32) | u64::from(id))
            .collect();
        let mut starts = vec![0usize; groups + 1];
        for &s in &packed {
            starts[group_of(s) + 1] += 1;
        }
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        let mut sorted = vec![EMPTY; packed.len()];
        for s in packed {
            let g = group_of(s);
            sorted[starts[g]] = s;
            starts[g] += 1;
        }
        t.len = sorted.len();
        for s in sorted {
            t.place(s);
        }
        t
    }

    /// Power-of-two bucket count keeping the load at most 4/5.
    fn buckets_for(n: usize) -> usize {
        (n.saturating_mul(5) / 4 + 1).next_power_of_two().max(16)
    }

    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let tag = tag_of(hash);
        let mut i = tag as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if (s >> 32) as u32 == tag && eq(s as u32) {
                return Some(s as u32);
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts an id known to be absent.
    pub(crate) fn insert(&mut self, hash: u64, id: u32) {
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            self.resize(Self::buckets_for(self.len + 1).max(self.slots.len() * 2));
        }
        self.place((u64::from(tag_of(hash)) << 32) | u64::from(id));
        self.len += 1;
    }

    fn place(&mut self, slot: u64) {
        let mask = self.slots.len() - 1;
        let mut i = (slot >> 32) as usize & mask;
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    fn resize(&mut self, buckets: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; buckets]);
        for s in old.into_iter().filter(|&s| s != EMPTY) {
            self.place(s);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_insert_grow_with_colliding_tags() {
        let mut t = IdTable::default();
        let hash = |k: u32| (u64::from(k % 7) << 32) | u64::from(k); // many equal tags
        for k in 0..1000u32 {
            assert_eq!(t.find(hash(k), |id| id == k), None);
            t.insert(hash(k), k);
        }
        for k in 0..1000u32 {
            assert_eq!(t.find(hash(k), |id| id == k), Some(k));
        }
        assert_eq!(t.find(hash(5000), |id| id == 5000), None);
        assert!(t.heap_bytes() >= 1000 * 8);

        let spread = |k: u32| u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let built = IdTable::build((0..5000u32).map(|k| (spread(k), k)).collect());
        for k in 0..5000u32 {
            assert_eq!(built.find(spread(k), |id| id == k), Some(k));
        }
        assert_eq!(built.find(spread(7777), |id| id == 7777), None);
        let mut grown = built;
        grown.insert(spread(7777), 7777);
        assert_eq!(grown.find(spread(7777), |id| id == 7777), Some(7777));
    }
}
