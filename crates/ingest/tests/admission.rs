//! The admission rules over a real (SQLite) store: line numbers and reasons, the foreign-campaign rule,
//! and offline import taking exactly the same decisions.

use ingest::{admit_ndjson, import, Admission, ImportOptions, Rejection, Report};
use store::{BudgetType, HostOptions, NewCampaign, Placement, Store};

const MINE: &str = "1000000000000001";
const THEIRS: &str = "1000000000000002";

fn open(dir: &std::path::Path) -> Store {
    store::sqlite::open(dir, HostOptions::default()).unwrap()
}

fn register(store: &Store, account: &str) -> String {
    store::wait(store.create_campaign(NewCampaign {
        placement: Placement {
            account_uid: account.into(),
            cust_space_id: "cams-1".into(),
            page_id: "p".into(),
            ad_account_id: "a".into(),
        },
        name: "c".into(),
        budget_type: BudgetType::Daily,
        budget: 1,
        create_time_ms: 0,
    }))
    .unwrap()
    .campaign_id
}

fn line(campaign: &str, recipient: &str, event: &str) -> String {
    format!(
        r#"{{"campaign_id":"{campaign}","recipient":"{recipient}","event":"{event}","timestamp":"2025-07-02T09:15:00Z"}}"#
    )
}

fn corpus(mine: &str, theirs: &str) -> String {
    [
        line(mine, "r1", "delivered"),
        String::new(),
        line(theirs, "r2", "delivered"),
        "not json".into(),
        line("120299999999999999", "r3", "read"),
        line(mine, "r1", "delivered"),
        line(mine, "r4", "clicked"),
        "  \r".into(),
        line(mine, "r5", "sent"),
    ]
    .join("\n")
}

#[test]
fn lines_are_admitted_or_rejected_with_their_number_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mine = register(&store, MINE);
    let theirs = register(&store, THEIRS);
    let mut report = Report::default();
    let events = admit_ndjson(
        &mut Admission::new(&store, MINE),
        corpus(&mine, &theirs).as_bytes(),
        1,
        &mut report,
    );
    assert_eq!(events.len(), 4, "mine twice, the unregistered one, r5");
    assert_eq!(report.rejected_count, 3);
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 7]);
    assert_eq!(
        report.rejected[0].reason,
        format!("campaign `{theirs}` is not available to this account")
    );
    assert!(report.rejected[2].reason.contains("clicked"));
}

#[test]
fn offline_import_refuses_another_accounts_campaign_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let theirs = register(&store, THEIRS);
    let file = line(&theirs, "r1", "sent") + "\n";
    let summary = import(
        &store,
        MINE,
        file.as_bytes(),
        &ImportOptions::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        (summary.lines, summary.accepted, summary.rejected),
        (1, 0, 1)
    );
    assert_eq!(
        summary.rejections,
        [Rejection {
            line: 1,
            reason: format!("campaign `{theirs}` is not available to this account"),
        }]
    );
    assert!(store.campaign_ids_with_events(MINE).is_empty());
    assert!(store.campaign_ids_with_events(THEIRS).is_empty());
}

#[test]
fn offline_import_takes_the_same_decisions_as_a_body() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mine = register(&store, MINE);
    let theirs = register(&store, THEIRS);
    let text = corpus(&mine, &theirs);
    let mut report = Report::default();
    admit_ndjson(
        &mut Admission::new(&store, MINE),
        text.as_bytes(),
        1,
        &mut report,
    );
    // Small chunks, so that the corpus spans several parser threads and appends.
    let summary = import(
        &store,
        MINE,
        text.as_bytes(),
        &ImportOptions {
            batch_events: 1,
            max_listed_rejections: 100,
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(summary.rejections, report.rejected);
    assert_eq!(summary.accepted, 4);
    assert_eq!(summary.changed, 3, "the repeated delivery changes nothing");
    assert_eq!(summary.lines, 9);
}

#[test]
fn a_body_is_one_durable_append() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mine = register(&store, MINE);
    let theirs = register(&store, THEIRS);
    let before = store.stats().last_seq;
    let report = rt
        .block_on(ingest::ingest_ndjson(
            &store,
            MINE,
            corpus(&mine, &theirs).as_bytes(),
        ))
        .unwrap();
    assert_eq!(
        (report.accepted, report.changed, report.rejected_count),
        (4, 3, 3)
    );
    assert_eq!(store.stats().last_seq, before + 1);
    // Nothing admitted: nothing logged.
    let report = rt
        .block_on(ingest::ingest_ndjson(&store, MINE, b"oops\n"))
        .unwrap();
    assert_eq!((report.accepted, report.rejected_count), (0, 1));
    assert_eq!(store.stats().last_seq, before + 1);
}
