//! Defects of the repo itself (a rollback no migration owns, a duplicate version, two rollbacks
//! for one migration, a file that is not UTF-8): each is a failure of the gate (exit 1) in every
//! report, and everything else is still checked.

use dbgate::report::{github, junit, markdown, Report};

use crate::support::{self, fixture, Dbgate, TempRepo};

/// `dbgate check` on `repo` with a JSON report: the run's output and the report.
fn check(repo: &std::path::Path) -> (support::Output, serde_json::Value, Report) {
    let out_dir = TempRepo::new();
    let json = out_dir.path().join("report.json");
    let out = Dbgate::at(repo).args(["check", "--json"]).arg(&json).run();
    let text = std::fs::read_to_string(&json).unwrap();
    (out, serde_json::from_str(&text).unwrap(), serde_json::from_str(&text).unwrap())
}

fn passed(report: &serde_json::Value) -> Vec<String> {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["checks"].as_array().unwrap().iter().all(|c| c["status"] != "failed"))
        .map(|m| m["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn duplicate_versions_are_a_finding_and_both_migrations_are_checked_in_file_name_order() {
    let (out, report, _) = check(&fixture("duplicate-versions"));
    out.code(1);
    out.stdout_has("FAIL  duplicate version");
    out.stdout_has("migrations/001_b.sql:1:1: version 001 is used by migrations/001_a.sql and migrations/001_b.sql");
    out.stdout_has("set `order = \"name\"` under [migrations] in dbgate.toml");
    out.stdout_has("FAILED 1 defect in the repository; 10 checks passed, 0 failed");
    assert_eq!(report["verdict"], "failed");
    assert_eq!(report["summary"]["findings"], 1);
    assert_eq!(report["findings"][0]["kind"], "duplicate_version");
    assert_eq!(
        report["findings"][0]["files"],
        serde_json::json!(["migrations/001_a.sql", "migrations/001_b.sql"])
    );
    assert_eq!(passed(&report), ["migrations/001_a.sql", "migrations/001_b.sql"]);
}

#[test]
fn a_rollback_without_its_migration_is_a_finding_and_the_rest_is_checked() {
    let (out, report, _) = check(&fixture("orphan-rollback"));
    out.code(1);
    out.stdout_has("FAIL  rollback without a migration");
    out.stdout_has("migrations/003_gone_rollback.sql:1:1: migrations/003_gone_rollback.sql matches no migration (none is named 003_gone or has version 003): its tool never runs it");
    assert_eq!(report["findings"][0]["kind"], "orphan_rollback");
    assert_eq!(
        report["findings"][0]["location"],
        serde_json::json!({"file": "migrations/003_gone_rollback.sql", "line": 1, "column": 1})
    );
    assert_eq!(passed(&report), ["migrations/001_init.sql", "migrations/002_add_thing_name.sql"]);
}

#[test]
fn two_rollbacks_for_one_migration_are_a_finding() {
    let (out, report, _) = check(&fixture("duplicate-rollbacks"));
    out.code(1);
    out.stdout_has("migrations/001_a.sql has more than one rollback (migrations/001_a.down.sql and migrations/001_a_rollback.sql)");
    assert_eq!(report["findings"][0]["kind"], "duplicate_rollback");
    assert_eq!(passed(&report), ["migrations/001_a.sql", "migrations/002_b.sql"]);
}

#[test]
fn a_file_that_is_not_utf8_is_a_finding_at_its_position_and_what_can_run_is_checked() {
    let (out, report, _) = check(&fixture("not-utf8"));
    out.code(1);
    out.stdout_has("migrations/002_prices.sql:1:7: migrations/002_prices.sql is not valid UTF-8 from here");
    assert_eq!(report["findings"][0]["kind"], "not_utf8");
    assert_eq!(report["findings"][0]["location"]["column"], 7);
    // Its tool fails on it, so what comes after is not checked (never blamed); its rollback is
    // still its own, and the migration before it is checked in both chains.
    assert_eq!(support::check(&report["migrations"][1], "replay")["status"], "not_checked");
    assert_eq!(report["migrations"][1]["rollback"], "migrations/002_prices_rollback.sql");
    assert_eq!(support::check(&report["migrations"][2], "replay")["status"], "not_checked");
    out.stdout_has("not checked: migrations/002_prices.sql is not valid UTF-8, so it and later migrations cannot run");
    assert_eq!(support::check(&report["migrations"][0], "rollback_chain")["status"], "passed");
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["not_utf8"]);

    // A rollback that is not UTF-8: its checks are not checked, not "no rollback".
    let repo = TempRepo::new();
    repo.migrations(&[("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")]);
    repo.write_bytes("migrations/001_a_rollback.sql", b"-- caf\xe9\nDROP TABLE a;\n");
    let (out, report, _) = check(repo.path());
    out.code(1);
    assert_eq!(support::check(&report["migrations"][0], "rollback")["status"], "not_checked");
    assert_eq!(
        support::check(&report["migrations"][0], "rollback_chain")["skip_reason"],
        "migrations/001_a_rollback.sql is not valid UTF-8"
    );
    // A test file that is not UTF-8 is still an input error.
    let repo = TempRepo::new();
    repo.write("migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    repo.write_bytes("smoke/a.sql", b"-- caf\xe9\nSELECT 1;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("smoke/a.sql:1:7: not valid UTF-8");
}

#[test]
fn findings_are_in_every_report() {
    let (_, _, report) = check(&fixture("orphan-rollback"));
    let junit = junit::render(&report).unwrap();
    assert!(junit.contains("name=\"dbgate repository\""), "{junit}");
    assert!(
        junit.contains("migrations/003_gone_rollback.sql:1:1: migrations/003_gone_rollback.sql matches no migration"),
        "{junit}"
    );
    let annotations = github::annotations(&report);
    assert!(
        annotations.contains("::error file=migrations/003_gone_rollback.sql,line=1,col=1,title=dbgate%3A rollback without a migration::"),
        "{annotations}"
    );
    let comment = markdown::comment(&report);
    assert!(comment.contains("**1 defect in the repository**"), "{comment}");
    assert!(
        comment.contains("#### `migrations/003_gone_rollback.sql` · rollback without a migration"),
        "{comment}"
    );
    let list = Dbgate::fixture("orphan-rollback").args(["list"]).run();
    list.code(0);
    list.stdout_has("defect: migrations/003_gone_rollback.sql:1:1: migrations/003_gone_rollback.sql matches no migration");
}

#[test]
fn order_by_name_lets_versions_repeat_and_pairs_rollbacks_by_name() {
    let repo = TempRepo::new();
    for entry in std::fs::read_dir(fixture("order-by-name/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        repo.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).unwrap());
    }
    // By version, the repeated number is a defect; everything is checked all the same.
    let (out, report, _) = check(repo.path());
    out.code(1);
    assert_eq!(report["findings"][0]["kind"], "duplicate_version");

    repo.write("dbgate.toml", "[migrations]\norder = \"name\"\n");
    let (out, report, _) = check(repo.path());
    out.code(0);
    assert_eq!(report["findings"], serde_json::json!([]));
    let files: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "migrations/0001_create_table_a.up.sql",
            "migrations/0001_create_table_b.up.sql",
            "migrations/0002_add_note_up.sql",
            "migrations/0010_shut_down.sql"
        ]
    );
    assert_eq!(report["migrations"][2]["rollback"], "migrations/0002_add_note_down.sql");
    // `0010_shut_down.sql` has no `_up` sibling: a migration of its own, without a rollback.
    assert_eq!(report["migrations"][3]["rollback"], serde_json::Value::Null);
    let list = Dbgate::at(repo.path()).args(["list"]).run();
    list.stdout_has("order:      whole file names, as text; a version may repeat ([migrations] order = \"name\")");

    // Under name order, a rollback is its migration's by name alone.
    repo.write("migrations/0002_add_notes.down.sql", "SELECT 1;\n");
    let (out, report, _) = check(repo.path());
    out.code(1);
    assert_eq!(report["findings"][0]["kind"], "orphan_rollback");
    out.stdout_has("migrations/0002_add_notes.down.sql matches no migration (none is named 0002_add_notes)");

    std::fs::remove_file(repo.path().join("migrations/0002_add_notes.down.sql")).unwrap();
    // A rollback named by its version alone pairs with the one migration that has it.
    repo.write("rollback/0010_rollback.sql", "DROP TABLE shutdowns;\n");
    let (out, report, _) = check(repo.path());
    out.code(0);
    assert_eq!(report["migrations"][3]["rollback"], "rollback/0010_rollback.sql");
    // ...and is an orphan, said so, where several migrations have it.
    repo.write("rollback/0001_rollback.sql", "SELECT 1;\n");
    let (out, _, _) = check(repo.path());
    out.code(1);
    out.stdout_has("rollback/0001_rollback.sql matches no migration (none is named 0001, and version 0001 belongs to 2 migrations (migrations/0001_create_table_a.up.sql, migrations/0001_create_table_b.up.sql))");
    std::fs::remove_dir_all(repo.path().join("rollback")).unwrap();

    // dbgate.toml names a migration by its file stem where versions repeat.
    repo.write("migrations/0001_create_table_b.down.sql", "-- cannot be undone\n");
    repo.write(
        "dbgate.toml",
        "[migrations]\norder = \"name\"\n[rollback]\nirreversible = [\"0001_create_table_b\"]\n",
    );
    let (out, report, _) = check(repo.path());
    out.code(0);
    assert_eq!(
        support::check(&report["migrations"][1], "rollback")["skip_reason"],
        "the rollback is declared irreversible"
    );
}

#[test]
fn a_rollback_whose_name_differs_from_its_migrations_is_paired_by_version_with_a_warning() {
    // golang-migrate and sqlx pair an up and a down by version alone: it runs.
    let repo = TempRepo::new();
    repo.write("migrations/0026_drop_job_id.up.sql", "CREATE TABLE jobs (id int);\n");
    repo.write("migrations/0026_drop_join_id.down.sql", "DROP TABLE jobs;\n");
    let (out, report, _) = check(repo.path());
    out.code(0);
    out.stdout_has("warning: migrations/0026_drop_join_id.down.sql is the rollback of migrations/0026_drop_job_id.up.sql by its version, but its name differs (a typo?)");
    assert_eq!(report["migrations"][0]["rollback"], "migrations/0026_drop_join_id.down.sql");
}
