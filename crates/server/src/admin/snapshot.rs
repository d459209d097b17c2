//! The snapshot file: the whole state of a server in one file.
//!
//! Layout: magic `CAMSSNAP`, the format version (u32 LE), then four length-prefixed sections (u64 LE
//! length + bytes): the version of the program that wrote it (text), the configuration's accounts as
//! TOML (identities, policies, tenants: what `[[accounts]]` holds), notes (JSON, e.g. the demo's ids),
//! and the folded state (a checkpoint's bytes: catalog, events' aggregates, rate cards, recipient
//! directories). Last, the SHA-256 of everything before it. Pure: parsing and writing bytes only; the
//! state section is checked by the store before anything is restored.

use sha2::{Digest, Sha256};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"CAMSSNAP";
/// The format this program writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest section accepted (the state of a very large server still fits).
const MAX_SECTION: u64 = 16 << 30;

/// A snapshot's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `cams-insights 0.1.0`: who wrote it (informative).
    pub written_by: String,
    /// `[[accounts]]` as TOML.
    pub accounts_toml: String,
    /// JSON notes (`{}` when none).
    pub notes: String,
    /// The folded state (a checkpoint's bytes).
    pub state: Vec<u8>,
}

/// Why a file is not a snapshot this program can use. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error("not a cams-insights snapshot (it does not start with CAMSSNAP)")]
    NotASnapshot,
    #[error("the snapshot is cut short (truncated while copying?)")]
    Truncated,
    #[error("the snapshot is damaged: its checksum does not match its contents")]
    Checksum,
    #[error("the snapshot has format version {found}; this program reads version {FORMAT_VERSION} (written by another version of cams-insights: restore it with that version)")]
    OtherVersion { found: u32 },
    #[error("the snapshot's {0} section is not valid UTF-8 text")]
    NotText(&'static str),
}

impl Snapshot {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.state.len() + self.accounts_toml.len() + 256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        for section in [
            self.written_by.as_bytes(),
            self.accounts_toml.as_bytes(),
            self.notes.as_bytes(),
            &self.state,
        ] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Parses and checks a file. The checksum is checked before anything else is believed, so a
    /// damaged file is reported as damaged, not misread.
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        if bytes.len() < MAGIC.len() + 4 + 32 {
            return Err(SnapshotError::Truncated);
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(SnapshotError::OtherVersion { found: version });
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        let mut pos = 12;
        let mut sections: Vec<&[u8]> = Vec::with_capacity(4);
        for _ in 0..4 {
            let len_bytes = body.get(pos..pos + 8).ok_or(SnapshotError::Truncated)?;
            let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
            pos += 8;
            if len > MAX_SECTION {
                return Err(SnapshotError::Truncated);
            }
            let end = pos
                .checked_add(len as usize)
                .ok_or(SnapshotError::Truncated)?;
            let section = body.get(pos..end).ok_or(SnapshotError::Truncated)?;
            sections.push(section);
            pos = end;
        }
        if pos != body.len() {
            return Err(SnapshotError::Truncated);
        }
        if Sha256::digest(body).as_slice() != digest {
            return Err(SnapshotError::Checksum);
        }
        let text = |i: usize, name: &'static str| {
            String::from_utf8(sections[i].to_vec()).map_err(|_| SnapshotError::NotText(name))
        };
        Ok(Snapshot {
            written_by: text(0, "version")?,
            accounts_toml: text(1, "accounts")?,
            notes: text(2, "notes")?,
            state: sections[3].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Snapshot {
        Snapshot {
            written_by: "cams-insights 0.1.0".into(),
            accounts_toml: "[[accounts]]\nuid = \"1234567890123456\"\n".into(),
            notes: "{\"campaign_id\":\"120200000000000001\"}".into(),
            state: b"CAMSCKP2 state bytes".to_vec(),
        }
    }

    #[test]
    fn a_snapshot_round_trips() {
        let s = sample();
        assert_eq!(Snapshot::from_bytes(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            let e = Snapshot::from_bytes(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    SnapshotError::Truncated
                        | SnapshotError::NotASnapshot
                        | SnapshotError::Checksum
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut d = bytes.clone();
            d[i] ^= 0x01;
            assert!(Snapshot::from_bytes(&d).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn another_format_version_is_named() {
        let mut bytes = sample().to_bytes();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            Snapshot::from_bytes(&bytes).unwrap_err(),
            SnapshotError::OtherVersion { found: 2 }
        );
        assert!(SnapshotError::OtherVersion { found: 2 }
            .to_string()
            .contains("another version"));
        assert_eq!(
            Snapshot::from_bytes(b"PK\x03\x04 a zip").unwrap_err(),
            SnapshotError::NotASnapshot
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&data);
            let _ = Snapshot::from_bytes(&data);
            let _ = Snapshot::from_bytes(&with_magic);
        }
    }
}
