//! Fresh values for `x-acs-signature-nonce` / `SignatureNonce` (and anything else that must be
//! unique, not secret, such as request ids).
//!
//! Each thread draws from its own SplitMix64 stream seeded once from the OS: unique across threads
//! and processes with overwhelming probability, and costing nanoseconds with no system call, where
//! an OS random read per request showed up in the gateway's profile.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without an OS source, fall back to the clock and the thread: still distinct per thread.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return now ^ (&bytes as *const _ as u64);
    }
    u64::from_le_bytes(bytes)
}

fn next() -> u64 {
    STATE.with(|s| {
        let mut z = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// 128 fresh bits.
pub fn random_u128() -> u128 {
    (u128::from(next()) << 64) | u128::from(next())
}

/// A fresh nonce: 32 lowercase hex characters.
pub fn new_nonce() -> String {
    format!("{:032x}", random_u128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_distinct_across_threads() {
        let mut all: Vec<String> = (0..4)
            .map(|_| std::thread::spawn(|| (0..1000).map(|_| new_nonce()).collect::<Vec<_>>()))
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert!(all.iter().all(|n| n.len() == 32));
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
