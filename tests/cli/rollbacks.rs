//! Rollbacks that do not restore: each names the object, in words, and the files.

use crate::support::{self, Dbgate, TempRepo};

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
    out.stdout_has("reapply        not checked: the rollback failed");
}

#[test]
fn a_migration_that_does_not_reapply_the_same_way_fails_the_reapply_check() {
    let out = Dbgate::fixture("reapply-differs").args(["check"]).run();
    out.code(1);
    out.stdout_has("rollback       passed");
    out.stdout_has("- table public.batch_1 is missing after running 002_create_batch_table.sql again (it existed after its first run)");
    out.stdout_has("- table public.batch_2 is new after running 002_create_batch_table.sql again");
}

#[test]
fn a_migration_that_cannot_run_again_is_rebuilt_past_and_the_chain_goes_on() {
    let repo = support::TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE a (id int);\nCREATE SEQUENCE s;\n", "DROP TABLE a;\n"),
        ("002_b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n"),
    ]);
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("reapply        FAILED migrations/001_a.sql fails when run again after 001_a_rollback.sql");
    out.stdout_has("note: rebuilt the schema after migrations/001_a.sql in a fresh database (1 migration replayed");
    out.stdout_has("PASS  migrations/002_b.sql      ");
    out.stdout_has("replay, rollback, reapply, rollback chain");
    // The reverse chain reaches 001 too, and finds its rollback's fault again.
    out.stdout_has("rollback chain FAILED in the reverse chain, migrations/001_a_rollback.sql does not restore");
    out.stdout_has("FAILED 1 of 2 migrations failed; ");
}

#[test]
fn a_rollback_that_fails_part_way_outside_a_transaction_is_rebuilt_past() {
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_a",
            "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
            "-- no-transaction\nDROP TABLE b;\nDROP TABLE nosuch;\n",
        ),
        ("002_c", "CREATE TABLE c (id int);\n", "DROP TABLE c;\n"),
    ]);
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/001_a_rollback.sql:3:1: table \"nosuch\" does not exist");
    out.stdout_has("note: rebuilt the schema after migrations/001_a.sql in a fresh database");
    out.stdout_has("PASS  migrations/002_c.sql");
    out.stdout_has("reapply        not checked: the rollback failed");
    out.stdout_has("FAILED 1 of 2 migrations failed; 1 check not checked: the rollback failed;");
}

#[test]
fn a_rollback_with_no_statements_is_skipped_counted_and_a_warning_or_with_strict_a_failure() {
    let repo = support::TempRepo::from_fixture("empty-rollbacks");
    let json = repo.path().join("report.json");
    let report = || -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap() };
    let skip_reason = |migration: usize, kind: &str| support::check(&report()["migrations"][migration], kind)["skip_reason"].clone();
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    out.stdout_has("warning: migrations/002_b_rollback.sql has no statements: the tool runs it, marks migrations/002_b.sql reverted and leaves the schema as it is");
    out.stdout_has("PASS  migrations/002_b.sql");
    assert_eq!(skip_reason(1, "rollback"), "the rollback has no statements");
    assert_eq!(skip_reason(1, "reapply"), "the rollback has no statements");
    // The reverse chain goes on past it, from the schema rebuilt after 001.
    assert_eq!(support::check(&report()["migrations"][0], "rollback_chain")["status"], "passed");
    out.stdout_has("note: rebuilt the schema after migrations/001_a.sql in a fresh database");
    out.stdout_has("PASS  migrations/003_c.sql");

    repo.write("dbgate.toml", "[rollback]\nstrict = true\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/002_b_rollback.sql:1:1: migrations/002_b_rollback.sql has no statements");

    // Declared irreversible (in the file, or by version in dbgate.toml): skipped, no warning.
    repo.write("migrations/002_b_rollback.sql", "-- dbgate:irreversible\n");
    repo.write("dbgate.toml", "");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    assert_eq!(skip_reason(1, "rollback"), "the rollback is declared irreversible");
    assert!(!out.stdout.contains("warning:"), "{}", out.stdout);
    repo.write("migrations/002_b_rollback.sql", "DROP TABLE nosuch;\n");
    repo.write("dbgate.toml", "[rollback]\nirreversible = [\"002\"]\n");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    assert_eq!(skip_reason(1, "rollback"), "the rollback is declared irreversible");
}

#[test]
fn a_rollback_runs_in_a_new_session_as_its_tool_runs_it_not_as_the_role_its_migration_switched_to() {
    // Teams create objects as their app's owner role; the migration never switches back. Its
    // rollback runs later, in a new session, as the login user (who may drop that role).
    let repo = TempRepo::new();
    repo.migrations(&[(
        "001_owner",
        "CREATE ROLE rollback_session_owner;\nGRANT CREATE ON SCHEMA public TO rollback_session_owner;\nSET ROLE rollback_session_owner;\nCREATE TABLE owned (id int);\nSET search_path = nowhere;\n",
        "DROP TABLE public.owned;\nREVOKE CREATE ON SCHEMA public FROM rollback_session_owner;\nDROP ROLE rollback_session_owner;\n",
    )]);
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("PASS  migrations/001_owner.sql");
}

/// The gate on a repo of `migrations` (name, up, rollback), and `more` files (name, text).
fn gate_on(migrations: &[(&str, &str, &str)], more: &[(&str, &str)]) -> crate::support::Output {
    let repo = TempRepo::new();
    repo.migrations(migrations);
    for (name, text) in more {
        repo.write(name, text);
    }
    Dbgate::at(repo.path()).arg("check").run()
}

#[test]
fn a_setting_a_migration_gives_its_login_role_reaches_the_rollbacks_new_session() {
    // `migrate down` connects anew, and a new connection takes the role's settings: the
    // rollback of 002 finds app.mode that 001 set on the login role.
    let needs_mode = "DO $$ BEGIN IF current_setting('app.mode', true) IS DISTINCT FROM 'strict' THEN RAISE EXCEPTION 'app.mode is %', current_setting('app.mode', true); END IF; END $$;\nDROP TABLE t;\n";
    let by_role = (
        "001_mode",
        "ALTER ROLE CURRENT_USER SET app.mode = 'strict';\n",
        "ALTER ROLE CURRENT_USER RESET app.mode;\n",
    );
    // The same from the database's settings (Supabase repos set `app.settings.*` so).
    let by_database = (
        "001_mode",
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.mode = %L', current_database(), 'strict'); END $$;\n",
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET app.mode', current_database()); END $$;\n",
    );
    for setting in [by_role, by_database] {
        let out = gate_on(&[setting, ("002_t", "CREATE TABLE t (id int);\n", needs_mode)], &[]);
        out.code(0);
        out.stdout_has("PASS  migrations/002_t.sql");
        assert!(!out.stdout.contains("could not take"), "{}", out.stdout);
    }

    // A value a new session refuses (PostgreSQL checks it only then) is said, where it was
    // set; the others are still taken.
    let refused = (
        "001_mode",
        "ALTER ROLE CURRENT_USER SET app.mode = 'strict';\nALTER ROLE CURRENT_USER SET default_text_search_config = 'nope.nope';\n",
        "ALTER ROLE CURRENT_USER RESET ALL;\n",
    );
    let out = gate_on(&[refused, ("002_t", "CREATE TABLE t (id int);\n", needs_mode)], &[]);
    out.code(0);
    out.stdout_has("PASS  migrations/002_t.sql");
    // The server watch places the change at the statement that spells the setting (the role
    // is named as CURRENT_USER).
    out.stdout_has("warning (server): migrations/001_mode.sql:2:1: changed the server outside its database: role ");
    out.stdout_has("warning: migrations/001_mode.sql:2:1: the login role or database has default_text_search_config = nope.nope, which dbgate's new sessions could not take (invalid value for parameter \"default_text_search_config\": \"nope.nope\"");

    // The lint's data check runs the rollback on rows, in a new invocation too.
    let drop_c = needs_mode.replace("DROP TABLE t;", "ALTER TABLE t DROP COLUMN c;");
    let out = gate_on(
        &[
            (
                "001_t",
                "CREATE TABLE t (id int);\nALTER ROLE CURRENT_USER SET app.mode = 'strict';\n",
                "ALTER ROLE CURRENT_USER RESET app.mode;\nDROP TABLE t;\n",
            ),
            ("002_c", "ALTER TABLE t ADD COLUMN c int;\n", &drop_c),
        ],
        &[],
    );
    out.code(0);
    out.stdout_has("PASS  migrations/002_c.sql");
    // The data check ran, and passed.
    out.stdout_has("rollback chain, lint, data");

    // A reverse chain split by migrations without rollbacks replays ups to reach each part
    // (the watch reads nothing then): what the replay set is still taken.
    let drop_table_c = needs_mode.replace("DROP TABLE t;", "DROP TABLE c;");
    let out = gate_on(
        &[
            ("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n"),
            ("002_b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n"),
            ("004_c", "CREATE TABLE c (id int);\n", &drop_table_c),
        ],
        &[
            ("migrations/003_mode.sql", "ALTER ROLE CURRENT_USER SET app.mode = 'strict';\n"),
            ("migrations/005_d.sql", "CREATE TABLE d (id int);\n"),
        ],
    );
    out.code(0);
    out.stdout_has("PASS  migrations/004_c.sql");

    // Near miss: the setting is another role's, which the login's new session does not take.
    let out = gate_on(
        &[
            (
                "001_mode",
                "CREATE ROLE role_settings_other;\nALTER ROLE role_settings_other SET app.mode = 'strict';\n",
                "DROP ROLE role_settings_other;\n",
            ),
            ("002_t", "CREATE TABLE t (id int);\n", needs_mode),
        ],
        &[],
    );
    out.code(1);
    out.stdout_has("rollback       FAILED migrations/002_t_rollback.sql failed");
    out.stdout_has("migrations/002_t_rollback.sql:1:1: app.mode is \n");
}

#[test]
fn a_printing_setting_a_migration_sets_does_not_change_how_the_schema_reads() {
    // Defaults print in the session's TimeZone: a migration's SET TIME ZONE (kept by the ups'
    // shared session) or its database's timezone (taken by every new session) must not make
    // the same default read another way before and after a rollback.
    let table = "CREATE TABLE ev (id int, at timestamptz DEFAULT '2020-01-02 03:04:05+00');\n";
    let in_session = format!("SET TIME ZONE 'Asia/Tokyo';\n{table}");
    let in_database =
        format!("{table}DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'Asia/Tokyo'); END $$;\n");
    let database_back = "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET timezone', current_database()); END $$;\nDROP TABLE ev;\n";
    let note = (
        "002_note",
        "ALTER TABLE ev ADD COLUMN note text;\n",
        "ALTER TABLE ev DROP COLUMN note;\n",
    );
    for (up, down) in [(in_session.as_str(), "DROP TABLE ev;\n"), (in_database.as_str(), database_back)] {
        let out = gate_on(&[("001_ev", up, down), note], &[]);
        out.code(0);
        out.stdout_has("PASS  migrations/002_note.sql");
    }

    // bytea_output and quote_all_identifiers on the database (taken by every new session), and
    // quote_all_identifiers in the ups' shared session, where a later up drops a table.
    let on_database = "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET quote_all_identifiers = on', current_database()); \
                       EXECUTE format('ALTER DATABASE %I SET bytea_output = escape', current_database()); END $$;\n";
    let bytes = format!("CREATE TABLE b (id int, x bytea DEFAULT '\\x0102');\n{on_database}");
    let bytes_back = "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET ALL', current_database()); END $$;\nDROP TABLE b;\n";
    let note_b = (
        "002_note",
        "ALTER TABLE b ADD COLUMN note text;\n",
        "ALTER TABLE b DROP COLUMN note;\n",
    );
    let out = gate_on(&[("001_b", &bytes, bytes_back), note_b], &[]);
    out.code(0);
    out.stdout_has("PASS  migrations/002_note.sql");
    let quoted = "SET quote_all_identifiers = on;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n";
    let out = gate_on(
        &[
            ("001_a", quoted, "DROP TABLE b;\nDROP TABLE a;\n"),
            ("002_drop", "DROP TABLE b;\n", "CREATE TABLE b (id int);\n"),
        ],
        &[],
    );
    out.code(0);
    out.stdout_has("PASS  migrations/002_drop.sql");

    // Near miss: a rollback that moves the default by a second fails.
    let moved = "ALTER TABLE ev DROP COLUMN note;\nALTER TABLE ev ALTER COLUMN at SET DEFAULT '2020-01-02 03:04:06+00';\n";
    let out = gate_on(&[("001_ev", &in_session, "DROP TABLE ev;\n"), (note.0, note.1, moved)], &[]);
    out.code(1);
    // In the zone the run's first session had (the server's), whatever the migration set.
    out.stdout_has("default of column public.ev.at is '2020-01-02 ");
    out.stdout_has(":06");
}
