//! The lint's database with a base: a copy of the checks' database at the branch's first new
//! migration, made only where a copy cannot change a verdict (no script that runs while it is
//! there drops a role, no settings of the database's own), linted in the middle of the reverse
//! chain and dropped before the older rollbacks run, dropped before a rebuild, and never left
//! behind.

use crate::history::{commit, on_a_branch};
use crate::support::{Dbgate, TempRepo, TestServer};

const COPIED: &str = "(a copy of the checks' database before migrations/004_email.sql, made in ";
const REPLAYED: &str = "(the 3 earlier migrations replayed there first";

/// The branch adds 004: an index on a table of the base's, which the lint finds.
fn branch_adding_an_index() -> TempRepo {
    let repo = on_a_branch();
    add_email(&repo);
    repo
}

fn add_email(repo: &TempRepo) {
    repo.migrations(&[(
        "004_email",
        "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n",
        "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;\n",
    )]);
    commit(repo, "email");
}

/// The base with 003 made of `up` and `down`, then the branch's 004: checked against HEAD~1.
fn check_over(up: &str, down: &str) -> crate::support::Output {
    let repo = on_a_branch();
    repo.migrations(&[("003_notes", up, down)]);
    commit(&repo, "003");
    add_email(&repo);
    Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run()
}

const FINDING: &str =
    "migrations/004_email.sql:2:1: create-index-without-concurrently: CREATE INDEX users_email on existing table public.users";

#[test]
fn with_a_base_the_lint_starts_from_a_copy_and_finds_what_a_replay_finds() {
    let repo = branch_adding_an_index();
    let out = Dbgate::at(repo.path()).args(["check", "--base", "main"]).run();
    out.code(1);
    out.stdout_has(COPIED);
    out.stdout_has(FINDING);
    assert!(!out.stdout.contains("replayed"), "{}", out.stdout);

    // A migration of the base's makes a role that its rollback drops, and the copy's grants
    // would keep from being dropped: the lint runs from the copy once 004 is rolled back, and
    // the copy goes before 003's rollback runs, which drops the role.
    let out = check_over(NOTES_WITH_A_ROLE, NOTES_WITH_A_ROLE_ROLLBACK);
    out.code(1);
    out.stdout_has(COPIED);
    out.stdout_has(FINDING);
    out.in_order(&["PASS  migrations/003_notes.sql", "rollback chain passed"]);
    assert!(!out.stdout.contains("replayed"), "{}", out.stdout);
}

const NOTES_WITH_A_ROLE: &str = "CREATE TABLE notes (id int);\nCREATE ROLE note_reader NOLOGIN;\nGRANT SELECT ON notes TO note_reader;\n";
const NOTES_WITH_A_ROLE_ROLLBACK: &str = "DROP TABLE notes;\nDROP ROLE note_reader;\n";

#[test]
fn a_role_dropped_while_the_copy_is_there_makes_the_lint_replay() {
    // The branch's own migration drops the base's role, which the copy's grants would keep
    // from being dropped: no copy; the lint replays and finds the same.
    let repo = on_a_branch();
    repo.migrations(&[("003_notes", NOTES_WITH_A_ROLE, NOTES_WITH_A_ROLE_ROLLBACK)]);
    commit(&repo, "003");
    add_email(&repo);
    repo.migrations(&[(
        "005_no_reader",
        "REVOKE SELECT ON notes FROM note_reader;\nDROP ROLE note_reader;\n",
        "CREATE ROLE note_reader NOLOGIN;\nGRANT SELECT ON notes TO note_reader;\n",
    )]);
    commit(&repo, "005");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "HEAD~2"]).run();
    out.code(1);
    out.stdout_has(
        "note: the lint's database is a replay of the earlier migrations: migrations/005_no_reader.sql drops a role, which a copy's grants could keep from being dropped",
    );
    out.stdout_has(REPLAYED);
    out.stdout_has(FINDING);
    assert!(!out.stdout.contains("a copy of"), "{}", out.stdout);

    // The roles are not the copy's when the reverse chain comes to the older rollbacks (004
    // made one and has no rollback): the copy goes there, and the lint replays at the end.
    let repo = on_a_branch();
    repo.migrations(&[("003_notes", NOTES_WITH_A_ROLE, NOTES_WITH_A_ROLE_ROLLBACK)]);
    commit(&repo, "003");
    repo.write(
        "migrations/004_email.sql",
        "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\nCREATE ROLE mailer NOLOGIN;\n",
    );
    commit(&repo, "email");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run();
    out.code(1);
    out.stdout_has("its copy was dropped before the older rollbacks ran, for the roles were not the ones it was made with once the new migrations were rolled back");
    out.stdout_has(REPLAYED);
    out.stdout_has(FINDING);
}

#[test]
fn settings_of_the_database_s_own_are_not_copied_so_the_lint_replays() {
    let out = check_over(
        "CREATE TABLE notes (id int);\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = %L', current_database(), '8MB'); END $$;\n",
        "DROP TABLE notes;\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET work_mem', current_database()); END $$;\n",
    );
    out.code(1);
    out.stdout_has("note: the lint's database is a replay of the earlier migrations: the database has settings, privileges, an owner or a connection limit of its own (ALTER DATABASE, GRANT ... ON DATABASE), which a copy does not take");
    out.stdout_has(REPLAYED);
    out.stdout_has(FINDING);
}

#[test]
fn the_branch_s_first_migration_runs_in_a_new_session_copy_or_not() {
    // 003 leaves a temporary table in its session; a deploy of the branch runs 004 in a new
    // one, where it is gone.
    let branch = |down: &str| {
        let repo = on_a_branch();
        let up = "CREATE TABLE notes (id int);\nCREATE TEMP TABLE IF NOT EXISTS scratch (id int);\n";
        repo.migrations(&[("003_notes", up, "DROP TABLE notes;\n")]);
        commit(&repo, "scratch");
        repo.migrations(&[("004_email", "INSERT INTO scratch VALUES (1);\n", down)]);
        commit(&repo, "email");
        repo
    };
    let repo = branch("SELECT 1;\n");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run();
    out.code(1);
    out.stdout_has(COPIED);
    out.stdout_has("migrations/004_email.sql:1:13: relation \"scratch\" does not exist");

    // The same without a copy (the branch's rollback names DROP ROLE, if only in a comment):
    // the session is reset as a new one.
    let repo = branch("-- no DROP ROLE here\nSELECT 1;\n");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run();
    out.code(1);
    out.stdout_has("drops a role");
    out.stdout_has("migrations/004_email.sql:1:13: relation \"scratch\" does not exist");

    // The near miss: with no base the ups run in one session, as `migrate up` runs them on an
    // empty database: 004's first run passes; run again after its rollback (a new invocation,
    // where the temporary table is gone) it fails.
    let out = Dbgate::at(repo.path()).args(["check", "--base", "none"]).run();
    out.code(1);
    out.in_order(&[
        "FAIL  migrations/004_email.sql",
        "replay         passed",
        "reapply        FAILED migrations/004_email.sql fails when run again after 004_email_rollback.sql",
        "migrations/004_email.sql:1:13: relation \"scratch\" does not exist",
    ]);
}

#[test]
fn on_a_shared_server_the_copy_is_dropped_and_a_rebuild_drops_it_first() {
    let server = TestServer::start();
    let before = server.inventory();
    let repo = branch_adding_an_index();
    let url = server.url();
    let out = Dbgate::at(repo.path())
        .args(["check", "--base", "main", "--provider", "url", "--database-url", &url])
        .run();
    out.code(1);
    out.stdout_has(COPIED);
    out.stdout_has(FINDING);
    assert_eq!(server.inventory(), before);

    // 005's rollback leaves its table behind: the schema after it is rebuilt, which drops the
    // copy first (its grants could hold a role the rebuild drops); the lint replays.
    repo.migrations(&[("005_tags", "CREATE TABLE tags (id int);\n", "SELECT 1;\n")]);
    commit(&repo, "tags");
    let out = Dbgate::at(repo.path())
        .args(["check", "--base", "main", "--provider", "url", "--database-url", &url])
        .run();
    out.code(1);
    out.stdout_has("table public.tags is still there");
    out.stdout_has("note: rebuilt the schema");
    out.stdout_has(REPLAYED);
    out.stdout_has(FINDING);
    assert_eq!(server.inventory(), before);
}

#[test]
fn what_the_lint_s_runs_do_to_the_base_s_roles_is_not_left_for_the_older_rollbacks() {
    // 004 gives the base's role a setting (its rollback takes it back): the lint's run of 004,
    // in the copy, is never rolled back, so the schema is rebuilt before 003's rollback runs,
    // which then passes.
    let branch = |up: &str, down: &str| {
        let repo = on_a_branch();
        repo.migrations(&[("003_notes", NOTES_WITH_A_ROLE, NOTES_WITH_A_ROLE_ROLLBACK)]);
        commit(&repo, "003");
        repo.migrations(&[("004_email", up, down)]);
        commit(&repo, "email");
        Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run()
    };
    let out = branch(
        "CREATE INDEX users_name ON users (id);\nALTER ROLE note_reader SET statement_timeout = 5000;\n",
        "ALTER ROLE note_reader RESET statement_timeout;\nDROP INDEX users_name;\n",
    );
    out.code(1);
    out.stdout_has(COPIED);
    out.stdout_has("note: the lint's runs of the new migrations changed roles the older migrations made: the schema is rebuilt before the older rollbacks run");
    out.in_order(&["PASS  migrations/003_notes.sql", "rollback chain passed"]);

    // 004 names a database, which in the middle of the reverse chain would be the checks' own:
    // no lint from the copy there; it replays at the end.
    let out = branch(
        "CREATE INDEX users_name ON users (id);\nDO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO note_reader', current_database()); END $$;\n",
        "DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM note_reader', current_database()); END $$;\nDROP INDEX users_name;\n",
    );
    out.code(1);
    out.stdout_has("its copy was dropped before the older rollbacks ran, for migrations/004_email.sql names a database");
    out.stdout_has(REPLAYED);
    out.in_order(&["PASS  migrations/003_notes.sql", "rollback chain passed"]);

    // The near miss: 004 touches no role and names no database: the lint runs from the copy
    // and nothing is rebuilt.
    let out = branch("CREATE INDEX users_name ON users (id);\n", "DROP INDEX users_name;\n");
    out.code(1);
    out.stdout_has(COPIED);
    assert!(!out.stdout.contains("rebuilt"), "{}", out.stdout);
}

#[test]
fn the_copy_waits_for_every_new_rollback_before_the_older_ones() {
    // 003 and the branch's 005 have no rollback, so the reverse chain runs 006's, then the
    // lowest run (002's, 001's), then 004's: at 002 a new migration is still not rolled back,
    // so the copy goes there and the lint replays at the end.
    let repo = on_a_branch();
    std::fs::remove_file(repo.path().join("migrations/003_notes_rollback.sql")).unwrap();
    commit(&repo, "003 for good");
    repo.migrations(&[(
        "004_email",
        "ALTER TABLE users ADD COLUMN email text;\n",
        "ALTER TABLE users DROP COLUMN email;\n",
    )]);
    repo.write("migrations/005_seen.sql", "ALTER TABLE users ADD COLUMN seen bool;\n");
    repo.migrations(&[("006_tags", "CREATE TABLE tags (id int);\n", "DROP TABLE tags;\n")]);
    commit(&repo, "branch");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "HEAD~1"]).run();
    out.stdout_has("its copy was dropped before the older rollbacks ran, for the reverse chain came to older rollbacks before the new migrations' were all run");
    out.stdout_has("(the 3 earlier migrations replayed there first");
}
