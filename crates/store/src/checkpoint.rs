//! `checkpoint.bin`: everything the fold built, and the log sequence number it covers.
//!
//! Layout (version 2): magic `CAMSCKP2`, seq (u64 LE), events logged (u64 LE), then three counted lists of
//! length-prefixed encoded entries — the catalog's campaigns (`RegisterCampaign`), its campaign pages
//! (`CampaignPage`), the rate card files in order (`RateCard`) — then the account count (u32 LE) and per
//! account its uid (u32 length + bytes) and its engine (u64 length + the engine's own checkpoint bytes,
//! which carry their own checksum). Written to a temporary file, fsynced, renamed over the old one, and
//! the directory fsynced: a crash at any point leaves either the old or the new checkpoint, whole.
//!
//! Version 1 (`CAMSCKP1`, engines only) is still read: the catalog of such a directory lives in its
//! database and is migrated into the log.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use insights::{Engine, EngineConfig};

use crate::catalog::Catalog;
use crate::codec::{decode_entry, encode_entry};
use crate::entry::Entry;
use crate::StoreError;

const MAGIC_V1: &[u8; 8] = b"CAMSCKP1";
const MAGIC_V2: &[u8; 8] = b"CAMSCKP2";
const FILE: &str = "checkpoint.bin";
/// Longest entry accepted in a checkpoint's catalog lists (a rate card file is the largest).
const MAX_ENTRY_BYTES: usize = 64 << 20;

pub fn exists(dir: &Path) -> bool {
    dir.join(FILE).exists()
}

/// What a checkpoint holds, borrowed from the host.
pub struct Snapshot<'a> {
    pub seq: u64,
    pub events_logged: u64,
    pub catalog: &'a Catalog,
    pub rate_sources: &'a [(NaiveDate, String)],
    pub engines: &'a [(String, Arc<RwLock<Engine>>)],
}

/// A loaded checkpoint.
pub struct Loaded {
    pub seq: u64,
    pub events_logged: u64,
    pub catalog: Catalog,
    pub rate_sources: Vec<(NaiveDate, String)>,
    pub engines: Vec<(String, Engine)>,
}

fn write_entries<'e, W: Write>(
    w: &mut W,
    entries: impl ExactSizeIterator<Item = Entry> + 'e,
) -> std::io::Result<()> {
    w.write_all(&(entries.len() as u32).to_le_bytes())?;
    for e in entries {
        let bytes = encode_entry(&e);
        w.write_all(&(bytes.len() as u32).to_le_bytes())?;
        w.write_all(&bytes)?;
    }
    Ok(())
}

pub fn write(dir: &Path, snap: &Snapshot<'_>) -> Result<(), StoreError> {
    let tmp = dir.join("checkpoint.bin.tmp");
    let file = File::create(&tmp)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write_to(&mut w, snap)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, dir.join(FILE))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// The checkpoint file's bytes, from the file in `dir` (a consistent state: the fold writes it between
/// entries, and replaces it by renaming).
pub fn read_bytes(dir: &Path) -> Result<Vec<u8>, StoreError> {
    Ok(std::fs::read(dir.join(FILE))?)
}

/// A checkpoint from bytes (a saved state), checked whole.
pub fn decode(bytes: &[u8], config: &EngineConfig) -> Result<Loaded, StoreError> {
    let mut r = bytes;
    let loaded = read_from(&mut r, config, "saved state")?;
    if !r.is_empty() {
        return Err(StoreError::Corrupt(
            "saved state: bytes after its end".into(),
        ));
    }
    Ok(loaded)
}

fn write_to<W: Write + Seek>(w: &mut W, snap: &Snapshot<'_>) -> Result<(), StoreError> {
    w.write_all(MAGIC_V2)?;
    w.write_all(&snap.seq.to_le_bytes())?;
    w.write_all(&snap.events_logged.to_le_bytes())?;
    let campaigns: Vec<Entry> = snap
        .catalog
        .campaigns()
        .map(|c| Entry::RegisterCampaign(c.clone()))
        .collect();
    write_entries(w, campaigns.into_iter())?;
    let pages: Vec<Entry> = snap
        .catalog
        .pages()
        .map(|(account, campaign_id, page_id)| Entry::CampaignPage {
            account: account.to_string(),
            campaign_id: campaign_id.to_string(),
            page_id: page_id.to_string(),
        })
        .collect();
    write_entries(w, pages.into_iter())?;
    let rates: Vec<Entry> = snap
        .rate_sources
        .iter()
        .map(|(from, csv)| Entry::RateCard {
            csv: csv.clone(),
            effective_from: *from,
        })
        .collect();
    write_entries(w, rates.into_iter())?;
    w.write_all(&(snap.engines.len() as u32).to_le_bytes())?;
    for (account, engine) in snap.engines {
        w.write_all(&(account.len() as u32).to_le_bytes())?;
        w.write_all(account.as_bytes())?;
        // Length placeholder, filled in once the engine is written.
        let at = w.stream_position()?;
        w.write_all(&0u64.to_le_bytes())?;
        {
            let engine = engine.read().unwrap_or_else(|p| p.into_inner());
            engine.write_checkpoint(&mut *w)?;
        }
        let end = w.stream_position()?;
        w.seek(SeekFrom::Start(at))?;
        w.write_all(&(end - at - 8).to_le_bytes())?;
        w.seek(SeekFrom::Start(end))?;
    }
    Ok(())
}

pub fn read(dir: &Path, config: &EngineConfig) -> Result<Option<Loaded>, StoreError> {
    let path = dir.join(FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut r = BufReader::with_capacity(1 << 20, file);
    read_from(&mut r, config, &path.display().to_string()).map(Some)
}

/// Reads a checkpoint; `what` names it in errors. A short read is corruption, not an I/O error.
fn read_from<R: Read>(r: &mut R, config: &EngineConfig, what: &str) -> Result<Loaded, StoreError> {
    read_inner(r, config, what).map_err(|e| match e {
        StoreError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            StoreError::Corrupt(format!("{what}: cut short"))
        }
        other => other,
    })
}

fn read_inner<R: Read>(
    mut r: &mut R,
    config: &EngineConfig,
    what: &str,
) -> Result<Loaded, StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt(format!("{what}: {detail}"));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|_| corrupt("not a checkpoint"))?;
    let v2 = match &magic {
        m if m == MAGIC_V2 => true,
        m if m == MAGIC_V1 => false,
        _ => return Err(corrupt("not a checkpoint")),
    };
    let mut u64b = [0u8; 8];
    let mut u32b = [0u8; 4];
    r.read_exact(&mut u64b)?;
    let seq = u64::from_le_bytes(u64b);
    let mut loaded = Loaded {
        seq,
        events_logged: 0,
        catalog: Catalog::default(),
        rate_sources: Vec::new(),
        engines: Vec::new(),
    };
    if v2 {
        r.read_exact(&mut u64b)?;
        loaded.events_logged = u64::from_le_bytes(u64b);
        for _list in 0..3 {
            r.read_exact(&mut u32b)?;
            let count = u32::from_le_bytes(u32b);
            for _ in 0..count {
                r.read_exact(&mut u32b)?;
                let len = u32::from_le_bytes(u32b) as usize;
                if len > MAX_ENTRY_BYTES {
                    return Err(corrupt("catalog entry too long"));
                }
                let mut bytes = vec![0u8; len];
                r.read_exact(&mut bytes)?;
                match decode_entry(&bytes).map_err(|e| corrupt(&e.to_string()))? {
                    Entry::RegisterCampaign(c) => {
                        if !loaded.catalog.register(c) {
                            return Err(corrupt("a campaign id appears twice"));
                        }
                    }
                    Entry::CampaignPage {
                        account,
                        campaign_id,
                        page_id,
                    } => loaded.catalog.note_page(&account, &campaign_id, &page_id),
                    Entry::RateCard {
                        csv,
                        effective_from,
                    } => loaded.rate_sources.push((effective_from, csv)),
                    _ => return Err(corrupt("unexpected entry in the catalog")),
                }
            }
        }
    }
    r.read_exact(&mut u32b)?;
    let count = u32::from_le_bytes(u32b);
    for _ in 0..count {
        r.read_exact(&mut u32b)?;
        let len = u32::from_le_bytes(u32b) as usize;
        if len > 1024 {
            return Err(corrupt("account id too long"));
        }
        let mut account = vec![0u8; len];
        r.read_exact(&mut account)?;
        let account = String::from_utf8(account).map_err(|_| corrupt("account id not UTF-8"))?;
        r.read_exact(&mut u64b)?;
        let len = u64::from_le_bytes(u64b);
        let mut limited = (&mut r).take(len);
        let engine = Engine::read_checkpoint(config.clone(), &mut limited)
            .map_err(|e| corrupt(&format!("engine of {account}: {e}")))?;
        if limited.limit() != 0 {
            return Err(corrupt("engine length mismatch"));
        }
        loaded.engines.push((account, engine));
    }
    Ok(loaded)
}
