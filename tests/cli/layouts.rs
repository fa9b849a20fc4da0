//! The example schema at the repo root, and every layout: they pass.

use crate::support::{self, Dbgate};

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
    out.stdout_has("PASSED 66 checks passed, 0 failed, 0 warnings, 0 skipped");
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
    supabase_migrations_without_rollbacks_replay: "layout-supabase", "3", ["20240105103000_create_profiles.sql", "replay, lint (no rollback)", "20240107120000_posts_rls.sql"];
    concurrently_is_detected_and_runs_without_a_transaction: "non-transactional", "2", ["002_index_events_created.sql", "no transaction: CREATE INDEX CONCURRENTLY at line 1"];
}

#[test]
fn supabase_migrations_without_rollbacks_skip_the_rollback_checks_not_pass_them() {
    let out = Dbgate::fixture("layout-supabase").args(["check"]).run();
    out.stdout_has("6 checks passed, 0 failed, 4 warnings, 9 skipped");
    // The Supabase preset turns the security advisors on.
    out.stdout_has("20240105103000_create_profiles.sql:1:1: rls-disabled: table public.profiles is in an exposed schema and has row level security off");
    // ENABLE ROW LEVEL SECURITY takes ACCESS EXCLUSIVE on a table an earlier migration made.
    out.stdout_has("20240107120000_posts_rls.sql:1:1: lock-timeout-missing: takes ACCESS EXCLUSIVE on existing table public.posts");
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

#[test]
fn an_empty_down_section_is_a_rollback_with_no_statements_and_no_crash() {
    // dbmate writes an empty down section; dbmate runs it and marks the migration rolled back.
    let repo = support::TempRepo::new();
    repo.write(
        "db/migrations/20240101000000_a.sql",
        "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\n",
    );
    repo.write(
        "db/migrations/20240102000000_b.sql",
        "-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\n   \n",
    );
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.code(0);
    out.stdout_has("the down section from line 4  (no statements)");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("warning: db/migrations/20240101000000_a.sql has no statements");
}

#[test]
fn diesel_folders_run_in_diesel_s_order() {
    // diesel compares the dash-stripped prefix as a string: 2025-11-19-091444-0000 (a larger
    // number, as it has an extra field) still runs before 2026-05-27-120000, which needs it.
    let out = Dbgate::fixture("diesel-version-order").args(["list"]).run();
    out.in_order(&["1. 2025-11-19-091444-0000 create_teams", "2. 2026-05-27-120000 create_players"]);
    Dbgate::fixture("diesel-version-order").args(["check"]).run().code(0);
}

#[test]
fn setup_files_run_before_the_first_migration_and_are_not_checked() {
    // A runner's own bookkeeping table that a migration puts a trigger on.
    let repo = support::TempRepo::new();
    repo.write("db/setup.sql", "CREATE TABLE schema_migrations (version bigint PRIMARY KEY);\n");
    repo.migrations(&[(
        "001_audit",
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
         CREATE TRIGGER audit AFTER INSERT ON schema_migrations FOR EACH ROW EXECUTE FUNCTION audit();\n",
        "DROP TRIGGER audit ON schema_migrations;\nDROP FUNCTION audit();\n",
    )]);
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"db/setup.sql\"]\n\n[expect]\ntables = 0\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("note: ran the setup files before the first migration (not checked): db/setup.sql");
    // Without it, the migration fails as it would on a database without the runner's table.
    repo.write("dbgate.toml", "");
    Dbgate::at(repo.path()).args(["check"]).run().code(1);
    // A setup file that fails, or is missing, is the configuration's problem: exit 2, placed.
    repo.write(
        "db/setup.sql",
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY);\nCREATE TABLE oops (;\n",
    );
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"db/setup.sql\", \"db/gone.sql\"]\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("the setup file");
    out.stderr_has("db/gone.sql does not exist");
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"db/setup.sql\"]\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("a setup file ([migrations] setup) failed: db/setup.sql:2:20: syntax error at or near \";\"");
}

#[test]
fn sqlx_s_no_transaction_directive_is_read_as_sqlx_reads_it() {
    // sqlx: the file starts with `-- no-transaction`, byte for byte.
    let repo = support::TempRepo::new();
    let body = "CREATE TABLE t (id int);\n";
    repo.write("migrations/1_a.up.sql", &format!("-- no-transaction, for the index below\n{body}"));
    repo.write("migrations/2_b.up.sql", &format!("\u{feff}-- no-transaction\n{body}"));
    repo.write("migrations/3_c.up.sql", &format!("  -- no-transaction\n{body}"));
    repo.write("migrations/4_d.up.sql", &format!("\n-- no-transaction\n{body}"));
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.code(0);
    out.in_order(&[
        "migrations/1_a.up.sql  (runs without a transaction (`-- no-transaction`))",
        "migrations/2_b.up.sql  (runs in a transaction)",
        "migrations/3_c.up.sql  (runs in a transaction)",
        "migrations/4_d.up.sql  (runs in a transaction)",
    ]);
}

#[test]
fn underscore_up_and_down_files_pair_only_when_both_exist() {
    let repo = support::TempRepo::new();
    repo.write("migrations/0001_create_a_up.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/0001_create_a_down.sql", "DROP TABLE a;\n");
    repo.write("migrations/0010_shut_down.sql", "CREATE TABLE shut (id int);\n");
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.code(0);
    out.in_order(&[
        "1. 0001 create_a",
        "rollback: migrations/0001_create_a_down.sql",
        "2. 0010 shut_down",
        "rollback: none",
        "2 migrations, 1 with a rollback",
    ]);
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn dbmate_migrations_run_in_dbmate_s_order() {
    // dbmate sorts by whole file name: 10_b.sql runs before 9_a.sql, and here needs to.
    let repo = support::TempRepo::new();
    repo.write(
        "db/migrations/10_b.sql",
        "-- migrate:up\nCREATE TABLE b (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE b;\n",
    );
    repo.write(
        "db/migrations/9_a.sql",
        "-- migrate:up\nCREATE TABLE a (b_id int REFERENCES b (id));\n-- migrate:down\nDROP TABLE a;\n",
    );
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.in_order(&["1. 10 b", "2. 9 a"]);
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn diesel_and_dbmate_decide_the_transaction_by_their_directive_alone() {
    // diesel runs down.sql in a transaction unless metadata.toml says otherwise: a DROP INDEX
    // CONCURRENTLY there fails in production, so it fails here, at the statement, with the fix.
    let repo = support::TempRepo::from_fixture("directive-only-transaction");
    let dir = "migrations/2024-01-15-093000_index_teams";
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has(&format!(
        "{dir}/down.sql:1:1: DROP INDEX CONCURRENTLY cannot run inside a transaction block"
    ));
    out.stdout_has("fix: diesel runs this file in a transaction: put a metadata.toml with `run_in_transaction = false` in its folder");
    // The near miss: with the directive, it runs outside a transaction and passes.
    repo.write(&format!("{dir}/metadata.toml"), "run_in_transaction = false\n");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);

    // dbmate: a section without transaction:false runs in a transaction.
    let repo = support::TempRepo::new();
    repo.write(
        "db/migrations/1_t.sql",
        "-- migrate:up\nCREATE TABLE t (x int);\n-- migrate:down\nDROP TABLE t;\n",
    );
    repo.write(
        "db/migrations/2_i.sql",
        "-- migrate:up\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY t_x;\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("db/migrations/2_i.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    out.stdout_has(
        "fix: dbmate runs this section in a transaction: add `transaction:false` to its `-- migrate:up` or `-- migrate:down` line",
    );
}
