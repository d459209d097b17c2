//! The SQLite schema and row mapping.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::model::{Campaign, Placement};
use crate::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY,
    account_uid TEXT NOT NULL,
    kind INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    account_uid TEXT NOT NULL,
    cust_space_id TEXT NOT NULL,
    page_id TEXT NOT NULL,
    ad_account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    budget_type TEXT NOT NULL,
    budget INTEGER NOT NULL,
    status TEXT NOT NULL,
    create_time_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_pages (
    account_uid TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    page_id TEXT NOT NULL,
    PRIMARY KEY (account_uid, campaign_id)
);
CREATE TABLE IF NOT EXISTS rate_cards (
    id INTEGER PRIMARY KEY,
    effective_from TEXT NOT NULL,
    csv TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
";

/// Opens the database with the durability settings the store relies on.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // WAL: readers never block the writer. synchronous=FULL: a commit is on disk when it returns,
    // which is what "acknowledged only after durable" needs.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.execute_batch(SCHEMA)?;
    let version: String = conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if version != "1" {
        return Err(StoreError::Corrupt(format!(
            "unknown schema version {version}"
        )));
    }
    Ok(conn)
}

/// Maps a `campaigns` row.
pub fn campaign_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Campaign, StoreError>> {
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

/// Inserts a campaign row.
pub fn insert_campaign(conn: &Connection, c: &Campaign) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO campaigns (campaign_id, account_uid, cust_space_id, page_id, ad_account_id, name, budget_type, budget, status, create_time_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            c.campaign_id,
            c.placement.account_uid,
            c.placement.cust_space_id,
            c.placement.page_id,
            c.placement.ad_account_id,
            c.name,
            c.budget_type.as_str(),
            c.budget,
            c.status.as_str(),
            c.create_time_ms
        ],
    )?;
    Ok(())
}
