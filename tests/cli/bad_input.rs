//! Bad input: a clear error naming the files, exit 2, nothing started.

use crate::support::{self, Dbgate};
use std::fs;

#[test]
fn an_empty_migrations_folder_is_an_error() {
    let repo = support::TempRepo::new();
    fs::create_dir_all(repo.path().join("migrations")).unwrap();
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("the migrations folder migrations holds no migrations");
}

#[test]
fn no_migrations_folder_says_where_it_looked() {
    let repo = support::TempRepo::new();
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("looked for supabase/migrations, db/migrations, migrations; name one with --migrations DIR");
}

#[test]
fn an_unknown_config_key_names_the_file_line_and_key() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    repo.write("dbgate.toml", "[migrations]\ndir = \"migrations\"\ntimeout = 5\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("dbgate.toml: TOML parse error at line 3, column 1");
    out.stderr_has("unknown field `timeout`");
}

#[test]
fn the_config_file_names_the_migrations_folder() {
    let repo = support::TempRepo::new();
    repo.write("schema/changes/001_a.sql", "CREATE TABLE a (id int);\n");
    repo.write("schema/changes/001_a_rollback.sql", "DROP TABLE a;\n");
    repo.write("dbgate.toml", "[migrations]\ndir = \"schema/changes\"\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  schema/changes/001_a.sql");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = Dbgate::fixture("layout-golang-migrate").args(["check", "--no-such-flag"]).run();
    out.code(2);
}

#[test]
fn no_usable_postgres_is_an_environment_error_that_says_how_to_fix_it() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--pg-bin", "/nonexistent"])
        .run();
    out.code(3);
    out.stderr_has("--pg-bin /nonexistent has no initdb and postgres; point it at the folder that holds them");
    out.stderr_has("or use an existing server with --provider url --database-url");
}

#[test]
fn configured_test_folders_and_seed_files_must_exist() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    repo.write(
        "dbgate.toml",
        "[tests]\ndirs = [\"db/tests\"]\n\n[seed]\nfiles = [\"db/seed.sql\"]\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("the seed file db/seed.sql does not exist");
    out.stderr_has("the test folder db/tests does not exist");
}

#[test]
fn a_saved_report_that_is_not_one_is_an_input_error() {
    let repo = support::TempRepo::new();
    repo.write("report.json", "<testsuites/>");
    let out = Dbgate::at(repo.path())
        .args(["comment", "--from", "report.json", "--pr", "1", "--repo", "acme/shop"])
        .env("GITHUB_TOKEN", "t")
        .run();
    out.code(2);
    out.stderr_has("report.json is not a dbgate JSON report");
}
