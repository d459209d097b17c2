//! Offline import: a file of native NDJSON of any size into an open store, through the same admission as
//! every other way in.
//!
//! The reading thread cuts the input into chunks at line ends; parser threads (one per core) admit each
//! chunk's lines and append the admitted events; the store's log commits and applies them. Order does not
//! matter to the metrics (they are the same for any permutation of the events), so chunks are appended as
//! they are parsed. Importing the same file again changes nothing.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Instant;

use store::{Store, StoreError};

use crate::{admit_ndjson, Admission, Rejection, Report};

/// Tuning of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Events per append, roughly (chunks are cut by size: about 160 bytes per event).
    pub batch_events: usize,
    /// How many rejections to keep one by one (all are counted).
    pub max_listed_rejections: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            batch_events: 50_000,
            max_listed_rejections: 100,
        }
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportSummary {
    pub lines: u64,
    pub accepted: u64,
    pub changed: u64,
    pub rejected: u64,
    /// The first rejections by line number, at most `max_listed_rejections`.
    pub rejections: Vec<Rejection>,
    pub seconds: f64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.accepted as f64 / self.seconds
        } else {
            0.0
        };
        write!(
            f,
            "{} lines: {} accepted ({} changed the metrics), {} rejected, in {:.2} s ({:.0} events/s)",
            self.lines, self.accepted, self.changed, self.rejected, self.seconds, rate
        )
    }
}

/// Bytes handed to a parser thread at a time at most (cut at a line end).
const CHUNK_BYTES: usize = 4 << 20;

/// Imports `input` for `account`. `on_bytes` is told how many input bytes each chunk took (progress).
pub fn import(
    store: &Store,
    account: &str,
    input: impl Read,
    options: &ImportOptions,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<ImportSummary, StoreError> {
    let started = Instant::now();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk_bytes = CHUNK_BYTES
        .min(options.batch_events.saturating_mul(160))
        .max(64 << 10);
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(workers);
    let chunk_rx = Mutex::new(chunk_rx);
    let (done_tx, done_rx) = mpsc::channel::<Result<Report, StoreError>>();
    let mut summary = ImportSummary::default();
    std::thread::scope(|scope| -> Result<(), StoreError> {
        for _ in 0..workers {
            let (chunk_rx, done_tx) = (&chunk_rx, done_tx.clone());
            scope.spawn(move || {
                let mut admission = Admission::new(store, account);
                loop {
                    let next = chunk_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((first_line, bytes)) = next else {
                        return;
                    };
                    let mut report = Report::default();
                    let events = admit_ndjson(&mut admission, &bytes, first_line, &mut report);
                    let appended = if events.is_empty() {
                        Ok(report)
                    } else {
                        store::wait(store.append(account, None, events)).map(|receipt| {
                            report.accepted = receipt.accepted;
                            report.changed = receipt.changed;
                            report
                        })
                    };
                    if done_tx.send(appended).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let lines = cut_chunks(input, chunk_bytes, |first, chunk| {
            on_bytes(chunk.len() as u64);
            chunk_tx.send((first, chunk)).is_ok()
        });
        drop(chunk_tx);
        let mut failure = None;
        for done in done_rx {
            match done {
                Ok(report) => {
                    summary.accepted += report.accepted;
                    summary.changed += report.changed;
                    summary.rejected += report.rejected_count;
                    summary.rejections.extend(report.rejected);
                    summary.rejections.sort_unstable();
                    summary.rejections.truncate(options.max_listed_rejections);
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        summary.lines = lines?;
        Ok(())
    })?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Reads `input` in chunks of about `chunk_bytes` ending at a line end, each with the number of its first
/// line; `send` returns `false` to stop. Returns the number of lines read.
fn cut_chunks(
    input: impl Read,
    chunk_bytes: usize,
    mut send: impl FnMut(u64, Vec<u8>) -> bool,
) -> Result<u64, StoreError> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut next_line = 1u64;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut chunk = std::mem::take(&mut carry);
        chunk.reserve(chunk_bytes + 1024);
        let mut eof = false;
        while chunk.len() < chunk_bytes {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                eof = true;
                break;
            }
            let take = buf.len().min(chunk_bytes - chunk.len());
            chunk.extend_from_slice(&buf[..take]);
            reader.consume(take);
        }
        if chunk.is_empty() {
            break;
        }
        if !eof {
            // Keep the partial last line for the next chunk.
            match chunk.iter().rposition(|b| *b == b'\n') {
                Some(end) => carry = chunk.split_off(end + 1),
                None => {
                    // One line longer than a chunk: read on to its end.
                    reader.read_until(b'\n', &mut chunk)?;
                }
            }
        } else if chunk.last() != Some(&b'\n') {
            chunk.push(b'\n');
        }
        let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        let first = next_line;
        next_line += lines;
        if !send(first, chunk) || eof {
            break;
        }
    }
    Ok(next_line - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_line_ends_and_count_lines() {
        let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        for size in [1, 7, 64, 4096] {
            let mut got = Vec::new();
            let lines = cut_chunks(text.as_bytes(), size, |first, chunk| {
                got.push((first, chunk));
                true
            })
            .unwrap();
            assert_eq!(lines, 1000);
            let mut expected_first = 1;
            let mut joined = Vec::new();
            for (first, chunk) in &got {
                assert_eq!(*first, expected_first);
                assert!(chunk.ends_with(b"\n"));
                expected_first += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                joined.extend_from_slice(chunk);
            }
            assert_eq!(joined, text.as_bytes());
        }
        // A last line without its newline still counts.
        let lines = cut_chunks(&b"a\nb"[..], 64, |_, c| {
            assert_eq!(c, b"a\nb\n");
            true
        })
        .unwrap();
        assert_eq!(lines, 2);
    }
}
