//! Errors in migrations: file, line, column, SQLSTATE, the line with a caret.

use crate::support::{self, check_one_migration, Dbgate};

#[test]
fn a_syntax_error_is_reported_at_its_line_and_character_column() {
    let out = Dbgate::fixture("syntax-error").args(["check"]).run();
    out.code(1);
    // Comments with multi-byte characters above, and on the line itself: a byte column would be 46.
    out.stdout_has("migrations/001_init.sql:7:42: syntax error at or near \",\"");
    out.stdout_has("SQLSTATE 42601");
    out.stdout_has("7 |     name text DEFAULT 'ünïcødé' NOT NULL,, id int\n");
    out.stdout_has(&format!("  | {}^\n", " ".repeat(41)));
}

#[test]
fn an_error_without_a_server_position_points_at_its_statement() {
    let out = Dbgate::fixture("runtime-error").args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/001_create_plans.sql:8:1: duplicate key value violates unique constraint \"plans_pkey\"");
    out.stdout_has("detail: Key (code)=(basic) already exists.");
}

#[test]
fn a_psql_meta_command_is_rejected_at_its_line() {
    let out = Dbgate::fixture("meta-command").args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/001_init.sql:3:1: `\\i` is a psql meta-command, not SQL: dbgate sends the file to the server");
}

#[test]
fn a_migration_that_kills_its_own_connection_fails_cleanly() {
    let out = Dbgate::fixture("kills-connection").args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/001_init.sql:2:1: the server closed the connection while running this statement");
    out.stdout_has("the connection to the server was lost while running migrations/001_init.sql");
}

#[test]
fn a_migration_that_hangs_is_cancelled_at_the_timeout() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "CREATE TABLE t (id int);\n\nSELECT pg_sleep(60);\n");
    let out = Dbgate::at(repo.path()).args(["check", "--migration-timeout", "1"]).run();
    out.code(1);
    out.stdout_has("migrations/001_slow.sql:3:1: did not finish within 1 s");
}

#[test]
fn a_migration_with_its_own_begin_and_commit_still_runs() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_a.sql", "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n");
    repo.write("migrations/001_a_rollback.sql", "BEGIN;\nDROP TABLE a;\nCOMMIT;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  migrations/001_a.sql");
}

#[test]
fn a_failing_second_statement_is_reported_at_its_own_line() {
    let out = check_one_migration("CREATE TABLE a (id int);\nCREATE TABLE a (id int);\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:1: relation \"a\" already exists");
}
