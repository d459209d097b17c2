//! Checkpoints reject damaged input with an error, never a panic.

mod common;

use common::*;
use insights::{CheckpointError, Engine, EngineConfig, EventKind};
use proptest::prelude::*;

fn sample_checkpoint() -> Vec<u8> {
    let mut engine = Engine::new(EngineConfig::default());
    let base = ms("2025-07-01T10:00:00Z");
    for (i, r) in ["+14155550100", "psid-1", "+447911123456"]
        .iter()
        .enumerate()
    {
        let mut e = event("2390001", r, EventKind::Delivered, base + i as i64 * 60_000);
        e.price_micros = Some(14_100);
        e.country = (i == 1).then(|| country("BR"));
        engine.apply(&e);
        let mut click = event("2390001", r, EventKind::Click, base + 120_000);
        click.event_id = Some(format!("k{i}"));
        engine.apply(&click);
    }
    engine.set_recipient_country("psid-9", country("AR"));
    let mut bytes = Vec::new();
    engine
        .write_checkpoint(&mut bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    bytes
}

fn read(bytes: &[u8]) -> Result<Engine, CheckpointError> {
    Engine::read_checkpoint(EngineConfig::default(), &mut &bytes[..])
}

#[test]
fn round_trip_restores_state() {
    let bytes = sample_checkpoint();
    let engine = read(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.message_count(), 3);
    assert_eq!(engine.campaign_ids(), ["2390001"]);
    assert_eq!(engine.recipient_country("psid-9"), Some(country("AR")));
    assert_eq!(
        engine.recipient_country("+447911123456"),
        Some(country("GG"))
    );
    assert!(engine.aggregates_consistent());
}

#[test]
fn header_errors() {
    let mut bytes = sample_checkpoint();
    assert!(matches!(read(b"nope"), Err(CheckpointError::BadMagic)));
    assert!(matches!(read(b""), Err(CheckpointError::BadMagic)));
    bytes[8] = 2;
    assert!(matches!(
        read(&bytes),
        Err(CheckpointError::UnsupportedVersion(2))
    ));
}

#[test]
fn every_truncation_and_every_flipped_byte_is_an_error() {
    let bytes = sample_checkpoint();
    for len in 0..bytes.len() {
        assert!(read(&bytes[..len]).is_err(), "truncated to {len}");
    }
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x5a;
        assert!(read(&damaged).is_err(), "byte {i} flipped");
    }
}

#[test]
fn checksum_mismatch_is_reported() {
    let mut bytes = sample_checkpoint();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        read(&bytes),
        Err(CheckpointError::ChecksumMismatch)
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = b"CAMSINSC\x01\x00\x00\x00".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = read(&bytes);
        let _ = read(&tail);
    }

    #[test]
    fn damaged_real_checkpoints_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = sample_checkpoint();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = read(&bytes);
    }
}
