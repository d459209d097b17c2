//! The SQLite schema, and the migration of the first one.
//!
//! Schema 2 is one table of log rows (`seq`, the entry's account, the row kind, its weight, the encoded
//! entry). Schema 1 also had `campaigns`, `campaign_pages` and `rate_cards` tables; opening such a
//! database turns their rows into entries appended to the log, in one transaction, and drops them.

use std::path::Path;

use chrono::NaiveDate;
use rusqlite::{params, Connection};

use crate::codec::encode_entry;
use crate::entry::Entry;
use crate::model::{Campaign, Placement};
use crate::StoreError;

use super::KIND_ENTRY;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY,
    account_uid TEXT NOT NULL,
    kind INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

const VERSION: &str = "2";

/// Opens the database with the durability settings the store relies on, creating or migrating it.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    // WAL: readers never block the writer. synchronous=FULL: a commit is on disk when it returns,
    // which is what "acknowledged only after durable" needs.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.execute_batch(SCHEMA)?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .ok();
    match version.as_deref() {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![VERSION],
            )?;
        }
        Some(VERSION) => {}
        Some("1") => migrate_v1(&mut conn)?,
        Some(other) => {
            return Err(StoreError::Corrupt(format!(
                "{}: schema version {other} is newer than this build understands",
                path.display()
            )))
        }
    }
    Ok(conn)
}

/// Schema 1 → 2: the catalog tables become log entries.
fn migrate_v1(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let mut entries: Vec<Entry> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT effective_from, csv FROM rate_cards ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (from, csv) = row?;
            let effective_from = NaiveDate::parse_from_str(&from, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("rate card date {from}")))?;
            entries.push(Entry::RateCard {
                csv,
                effective_from,
            });
        }
        let mut stmt = tx.prepare(
            "SELECT campaign_id, account_uid, cust_space_id, page_id, ad_account_id, name, budget_type, budget, status, create_time_ms FROM campaigns ORDER BY create_time_ms, campaign_id",
        )?;
        let rows = stmt.query_map([], campaign_from_v1_row)?;
        for row in rows {
            entries.push(Entry::RegisterCampaign(row??));
        }
        let mut stmt = tx.prepare(
            "SELECT account_uid, campaign_id, page_id FROM campaign_pages ORDER BY account_uid, campaign_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Entry::CampaignPage {
                account: r.get(0)?,
                campaign_id: r.get(1)?,
                page_id: r.get(2)?,
            })
        })?;
        for row in rows {
            entries.push(row?);
        }
    }
    let max: Option<i64> = tx.query_row("SELECT MAX(seq) FROM log", [], |r| r.get(0))?;
    let mut seq = max.unwrap_or(0);
    for e in &entries {
        seq += 1;
        tx.execute(
            "INSERT INTO log (seq, account_uid, kind, count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                seq,
                e.account().unwrap_or(""),
                KIND_ENTRY,
                e.weight() as i64,
                encode_entry(e)
            ],
        )?;
    }
    tx.execute_batch(
        "DROP TABLE campaigns; DROP TABLE campaign_pages; DROP TABLE rate_cards;
         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )?;
    tx.commit()?;
    tracing::info!(
        entries = entries.len(),
        "migrated the data directory's catalog into the log (schema 1 → 2)"
    );
    Ok(())
}

/// Maps a schema-1 `campaigns` row.
fn campaign_from_v1_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Campaign, StoreError>> {
    let budget_type: String = r.get(6)?;
    let status: String = r.get(8)?;
    let campaign_id: String = r.get(0)?;
    let (Ok(budget_type), Ok(status)) = (budget_type.parse(), status.parse()) else {
        return Ok(Err(StoreError::Corrupt(format!(
            "campaign {campaign_id}: bad budget type or status"
        ))));
    };
    Ok(Ok(Campaign {
        campaign_id,
        placement: Placement {
            account_uid: r.get(1)?,
            cust_space_id: r.get(2)?,
            page_id: r.get(3)?,
            ad_account_id: r.get(4)?,
        },
        name: r.get(5)?,
        budget_type,
        budget: r.get(7)?,
        status,
        create_time_ms: r.get(9)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first schema, as the previous release wrote it.
    const V1: &str = "
CREATE TABLE log (seq INTEGER PRIMARY KEY, account_uid TEXT NOT NULL, kind INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE campaigns (campaign_id TEXT PRIMARY KEY, account_uid TEXT NOT NULL, cust_space_id TEXT NOT NULL, page_id TEXT NOT NULL, ad_account_id TEXT NOT NULL, name TEXT NOT NULL, budget_type TEXT NOT NULL, budget INTEGER NOT NULL, status TEXT NOT NULL, create_time_ms INTEGER NOT NULL);
CREATE TABLE campaign_pages (account_uid TEXT NOT NULL, campaign_id TEXT NOT NULL, page_id TEXT NOT NULL, PRIMARY KEY (account_uid, campaign_id));
CREATE TABLE rate_cards (id INTEGER PRIMARY KEY, effective_from TEXT NOT NULL, csv TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO log VALUES (1, '1000000000000001', 1, 1, CAST('BRpsid-1' AS BLOB));
INSERT INTO campaigns VALUES ('120200000000000007', '1000000000000001', 'cams-x', 'p1', 'a1', 'Kept', 'daily', 500, 'AVAILABLE', 1751443200000);
INSERT INTO campaigns VALUES ('120200000000000008', '1000000000000001', 'cams-x', 'p1', 'a1', 'Gone', 'lifetime', 1, 'DELETED', 1751443200001);
INSERT INTO campaign_pages VALUES ('1000000000000001', '555', 'p9');
INSERT INTO rate_cards VALUES (1, '2025-07-01', 'country,currency,price
US,USD,0.02
');
";

    #[test]
    fn schema_1_is_migrated_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        Connection::open(&path).unwrap().execute_batch(V1).unwrap();
        let store = crate::sqlite::open(dir.path(), Default::default()).unwrap();
        let kept = store.campaign("120200000000000007").unwrap();
        assert_eq!((kept.name.as_str(), kept.budget), ("Kept", 500));
        assert_eq!(
            store.campaign("120200000000000008").unwrap().status,
            crate::CampaignStatus::Deleted
        );
        assert!(!store.rate_card().is_empty());
        // The page noted for an unregistered campaign still keeps sync from placing it elsewhere.
        let synced = crate::wait(store.sync_campaigns(
            Placement {
                account_uid: "1000000000000001".into(),
                cust_space_id: "cams-x".into(),
                page_id: "p1".into(),
                ad_account_id: "a1".into(),
            },
            0,
        ))
        .unwrap();
        assert!(synced.is_empty());
        drop(store);
        // Migrated once: the tables are gone and reopening keeps everything.
        let conn = Connection::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('campaigns', 'campaign_pages', 'rate_cards')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
        drop(conn);
        std::fs::remove_file(dir.path().join("checkpoint.bin")).unwrap();
        let store = crate::sqlite::open(dir.path(), Default::default()).unwrap();
        assert_eq!(store.campaign("120200000000000007").unwrap().name, "Kept");
        assert_eq!(
            store
                .list_campaigns(
                    &crate::CampaignFilter {
                        account_uid: "1000000000000001".into(),
                        cust_space_id: "cams-x".into(),
                        ..Default::default()
                    },
                    0,
                    10
                )
                .total,
            1
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '9');",
            )
            .unwrap();
        let err = open(&path).expect_err("refused");
        assert!(err.to_string().contains("schema version 9"), "{err}");
    }
}
