//! The repo's own database tests: seed, smoke SQL, pgTAP, the RLS matrix, expectations, and the
//! Supabase preset on a plain PostgreSQL.

use crate::support::{self, Dbgate, TestServer};
use std::fs;

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
    assert_eq!(xml.matches("<testcase ").count(), 3 * 5 + 1 + 11 + 7 + 5, "{xml}");
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
fn objects_are_counted_in_the_schema_the_catalog_puts_them_in() {
    // A quoted schema whose name has a dot, and every kind that lives in a schema; the catalog
    // says which schema, not the object's name.
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_t.sql",
        "CREATE SCHEMA \"My.Schema\";\nCREATE SCHEMA app;\n\
         CREATE TABLE \"My.Schema\".t (id int PRIMARY KEY);\n\
         CREATE INDEX \"an index\" ON \"My.Schema\".t (id);\n\
         CREATE POLICY \"my policy\" ON \"My.Schema\".t USING (true);\n\
         CREATE FUNCTION \"My.Schema\".f(a integer) RETURNS int LANGUAGE sql AS 'SELECT a';\n\
         CREATE TYPE app.mood AS ENUM ('ok');\nCREATE TABLE app.u (id int);\n",
    );
    repo.write(
        "dbgate.toml",
        "[expect.schema.\"My.Schema\"]\ntables = 1\nindexes = 2\npolicies = 1\nfunctions = 1\nenum_types = 0\n\n[expect.schema.app]\ntables = 1\nindexes = 0\nenum_types = 1\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  expectations  8 passed");
    // The near miss: one count off, in the quoted schema.
    repo.write("dbgate.toml", "[expect.schema.\"My.Schema\"]\ntables = 2\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("expected 2 tables in schema My.Schema, found 1");
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
fn an_rls_matrix_fragment_cannot_end_the_test_transaction() {
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_t.sql",
        "CREATE TABLE t (id int, note text);\nCREATE ROLE matrix_fragment_reader;\nGRANT SELECT ON t TO matrix_fragment_reader;\n",
    );
    let matrix = |table: &str, condition: &str| {
        format!("[users.alice]\nrole = \"matrix_fragment_reader\"\n\n[[cell]]\nuser = \"alice\"\ntable = {table:?}\ncommand = \"select\"\nwhere = {condition:?}\nexpect = 0\n")
    };
    repo.write("smoke/t.rls.toml", &matrix("t", "true; COMMIT; DROP TABLE t"));
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("smoke/t.rls.toml:8: where = \"true; COMMIT; DROP TABLE t\": a condition is part of one statement: no `;`");
    repo.write("smoke/t.rls.toml", &matrix("t; COMMIT", "true"));
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("smoke/t.rls.toml:6: table = \"t; COMMIT\": a table is a name");
    // A `;` inside a string is data.
    repo.write("smoke/t.rls.toml", &matrix("public.t", "note = ';' OR id IS NULL"));
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
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

/// pgTAP test cases of a JSON report, by status.
fn pgtap_statuses(json: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
    let mut statuses = std::collections::BTreeMap::new();
    for case in report["tests"].as_array().unwrap().iter().filter(|c| c["suite"] == "pgtap") {
        *statuses.entry(case["status"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    statuses
}

#[test]
fn a_suite_written_for_supabase_test_db_passes_unchanged() {
    // It loads supabase-test-helpers from database.dev (served by dbgate's own helpers, not sent),
    // runs pgTAP as anon and authenticated after the migrations revoked EXECUTE from PUBLIC by
    // default, and sets role postgres, which a server whose first user is dbgate lacks.
    let repo = support::TempRepo::new();
    let json = repo.path().join("report.json");
    let out = Dbgate::fixture("supabase-test-suite").args(["check", "--json"]).arg(&json).run();
    out.code(0);
    out.stdout_has("PASS  pgtap         15 passed");
    assert_eq!(pgtap_statuses(&json), [("passed".to_string(), 15)].into_iter().collect());
}

#[test]
fn only_supabase_test_helpers_are_served_other_dbdev_packages_are_sent() {
    let repo = support::TempRepo::from_fixture("supabase-test-suite");
    repo.write(
        "supabase/tests/04-advisor.test.sql",
        "select dbdev.install('olirice-index_advisor');\nbegin;\nselect plan(1);\nselect ok(true);\nselect * from finish();\nrollback;\n",
    );
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has("supabase/tests/04-advisor.test.sql:1:8: the test file stopped after 0 assertions: schema \"dbdev\" does not exist");
}

#[test]
fn a_migration_needing_an_extension_the_server_lacks_names_it_and_how_to_get_it() {
    let out = Dbgate::fixture("supabase-missing-extension").arg("check").run();
    out.code(1);
    out.stdout_has("supabase/migrations/20240102000000_embeddings.sql:2:1: ");
    out.stdout_has("fix: the extension vector is not installed on this server; Supabase's own image has it: run on it ([database] image = \"supabase/postgres:<version>\" in dbgate.toml, with the docker provider), or install it where the server runs (Debian: apt-get install postgresql-15-pgvector)");
}

/// A migration creating `n` tables with row level security, t01..tNN.
fn rls_tables(repo: &support::TempRepo, n: usize) {
    let sql: String = (1..=n)
        .map(|i| format!("CREATE TABLE t{i:02} (id int);\nALTER TABLE t{i:02} ENABLE ROW LEVEL SECURITY;\n"))
        .collect();
    repo.write("migrations/001_tables.sql", &sql);
}

#[test]
fn with_no_database_tests_rls_coverage_is_one_line_and_with_tests_untested_tables_are_listed_up_to_a_limit() {
    let repo = support::TempRepo::new();
    rls_tables(&repo, 30);
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("RLS coverage: no database tests: 30 tables with row level security are untested");
    assert!(!out.stdout.contains("public.t01"), "{}", out.stdout);

    repo.write("smoke/reads_t01.sql", "SELECT count(*) FROM t01;\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("public.t01  SQL tests");
    out.stdout_has("public.t21  no test touches it");
    assert!(!out.stdout.contains("public.t22"), "{}", out.stdout);
    out.stdout_has("...and 9 more tables no test touches");
}
