//! Incremental snapshots (what a script touched, from event triggers) must give the verdicts of
//! full snapshots, including where a change shows only in another object's text.

use crate::support::{self, fixture, same_verdicts_with_and_without_incremental_snapshots, Dbgate};

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
    let failures = support::check(&verdicts["migrations"][7], "rollback")["failures"].to_string();
    for object in [
        "\"table\",\"name\":\"app2.a\"",
        "\"view\",\"name\":\"app2.v\"",
        "b_a_id_fkey on app2.b",
        "b_visible on app2.b",
    ] {
        assert!(failures.contains(object), "{object} not named: {failures}");
    }
    for migration in &verdicts["migrations"].as_array().unwrap()[..7] {
        assert_eq!(support::check(migration, "rollback")["status"], "passed", "{migration}");
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
    let failures = support::check(&verdicts["migrations"][1], "rollback")["failures"].to_string();
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
    let swap = support::check(&verdicts["migrations"][1], "rollback").to_string();
    assert!(
        swap.contains("\"status\":\"failed\"") && swap.contains("\"attribute\":\"owner\""),
        "{swap}"
    );
    let sweep = support::check(&verdicts["migrations"][2], "rollback").to_string();
    assert!(sweep.contains("SELECT on table public.t to r_c"), "{sweep}");
}

/// Every fixture repo (a folder with migrations), found rather than listed, so that a new
/// fixture is covered as soon as it exists.
#[test]
fn incremental_matches_full_on_every_fixture() {
    let mut repos: Vec<std::path::PathBuf> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            ["migrations", "db/migrations", "supabase/migrations"]
                .iter()
                .any(|dir| path.join(dir).is_dir())
        })
        .collect();
    repos.sort();
    repos.push(fixture("../.."));
    assert!(repos.len() > 30, "{repos:?}");
    // Two at a time: each run is a server of its own.
    for pair in repos.chunks(2) {
        std::thread::scope(|scope| {
            for repo in pair {
                scope.spawn(move || same_verdicts_with_and_without_incremental_snapshots(repo));
            }
        });
    }
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
        support::check(&verdicts["migrations"][1], "rollback")["failures"]
            .to_string()
            .contains("t_id on public.t"),
        "{verdicts}"
    );
}

#[test]
fn a_migration_that_deallocates_dbgate_s_statements_is_checked_not_an_environment_error() {
    // DISCARD ALL and DEALLOCATE ALL take the session's prepared statements, dbgate's among
    // them: dbgate prepares its queries again and goes on reading only what changed, with the
    // verdicts full snapshots give.
    let repo = support::TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n"),
        ("002_discard", "DISCARD ALL;\n", "DEALLOCATE ALL;\n"),
        ("003_b", "CREATE TABLE b (id int);\n", "SELECT 1;\n"),
    ]);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    assert_eq!(
        support::check(&verdicts["migrations"][1], "rollback")["status"],
        "passed",
        "{verdicts}"
    );
    // The forgotten DROP TABLE b after them is still found.
    let rollback = support::check(&verdicts["migrations"][2], "rollback");
    assert!(
        rollback["failures"].to_string().contains("table public.b is still there"),
        "{rollback}"
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    assert!(!out.stdout.contains("warning:"), "{}", out.stdout);
}
