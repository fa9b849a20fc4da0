//! Recovery: a failure that leaves the schema between two states does not end the checking; the
//! state the next check needs is rebuilt, so that one run reports every defect. Only an up that
//! fails ends the forward chain, and what it keeps from running is "not checked", never passed.

use crate::support::{self, fixture, same_verdicts_with_and_without_incremental_snapshots, Dbgate};

fn statuses(migration: &serde_json::Value) -> Vec<(String, String)> {
    migration["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect()
}

#[test]
fn one_run_reports_every_bad_rollback_and_checks_every_migration_the_server_can_run() {
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(&fixture("several-bad-rollbacks"));
    let migrations = verdicts["migrations"].as_array().unwrap();
    let all_passed = pairs(&[
        ("replay", "passed"),
        ("rollback", "passed"),
        ("reapply", "passed"),
        ("rollback_chain", "passed"),
    ]);
    assert_eq!(statuses(&migrations[0]), all_passed);
    // A rollback that fails part way, outside a transaction: rebuilt past, found again in the
    // reverse chain.
    assert_eq!(
        statuses(&migrations[1]),
        pairs(&[
            ("replay", "passed"),
            ("rollback", "failed"),
            ("reapply", "not_checked"),
            ("rollback_chain", "failed"),
        ])
    );
    // A migration creating a role, checked after a rebuild (which dropped the role first).
    assert_eq!(statuses(&migrations[2]), all_passed);
    // A rollback that leaves a sequence, so that the up cannot run again.
    assert_eq!(
        statuses(&migrations[3]),
        pairs(&[
            ("replay", "passed"),
            ("rollback", "failed"),
            ("reapply", "failed"),
            ("rollback_chain", "failed"),
        ])
    );
    assert_eq!(
        statuses(&migrations[4]),
        pairs(&[
            ("replay", "passed"),
            ("rollback", "skipped"),
            ("reapply", "skipped"),
            ("rollback_chain", "skipped"),
        ])
    );
    assert_eq!(statuses(&migrations[5]), all_passed);
    // An up that fails ends the forward chain; the reverse chain still runs below it.
    assert_eq!(
        statuses(&migrations[6]),
        pairs(&[
            ("replay", "failed"),
            ("rollback", "not_checked"),
            ("reapply", "not_checked"),
            ("rollback_chain", "not_checked"),
        ])
    );
    assert_eq!(
        statuses(&migrations[7]),
        pairs(&[
            ("replay", "not_checked"),
            ("rollback", "not_checked"),
            ("reapply", "not_checked"),
            ("rollback_chain", "not_checked"),
        ])
    );
    let summary = &verdicts["summary"];
    assert_eq!(summary["migrations_not_checked"], 1);
    assert_eq!(summary["checks_not_checked"], 8);
    assert_eq!(
        summary["not_checked_because"],
        "migrations/007_refunds.sql failed, so later migrations cannot run"
    );

    let out = Dbgate::fixture("several-bad-rollbacks").args(["check"]).run();
    out.code(1);
    out.stdout_has("----  migrations/008_tags.sql");
    out.stdout_has("not checked: migrations/007_refunds.sql failed, so later migrations cannot run");
    out.stdout_has("FAILED 3 of 8 migrations failed; 1 migration not checked: migrations/007_refunds.sql failed, so later migrations cannot run; 15 checks passed, 6 failed, 3 skipped, 8 not checked");
    out.stdout_has("note: rebuilt the schema after migrations/002_invoices.sql in a fresh database (2 migrations replayed, unchecked");
    // No migration left out of the reverse chain's reach for want of a rebuild.
    assert!(!out.stdout.contains("the reverse chain stops"), "{}", out.stdout);
}

#[test]
fn a_chain_without_failures_rebuilds_nothing() {
    let out = Dbgate::fixture("layout-rollback-beside").args(["check"]).run();
    out.code(0);
    assert!(!out.stdout.contains("rebuilt"), "{}", out.stdout);
    assert!(!out.stdout.contains("not checked"), "{}", out.stdout);
}

#[test]
fn the_tests_are_not_checked_when_an_up_fails_and_run_when_a_rollback_failed() {
    let repo = support::TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE a (id int);\nCREATE SEQUENCE s;\n", "DROP TABLE a;\n"),
        ("002_b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n"),
    ]);
    repo.write("smoke/tables.sql", "SELECT 1 FROM a, b;\n");
    // 001's rollback leaves the sequence, and 001 cannot run again: the tests still run, on the
    // schema rebuilt after the last migration's first run.
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("PASS  smoke");
    assert!(!out.stdout.contains("not checked"), "{}", out.stdout);

    repo.write("migrations/002_b.sql", "CREATE TABLE b (id int REFERENCES nosuch);\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("----  smoke");
    out.stdout_has("0 passed, 1 not checked");
    out.stdout_has("not checked: migrations/002_b.sql failed, so later migrations cannot run");
}
