//! Recovery: a failure that leaves the schema between two states does not end the checking; the
//! state the next check needs is rebuilt, so that one run reports every defect. Only an up that
//! fails ends the forward chain, and what it keeps from running is "not checked", never passed.

use crate::support::{self, fixture, same_verdicts_with_and_without_incremental_snapshots, Dbgate};

/// The statuses of the replay and rollback checks (the lint's are asserted apart).
fn statuses(migration: &serde_json::Value) -> Vec<(String, String)> {
    migration["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] != "lint" && c["kind"] != "data")
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
    // The lint and the data check: 007 fails before anything is observed; 008 comes after it.
    let copy = |index: usize, kind: &str| support::check(&migrations[index], kind)["status"].clone();
    for kind in ["lint", "data"] {
        assert_eq!(copy(5, kind), "passed");
        assert_eq!(copy(6, kind), "not_checked");
        assert_eq!(copy(7, kind), "not_checked");
    }
    let summary = &verdicts["summary"];
    assert_eq!(summary["migrations_not_checked"], 1);
    assert_eq!(summary["checks_not_checked"], 12);
    assert_eq!(
        summary["not_checked_because"],
        "migrations/007_refunds.sql failed, so later migrations cannot run"
    );

    let out = Dbgate::fixture("several-bad-rollbacks").args(["check"]).run();
    out.code(1);
    out.stdout_has("----  migrations/008_tags.sql");
    out.stdout_has("not checked: migrations/007_refunds.sql failed, so later migrations cannot run");
    out.stdout_has("FAILED 3 of 8 migrations failed; 1 migration not checked: migrations/007_refunds.sql failed, so later migrations cannot run; 22 checks passed, 6 failed, 1 warning, 3 skipped, 12 not checked");
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

#[test]
fn on_hundreds_of_migrations_with_several_bad_rollbacks_one_run_reports_every_one() {
    const N: usize = 200;
    let repo = support::TempRepo::new();
    for i in 1..=N {
        let previous = if i > 1 {
            format!(", parent bigint REFERENCES t{:03}", i - 1)
        } else {
            String::new()
        };
        repo.write(
            &format!("migrations/{i:03}_t.sql"),
            &format!("CREATE TABLE t{i:03} (id bigint PRIMARY KEY, name text{previous});\nCREATE INDEX t{i:03}_name ON t{i:03} (name);\n"),
        );
        let down = match i {
            // Leaves a table behind: the rollback fails, and the second run differs.
            40 => "DROP TABLE t040;\nCREATE TABLE t040_leftover (id int);\n".to_string(),
            // Fails part way, outside a transaction.
            80 => "-- no-transaction\nDROP INDEX t080_name;\nDROP TABLE t08;\n".to_string(),
            // Empty, as generators write it: skipped with a warning.
            120 => "-- This file should undo anything in up.sql\n".to_string(),
            // Declared irreversible.
            160 => "-- dbgate:irreversible\n".to_string(),
            // Fails in its transaction.
            190 => "DROP TABLE t190 RESTRICT;\nSELECT 1/0;\n".to_string(),
            _ => format!("DROP TABLE t{i:03};\n"),
        };
        repo.write(&format!("migrations/{i:03}_t_rollback.sql"), &down);
    }
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let migrations = report["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), N);
    let failed: Vec<&str> = migrations
        .iter()
        .filter(|m| m["checks"].as_array().unwrap().iter().any(|c| c["status"] == "failed"))
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["migrations/040_t.sql", "migrations/080_t.sql", "migrations/190_t.sql"],
        "{}",
        out.stdout
    );
    // Every migration ran, and every rollback that can run was checked, in both chains.
    for (index, migration) in migrations.iter().enumerate() {
        let i = index + 1;
        assert_eq!(support::check(migration, "replay")["status"], "passed", "{i}");
        let expected = match i {
            40 | 80 | 190 => "failed",
            120 | 160 => "skipped",
            _ => "passed",
        };
        assert_eq!(support::check(migration, "rollback")["status"], expected, "{i}");
        assert_eq!(support::check(migration, "rollback_chain")["status"], expected, "{i}");
    }
    // Only the second runs after the two rollbacks that failed (the migrations make new tables:
    // no data check).
    assert_eq!(report["summary"]["checks_not_checked"], 2, "{}", out.stdout);
    out.stdout_has("FAILED 3 of 200 migrations failed; 2 checks not checked: the rollback failed;");
}

#[test]
fn rollbacks_missing_here_and_there_cost_one_rebuild_not_one_per_gap() {
    let repo = support::TempRepo::new();
    for i in 1..=30 {
        repo.write(&format!("migrations/{i:03}_t.sql"), &format!("CREATE TABLE t{i:03} (id int);\n"));
        if i % 2 == 0 {
            repo.write(&format!("migrations/{i:03}_t_rollback.sql"), &format!("DROP TABLE t{i:03};\n"));
        }
    }
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for (index, migration) in report["migrations"].as_array().unwrap().iter().enumerate() {
        let expected = if (index + 1) % 2 == 0 { "passed" } else { "skipped" };
        assert_eq!(support::check(migration, "rollback_chain")["status"], expected, "{}", index + 1);
    }
    assert_eq!(out.stdout.matches("note: rebuilt").count(), 1, "{}", out.stdout);
}

#[test]
fn a_rebuild_runs_the_setup_files_again_and_drops_what_roles_the_migrations_were_granted() {
    let repo = support::TempRepo::new();
    // The setup creates a role (cluster-wide): a rebuild drops it with the old database first.
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"setup.sql\"]\n");
    repo.write("setup.sql", "CREATE ROLE app_setup_reader;\nCREATE SCHEMA app;\n");
    // A role granted a configuration parameter (a shared object) is still dropped on a rebuild.
    repo.write(
        "migrations/001_tuner.sql",
        "CREATE ROLE app_tuner;\nGRANT SET ON PARAMETER work_mem TO app_tuner;\nCREATE TABLE app.a (id int);\n",
    );
    repo.write(
        "migrations/001_tuner_rollback.sql",
        "DROP TABLE app.a;\nREVOKE SET ON PARAMETER work_mem FROM app_tuner;\nDROP ROLE app_tuner;\n",
    );
    repo.write("migrations/002_b.sql", "CREATE TABLE app.b (id int);\n");
    repo.write("migrations/003_c.sql", "CREATE TABLE app.c (id int);\n");
    repo.write("migrations/003_c_rollback.sql", "DROP TABLE app.c;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("note: rebuilt the schema after migrations/001_tuner.sql in a fresh database");
    out.stdout_has("PASS  migrations/001_tuner.sql");
    out.stdout_has("replay, rollback, reapply, rollback chain");
}

#[test]
fn a_state_dbgate_cannot_rebuild_makes_the_gate_incomplete_not_passed() {
    let repo = support::TempRepo::new();
    // A setup file that makes something outside the database cannot run twice: the rebuild
    // the reverse chain needs below the migration without a rollback fails.
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"setup.sql\"]\n");
    repo.write("setup.sql", "CREATE DATABASE dbgate_made_by_setup;\n");
    repo.migrations(&[("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")]);
    repo.write("migrations/002_b.sql", "CREATE TABLE b (id int);\n");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(3);
    out.stdout_has("----  migrations/001_a.sql");
    out.stdout_has("rollback chain not checked: dbgate could not rebuild the schema after migrations/001_a.sql to go on checking");
    out.stdout_has("INCOMPLETE 2 migrations not checked: dbgate could not rebuild");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "incomplete");
}
