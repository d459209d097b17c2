//! A vector stored in fixed-size chunks.
//!
//! A plain `Vec` doubles its capacity when it grows, so at 10M elements up to half of its memory can be
//! unused slack, and growing copies everything. Chunks of 65 536 elements cap the slack at one chunk and
//! never move elements. The first chunk grows like a `Vec`, so small engines stay small.

const CHUNK_BITS: u32 = 16;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const CHUNK_MASK: usize = CHUNK_LEN - 1;

pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedVec<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends and returns the new element's index.
    pub(crate) fn push(&mut self, value: T) -> usize {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK_LEN => last.push(value),
            _ => {
                let mut chunk = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK_LEN)
                };
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
        self.len - 1
    }

    /// Element `i`; `i` must be below `len()` (indices are produced by this crate, never by input).
    pub(crate) fn get(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i & CHUNK_MASK]
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i & CHUNK_MASK]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Bytes allocated on the heap, including unused capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<T>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_iter_across_chunks() {
        let mut v = ChunkedVec::default();
        for i in 0..(CHUNK_LEN * 2 + 5) {
            assert_eq!(v.push(i as u32), i);
        }
        assert_eq!(v.len(), CHUNK_LEN * 2 + 5);
        assert_eq!(*v.get(CHUNK_LEN + 3), (CHUNK_LEN + 3) as u32);
        *v.get_mut(7) = 99;
        assert_eq!(*v.get(7), 99);
        assert_eq!(v.iter().count(), v.len());
        assert!(v.heap_bytes() >= v.len() * 4);
    }
}
