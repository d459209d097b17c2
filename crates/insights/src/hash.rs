//! Hashing.
//!
//! [`stable_hash64`] is a fixed function (same value in every process and build) for identities that are
//! persisted in checkpoints. Tables keyed by user-controlled strings use hashbrown's randomly seeded default
//! hasher instead (HashDoS).

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// 64×64 -> 128-bit multiply folded back to 64 bits (the core of wyhash/foldhash).
fn folded_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A stable 64-bit hash of bytes. Not cryptographic: used to identify click event ids within one message,
/// where a false match needs two distinct ids of the same message to collide (probability about k²/2⁶⁴ for
/// k clicks).
pub(crate) fn stable_hash64(bytes: &[u8]) -> u64 {
    let mut h = P0 ^ folded_mul(bytes.len() as u64 ^ P2, P1);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = folded_mul(h ^ u64::from_le_bytes(word), P1);
    }
    folded_mul(h ^ P2, P0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinguishing() {
        assert_eq!(stable_hash64(b"e-1"), stable_hash64(b"e-1"));
        assert_ne!(stable_hash64(b"e-1"), stable_hash64(b"e-2"));
        assert_ne!(stable_hash64(b""), stable_hash64(b"\0"));
        assert_ne!(stable_hash64(b"a"), stable_hash64(b"a\0"));
        // Pinned: checkpoints depend on this value never changing.
        assert_eq!(stable_hash64(b"click-42"), 0x7c23_47cd_674d_7acb);
    }
}
