//! Replay protection: each (access key, nonce) may be used once while its request could still
//! pass the timestamp check.
//!
//! A nonce only needs remembering until the timestamp it was signed with leaves the window
//! (`signed_at + window`): after that the same request is refused as expired anyway. Entries are
//! 128-bit keyed hashes of (key id, nonce), so memory per entry is fixed whatever the nonce's
//! length; a false "replay" would need a 128-bit SipHash collision. Memory is bounded: past
//! `capacity` live entries the cache refuses new ones (the caller answers `ServiceUnavailable`)
//! rather than forgetting live ones, which would let a replay through.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

use crate::errors::{ApiError, ErrorCode};

const SHARDS: usize = 16;
/// How often (seconds) a shard drops its expired entries.
const SWEEP_INTERVAL_SECS: i64 = 5;

/// What [`NonceCache::check_and_insert`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceOutcome {
    /// First use: recorded.
    Fresh,
    /// Used before within the window.
    Replayed,
    /// The cache is full of live entries.
    Full,
}

struct Shard {
    /// hash -> expiry (unix seconds).
    entries: HashMap<u128, i64>,
    next_sweep: i64,
}

/// The replay cache, shared by all connections.
pub struct NonceCache {
    shards: Vec<Mutex<Shard>>,
    hash_a: RandomState,
    hash_b: RandomState,
    shard_capacity: usize,
}

impl NonceCache {
    /// A cache holding at most about `capacity` live nonces.
    pub fn new(capacity: usize) -> Self {
        NonceCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        next_sweep: 0,
                    })
                })
                .collect(),
            hash_a: RandomState::new(),
            hash_b: RandomState::new(),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn digest(&self, key_id: &str, nonce: &str) -> u128 {
        let half = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(key_id.as_bytes());
            h.write_u8(0xff); // separator: ("ab","c") and ("a","bc") differ
            h.write(nonce.as_bytes());
            h.finish()
        };
        (u128::from(half(&self.hash_a)) << 64) | u128::from(half(&self.hash_b))
    }

    /// Records the nonce unless already live. `expires_at` is when the signed timestamp leaves
    /// the window; `now` is the current unix time in seconds.
    pub fn check_and_insert(
        &self,
        key_id: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> NonceOutcome {
        let digest = self.digest(key_id, nonce);
        let shard = &self.shards[(digest as usize) % SHARDS];
        // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if now >= shard.next_sweep || shard.entries.len() >= self.shard_capacity {
            shard.entries.retain(|_, expiry| *expiry > now);
            shard.next_sweep = now + SWEEP_INTERVAL_SECS;
        }
        match shard.entries.get(&digest) {
            Some(expiry) if *expiry > now => NonceOutcome::Replayed,
            _ => {
                if shard.entries.len() >= self.shard_capacity {
                    return NonceOutcome::Full;
                }
                shard.entries.insert(digest, expires_at);
                NonceOutcome::Fresh
            }
        }
    }

    /// The gateway's stage: consumes the nonce of a request whose signature verified, or refuses it
    /// (`SignatureNonceUsed`; `ServiceUnavailable` while the cache is full of live entries).
    pub fn consume(
        &self,
        key_id: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), ApiError> {
        match self.check_and_insert(key_id, nonce, expires_at, now) {
            NonceOutcome::Fresh => Ok(()),
            NonceOutcome::Replayed => Err(ErrorCode::SignatureNonceUsed.into()),
            NonceOutcome::Full => {
                tracing::warn!("nonce cache full: refusing requests until entries expire");
                Err(ErrorCode::ServiceUnavailable.into())
            }
        }
    }

    /// Live entries (approximate: expired ones linger until the next sweep).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_use_is_a_replay_per_key() {
        let c = NonceCache::new(1000);
        assert_eq!(
            c.check_and_insert("k1", "n", 1900, 1000),
            NonceOutcome::Fresh
        );
        assert_eq!(
            c.check_and_insert("k1", "n", 1900, 1001),
            NonceOutcome::Replayed
        );
        assert_eq!(
            c.check_and_insert("k2", "n", 1900, 1001),
            NonceOutcome::Fresh
        );
        assert_eq!(
            c.check_and_insert("k1n", "", 1900, 1001),
            NonceOutcome::Fresh
        );
    }

    #[test]
    fn expired_entries_are_forgotten() {
        let c = NonceCache::new(1000);
        assert_eq!(
            c.check_and_insert("k", "n", 1010, 1000),
            NonceOutcome::Fresh
        );
        assert_eq!(
            c.check_and_insert("k", "n", 1100, 1011),
            NonceOutcome::Fresh
        );
    }

    #[test]
    fn memory_is_bounded() {
        let c = NonceCache::new(SHARDS * 4);
        let mut full = 0;
        for i in 0..1000 {
            if c.check_and_insert("k", &i.to_string(), 5000, 1000) == NonceOutcome::Full {
                full += 1;
            }
        }
        assert!(c.len() <= SHARDS * 4);
        assert!(full >= 1000 - SHARDS * 4);
        // Once they expire, room comes back.
        assert_eq!(
            c.check_and_insert("k", "later", 9000, 6000),
            NonceOutcome::Fresh
        );
    }
}
