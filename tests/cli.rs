//! The one integration test binary: it drives the real `dbgate` binary against the fixture repos
//! under tests/fixtures/, on real PostgreSQL servers started from the machine's server binaries.

mod support;

use std::fs;
use std::path::Path;

use support::{fixture, Dbgate, TestServer};

// ---------------------------------------------------------------------------------------------
// The example schema at the repo root, and every layout: they pass.

#[test]
fn example_schema_at_the_repo_root_passes() {
    let out = Dbgate::at(env!("CARGO_MANIFEST_DIR")).args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  migrations/001_app_foundation.sql");
    out.stdout_has("PASS  migrations/006_users_locale.sql");
    out.stdout_has("PASS  smoke         2 passed");
    out.stdout_has("PASS  pgtap         6 passed");
    out.stdout_has("PASS  rls           8 passed");
    out.stdout_has("PASS  expectations  11 passed");
    out.stdout_has("PASSED 51 checks passed, 0 failed, 0 skipped");
}

macro_rules! layout_passes {
    ($($test:ident: $fixture:literal, $migrations:literal, [$($in_order:literal),*];)*) => {$(
        #[test]
        fn $test() {
            let out = Dbgate::fixture($fixture).args(["check"]).run();
            out.code(0);
            out.stdout_has(concat!(" · ", $migrations, " migrations in "));
            out.in_order(&[$($in_order),*]);
        }
    )*};
}

layout_passes! {
    golang_migrate_up_down_files_pass: "layout-golang-migrate", "3", ["000001_create_users.up.sql", "000002_create_posts.up.sql", "000010_index_posts_user.up.sql"];
    sqlx_timestamps_and_no_transaction_directive_pass: "layout-sqlx", "3", ["20240101120000", "20240102090000", "20240103080000_index_invoices_account.up.sql", "no transaction: `-- no-transaction`"];
    rollbacks_beside_migrations_order_numerically: "layout-rollback-beside", "3", ["1_create_authors.sql", "2_create_books.sql", "10_create_reviews.sql"];
    rollback_folder_is_found_beside_the_migrations: "layout-rollback-folder", "3", ["20240101000000_init.sql", "20240103000000_add_order_notes.sql"];
    diesel_folders_pass: "layout-diesel", "3", ["2024-01-15-093000_create_teams/up.sql", "2024-02-01-080000_add_player_number/up.sql"];
    dbmate_sections_and_transaction_false_pass: "layout-dbmate", "3", ["20240102000000_create_tasks.sql", "20240103000000_index_tasks_project.sql", "no transaction: `transaction:false`"];
    flyway_dotted_versions_order_numerically: "layout-flyway", "4", ["V1__create_regions.sql", "V1.1__create_stores.sql", "V1.2__create_products.sql", "V1.10__add_product_store.sql"];
    supabase_migrations_without_rollbacks_replay: "layout-supabase", "3", ["20240105103000_create_profiles.sql", "replay (no rollback)", "20240107120000_posts_rls.sql"];
    concurrently_is_detected_and_runs_without_a_transaction: "non-transactional", "2", ["002_index_events_created.sql", "no transaction: CREATE INDEX CONCURRENTLY at line 1"];
}

#[test]
fn supabase_migrations_without_rollbacks_skip_the_rollback_checks_not_pass_them() {
    let out = Dbgate::fixture("layout-supabase").args(["check"]).run();
    out.stdout_has("3 checks passed, 0 failed, 9 skipped");
}

#[test]
fn list_shows_order_rollbacks_and_how_each_runs() {
    let out = Dbgate::fixture("layout-dbmate").args(["list"]).run();
    out.code(0);
    insta::assert_snapshot!("list_dbmate", out.stdout);
}

#[test]
fn list_names_meta_commands_without_a_database() {
    let out = Dbgate::fixture("meta-command").args(["list"]).run();
    out.code(0);
    out.stdout_has("(cannot run: psql meta-command `\\i` at line 3)");
}

// ---------------------------------------------------------------------------------------------
// Rollbacks that do not restore: each names the object, in words, and the files.

macro_rules! rollback_fails {
    ($($test:ident: $fixture:literal, $rollback:literal, $sentence:literal;)*) => {$(
        #[test]
        fn $test() {
            let out = Dbgate::fixture($fixture).args(["check"]).run();
            out.code(1);
            out.stdout_has(concat!("rollback       FAILED migrations/", $rollback, " does not restore the schema from before migrations/"));
            out.stdout_has(concat!("- ", $sentence));
            out.stdout_has("FAILED 1 of 2 migrations failed");
        }
    )*};
}

rollback_fails! {
    index_left_behind_is_named: "rollback-leaves-index", "002_add_order_note_and_index_rollback.sql",
        "index idx_orders_created on public.orders is still there after 002_add_order_note_and_index_rollback.sql";
    policy_left_behind_is_named: "rollback-leaves-policy", "002_documents_rls_rollback.sql",
        "policy documents_owner_only on public.documents is still there after 002_documents_rls_rollback.sql";
    changed_default_is_named_with_both_values: "rollback-changes-default", "002_articles_default_open_rollback.sql",
        "default of column public.articles.status is 'old'::text, was 'draft'::text";
    changed_function_body_is_named: "rollback-function-body", "002_raise_vat_rate_rollback.sql",
        "body of function public.vat_rate() is SELECT 0.19, was SELECT 0.20";
    enum_type_left_behind_is_named: "rollback-leaves-enum", "002_ticket_priority_rollback.sql",
        "enum type public.ticket_priority is still there after 002_ticket_priority_rollback.sql";
    lost_not_null_is_named: "rollback-loses-not-null", "002_customers_phone_rollback.sql",
        "nullability of column public.customers.email is nullable, was NOT NULL";
    privilege_left_granted_is_named: "rollback-leaves-privilege", "002_grant_reporter_rollback.sql",
        "privilege SELECT on table public.sales to reporter is still there after 002_grant_reporter_rollback.sql";
    rls_left_enabled_is_named: "rollback-leaves-rls", "002_ledger_tenant_rls_rollback.sql",
        "row level security of table public.ledger is enabled, was disabled";
    role_left_behind_is_named: "rollback-leaves-role", "002_create_auditor_rollback.sql",
        "role auditor is still there after 002_create_auditor_rollback.sql";
}

#[test]
fn a_rollback_that_errors_is_reported_at_its_line() {
    let out = Dbgate::fixture("rollback-errors").args(["check"]).run();
    out.code(1);
    out.stdout_has("rollback       FAILED migrations/002_create_refunds_rollback.sql failed");
    out.stdout_has("migrations/002_create_refunds_rollback.sql:3:1: table \"refund\" does not exist");
    out.stdout_has("reapply        skipped: the rollback failed");
}

#[test]
fn a_migration_that_does_not_reapply_the_same_way_fails_the_reapply_check() {
    let out = Dbgate::fixture("reapply-differs").args(["check"]).run();
    out.code(1);
    out.stdout_has("rollback       passed");
    out.stdout_has("- table public.batch_1 is missing after running 002_create_batch_table.sql again (it existed after its first run)");
    out.stdout_has("- table public.batch_2 is new after running 002_create_batch_table.sql again");
}

// ---------------------------------------------------------------------------------------------
// Errors in migrations: file, line, column, SQLSTATE, the line with a caret.

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

// ---------------------------------------------------------------------------------------------
// Bad input: a clear error naming the files, exit 2, nothing started.

#[test]
fn duplicate_versions_name_both_files() {
    let out = Dbgate::fixture("duplicate-versions").args(["check"]).run();
    out.code(2);
    out.stderr_has("duplicate version 001: migrations/001_a.sql, migrations/001_b.sql");
}

#[test]
fn a_rollback_without_its_migration_is_named() {
    let out = Dbgate::fixture("orphan-rollback").args(["check"]).run();
    out.code(2);
    out.stderr_has("rollback migrations/003_gone_rollback.sql has no migration with its version");
}

#[test]
fn a_file_that_is_not_utf8_is_named_with_its_position() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_ok.sql", "CREATE TABLE a (id int);\n");
    repo.write_bytes("migrations/002_latin1.sql", b"-- caf\xe9\nCREATE TABLE b (id int);\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("migrations/002_latin1.sql:1:7: not valid UTF-8");
}

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

// ---------------------------------------------------------------------------------------------
// Reports.

#[test]
fn console_report_of_a_failing_run() {
    let out = Dbgate::fixture("rollback-leaves-index").args(["check"]).run();
    insta::assert_snapshot!("console_rollback_leaves_index", support::normalize(&out.stdout));
}

#[test]
fn junit_report_has_a_suite_per_check_and_file_line_in_failures() {
    let repo = support::TempRepo::new();
    let junit = repo.path().join("junit.xml");
    let out = Dbgate::fixture("rollback-errors").args(["check", "--junit"]).arg(&junit).run();
    out.code(1);
    let xml = fs::read_to_string(&junit).unwrap();
    insta::assert_snapshot!("junit_rollback_errors", support::normalize(&xml));
}

#[test]
fn json_report_carries_the_whole_result() {
    let repo = support::TempRepo::new();
    let json = repo.path().join("report.json");
    let out = Dbgate::fixture("syntax-error").args(["check", "--json"]).arg(&json).run();
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "failed");
    assert_eq!(report["environment"]["provider"], "local");
    let failure = &report["migrations"][0]["checks"][0]["failures"][0];
    assert_eq!(failure["location"]["file"], "migrations/001_init.sql");
    assert_eq!(failure["location"]["line"], 7);
    assert_eq!(failure["location"]["column"], 42);
    assert_eq!(failure["sqlstate"], "42601");
}

#[test]
fn json_report_describes_differences_as_objects() {
    let repo = support::TempRepo::new();
    let json = repo.path().join("report.json");
    Dbgate::fixture("rollback-changes-default")
        .args(["check", "--json"])
        .arg(&json)
        .run()
        .code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let rollback = &report["migrations"][1]["checks"][1];
    assert_eq!(rollback["kind"], "rollback");
    assert_eq!(rollback["status"], "failed");
    let difference = &rollback["failures"][0]["difference"];
    assert_eq!(difference["object"]["kind"], "column");
    assert_eq!(difference["object"]["name"], "public.articles.status");
    assert_eq!(difference["change"], "changed");
    assert_eq!(difference["attribute"], "default");
    assert_eq!(difference["expected"], "'draft'::text");
    assert_eq!(difference["actual"], "'old'::text");
}

#[test]
fn a_report_path_that_cannot_be_written_is_an_input_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--json", "/nonexistent/dir/report.json"])
        .run();
    out.code(2);
    out.stderr_has("cannot write /nonexistent/dir/report.json");
}

// ---------------------------------------------------------------------------------------------
// Cleanup: nothing left behind, on success, failure and interruption.

#[test]
fn the_local_provider_leaves_no_cluster_behind() {
    let tmp = support::TempRepo::new();
    Dbgate::fixture("rollback-leaves-role")
        .args(["check"])
        .env("TMPDIR", tmp.path())
        .run()
        .code(1);
    assert_eq!(support::entries(tmp.path()), Vec::<String>::new());
    assert!(!support::postgres_running_under(tmp.path()));
}

#[test]
fn the_local_provider_cleans_up_after_ctrl_c() {
    let tmp = support::TempRepo::new();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(60);\n");
    let child = Dbgate::at(repo.path()).args(["check"]).env("TMPDIR", tmp.path()).spawn();
    // Wait until the migration runs: the server is up and busy.
    support::wait_for(|| support::postgres_running_under(tmp.path()));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = support::interrupt(child, nix::sys::signal::Signal::SIGINT);
    out.code(130);
    out.stderr_has("interrupted by Ctrl-C (SIGINT)");
    assert_eq!(support::entries(tmp.path()), Vec::<String>::new());
    assert!(!support::postgres_running_under(tmp.path()));
}

#[test]
fn the_url_provider_leaves_other_databases_and_roles_as_they_were() {
    let server = TestServer::start();
    server.sql("postgres", "CREATE ROLE keeper NOLOGIN");
    server.sql("postgres", "CREATE DATABASE keepme");
    server.sql("keepme", "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1);");
    let before = server.inventory();

    let out = Dbgate::fixture("url-provider")
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(0);
    out.stdout_has("url provider");
    assert_eq!(server.inventory(), before);
    assert_eq!(server.sql("keepme", "SELECT count(*) FROM kept"), "1");

    // A failing run that leaves a role behind: the role is dropped with the database.
    let out = Dbgate::fixture("rollback-leaves-role")
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(1);
    out.stdout_has("url provider");
    out.stdout_has("role auditor is still there");
    assert_eq!(server.inventory(), before);
}

#[test]
fn the_url_provider_cleans_up_after_sigterm() {
    let server = TestServer::start();
    let before = server.inventory();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_role.sql", "CREATE ROLE dbgate_sigterm_role NOLOGIN;\n");
    repo.write("migrations/001_role_rollback.sql", "DROP ROLE dbgate_sigterm_role;\n");
    repo.write("migrations/002_slow.sql", "SELECT pg_sleep(60);\n");
    let child = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .spawn();
    support::wait_for(|| {
        server.sql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'",
        ) == "1"
    });
    let out = support::interrupt(child, nix::sys::signal::Signal::SIGTERM);
    out.code(130);
    out.stderr_has("interrupted by SIGTERM");
    assert_eq!(server.inventory(), before);
}

#[test]
fn the_url_provider_reports_an_unreachable_server_as_an_environment_error() {
    let repo = support::TempRepo::new();
    let out = Dbgate::fixture("layout-golang-migrate")
        .args([
            "check",
            "--provider",
            "url",
            "--database-url",
            &format!("host={} port=1 user=nobody dbname=postgres", repo.path().display()),
        ])
        .run();
    out.code(3);
    out.stderr_has("cannot connect to nobody@");
}

#[test]
fn fixture_paths_exist() {
    assert!(fixture("layout-flyway").join("migrations/V1.10__add_product_store.sql").is_file());
}

#[test]
fn colour_is_on_when_asked_and_off_with_no_color() {
    let out = Dbgate::fixture("layout-supabase").args(["check", "--color", "always"]).run();
    out.code(0);
    out.stdout_has("\x1b[32mPASS\x1b[0m");
    let out = Dbgate::fixture("layout-supabase").args(["check"]).env("NO_COLOR", "1").run();
    assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
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

/// `dbgate check` in a repo whose one migration, `migrations/001_a.sql`, holds `sql`.
fn check_one_migration(sql: impl AsRef<[u8]>) -> support::Output {
    let repo = support::TempRepo::new();
    repo.write_bytes("migrations/001_a.sql", sql.as_ref());
    Dbgate::at(repo.path()).args(["check"]).run()
}

#[test]
fn a_failing_second_statement_is_reported_at_its_own_line() {
    let out = check_one_migration("CREATE TABLE a (id int);\nCREATE TABLE a (id int);\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:1: relation \"a\" already exists");
}

// ---------------------------------------------------------------------------------------------
// SQL read as PostgreSQL reads it (libpg_query's scanner and grammar): where statements start and
// end, what cannot be sent, and what a GRANT names.

#[test]
fn an_unterminated_comment_fails_where_it_opens() {
    let out = Dbgate::fixture("unterminated-comment").args(["check"]).run();
    out.code(1);
    // The closed nested comment and the dollar-quoted body with `$$` and `/*` inside pass.
    out.stdout_has("PASS  migrations/001_create_notes.sql");
    out.stdout_has(
        "migrations/002_add_note_title.sql:2:1: unterminated /* comment (the server rejects the file): the comment that opens here never ends; add `*/`",
    );
    out.stdout_has("2 | /* TODO: backfill the titles\n");
    let out = Dbgate::fixture("unterminated-comment").args(["list"]).run();
    out.code(0);
    out.stdout_has("migrations/002_add_note_title.sql  (cannot run: unterminated /* comment at line 2)");
}

#[test]
fn positions_count_characters_after_a_byte_order_mark_with_crlf_line_ends() {
    // The mark is not a character of the first line.
    let out = check_one_migration("\u{feff}CREATE TABLE ä (id nosuchtype);\r\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:1:20: type \"nosuchtype\" does not exist");

    // CRLF lines, a nested comment, and a BEGIN ATOMIC body with semicolons before the error.
    let repo = support::TempRepo::new();
    repo.migrations(&[("001_a", "\u{feff}CREATE TABLE ä (id int);\r\n", "DROP TABLE ä;\r\n")]);
    repo.write(
        "migrations/002_b.sql",
        "/* ü /* nested; */ ü; */\r\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\r\nBEGIN ATOMIC SELECT 1; SELECT 2; END;\r\nCREATE TABLE b (näme text, x nosuchtype);\r\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("PASS  migrations/001_a.sql");
    out.stdout_has("migrations/002_b.sql:4:30: type \"nosuchtype\" does not exist");
    out.stdout_has("4 | CREATE TABLE b (näme text, x nosuchtype);\n");
}

#[test]
fn a_nul_byte_is_a_failure_at_its_place() {
    let out = check_one_migration(b"CREATE TABLE a (id int);\nSELECT 'a\0b';\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:10: unexpected NUL byte (the server rejects the file)");
}

#[test]
fn a_scan_error_without_a_position_is_placed_at_its_line() {
    // An escape that makes an invalid byte sequence: the scanner says what, not where.
    let out = check_one_migration("CREATE TABLE a (id int);\nSELECT 'it''s\nfine';\n  SELECT E'\\xff';\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:4:3: invalid byte sequence for encoding \"UTF8\": 0xff (the server rejects the file)");
}

#[test]
fn concurrently_is_seen_in_a_statement_the_newer_grammar_does_not_read() {
    // system_user is reserved since PostgreSQL 16, whose grammar dbgate reads with; the server
    // (15) takes it, and the index must still be built outside a transaction.
    let repo = support::TempRepo::new();
    repo.migrations(&[(
        "001_a",
        "CREATE TABLE system_user (id int, email text);\nCREATE INDEX CONCURRENTLY system_user_email ON system_user (email);\n",
        "DROP TABLE system_user;\n",
    )]);
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.stdout_has("(runs without a transaction (CREATE INDEX CONCURRENTLY at line 2))");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
}

#[test]
fn a_meta_command_with_an_odd_quote_is_named_as_a_meta_command() {
    let out = check_one_migration("CREATE TABLE a (id int);\n\\echo it's done\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:1: `\\echo` is a psql meta-command, not SQL");
}

#[test]
fn grants_on_routines_are_tracked_however_their_signatures_are_written() {
    // Argument names, IN/OUT/INOUT/VARIADIC, multi-word and array types, quoted names, no
    // argument list: every GRANT is read, and the rollback that forgets one is named.
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(&support::fixture("grant-on-routine-signatures"));
    let failures = verdicts["migrations"][1]["checks"][1]["failures"].to_string();
    assert!(
        failures.contains("privilege EXECUTE on function api.create_account(slug text, name text) to dbgate_fixture_api is still there"),
        "{failures}"
    );
    assert_eq!(verdicts["migrations"][1]["checks"][1]["status"], "failed");

    // The near miss: a rollback that revokes every grant passes, in both modes.
    let repo = support::TempRepo::new();
    for name in ["001_create_api.sql", "001_create_api_rollback.sql", "002_grant_api.sql"] {
        let text = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations").join(name)).unwrap();
        repo.write(&format!("migrations/{name}"), &text);
    }
    let rollback = fs::read_to_string(support::fixture(
        "grant-on-routine-signatures/migrations/002_grant_api_rollback.sql",
    ))
    .unwrap();
    repo.write(
        "migrations/002_grant_api_rollback.sql",
        &format!("{rollback}REVOKE EXECUTE ON FUNCTION api.create_account(text, text) FROM dbgate_fixture_api;\n"),
    );
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    assert_eq!(verdicts["verdict"], "passed", "{verdicts}");
}

#[test]
fn grants_the_parse_tree_cannot_pin_down_are_still_seen() {
    // Each rollback forgets its REVOKE (or its default) and must fail in both modes: a DO-block
    // grant beside a global one (which fires no event trigger), a name read under a SET LOCAL
    // search_path, a procedure signature written with its OUT argument, DDL under
    // session_replication_role = replica; DDL under SET ROLE to a plain role passes.
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_base",
            "CREATE TABLE t (x int);\nCREATE SCHEMA app;\nCREATE TABLE app.t (y int);\n\
             CREATE PROCEDURE pr(IN a int, OUT b int) LANGUAGE sql AS 'SELECT a';\n\
             CREATE ROLE dbgate_test_owner;\nGRANT CREATE ON SCHEMA public TO dbgate_test_owner;\n",
            "DROP TABLE t;\nDROP SCHEMA app CASCADE;\nDROP PROCEDURE pr;\n\
             REVOKE CREATE ON SCHEMA public FROM dbgate_test_owner;\nDROP ROLE dbgate_test_owner;\n",
        ),
        (
            "002_global_grant_and_do_block",
            "GRANT CREATE ON TABLESPACE pg_default TO PUBLIC;\nDO $$ BEGIN GRANT SELECT ON t TO PUBLIC; END $$;\n",
            "REVOKE CREATE ON TABLESPACE pg_default FROM PUBLIC;\n",
        ),
        (
            "003_set_local_search_path",
            "SET LOCAL search_path = app;\nGRANT SELECT ON t TO PUBLIC;\n",
            "SELECT 1;\n",
        ),
        (
            "004_procedure_out_argument",
            "GRANT EXECUTE ON PROCEDURE pr(int, int) TO dbgate_test_owner;\n",
            "SELECT 1;\n",
        ),
        (
            "005_replica_role",
            "SET LOCAL session_replication_role = replica;\nALTER TABLE t ALTER COLUMN x SET DEFAULT 5;\n",
            "SELECT 1;\n",
        ),
        (
            "006_set_role",
            "SET ROLE dbgate_test_owner;\nCREATE TABLE owned (x int);\nRESET ROLE;\n",
            "DROP TABLE owned;\n",
        ),
    ]);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    let rollback = |i: usize| verdicts["migrations"][i]["checks"][1].clone();
    for (i, forgotten) in [
        (1, "privilege SELECT on table public.t to PUBLIC is still there"),
        (2, "privilege SELECT on table app.t to PUBLIC is still there"),
        (3, "privilege EXECUTE on procedure public.pr"),
        (4, "default of column public.t.x is 5, was not set"),
    ] {
        assert_eq!(rollback(i)["status"], "failed", "{}", rollback(i));
        assert!(
            rollback(i)["failures"].to_string().contains(forgotten),
            "{forgotten}: {}",
            rollback(i)
        );
    }
    assert_eq!(
        verdicts["migrations"][5]["checks"][0]["status"], "passed",
        "{}",
        verdicts["migrations"][5]
    );
    assert_eq!(rollback(5)["status"], "passed", "{}", rollback(5));
}

#[test]
fn grant_targets_as_read_from_the_parse_tree_resolve_on_the_server() {
    // What the incremental snapshot asks the server to resolve after a GRANT must name the very
    // objects the GRANT changed, in the spelling PostgreSQL's to_reg* functions read.
    let server = TestServer::start();
    server.sql("postgres", "CREATE DATABASE grants");
    let setup = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations/001_create_api.sql")).unwrap();
    server.sql("grants", &setup);
    let grants = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations/002_grant_api.sql")).unwrap();
    let script = dbgate::script::Script::new("002_grant_api.sql".into(), grants.as_str().into(), 0..grants.len());
    let mut checked = 0;
    for statement in script.statements().unwrap() {
        let dbgate::script::StatementKind::Grant(Some(targets)) = &statement.kind else {
            panic!("not read as a GRANT with named objects: {}", &grants[statement.range.clone()]);
        };
        let lookups = targets
            .routines
            .iter()
            .map(|r| (if r.ends_with(')') { "to_regprocedure" } else { "to_regproc" }, r))
            .chain(targets.schemas.iter().map(|s| ("to_regnamespace", s)))
            .chain(targets.types.iter().map(|t| ("to_regtype", t)));
        for (function, name) in lookups {
            let literal = name.replace('\'', "''");
            let found = server.sql("grants", &format!("SELECT {function}('{literal}') IS NOT NULL"));
            assert_eq!(found, "t", "{function}('{name}') does not resolve");
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
    server.sql("grants", "DROP SCHEMA api CASCADE; DROP ROLE dbgate_fixture_api;");
}

// ---------------------------------------------------------------------------------------------
// The docker provider: a container through testcontainers, from the image that
// images/postgres/build.sh builds from Debian's packages.

/// The JSON report without what differs between two runs of the same repo (times, where).
fn verdicts(json: &std::path::Path) -> serde_json::Value {
    let mut report: serde_json::Value = serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
    report
        .as_object_mut()
        .unwrap()
        .retain(|key, _| matches!(key.as_str(), "verdict" | "summary" | "migrations"));
    for migration in report["migrations"].as_array_mut().unwrap() {
        migration.as_object_mut().unwrap().remove("duration_ms");
        for check in migration["checks"].as_array_mut().unwrap() {
            check.as_object_mut().unwrap().remove("duration_ms");
        }
    }
    report
}

macro_rules! docker_gives_the_local_verdict {
    ($($test:ident: $fixture:literal;)*) => {$(
        #[test]
        fn $test() {
            let image = support::test_image();
            let out_dir = support::TempRepo::new();
            let (local, docker) = (out_dir.path().join("local.json"), out_dir.path().join("docker.json"));
            let local_run = Dbgate::fixture($fixture).args(["check", "--json"]).arg(&local).run();
            let docker_run = Dbgate::fixture($fixture).args(["check", "--provider", "docker", "--image", &image, "--json"]).arg(&docker).run();
            docker_run.code(local_run.status.unwrap());
            docker_run.stdout_has(&format!("docker provider ({image})"));
            assert_eq!(verdicts(&docker), verdicts(&local));
        }
    )*};
}

docker_gives_the_local_verdict! {
    docker_passes_the_example_layouts_like_local: "layout-flyway";
    docker_passes_non_transactional_migrations_like_local: "non-transactional";
    docker_fails_a_leftover_index_like_local: "rollback-leaves-index";
    docker_fails_a_leftover_role_like_local: "rollback-leaves-role";
    docker_fails_a_changed_function_body_like_local: "rollback-function-body";
    docker_fails_a_syntax_error_at_the_same_place_as_local: "syntax-error";
    docker_fails_a_killed_connection_like_local: "kills-connection";
}

#[test]
fn auto_uses_docker_when_the_image_is_there() {
    let image = support::test_image();
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--image", &image])
        .run();
    out.code(0);
    out.stdout_has(&format!("docker provider ({image})"));
}

#[test]
fn auto_falls_back_to_local_binaries_and_says_why() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--image", "dbgate-test/no-such-image:1"])
        .run();
    out.code(0);
    out.stdout_has("local provider");
    out.stdout_has("warning: provider auto chose local server binaries: the image dbgate-test/no-such-image:1 is not on this machine");
}

#[test]
fn auto_without_docker_or_binaries_names_both_and_how_to_get_them() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--pg-bin", "/nonexistent"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    out.code(3);
    out.stderr_has("no usable PostgreSQL.\n  docker: cannot reach the Docker daemon at unix:///nonexistent/docker.sock");
    out.stderr_has("\n  local: --pg-bin /nonexistent has no initdb and postgres");
}

#[test]
fn db_host_names_where_the_container_is_reached() {
    let image = support::test_image();
    // An address nothing answers at (TEST-NET-3): dbgate must try it, and say so.
    let out = Dbgate::fixture("layout-golang-migrate")
        .args([
            "check",
            "--provider",
            "docker",
            "--image",
            &image,
            "--db-host",
            "203.0.113.1",
            "--startup-timeout",
            "2",
        ])
        .run();
    out.code(3);
    out.stderr_has("did not accept connections on 203.0.113.1:");
}

#[test]
fn a_missing_image_is_an_environment_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "docker", "--image", "dbgate-test/no-such-image:1"])
        .run();
    out.code(3);
    out.stderr_has("the image dbgate-test/no-such-image:1 is not on this machine and could not be pulled");
    out.stderr_has("images/postgres/build.sh");
}

#[test]
fn a_daemon_that_does_not_answer_is_an_environment_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "docker"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    out.code(3);
    out.stderr_has("cannot reach the Docker daemon at unix:///nonexistent/docker.sock");
}

#[test]
fn a_server_that_never_gets_ready_fails_with_its_log_within_the_timeout() {
    let image = support::test_image();
    // The same image, running something that is not a server.
    let dockerfile = format!("FROM {image}\nCMD [\"bash\", \"-c\", \"echo not a server here; sleep 300\"]\n");
    let mut build = std::process::Command::new("docker")
        .args(["build", "-q", "-t", "dbgate-test/never-ready:1", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(build.stdin.as_mut().unwrap(), dockerfile.as_bytes()).unwrap();
    drop(build.stdin.take());
    assert!(build.wait().unwrap().success());

    let child = Dbgate::fixture("layout-golang-migrate")
        .args([
            "check",
            "--provider",
            "docker",
            "--image",
            "dbgate-test/never-ready:1",
            "--startup-timeout",
            "3",
        ])
        .spawn();
    let pid = child.id().to_string();
    let out = support::Output::from(child.wait_with_output().unwrap());
    out.code(3);
    out.stderr_has("did not accept connections");
    out.stderr_has("within 3 s");
    out.stderr_has("its log ends with:\nnot a server here");
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &pid), Vec::<String>::new());
}

#[test]
fn no_container_survives_interruption_at_any_point() {
    let image = support::test_image();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "CREATE TABLE t (id int);\nSELECT pg_sleep(60);\n");
    use nix::sys::signal::Signal::{SIGINT, SIGTERM};
    // While the container starts, while its server initialises, while a migration runs.
    for (signal, delay_ms) in [
        (SIGINT, 100),
        (SIGTERM, 300),
        (SIGINT, 600),
        (SIGTERM, 1200),
        (SIGTERM, 2500),
        (SIGINT, 6000),
    ] {
        let child = Dbgate::at(repo.path())
            .args(["check", "--provider", "docker", "--image", &image])
            .spawn();
        let pid = child.id().to_string();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let out = support::interrupt(child, signal);
        out.code(130);
        assert_eq!(
            support::containers_labelled("dev.dbgate.pid", &pid),
            Vec::<String>::new(),
            "after {signal} at {delay_ms} ms"
        );
    }
}

#[test]
fn gc_removes_what_a_killed_run_left_and_only_that() {
    let image = support::test_image();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(120);\n");
    let not_ours = support::docker(&["create", "--label", "dev.dbgate.test=not-ours", &image]);

    let killed = Dbgate::at(repo.path())
        .args(["check", "--provider", "docker", "--image", &image])
        .spawn();
    let running = Dbgate::at(repo.path())
        .args(["check", "--provider", "docker", "--image", &image])
        .spawn();
    let (killed_pid, running_pid) = (killed.id().to_string(), running.id().to_string());
    support::wait_for(|| {
        support::containers_labelled("dev.dbgate.pid", &killed_pid).len() == 1
            && support::containers_labelled("dev.dbgate.pid", &running_pid).len() == 1
    });
    let out = support::interrupt(killed, nix::sys::signal::Signal::SIGKILL);
    assert_eq!(out.status, None, "killed by a signal");
    assert_eq!(
        support::containers_labelled("dev.dbgate.pid", &killed_pid).len(),
        1,
        "SIGKILL leaves the container"
    );

    let gc = Dbgate::at(repo.path()).args(["gc"]).run();
    gc.code(0);
    gc.stdout_has("removed container ");
    gc.stdout_has("is still going");
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &killed_pid), Vec::<String>::new());
    assert_eq!(
        support::containers_labelled("dev.dbgate.pid", &running_pid).len(),
        1,
        "a live run's container stays"
    );
    assert_eq!(
        support::containers_labelled("dev.dbgate.test", "not-ours"),
        vec![not_ours[..12].to_string()]
    );

    support::interrupt(running, nix::sys::signal::Signal::SIGINT).code(130);
    support::docker(&["rm", "-f", &not_ours]);
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &running_pid), Vec::<String>::new());
}

#[test]
fn gc_removes_the_temporary_cluster_of_a_killed_local_run() {
    let tmp = support::TempRepo::new();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(60);\n");
    let child = Dbgate::at(repo.path()).args(["check"]).env("TMPDIR", tmp.path()).spawn();
    support::wait_for(|| support::postgres_running_under(tmp.path()));
    support::interrupt(child, nix::sys::signal::Signal::SIGKILL);
    // The server dies with dbgate (parent-death signal); its directory stays until gc.
    support::wait_for(|| !support::postgres_running_under(tmp.path()));
    assert_eq!(support::entries(tmp.path()).len(), 1);
    let gc = Dbgate::at(repo.path())
        .args(["gc"])
        .env("TMPDIR", tmp.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    gc.code(0);
    gc.stdout_has("removed temporary cluster ");
    assert_eq!(support::entries(tmp.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// The repo's own database tests: seed, smoke SQL, pgTAP, the RLS matrix, expectations, and the
// Supabase preset on a plain PostgreSQL.

#[test]
fn a_supabase_project_passes_on_plain_postgres_with_the_preset() {
    let repo = support::TempRepo::new();
    let junit = repo.path().join("junit.xml");
    let out = Dbgate::fixture("supabase-project").args(["check", "--junit"]).arg(&junit).run();
    out.code(0);
    out.stdout_has("note: the Supabase preset prepared the database");
    out.in_order(&[
        "PASS  seed          1 passed",
        "PASS  pgtap         11 passed",
        "PASS  rls           7 passed",
        "PASS  expectations  5 passed",
    ]);
    out.stdout_has("public.notes     anon: select · authenticated: delete, insert, select, update · SQL tests");
    // Every test case is in the JUnit report, each pgTAP assertion on its own.
    let xml = fs::read_to_string(&junit).unwrap();
    for name in [
        "name=\"4 - bob does not see alice&apos;s notes\"",
        "name=\"2 - carol cannot upload into another folder\"",
        "name=\"3 - freeze_time stops the clock\"",
        "name=\"visitor (anon) select on public.notes\"",
        "name=\"policies\"",
        "name=\"supabase/seed.sql\"",
    ] {
        assert!(xml.contains(name), "JUnit lacks {name}:\n{xml}");
    }
    assert_eq!(xml.matches("<testcase ").count(), 3 * 4 + 1 + 11 + 7 + 5, "{xml}");
}

#[test]
fn broken_policies_failing_assertions_wrong_counts_and_rls_off_are_each_named() {
    let out = Dbgate::fixture("supabase-broken").args(["check"]).run();
    out.code(1);
    // A policy that lets everyone read every note: the matrix names table, user and expectation.
    out.stdout_has("supabase/tests/notes.rls.toml:19:1: bob (authenticated) select on public.notes: expected 1 row, got 3 rows");
    // A failing pgTAP assertion, at its line, with pgTAP's diagnostics.
    out.stdout_has("supabase/tests/01_notes_rls.test.sql:15:1: not ok 4 - bob does not see alice's notes");
    out.stdout_has("have: 1");
    // A wrong count names the objects of that kind.
    out.stdout_has("dbgate.toml:2:10: expected 2 tables, found 3");
    out.stdout_has("tables the migrations created: public.audit_log, public.notes, public.profiles");
    // A table with row level security off.
    out.stdout_has("dbgate.toml:6:21: table public.audit_log has row level security disabled (rls_on_all_tables = true)");
    out.stdout_has("FAILED 6 of 22 tests failed");
}

#[test]
fn each_test_runs_in_its_own_rolled_back_transaction() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    repo.write("migrations/001_t_rollback.sql", "DROP TABLE t;\n");
    repo.write("seed.sql", "INSERT INTO t VALUES (1);\n");
    // Both see only the seed row: the other's insert is gone, whatever the order.
    for name in ["a", "b"] {
        repo.write(
            &format!("smoke/{name}.sql"),
            "INSERT INTO t VALUES (2);\nDO $$ BEGIN ASSERT (SELECT count(*) FROM t) = 2, 'leaked'; END $$;\nCOMMIT;\n",
        );
    }
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  smoke         2 passed");
    // The rollback chain after the tests still restores the empty schema: the seed was rolled back.
    out.stdout_has("PASS  migrations/001_t.sql");
}

#[test]
fn a_failing_smoke_test_and_seed_are_placed_in_their_files() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n");
    repo.write("seed.sql", "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\n");
    repo.write(
        "smoke/check.sql",
        "-- the seed must have run\nDO $$ BEGIN\n  ASSERT (SELECT count(*) FROM t) = 1, 'no seed rows';\nEND $$;\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("seed.sql:2:1: duplicate key value violates unique constraint \"t_pkey\"");
    out.stdout_has("smoke/check.sql:2:1: no seed rows");
    out.stdout_has("SQLSTATE P0004");
}

#[test]
fn pgtap_plans_todo_and_skip_are_read_as_pg_prove_reads_them() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    repo.write(
        "smoke/directives.test.sql",
        "SELECT plan(4);\nSELECT pass('fine');\nSELECT todo('not built yet', 1);\nSELECT fail('expected to fail');\nSELECT skip('no storage here', 1);\nSELECT ok(true, 'one more than planned');\nSELECT ok(true, 'and another');\n",
    );
    // no_plan() wants finish() to print the plan; without it there is none.
    repo.write("smoke/no_plan.test.sql", "SELECT no_plan();\nSELECT ok(true, 'alone');\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    // A failing TODO test is expected; the skip is skipped; the plan does not match.
    out.stdout_has("FAIL  pgtap         5 passed, 2 failed, 1 skipped");
    out.stdout_has("smoke/directives.test.sql:1:1: planned 4 tests but ran 5");
    out.stdout_has("smoke/no_plan.test.sql:1:1: no plan in the TAP output (1 assertions ran)");
    assert!(
        !out.stdout.contains("expected to fail"),
        "a failing TODO test is not a failure\n{}",
        out.stdout
    );
}

#[test]
fn update_expectations_writes_the_counts_and_keeps_the_comments() {
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_t.sql",
        "CREATE TABLE t (id int PRIMARY KEY);\nCREATE INDEX t_id ON t (id);\n",
    );
    repo.write(
        "dbgate.toml",
        "# our schema\n[expect]\ntables = 7 # how many tables\nindexes = 0\n\n[expect.schema.public]\ntables = 0\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("dbgate.toml:3:10: expected 7 tables, found 1");
    out.stdout_has("dbgate.toml:7:10: expected 0 tables in schema public, found 1");
    let out = Dbgate::at(repo.path()).args(["check", "--update-expectations"]).run();
    out.code(0);
    out.stdout_has("note: updated the expectations in dbgate.toml: tables: 7 -> 1, indexes: 0 -> 2, schema.public.tables: 0 -> 1");
    assert_eq!(
        fs::read_to_string(repo.path().join("dbgate.toml")).unwrap(),
        "# our schema\n[expect]\ntables = 1 # how many tables\nindexes = 2\n\n[expect.schema.public]\ntables = 1\n"
    );
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn config_errors_name_the_file_line_and_key() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    for (config, line, says) in [
        ("[expect]\ntables = \"four\"\n", 2, "invalid type: string \"four\", expected u64"),
        (
            "[database]\npreset = \"firebase\"\n",
            2,
            "unknown variant `firebase`, expected `supabase` or `none`",
        ),
        ("[tests]\ndirs = [\"smoke\"]\nseed = 1\n", 3, "unknown field `seed`"),
    ] {
        repo.write("dbgate.toml", config);
        let out = Dbgate::at(repo.path()).args(["check"]).run();
        out.code(2);
        out.stderr_has(&format!("dbgate.toml: TOML parse error at line {line}"));
        out.stderr_has(says);
    }
}

#[test]
fn an_rls_matrix_that_names_an_unknown_user_is_an_input_error() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    repo.write(
        "smoke/t.rls.toml",
        "[users.alice]\nrole = \"postgres\"\n\n[[cell]]\nuser = \"bob\"\ntable = \"t\"\ncommand = \"select\"\nexpect = 0\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("smoke/t.rls.toml:4: cell names user `bob`, which [users] does not define");
}

#[test]
fn the_url_provider_drops_the_preset_roles_it_created() {
    let server = TestServer::start();
    let before = server.inventory();
    let out = Dbgate::fixture("supabase-project")
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(0);
    out.stdout_has("PASS  pgtap         11 passed");
    assert_eq!(server.inventory(), before);
}

#[test]
fn docker_runs_the_supabase_project_like_local() {
    let image = support::test_image();
    let out = Dbgate::fixture("supabase-project")
        .args(["check", "--provider", "docker", "--image", &image])
        .run();
    out.code(0);
    out.in_order(&[
        "PASS  seed          1 passed",
        "PASS  pgtap         11 passed",
        "PASS  rls           7 passed",
        "PASS  expectations  5 passed",
    ]);
}

// ---------------------------------------------------------------------------------------------
// GitHub mode: annotations, job summary, outputs and the sticky PR comment, against a local mock
// server that answers as GitHub's REST API does.

mod github {
    use super::*;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const MARKER: &str = "<!-- dbgate:sticky-comment -->";

    /// An issue comment as GitHub returns it.
    fn comment(id: u64, login: &str, body: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "node_id": format!("IC_{id}"),
            "url": format!("https://api.github.com/repos/acme/shop/issues/comments/{id}"),
            "html_url": format!("https://github.com/acme/shop/pull/7#issuecomment-{id}"),
            "body": body,
            "user": { "login": login, "id": id + 1000, "type": if login.ends_with("[bot]") { "Bot" } else { "User" }, "site_admin": false },
            "created_at": "2026-11-20T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "author_association": "MEMBER"
        })
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status)
            .set_body_json(serde_json::json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }))
    }

    /// The files and variables a workflow gives a step, for pull request 7 of acme/shop.
    struct Workflow {
        dir: support::TempRepo,
        api: String,
    }

    impl Workflow {
        fn new(api: String) -> Workflow {
            let dir = support::TempRepo::new();
            dir.write(
                "event.json",
                r#"{"action": "synchronize", "number": 7, "pull_request": {"number": 7, "head": {"sha": "abc"}}}"#,
            );
            dir.write("summary.md", "");
            dir.write("output.txt", "");
            Workflow { dir, api }
        }

        fn run(&self, dbgate: Dbgate) -> support::Output {
            let p = |name: &str| self.dir.path().join(name);
            dbgate
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_EVENT_PATH", p("event.json"))
                .env("GITHUB_STEP_SUMMARY", p("summary.md"))
                .env("GITHUB_OUTPUT", p("output.txt"))
                .env("GITHUB_REPOSITORY", "acme/shop")
                .env("GITHUB_API_URL", &self.api)
                .env("GITHUB_TOKEN", "t0ken")
                .run()
        }

        fn file(&self, name: &str) -> String {
            fs::read_to_string(self.dir.path().join(name)).unwrap()
        }
    }

    async fn run(workflow: &Workflow, dbgate: Dbgate) -> support::Output {
        // The binary is blocking; the mock server needs the runtime meanwhile.
        let (dir, api) = (workflow.dir.path().to_path_buf(), workflow.api.clone());
        let workflow = Workflow {
            dir: support::TempRepo::at(dir),
            api,
        };
        tokio::task::spawn_blocking(move || workflow.run(dbgate)).await.unwrap()
    }

    async fn mock_user_forbidden(server: &MockServer) {
        // A workflow token may not read /user: its comments are github-actions[bot]'s.
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(error(403, "Resource not accessible by integration"))
            .mount(server)
            .await;
    }

    fn posted_body(request: &Request) -> String {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        body["body"].as_str().unwrap().to_string()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failing_run_annotates_summarises_and_comments_like_the_action() {
        let server = MockServer::start().await;
        mock_user_forbidden(&server).await;
        // Someone else's comment that copies the marker is never edited.
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .and(query_param("page", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                comment(1, "octocat", "looks good"),
                comment(2, "mallory", &format!("{MARKER} not dbgate's"))
            ])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(3, "github-actions[bot]", "new")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .respond_with(error(500, "must not be called"))
            .expect(0)
            .mount(&server)
            .await;

        let workflow = Workflow::new(server.uri());
        let junit = workflow.dir.path().join("junit.xml");
        let json = workflow.dir.path().join("report.json");
        let out = run(
            &workflow,
            Dbgate::fixture("syntax-error")
                .args(["check", "--comment", "--junit"])
                .arg(&junit)
                .arg("--json")
                .arg(&json),
        )
        .await;
        out.code(1);
        // The annotation sits on the exact line and column, in the diff.
        out.stdout_has("::error file=migrations/001_init.sql,line=7,col=42,title=dbgate replay%3A migrations/001_init.sql::syntax error at or near \",\"\n");
        out.stdout_has("dbgate: commented on the pull request: https://github.com/acme/shop/pull/7#issuecomment-3");
        let outputs = workflow.file("output.txt");
        assert!(outputs.contains("verdict=failed\nmigrations=1\n"), "{outputs}");
        assert!(outputs.contains(&format!("junit-path={}\n", junit.display())), "{outputs}");
        let summary = workflow.file("summary.md");
        assert!(summary.contains("## ❌ dbgate: the migration gate failed"), "{summary}");
        assert!(!summary.contains(MARKER), "the job summary is not the comment");

        let requests = server.received_requests().await.unwrap();
        let post = requests.iter().find(|r| r.method.as_str() == "POST").unwrap();
        assert_eq!(post.headers.get("authorization").unwrap(), "Bearer t0ken");
        let body = posted_body(post);
        assert!(body.starts_with(MARKER), "{body}");
        insta::assert_snapshot!("comment_failing_syntax_error", support::normalize(&body));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_second_run_updates_its_comment_found_on_a_later_page() {
        let server = MockServer::start().await;
        mock_user_forbidden(&server).await;
        let crowd: Vec<serde_json::Value> = (1..=100).map(|id| comment(id, "reviewer", "nit")).collect();
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .and(query_param("page", "1"))
            .and(query_param("per_page", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(crowd))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([comment(
                555,
                "github-actions[bot]",
                &format!("{MARKER}\nold")
            )])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/shop/issues/comments/555"))
            .respond_with(ResponseTemplate::new(200).set_body_json(comment(555, "github-actions[bot]", "updated")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(error(500, "must not be called"))
            .expect(0)
            .mount(&server)
            .await;

        let workflow = Workflow::new(server.uri());
        let out = run(&workflow, Dbgate::fixture("supabase-project").args(["check", "--comment"])).await;
        out.code(0);
        out.stdout_has("dbgate: updated its pull request comment: https://github.com/acme/shop/pull/7#issuecomment-555");
        let requests = server.received_requests().await.unwrap();
        let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
        insta::assert_snapshot!("comment_passing_supabase_project", support::normalize(&posted_body(patch)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_read_only_token_warns_and_never_fails_the_gate() {
        let server = MockServer::start().await;
        mock_user_forbidden(&server).await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(error(403, "Resource not accessible by integration"))
            .expect(1)
            .mount(&server)
            .await;
        let workflow = Workflow::new(server.uri());
        let out = run(&workflow, Dbgate::fixture("layout-golang-migrate").args(["check", "--comment"])).await;
        out.code(0);
        out.stdout_has(
            "::warning title=dbgate comment::the token may not comment on this pull request (403: Resource not accessible by integration)",
        );
        assert!(workflow.file("summary.md").contains("## ✅ dbgate: the migration gate passed"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_missing_pull_request_and_the_rate_limit_are_warnings() {
        let server = MockServer::start().await;
        mock_user_forbidden(&server).await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/shop/issues/7/comments"))
            .respond_with(error(404, "Not Found"))
            .expect(1)
            .mount(&server)
            .await;
        let workflow = Workflow::new(server.uri());
        let out = run(&workflow, Dbgate::fixture("layout-golang-migrate").args(["check", "--comment"])).await;
        out.code(0);
        out.stdout_has("::warning title=dbgate comment::the token may not comment on this pull request (404: Not Found)");

        let server = MockServer::start().await;
        mock_user_forbidden(&server).await;
        Mock::given(method("GET"))
            .respond_with(error(403, "API rate limit exceeded for installation ID 1."))
            .mount(&server)
            .await;
        let workflow = Workflow::new(server.uri());
        let out = run(&workflow, Dbgate::fixture("rollback-leaves-rls").args(["check", "--comment"])).await;
        out.code(1);
        out.stdout_has("::warning title=dbgate comment::GitHub's rate limit was hit (403: API rate limit exceeded");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn github_enterprise_api_urls_and_the_comment_command_work_from_a_saved_report() {
        let server = MockServer::start().await;
        // With a personal token, /user says who we are.
        Mock::given(method("GET"))
            .and(path("/api/v3/user"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"login": "ci-bot", "id": 9})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v3/repos/acme/shop/issues/12/comments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                comment(40, "github-actions[bot]", &format!("{MARKER} written by another bot")),
                comment(41, "ci-bot", &format!("{MARKER}\nold"))
            ])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/api/v3/repos/acme/shop/issues/comments/41"))
            .respond_with(ResponseTemplate::new(200).set_body_json(comment(41, "ci-bot", "x")))
            .expect(1)
            .mount(&server)
            .await;

        let saved = support::TempRepo::new();
        let json = saved.path().join("report.json");
        Dbgate::fixture("rollback-leaves-policy")
            .args(["check", "--json"])
            .arg(&json)
            .run()
            .code(1);
        let api = format!("{}/api/v3", server.uri());
        let out = tokio::task::spawn_blocking(move || {
            Dbgate::at(saved.path())
                .args(["comment", "--from", "report.json", "--pr", "12", "--repo", "acme/shop"])
                .env("GITHUB_API_URL", api)
                .env("GITHUB_TOKEN", "pat")
                .run()
        })
        .await
        .unwrap();
        out.code(0);
        out.stdout_has("updated the pull request comment: https://github.com/acme/shop/pull/7#issuecomment-41");
        let requests = server.received_requests().await.unwrap();
        let body = posted_body(requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap());
        assert!(
            body.contains("policy documents\\_owner\\_only on public.documents is still there"),
            "{body}"
        );
    }

    #[test]
    fn repo_text_in_the_comment_cannot_mention_or_inject() {
        let repo = support::TempRepo::new();
        repo.write(
            "migrations/001_x.sql",
            "DO $$ BEGIN RAISE EXCEPTION '@octocat <script>alert(1)</script> | **bold**'; END $$;\n",
        );
        let summary = repo.path().join("summary.md");
        let out = Dbgate::at(repo.path())
            .args(["check", "--github"])
            .env("GITHUB_STEP_SUMMARY", &summary)
            .run();
        out.code(1);
        let text = fs::read_to_string(&summary).unwrap();
        assert!(
            text.contains("@&#8203;octocat &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*\\*bold\\*\\*"),
            "{text}"
        );
        // Outside fenced code (where GitHub renders nothing and mentions nobody), nothing raw.
        let outside_code: String = text.split("```").step_by(2).collect();
        assert!(!outside_code.contains("<script>") && !outside_code.contains("@octocat"), "{text}");
    }

    #[test]
    fn junit_is_valid_against_the_common_schema_without_ansi_or_control_characters() {
        let repo = support::TempRepo::new();
        repo.write(
            "migrations/001_x.sql",
            "DO $$ BEGIN RAISE EXCEPTION E'bad \\x1b[31mred\\x1b[0m and a \\x07 bell'; END $$;\n",
        );
        let junit = repo.path().join("junit.xml");
        Dbgate::at(repo.path()).args(["check", "--junit"]).arg(&junit).run().code(1);
        let xml = fs::read_to_string(&junit).unwrap();
        assert!(xml.contains("bad red and a  bell"), "{xml}");
        assert!(!xml.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{xml}");
        for xml_path in [junit.clone(), {
            let passing = repo.path().join("passing.xml");
            Dbgate::fixture("supabase-project")
                .args(["check", "--junit"])
                .arg(&passing)
                .run()
                .code(0);
            passing
        }] {
            let lint = std::process::Command::new("xmllint")
                .args(["--noout", "--schema"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit.xsd"))
                .arg(&xml_path)
                .output()
                .expect("xmllint (libxml2-utils) runs");
            assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));
        }
    }
}

/// The `run:` script of the action's step `id`, as the runner would run it.
fn action_step_script(id: &str) -> String {
    let action = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let step = &action[action.find(&format!("id: {id}\n")).expect("the step is in action.yml")..];
    let run = &step[step.find("run: |\n").expect("a run: | block") + "run: |\n".len()..];
    let indent = run.len() - run.trim_start().len();
    run.lines()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect()
}

#[test]
fn the_action_s_check_step_runs_the_gate_as_its_inputs_say() {
    let work = support::TempRepo::new();
    work.write("check.sh", &action_step_script("check"));
    work.write("event.json", r#"{"pull_request": {"number": 3}}"#);
    work.write("output.txt", "");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dbgate")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let p = |name: &str| work.path().join(name);
    let out = support::Output::from(
        std::process::Command::new("bash")
            .arg(p("check.sh"))
            .current_dir(fixture("rollback-leaves-rls"))
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_PATH", p("event.json"))
            .env("GITHUB_OUTPUT", p("output.txt"))
            .env("GITHUB_STEP_SUMMARY", p("summary.md"))
            .env("INPUT_CONFIG", "")
            .env("INPUT_PROVIDER", "local")
            .env("INPUT_IMAGE", "")
            .env("INPUT_COMMENT", "false")
            .env("INPUT_JUNIT_PATH", p("junit.xml"))
            .env("INPUT_JSON_PATH", p("report.json"))
            .env("INPUT_FAIL_ON", "never")
            .output()
            .unwrap(),
    );
    // fail-on: never reports without failing the step.
    out.code(0);
    out.stdout_has("::error file=migrations/002_ledger_tenant_rls_rollback.sql,line=1,col=1,title=dbgate rollback%3A migrations/002_ledger_tenant_rls.sql::row level security of table public.ledger is enabled, was disabled");
    let outputs = fs::read_to_string(p("output.txt")).unwrap();
    assert!(outputs.starts_with("verdict=failed\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("json-path={}\n", p("report.json").display())),
        "{outputs}"
    );
    assert!(p("junit.xml").is_file() && p("report.json").is_file());
    let summary = fs::read_to_string(p("summary.md")).unwrap();
    assert!(
        summary.contains("row level security of table public.ledger is enabled, was disabled"),
        "{summary}"
    );
}

// ---------------------------------------------------------------------------------------------
// Incremental snapshots (what a script touched, from event triggers) must give the verdicts of
// full snapshots, including where a change shows only in another object's text.

fn same_verdicts_with_and_without_incremental_snapshots(repo: &Path) -> serde_json::Value {
    let out_dir = support::TempRepo::new();
    let (incremental, full) = (out_dir.path().join("incremental.json"), out_dir.path().join("full.json"));
    let a = Dbgate::at(repo).args(["check", "--json"]).arg(&incremental).run();
    let b = Dbgate::at(repo).args(["check", "--full-snapshots", "--json"]).arg(&full).run();
    assert_eq!(a.status, b.status, "incremental:\n{}\nfull:\n{}", a.stdout, b.stdout);
    assert_eq!(
        verdicts(&incremental),
        verdicts(&full),
        "incremental:\n{}\nfull:\n{}",
        a.stdout,
        b.stdout
    );
    verdicts(&incremental)
}

#[test]
fn incremental_snapshots_see_renames_grants_cascades_and_dependents() {
    let repo = support::TempRepo::new();
    let migrations = [
        (
            "001_base",
            "CREATE SCHEMA app;
             CREATE ROLE r_trap NOLOGIN;
             CREATE TABLE app.a (id int PRIMARY KEY, x int);
             CREATE TABLE app.b (id int PRIMARY KEY, a_id int REFERENCES app.a (id));
             CREATE SEQUENCE app.s;
             CREATE TABLE app.c (id int DEFAULT nextval('app.s'));
             CREATE VIEW app.v AS SELECT x FROM app.a;
             CREATE TYPE app.e AS ENUM ('one', 'two');
             CREATE TABLE app.d (kind app.e DEFAULT 'one');
             CREATE FUNCTION app.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             CREATE TRIGGER a_tf BEFORE UPDATE ON app.a FOR EACH ROW EXECUTE FUNCTION app.tf();
             ALTER TABLE app.b ENABLE ROW LEVEL SECURITY;
             CREATE POLICY b_visible ON app.b USING (a_id IN (SELECT id FROM app.a WHERE x > 0));",
            "DROP SCHEMA app CASCADE; DROP ROLE r_trap;",
        ),
        (
            "002_rename_column",
            "ALTER TABLE app.a RENAME COLUMN x TO y;",
            "ALTER TABLE app.a RENAME COLUMN y TO x;",
        ),
        (
            "003_rename_enum_value",
            "ALTER TYPE app.e RENAME VALUE 'one' TO 'uno';",
            "ALTER TYPE app.e RENAME VALUE 'uno' TO 'one';",
        ),
        (
            "004_grant_all",
            "GRANT SELECT ON ALL TABLES IN SCHEMA app TO r_trap;",
            "REVOKE SELECT ON ALL TABLES IN SCHEMA app FROM r_trap;",
        ),
        (
            "005_rename_schema",
            "ALTER SCHEMA app RENAME TO app2;",
            "ALTER SCHEMA app2 RENAME TO app;",
        ),
        (
            "006_rename_role",
            "ALTER ROLE r_trap RENAME TO r_trap2;",
            "ALTER ROLE r_trap2 RENAME TO r_trap;",
        ),
        // The schema is app2 from here on.
        (
            "007_rename_function",
            "ALTER FUNCTION app2.tf() RENAME TO tf2;",
            "ALTER FUNCTION app2.tf2() RENAME TO tf;",
        ),
        ("008_drop_cascade", "DROP TABLE app2.a CASCADE;", "SELECT 1;"),
    ];
    repo.migrations(&migrations);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    // The last rollback does not bring back what the cascade took, and both modes name it all.
    let failures = verdicts["migrations"][7]["checks"][1]["failures"].to_string();
    for object in [
        "\"table\",\"name\":\"app2.a\"",
        "\"view\",\"name\":\"app2.v\"",
        "b_a_id_fkey on app2.b",
        "b_visible on app2.b",
    ] {
        assert!(failures.contains(object), "{object} not named: {failures}");
    }
    for migration in &verdicts["migrations"].as_array().unwrap()[..7] {
        assert_eq!(migration["checks"][1]["status"], "passed", "{migration}");
    }
}

#[test]
fn a_wrong_rename_back_shows_in_the_dependent_default_in_both_modes() {
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_base",
            "CREATE SEQUENCE s;\nCREATE TABLE c (id int DEFAULT nextval('s'));\n",
            "DROP TABLE c;\nDROP SEQUENCE s;\n",
        ),
        (
            "002_rename",
            "ALTER SEQUENCE s RENAME TO s2;\n",
            "ALTER SEQUENCE s2 RENAME TO s3;\n",
        ),
    ]);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    let failures = verdicts["migrations"][1]["checks"][1]["failures"].to_string();
    assert!(
        failures.contains("\"attribute\":\"default\"") && failures.contains("public.c.id"),
        "{failures}"
    );
}

#[test]
fn swapped_role_names_and_drop_owned_show_in_both_modes() {
    // Neither names the objects it changes to event triggers: a swap keeps the set of role
    // names (event triggers do not fire for roles), and DROP OWNED revokes privileges on
    // objects it does not name (found by the catalog rows it rewrote).
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_roles",
            "CREATE ROLE r_a NOLOGIN;\nCREATE ROLE r_b NOLOGIN;\nCREATE ROLE r_c NOLOGIN;\n\
             CREATE TABLE t (id int);\nALTER TABLE t OWNER TO r_a;\nGRANT SELECT ON t TO r_c;\n",
            "DROP TABLE t;\nDROP ROLE r_a;\nDROP ROLE r_b;\nDROP ROLE r_c;\n",
        ),
        (
            "002_swap",
            "ALTER ROLE r_a RENAME TO r_tmp;\nALTER ROLE r_b RENAME TO r_a;\nALTER ROLE r_tmp RENAME TO r_b;\n",
            "SELECT 1;\n",
        ),
        ("003_sweep", "DROP OWNED BY r_c;\n", "SELECT 1;\n"),
    ]);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    let swap = verdicts["migrations"][1]["checks"][1].to_string();
    assert!(
        swap.contains("\"status\":\"failed\"") && swap.contains("\"attribute\":\"owner\""),
        "{swap}"
    );
    let sweep = verdicts["migrations"][2]["checks"][1].to_string();
    assert!(sweep.contains("SELECT on table public.t to r_c"), "{sweep}");
}

macro_rules! incremental_matches_full {
    ($($test:ident: $fixture:literal;)*) => {$(
        #[test]
        fn $test() {
            same_verdicts_with_and_without_incremental_snapshots(&fixture($fixture));
        }
    )*};
}

incremental_matches_full! {
    incremental_matches_full_on_the_example: "../..";
    incremental_matches_full_on_a_leftover_index: "rollback-leaves-index";
    incremental_matches_full_on_a_leftover_privilege: "rollback-leaves-privilege";
    incremental_matches_full_on_a_changed_default: "rollback-changes-default";
    incremental_matches_full_on_a_leftover_enum: "rollback-leaves-enum";
    incremental_matches_full_on_lost_not_null: "rollback-loses-not-null";
    incremental_matches_full_on_a_leftover_role: "rollback-leaves-role";
    incremental_matches_full_on_rls_left_on: "rollback-leaves-rls";
    incremental_matches_full_on_a_leftover_policy: "rollback-leaves-policy";
    incremental_matches_full_on_a_function_body: "rollback-function-body";
    incremental_matches_full_on_reapply: "reapply-differs";
    incremental_matches_full_on_the_supabase_project: "supabase-project";
    incremental_matches_full_on_diesel: "layout-diesel";
    incremental_matches_full_on_dbmate: "layout-dbmate";
}

// ---------------------------------------------------------------------------------------------
// Budgets: the session's statement and lock timeouts, and per-migration time thresholds.

#[test]
fn statement_timeout_and_time_budgets_come_from_the_config() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_quick.sql", "CREATE TABLE t (id int);\n");
    repo.write("migrations/002_slow.sql", "-- a slow data fix\nSELECT pg_sleep(0.6);\n");
    repo.write("dbgate.toml", "[migrations]\nwarn_seconds = 0.3\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("warning: migrations/002_slow.sql took 0.");
    out.stdout_has("over the 0.3 s warning threshold ([migrations] warn_seconds)");

    repo.write("dbgate.toml", "[migrations]\nfail_seconds = 0.3\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/002_slow.sql:1:1: migrations/002_slow.sql took 0.");
    out.stdout_has("over its 0.3 s budget ([migrations] fail_seconds)");

    repo.write(
        "dbgate.toml",
        "[migrations]\nstatement_timeout = \"200ms\"\nlock_timeout = \"1s\"\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/002_slow.sql:2:1: canceling statement due to statement timeout");

    repo.write("dbgate.toml", "[migrations]\nstatement_timeout = \"soon\"\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("dbgate.toml: line 2, [migrations] statement_timeout = \"soon\": not a duration");
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
fn a_migration_that_takes_the_event_triggers_away_falls_back_to_full_snapshots() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_t.sql", "CREATE TABLE t (id int);\n");
    repo.write("migrations/001_t_rollback.sql", "DROP TABLE t;\n");
    // As DROP OWNED BY would, on a server where it can.
    repo.write(
        "migrations/002_sweep.sql",
        "DROP SCHEMA IF EXISTS dbgate_internal CASCADE;\nCREATE INDEX t_id ON t (id);\n",
    );
    repo.write("migrations/002_sweep_rollback.sql", "SELECT 1;\n");
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    assert!(
        verdicts["migrations"][1]["checks"][1]["failures"]
            .to_string()
            .contains("t_id on public.t"),
        "{verdicts}"
    );
}
