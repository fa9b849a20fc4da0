//! History: real git repositories made here (a main branch, a feature branch on top), and what
//! the gate says of edited, removed, renamed and out-of-order migrations against the base.

use std::path::Path;
use std::process::Command;

use crate::support::{Dbgate, TempRepo};

/// Runs git in `dir`; panics with what it said when it fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose main branch has migrations 001-003 (each with a rollback), checked out
/// on a branch `feature` made from it.
pub(crate) fn on_a_branch() -> TempRepo {
    let repo = TempRepo::new();
    git(repo.path(), &["init", "-q"]);
    repo.migrations(&[
        ("001_users", "CREATE TABLE users (id int);\n", "DROP TABLE users;\n"),
        (
            "002_orders",
            "CREATE TABLE orders (id int);\nCREATE INDEX orders_id ON orders (id);\n",
            "DROP TABLE orders;\n",
        ),
        ("003_notes", "CREATE TABLE notes (id int);\n", "DROP TABLE notes;\n"),
    ]);
    commit(&repo, "main");
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    repo
}

pub(crate) fn commit(repo: &TempRepo, message: &str) {
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", message]);
}

fn check(repo: &TempRepo, base: &str) -> crate::support::Output {
    Dbgate::at(repo.path()).args(["check", "--base", base]).run()
}

#[test]
fn a_clean_branch_passes_and_says_what_it_adds() {
    let repo = on_a_branch();
    repo.migrations(&[("004_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "tags");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has("history: compared with main at ");
    out.stdout_has("(the merge base of HEAD and main): 1 new migration");
    assert!(
        !out.stdout.contains("edited") && !out.stdout.contains("out of order"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_edited_migration_fails_with_its_diff_at_the_first_changed_line() {
    let repo = on_a_branch();
    repo.write(
        "migrations/002_orders.sql",
        "CREATE TABLE orders (id int);\nCREATE INDEX orders_id ON orders (id, id);\n",
    );
    commit(&repo, "edit");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "main", "--json"]).arg(&json).run();
    out.code(1);
    out.in_order(&[
        "edited         FAILED",
        "migrations/002_orders.sql:2:1: migrations/002_orders.sql was edited, but main already has it: production ran the old text and never runs this edit",
        "--- main:migrations/002_orders.sql",
        "+++ migrations/002_orders.sql",
        "-CREATE INDEX orders_id ON orders (id);",
        "+CREATE INDEX orders_id ON orders (id, id);",
        "put the change in a new migration and restore migrations/002_orders.sql as main has it",
    ]);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["history"]["ref"], "main");
    assert_eq!(report["history"]["new_migrations"], serde_json::json!([]));
    let edited = crate::support::check(&report["migrations"][1], "edited");
    assert_eq!(edited["status"], "failed");
    // Near miss: the same edit, allowed as a deliberate fix.
    repo.write("dbgate.toml", "[history]\nallow_edits = [\"002\"]\n");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has("note: migrations/002_orders.sql differs from main, which has it: allowed by [history] allow_edits");
}

#[test]
fn a_whitespace_only_edit_fails_where_the_tool_checksums_and_warns_elsewhere() {
    let repo = on_a_branch();
    repo.write("migrations/001_users.sql", "CREATE TABLE users (id int);  \n");
    repo.write("migrations/003_notes_rollback.sql", "DROP TABLE IF EXISTS notes;\n");
    commit(&repo, "spaces");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has("warning (edited): migrations/001_users.sql:1:1: migrations/001_users.sql was edited, but main already has it");
    out.stdout_has("only white space changed: no known runner keeps no checksum that would notice");
    // An edited rollback is a warning, wherever.
    out.stdout_has("warning (edited): migrations/003_notes_rollback.sql:1:1: migrations/003_notes_rollback.sql differs from main's: no runner checksums a rollback");
    // sqlx checksums every byte.
    repo.write("dbgate.toml", "[migrations]\ntool = \"sqlx\"\n");
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has("sqlx refuses to migrate: \"migration 001 was previously applied but has been modified\"");
}

#[test]
fn a_removed_or_renamed_migration_is_a_defect_unless_allowed() {
    let repo = on_a_branch();
    std::fs::remove_file(repo.path().join("migrations/003_notes.sql")).unwrap();
    std::fs::remove_file(repo.path().join("migrations/003_notes_rollback.sql")).unwrap();
    std::fs::rename(
        repo.path().join("migrations/002_orders.sql"),
        repo.path().join("migrations/005_orders.sql"),
    )
    .unwrap();
    std::fs::rename(
        repo.path().join("migrations/002_orders_rollback.sql"),
        repo.path().join("migrations/005_orders_rollback.sql"),
    )
    .unwrap();
    commit(&repo, "squash");
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has("migrations/003_notes.sql:1:1: migrations/003_notes.sql is gone, but main has it and production ran it");
    out.stdout_has(
        "migrations/005_orders.sql:1:1: migrations/005_orders.sql is migrations/002_orders.sql, which main has, under a new name",
    );
    repo.write("dbgate.toml", "[history]\nallow_removed = [\"002_orders\", \"003\"]\n");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has("note: migrations/003_notes.sql is gone since main: allowed by [history] allow_removed");
}

#[test]
fn an_out_of_order_migration_is_judged_as_the_tool_runs_it() {
    let repo = on_a_branch();
    // main moves on to 100; the branch, up to date with it, adds 050.
    git(repo.path(), &["checkout", "-q", "main"]);
    repo.migrations(&[("100_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "tags");
    git(repo.path(), &["checkout", "-q", "feature"]);
    git(repo.path(), &["merge", "-q", "main"]);
    repo.write("migrations/050_late.sql", "CREATE TABLE late (id int);\n");
    repo.write("migrations/050_late_rollback.sql", "DROP TABLE late;\n");
    commit(&repo, "late");
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has(
        "migrations/050_late.sql:1:1: migrations/050_late.sql is new, but sorts before migrations/100_tags.sql, which main already has",
    );
    out.stdout_has("give it a version after 100");
    // sqlx applies it: a warning. golang-migrate never runs it: a failure.
    repo.write("dbgate.toml", "[migrations]\ntool = \"sqlx\"\n");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has(
        "warning (out of order): migrations/050_late.sql:1:1: migrations/050_late.sql is new, but sorts before migrations/100_tags.sql",
    );
    out.stdout_has("sqlx applies it, after the newer ones");
    repo.write("dbgate.toml", "[migrations]\ntool = \"sqlx\"\n[history]\nout_of_order = \"fail\"\n");
    check(&repo, "main").code(1);
    repo.write("dbgate.toml", "[history]\nout_of_order = \"allow\"\n");
    let out = check(&repo, "main");
    out.code(0);
    out.stdout_has("note: migrations/050_late.sql is new, but sorts before");
}

#[test]
fn a_shallow_clone_fetches_its_base_and_works_from_a_subfolder() {
    // origin: a bare repository with main (two migrations) and a branch with a third.
    let origin = TempRepo::new();
    let work = TempRepo::new();
    git(origin.path(), &["init", "-q", "--bare"]);
    work.write("services/api/migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    work.write("services/api/migrations/002_b.sql", "CREATE TABLE b (id int);\n");
    git(work.path(), &["init", "-q"]);
    commit(&work, "main");
    for n in 0..3 {
        work.write("README", &format!("{n}\n"));
        commit(&work, "more on main");
    }
    git(work.path(), &["checkout", "-q", "-b", "feature"]);
    work.write("services/api/migrations/002_b.sql", "CREATE TABLE b (id bigint);\n");
    work.write("services/api/migrations/003_c.sql", "CREATE TABLE c (id int);\n");
    commit(&work, "feature");
    let url = format!("file://{}", origin.path().display());
    git(work.path(), &["push", "-q", &url, "main", "feature"]);
    // A CI checkout: the branch only, one commit deep, no origin/main.
    let clone = TempRepo::new();
    git(clone.path(), &["clone", "-q", "--depth", "1", "--branch", "feature", &url, "."]);
    assert!(git(clone.path(), &["branch", "-r"]).trim().ends_with("origin/feature"));
    let out = Dbgate::at(clone.path().join("services/api"))
        .args(["check", "--base", "origin/main"])
        .run();
    out.code(1);
    out.stdout_has("(the merge base of HEAD and origin/main): 1 new migration");
    out.stdout_has("migrations/002_b.sql:1:1: migrations/002_b.sql was edited, but origin/main already has it");
    // In a pull request, the base defaults to the pull request's base branch.
    let out = Dbgate::at(clone.path().join("services/api"))
        .env_remove("DBGATE_BASE")
        .env("GITHUB_BASE_REF", "main")
        .arg("check")
        .run();
    out.code(1);
    out.stdout_has("history: compared with origin/main at ");
}

#[test]
fn no_base_is_a_note_and_a_named_base_that_is_not_there_is_an_input_error() {
    let repo = on_a_branch();
    let out = Dbgate::at(repo.path()).env_remove("DBGATE_BASE").arg("check").run();
    out.code(0);
    out.stdout_has(
        "note: history not checked: no base to compare with (set --base REF or [history] base; origin/HEAD does not exist here)",
    );
    let out = check(&repo, "origin/nope");
    out.code(2);
    out.stderr_has("the base origin/nope is not in this repository, and fetching it failed: name a branch or commit that exists");
    // Not a git repository: a note.
    let plain = TempRepo::new();
    plain.migrations(&[("001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")]);
    let out = Dbgate::at(plain.path())
        .args(["check", "--base", "main"])
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .run();
    out.code(0);
    out.stdout_has("note: history not checked: not a git repository");
}

#[test]
fn a_pull_request_merge_checkout_compares_with_the_merge_commit_s_first_parent() {
    let repo = on_a_branch();
    repo.write("migrations/002_orders.sql", "CREATE TABLE orders (id bigint);\n");
    commit(&repo, "edit on the branch");
    // main moves on after the branch was made; GitHub's merge commit has main as first parent.
    git(repo.path(), &["checkout", "-q", "main"]);
    repo.migrations(&[("004_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "tags on main");
    git(repo.path(), &["merge", "-q", "--no-ff", "-m", "merge", "feature"]);
    let first_parent = git(repo.path(), &["rev-parse", "HEAD^1"]);
    let out = Dbgate::at(repo.path())
        .env_remove("DBGATE_BASE")
        .env("GITHUB_BASE_REF", "main")
        .arg("check")
        .run();
    out.code(1);
    out.stdout_has(&format!(
        "history: compared with origin/main at {} (the first parent of the pull request's merge commit): 0 new migrations",
        &first_parent.trim()[..7]
    ));
    out.stdout_has("migrations/002_orders.sql was edited, but origin/main already has it");
}

#[test]
fn the_summary_says_in_words_what_the_branch_does_to_the_schema() {
    let repo = on_a_branch();
    git(repo.path(), &["checkout", "-q", "main"]);
    repo.migrations(&[(
        "004_tickets",
        "CREATE TABLE tickets (id bigint PRIMARY KEY, status text DEFAULT 'new', email text, amount numeric(10,2), code varchar(50));\n",
        "DROP TABLE tickets;\n",
    )]);
    commit(&repo, "tickets");
    git(repo.path(), &["checkout", "-q", "feature"]);
    git(repo.path(), &["merge", "-q", "main"]);
    repo.migrations(&[
        (
            "005_purchases",
            "CREATE TABLE purchases (id bigint PRIMARY KEY, ticket bigint, total numeric, note text, placed timestamptz DEFAULT now());\n\
             ALTER TABLE purchases ENABLE ROW LEVEL SECURITY;\n\
             CREATE POLICY purchases_read ON purchases FOR SELECT USING (true);\n\
             CREATE POLICY purchases_write ON purchases FOR INSERT WITH CHECK (true);\n",
            "DROP TABLE purchases;\n",
        ),
        (
            "006_tickets_change",
            "ALTER TABLE tickets ALTER COLUMN status SET DEFAULT 'draft';\n\
             ALTER TABLE tickets DROP COLUMN email;\n\
             ALTER TABLE tickets ALTER COLUMN code TYPE varchar(20);\n\
             ALTER TABLE tickets ALTER COLUMN amount TYPE numeric(12,2);\n",
            "ALTER TABLE tickets ALTER COLUMN amount TYPE numeric(10,2);\n\
             ALTER TABLE tickets ALTER COLUMN code TYPE varchar(50);\n\
             ALTER TABLE tickets ADD COLUMN email text;\n\
             ALTER TABLE tickets ALTER COLUMN status SET DEFAULT 'new';\n",
        ),
    ]);
    repo.migrations(&[(
        "007_renames",
        "ALTER TABLE purchases RENAME TO purchase_archive;\nALTER TABLE tickets RENAME COLUMN status TO state;\n",
        "ALTER TABLE tickets RENAME COLUMN state TO status;\nALTER TABLE purchase_archive RENAME TO purchases;\n",
    )]);
    commit(&repo, "purchases");
    let json = repo.path().join("report.json");
    let summary = repo.path().join("summary.md");
    let out = Dbgate::at(repo.path())
        .args(["check", "--base", "main", "--github", "--json"])
        .arg(&json)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    // The down adds email back last: a column order warning, not a failure. The lint fails the
    // new migrations that break the running application; a rename of a table an earlier
    // migration of the same branch made is not one (production never had it).
    out.code(1);
    out.stdout_has("migrations/006_tickets_change.sql:2:1: drop-column: drops existing column public.tickets.email");
    out.stdout_has("migrations/007_renames.sql:2:1: rename-column: renames existing column public.tickets.status to public.tickets.state");
    assert!(!out.stdout.contains("rename-table"), "{}", out.stdout);
    out.stdout_has("PASS  migrations/005_purchases.sql");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let said = |index: usize| -> Vec<(String, bool)> {
        report["migrations"][index]["schema_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["sentence"].as_str().unwrap().to_string(), c["destructive"] == true))
            .collect()
    };
    assert_eq!(
        said(4),
        vec![(
            "adds table public.purchases (5 columns, RLS on, 2 policies, 1 index)".to_string(),
            false
        )]
    );
    let changes = said(5);
    for expected in [
        ("drops column public.tickets.email".to_string(), true),
        (
            "changes the type of column public.tickets.code from character varying(50) to character varying(20)".to_string(),
            true,
        ),
        (
            "changes the type of column public.tickets.amount from numeric(10,2) to numeric(12,2)".to_string(),
            false,
        ),
        (
            "changes the default of column public.tickets.status from 'new'::text to 'draft'::text".to_string(),
            false,
        ),
    ] {
        assert!(changes.contains(&expected), "{expected:?} not in {changes:?}");
    }
    // A rename keeps the data: said as one, never destructive.
    assert_eq!(
        said(6),
        vec![
            ("renames column public.tickets.status to public.tickets.state".to_string(), false),
            ("renames table public.purchases to public.purchase_archive".to_string(), false),
        ]
    );
    // Migrations the base has are not summarised.
    assert!(report["migrations"][3].get("schema_changes").is_none());
    let markdown = std::fs::read_to_string(&summary).unwrap();
    let section = markdown
        .split("### What this pull request does to the schema")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the section is there");
    insta::assert_snapshot!("history_schema_summary", section);
}

#[test]
fn a_new_migration_that_takes_a_version_the_base_has_is_a_duplicate_not_an_edit() {
    let repo = on_a_branch();
    repo.migrations(&[("003_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "renumber me");
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has("duplicate version");
    out.stdout_has("migrations/003_tags.sql is new since main; migrations/003_notes.sql is on main: give the new one a version after every migration main has");
    assert!(!out.stdout.contains("was edited"), "{}", out.stdout);
}

#[test]
fn changed_only_proves_the_new_and_edited_rollbacks_and_replays_the_rest() {
    let repo = on_a_branch();
    // An unchanged migration whose rollback is wrong: the full check fails on it...
    repo.write("migrations/001_users_rollback.sql", "SELECT 1;\n");
    commit(&repo, "a bad old rollback, on main");
    git(repo.path(), &["checkout", "-q", "main"]);
    git(repo.path(), &["merge", "-q", "feature"]);
    git(repo.path(), &["checkout", "-q", "feature"]);
    repo.migrations(&[("004_tags", "CREATE TABLE tags (id int);\n", "SELECT 1;\n")]);
    commit(&repo, "tags, with a bad rollback");
    let full = check(&repo, "main");
    full.code(1);
    full.stdout_has("FAIL  migrations/001_users.sql");
    // ...--changed-only replays it, proves only 004's rollback, and says so.
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path())
        .args(["check", "--base", "main", "--changed-only", "--json"])
        .arg(&json)
        .run();
    out.code(1);
    out.stdout_has("note: --changed-only: the rollbacks of 1 new or edited migration are proved; the others are replayed only");
    out.stdout_has("FAIL  migrations/004_tags.sql");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let users = &report["migrations"][0];
    for kind in ["rollback", "reapply", "rollback_chain"] {
        let check = crate::support::check(users, kind);
        assert_eq!(check["status"], "skipped", "{kind}: {check}");
        assert_eq!(check["skip_reason"], "unchanged by this branch (--changed-only)");
    }
    assert_eq!(crate::support::check(users, "replay")["status"], "passed");
    assert_eq!(crate::support::check(&report["migrations"][3], "rollback")["status"], "failed");
    // Without a base, everything is proved, and the note says why.
    let out = Dbgate::at(repo.path()).args(["check", "--base", "none", "--changed-only"]).run();
    out.code(1);
    out.stdout_has("note: --changed-only needs a base to know what changed");
    out.stdout_has("FAIL  migrations/001_users.sql");
}

#[test]
fn a_branch_behind_main_sees_main_s_newer_migration_as_out_of_order_and_a_short_base_name_finds_origin() {
    let repo = on_a_branch();
    repo.migrations(&[("004_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "tags");
    git(repo.path(), &["checkout", "-q", "main"]);
    repo.migrations(&[("005_labels", "CREATE TABLE labels (id int);\n", "DROP TABLE labels;\n")]);
    commit(&repo, "labels on main");
    git(repo.path(), &["checkout", "-q", "feature"]);
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has("migrations/004_tags.sql is new, but sorts before migrations/005_labels.sql, which main already has");
    // main's 005 is not "removed" for a branch behind it.
    assert!(!out.stdout.contains("is gone"), "{}", out.stdout);
    // A clone with only origin/main: --base main finds it; origin/HEAD that is the branch itself
    // is not a base.
    let origin = TempRepo::new();
    git(origin.path(), &["init", "-q", "--bare"]);
    let url = format!("file://{}", origin.path().display());
    git(repo.path(), &["push", "-q", &url, "main", "feature"]);
    let clone = TempRepo::new();
    git(clone.path(), &["clone", "-q", "--branch", "feature", &url, "."]);
    let out = check(&clone, "main");
    out.stdout_has("history: compared with origin/main at ");
    // origin/HEAD is the remote's default branch (main): the branch is compared with it...
    let out = Dbgate::at(clone.path()).env_remove("DBGATE_BASE").arg("check").run();
    out.stdout_has("history: compared with origin/HEAD at ");
    // ...and on main itself, origin/HEAD is no base: said, not compared with itself.
    let on_main = TempRepo::new();
    git(on_main.path(), &["clone", "-q", "--branch", "main", &url, "."]);
    let out = Dbgate::at(on_main.path()).env_remove("DBGATE_BASE").arg("check").run();
    out.stdout_has("history not checked: origin/HEAD is this branch itself");
}

#[test]
fn flyway_fails_a_renamed_description_and_ignores_a_removed_repeatable() {
    let repo = TempRepo::new();
    git(repo.path(), &["init", "-q"]);
    repo.write("dbgate.toml", "[migrations]\ntool = \"flyway\"\n");
    repo.write("migrations/V1__a.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n");
    commit(&repo, "main");
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    git(repo.path(), &["mv", "migrations/V1__a.sql", "migrations/V1__create_a.sql"]);
    git(repo.path(), &["rm", "-q", "migrations/R__v.sql"]);
    commit(&repo, "rename");
    let out = check(&repo, "main");
    out.code(1);
    out.stdout_has("migrations/V1__create_a.sql is migrations/V1__a.sql, which main has, under a new name: Flyway's validate fails (\"Migration description mismatch for migration version 1\")");
    assert!(!out.stdout.contains("R__v.sql is gone"), "{}", out.stdout);
}
