//! `checkpoint.bin`: every account's engine and the log sequence number they cover.
//!
//! Layout: magic `CAMSCKP1`, seq (u64 LE), account count (u32 LE), then per account its uid
//! (u32 length + bytes) and its engine (u64 length + the engine's own checkpoint bytes). Written
//! to a temporary file, fsynced, renamed over the old one, and the directory fsynced: a crash at
//! any point leaves either the old or the new checkpoint, whole.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, RwLock};

use insights::{Engine, EngineConfig};

use crate::StoreError;

const MAGIC: &[u8; 8] = b"CAMSCKP1";
const FILE: &str = "checkpoint.bin";

pub fn exists(dir: &Path) -> bool {
    dir.join(FILE).exists()
}

pub fn write(
    dir: &Path,
    seq: u64,
    engines: &[(String, Arc<RwLock<Engine>>)],
) -> Result<(), StoreError> {
    let tmp = dir.join("checkpoint.bin.tmp");
    let file = File::create(&tmp)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    w.write_all(MAGIC)?;
    w.write_all(&seq.to_le_bytes())?;
    w.write_all(&(engines.len() as u32).to_le_bytes())?;
    for (account, engine) in engines {
        w.write_all(&(account.len() as u32).to_le_bytes())?;
        w.write_all(account.as_bytes())?;
        // Length placeholder, filled in once the engine is written.
        let at = w.stream_position()?;
        w.write_all(&0u64.to_le_bytes())?;
        {
            let engine = engine.read().unwrap_or_else(|p| p.into_inner());
            engine.write_checkpoint(&mut w)?;
        }
        let end = w.stream_position()?;
        w.seek(SeekFrom::Start(at))?;
        w.write_all(&(end - at - 8).to_le_bytes())?;
        w.seek(SeekFrom::Start(end))?;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, dir.join(FILE))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// A loaded checkpoint: the log sequence number it covers and every account's engine.
pub type Loaded = (u64, Vec<(String, Engine)>);

pub fn read(dir: &Path, config: &EngineConfig) -> Result<Option<Loaded>, StoreError> {
    let path = dir.join(FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("{}: {what}", path.display()));
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt("not a checkpoint"));
    }
    let mut u64b = [0u8; 8];
    let mut u32b = [0u8; 4];
    r.read_exact(&mut u64b)?;
    let seq = u64::from_le_bytes(u64b);
    r.read_exact(&mut u32b)?;
    let count = u32::from_le_bytes(u32b);
    let mut engines = Vec::new();
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
        engines.push((account, engine));
    }
    Ok(Some((seq, engines)))
}
