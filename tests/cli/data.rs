//! Data: a rollback restores the data the migration kept (on the lint's copy with generated
//! rows), a column the migration drops is said, and `[data]` turns it off or sizes it.

use std::fs;

use crate::support::{check, normalize, Dbgate, TempRepo};

fn json_of(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `dbgate check` in `repo` is an input error (exit 2) that says `needle`.
fn input_error(repo: &TempRepo, needle: &str) {
    Dbgate::at(repo.path()).args(["check"]).run().code(2).stderr_has(needle);
}

/// The migration of a JSON report whose file ends with `name`.
fn migration<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["file"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no migration {name}"))
}

#[test]
fn a_rollback_that_loses_values_fails_and_one_that_keeps_them_passes() {
    let repo = TempRepo::from_fixture("data-rollbacks");
    let (json, junit) = (repo.path().join("report.json"), repo.path().join("junit.xml"));
    let out = Dbgate::at(repo.path())
        .args(["check", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .run();
    out.code(1);
    let report = json_of(&json);
    // A type change and back, a rename and back, a table only DML touched: kept.
    for name in ["002_widen_email.sql", "003_rename_status.sql", "006_audit_names.sql"] {
        assert_eq!(
            check(migration(&report, name), "data")["status"],
            "passed",
            "{name}: {}",
            out.stdout
        );
    }
    // A migration that names no table that existed before it has nothing to say.
    let new_table = migration(&report, "001_create_users.sql");
    assert!(
        new_table["checks"].as_array().unwrap().iter().all(|c| c["kind"] != "data"),
        "{new_table}"
    );
    // Dropped and added again: the schema is back, the values are not.
    let lost = check(migration(&report, "004_limit_name.sql"), "data");
    assert_eq!(lost["status"], "failed");
    assert_eq!(check(migration(&report, "004_limit_name.sql"), "rollback")["status"], "passed");
    let failure = &lost["failures"][0];
    assert_eq!(
        failure["message"],
        "public.users.name: 20 of 20 rows lost their value after 004_limit_name_rollback.sql"
    );
    assert!(failure["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("004_limit_name_rollback.sql"));
    assert_eq!(failure["location"]["line"], 2);
    // Passes on the empty tables of the replay; fails on rows, as in production.
    let on_rows = check(migration(&report, "005_drop_legacy_code.sql"), "data");
    assert_eq!(on_rows["status"], "failed");
    assert!(on_rows["failures"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("fails on tables with rows: column \"legacy_code\" of relation \"users\" contains null values"));
    assert_eq!(on_rows["failures"][0]["location"]["line"], 2);
    // The migration itself drops data: the lint's drop-column and drop-table say so, once.
    let said: Vec<&str> = ["005_drop_legacy_code.sql", "007_drop_audit.sql"]
        .iter()
        .flat_map(|name| migration(&report, name)["lint"].as_array().unwrap())
        .map(|finding| finding["rule"].as_str().unwrap())
        .filter(|rule| rule.starts_with("drop-"))
        .collect();
    assert_eq!(said, ["drop-column", "drop-table"]);
    assert!(on_rows.get("warnings").is_none(), "{on_rows}");
    assert_eq!(check(migration(&report, "007_drop_audit.sql"), "data")["status"], "passed");
    let console: String = out
        .stdout
        .lines()
        .filter(|l| !l.contains("warning (lint)"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("data_rollbacks_console", normalize(&console));
    let junit = fs::read_to_string(&junit).unwrap();
    let suite = &junit[junit.find("<testsuite id=\"5\"").unwrap_or(0)..];
    assert!(junit.contains("name=\"dbgate data\""), "{junit}");
    assert!(suite.contains("20 of 20 rows lost their value"), "{junit}");
}

#[test]
fn check_rollbacks_false_turns_the_data_check_off_and_rows_sizes_it() {
    let repo = TempRepo::from_fixture("data-rollbacks");
    repo.write("dbgate.toml", "[data]\ncheck_rollbacks = false\n");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    // Only the lint's warnings are left.
    out.code(0);
    let report = json_of(&json);
    for m in report["migrations"].as_array().unwrap() {
        assert!(m["checks"].as_array().unwrap().iter().all(|c| c["kind"] != "data"), "{m}");
    }
    // Sized by [data] rows, and on with the lint off: then it says what the migration drops.
    repo.write("dbgate.toml", "[lint]\nenabled = false\n[data]\nrows = 7\n");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1).stdout_has("public.users.name: 7 of 7 rows lost their value");
    let report = json_of(&json);
    let warning = &check(migration(&report, "005_drop_legacy_code.sql"), "data")["warnings"][0];
    assert_eq!(warning["kind"], "dropped_data");
    assert_eq!(
        warning["message"],
        "drops public.users.legacy_code with its data; no rollback can restore it"
    );
    assert!(warning["location"]["file"].as_str().unwrap().ends_with("005_drop_legacy_code.sql"));
    assert_eq!(warning["location"]["line"], 1);
    let dropped = check(migration(&report, "007_drop_audit.sql"), "data");
    assert_eq!(dropped["status"], "passed");
    assert_eq!(
        dropped["warnings"][0]["message"],
        "drops public.audit with its rows; no rollback can restore them"
    );
    // The same with only the lint's rule for it off.
    repo.write("dbgate.toml", "[lint]\ndrop-column = \"off\"\n");
    Dbgate::at(repo.path())
        .args(["check"])
        .run()
        .code(1)
        .stdout_has("warning (data): migrations/005_drop_legacy_code.sql:1:1: drops public.users.legacy_code with its data");
    // Sized by --rows over [data] rows.
    repo.write("dbgate.toml", "[lint]\nenabled = false\n[data]\nrows = 7\n");
    let out = Dbgate::at(repo.path()).args(["check", "--rows", "3", "--json"]).arg(&json).run();
    out.code(1).stdout_has("public.users.name: 3 of 3 rows lost their value");
    let report = json_of(&json);
    for m in report["migrations"].as_array().unwrap() {
        assert!(m["checks"].as_array().unwrap().iter().all(|c| c["kind"] != "lint"), "{m}");
    }
    // No rows: nothing to lose, nothing compared.
    Dbgate::at(repo.path()).args(["check", "--rows", "0"]).run().code(0);
}

#[test]
fn data_settings_it_cannot_take_are_config_errors_at_their_line() {
    let repo = TempRepo::from_fixture("data-rollbacks");
    repo.write("dbgate.toml", "[data]\n\nrows = -4\n");
    input_error(&repo, "line 3, [data] rows: must be a whole number from 0 to 10000000");
    repo.write("dbgate.toml", "[lint]\nrows = 20000000\n");
    input_error(&repo, "line 2, [lint] rows: must be a whole number from 0 to 10000000");
    repo.write("dbgate.toml", "[data]\ncheck_rollback = false\n");
    Dbgate::at(repo.path()).args(["check"]).run().code(2).stderr_has("check_rollback");
    repo.write("dbgate.toml", "");
    Dbgate::at(repo.path())
        .args(["check", "--rows", "20000000"])
        .run()
        .code(2)
        .stderr_has("--rows must be a whole number from 0 to 10000000");
}

/// (suite, name, status) of every test case in a JSON report.
fn cases(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["suite"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn case(suite: &str, name: &str, status: &str) -> (String, String, String) {
    (suite.to_string(), name.to_string(), status.to_string())
}

#[test]
fn a_data_migration_with_before_and_after_tests_passes_and_each_is_a_test_case() {
    let repo = TempRepo::from_fixture("data-migration");
    let (json, junit) = (repo.path().join("report.json"), repo.path().join("junit.xml"));
    let out = Dbgate::at(repo.path())
        .args(["check", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .run();
    out.code(0);
    // The rows before.sql put in the old shape are there for the migration: after.sql counts
    // three profiles, mapped by id; after_rollback.sql finds the names back.
    assert_eq!(
        cases(&json_of(&json)),
        [
            case("data_migration", "before 002_split_names.sql: before.sql", "passed"),
            case(
                "data_migration",
                "after 002_split_names.sql: 1 - every user has a profile",
                "passed"
            ),
            case(
                "data_migration",
                "after 002_split_names.sql: 2 - names are mapped by user id; a user without one is named after the e-mail",
                "passed"
            ),
            // Pinned by its first line, in a test folder, by the migration's file name.
            case("data_migration", "after 002_split_names.sql: 01_profiles_count.sql", "passed"),
            case("data_migration", "after 002_split_names_rollback.sql: after_rollback.sql", "passed"),
            case("smoke", "02_users.sql", "passed"),
        ]
    );
    let junit = fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("name=\"dbgate data migration\""), "{junit}");
    insta::assert_snapshot!("data_migration_console", normalize(&out.stdout));
}

#[test]
fn a_data_migration_whose_mapping_is_wrong_fails_at_the_assertion() {
    let repo = TempRepo::from_fixture("data-migration");
    let up = repo.path().join("migrations/002_split_names.sql");
    let text = fs::read_to_string(&up).unwrap();
    fs::write(
        &up,
        text.replace("coalesce(full_name, split_part(email, '@', 1))", "coalesce(email, full_name)"),
    )
    .unwrap();
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("tests/data/002/after.sql:4:1: not ok 2 - names are mapped by user id");
    out.stdout_has("want: (1,\"Ada Lovelace\")");
    let report = json_of(&json);
    let failed: Vec<&serde_json::Value> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", out.stdout);
    assert_eq!(failed[0]["failures"][0]["location"]["line"], 4);
}

#[test]
fn pinned_tests_after_a_failing_migration_are_not_checked_and_without_a_rollback_skipped() {
    let repo = TempRepo::from_fixture("data-migration");
    fs::remove_file(repo.path().join("migrations/002_split_names_rollback.sql")).unwrap();
    repo.write("migrations/003_broken.sql", "ALTER TABLE nowhere ADD COLUMN x int;\n");
    repo.write("tests/data/003_broken/before.sql", "SELECT 1;\n");
    repo.write("tests/data/003_broken/after.sql", "SELECT 1;\n");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    let all = cases(&json_of(&json));
    assert!(
        all.contains(&case("data_migration", "after 002_split_names.sql: after_rollback.sql", "skipped")),
        "{all:?}"
    );
    // The test before it runs; the one after it cannot.
    assert!(
        all.contains(&case("data_migration", "before 003_broken.sql: before.sql", "passed")),
        "{all:?}"
    );
    assert!(
        all.contains(&case("data_migration", "after 003_broken.sql: after.sql", "not_checked")),
        "{all:?}"
    );
}

#[test]
fn a_test_pinned_to_no_migration_is_a_finding_and_a_bad_pin_an_input_error() {
    let repo = TempRepo::from_fixture("data-migration");
    repo.write("tests/data/009/after.sql", "SELECT 1;\n");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("tests/data/009/after.sql:1:1: this data test is pinned to migration 009, but no migration in migrations/ has that version or file name, so it never runs");
    assert_eq!(json_of(&json)["findings"][0]["kind"], "pinned_to_no_migration");
    fs::remove_dir_all(repo.path().join("tests/data/009")).unwrap();

    repo.write("tests/data/002/afterwards.sql", "SELECT 1;\n");
    input_error(
        &repo,
        "tests/data/002/afterwards.sql: a data test's folder holds only before.sql, after.sql and after_rollback.sql",
    );
    fs::remove_file(repo.path().join("tests/data/002/afterwards.sql")).unwrap();

    repo.write("smoke/03_pin.sql", "-- dbgate:after\nSELECT 1;\n");
    input_error(&repo, "smoke/03_pin.sql:1:1: `-- dbgate:after` takes one migration version");
}

#[test]
fn a_migration_over_the_fail_budget_on_volume_fails_and_the_same_on_few_rows_passes() {
    let repo = TempRepo::new();
    repo.migrations(&[
        (
            "001_items",
            "CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL);\n\
             CREATE TABLE guarded (id int PRIMARY KEY);\n\
             CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no rows here'; END $$;\n\
             CREATE TRIGGER guarded_refuses BEFORE INSERT ON guarded FOR EACH ROW EXECUTE FUNCTION refuse();\n",
            "DROP TABLE guarded;\nDROP FUNCTION refuse();\nDROP TABLE items;\n",
        ),
        // A millisecond per row: nothing on the replay's empty table, a second on 1000 rows.
        (
            "002_relabel",
            "SET LOCAL lock_timeout = '1s';\nUPDATE items SET label = label || pg_sleep(0.001)::text;\nALTER TABLE guarded ADD COLUMN note text;\n",
            "SET LOCAL lock_timeout = '1s';\nALTER TABLE guarded DROP COLUMN note;\n",
        ),
    ]);
    repo.write("dbgate.toml", "[migrations]\nfail_seconds = 0.5\n");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--rows", "1000", "--json"]).arg(&json).run();
    out.code(1);
    let report = json_of(&json);
    let relabel = migration(&report, "002_relabel.sql");
    // The replay, on empty tables, is within the budget; on 1000 rows per table it is not.
    assert_eq!(check(relabel, "replay")["status"], "passed");
    let volume = check(relabel, "volume");
    assert_eq!(volume["status"], "failed", "{}", out.stdout);
    let failure = &volume["failures"][0];
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("on 1000 generated rows per table, over its 0.50 s budget ([migrations] fail_seconds)"),
        "{failure}"
    );
    assert_eq!(failure["location"]["line"], 2);
    let moved = &relabel["volume"]["moved"][0];
    assert_eq!(moved["rows"], 1000);
    assert_eq!(moved["location"]["line"], 2);
    assert!(moved["rows_per_second"].as_u64().unwrap() > 0);
    assert_eq!(relabel["volume"]["rows_per_table"], 1000);
    // A table a trigger keeps empty is left so, with the server's reason.
    out.stdout_has("public.guarded was left empty in the copy for migrations/002_relabel.sql: no rows here");
    out.stdout_has("migrations/002_relabel.sql:2:1: 1000 rows in");

    // Over warn_seconds only: a warning.
    repo.write("dbgate.toml", "[migrations]\nwarn_seconds = 0.5\n");
    let out = Dbgate::at(repo.path()).args(["check", "--rows", "1000", "--json"]).arg(&json).run();
    out.code(0);
    let report = json_of(&json);
    let volume = check(migration(&report, "002_relabel.sql"), "volume");
    assert_eq!(volume["status"], "passed");
    assert_eq!(volume["warnings"][0]["kind"], "slow");

    // The same budget on 10 rows per table: within it.
    repo.write("dbgate.toml", "[migrations]\nfail_seconds = 0.5\n");
    let out = Dbgate::at(repo.path()).args(["check", "--rows", "10", "--json"]).arg(&json).run();
    out.code(0);
    assert_eq!(check(migration(&json_of(&json), "002_relabel.sql"), "volume")["status"], "passed");
    // Without --rows or [data] rows there is no volume check.
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    let report = json_of(&json);
    let relabel = migration(&report, "002_relabel.sql");
    assert!(
        relabel["checks"].as_array().unwrap().iter().all(|c| c["kind"] != "volume"),
        "{relabel}"
    );
    assert!(relabel.get("volume").is_none());
}

#[test]
fn the_generator_fills_hard_tables_with_many_rows_or_says_why_not() {
    let repo = TempRepo::new();
    repo.migrations(&[
        (
            "001_schema",
            "CREATE TYPE color AS ENUM ('red', 'green', 'blue');\n\
             CREATE DOMAIN positive AS int CHECK (VALUE > 0);\n\
             CREATE TABLE parent (a int, b text, PRIMARY KEY (a, b));\n\
             CREATE TABLE child (id int PRIMARY KEY, pa int NOT NULL, pb text NOT NULL, c color NOT NULL, n positive NOT NULL,\n\
               FOREIGN KEY (pa, pb) REFERENCES parent (a, b));\n\
             CREATE UNIQUE INDEX child_lower ON child (lower(pb), id);\n\
             CREATE TABLE tree (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES tree (id), name text NOT NULL UNIQUE);\n\
             CREATE TABLE coded (id int PRIMARY KEY, code text NOT NULL CHECK (code ~ '^[A-Z]{3}$'));\n\
             CREATE TABLE flags (id int PRIMARY KEY, flag boolean NOT NULL UNIQUE);\n",
            "DROP TABLE flags, coded, tree, child, parent;\nDROP DOMAIN positive;\nDROP TYPE color;\n",
        ),
        (
            "002_touch_all",
            "SET LOCAL lock_timeout = '1s';\n\
             UPDATE child SET n = n + 1;\nUPDATE tree SET name = name || '!';\nUPDATE coded SET id = id;\nUPDATE flags SET id = id;\n",
            "SELECT 1;\n",
        ),
    ]);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--rows", "3000", "--json"]).arg(&json).run();
    out.code(0);
    let report = json_of(&json);
    let volume = &migration(&report, "002_touch_all.sql")["volume"];
    let filled: Vec<&str> = volume["tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    // Composite keys, enums, domains, unique expressions and self-references: filled.
    for table in ["public.parent", "public.child", "public.tree"] {
        assert!(filled.contains(&table), "{table} not in {filled:?}\n{}", out.stdout);
    }
    let moved: Vec<(u64, u64)> = volume["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["location"]["line"].as_u64().unwrap(), m["rows"].as_u64().unwrap()))
        .collect();
    assert!(moved.contains(&(2, 3000)) && moved.contains(&(3, 3000)), "{moved:?}");
    // A CHECK the generator cannot solve: left empty, with the server's reason.
    out.stdout_has("public.coded was left empty in the copy for migrations/002_touch_all.sql: new row for relation \"coded\" violates check constraint");
    // A UNIQUE boolean holds one row (the last try): filled, with fewer rows.
    assert!(filled.contains(&"public.flags"), "{filled:?}");
}

/// The data check of `name` in the report of `dbgate check` (with `args`) on a repo of
/// `migrations`, and the run's output.
fn data_check_of(migrations: &[(&str, &str, &str)], args: &[&str], name: &str) -> (serde_json::Value, crate::support::Output) {
    let repo = TempRepo::new();
    repo.migrations(migrations);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).args(args).run();
    let report = json_of(&json);
    (check(migration(&report, name), "data").clone(), out)
}

#[test]
fn the_data_is_read_the_same_way_whatever_session_state_the_migrations_leave() {
    // A time zone an earlier migration set, display settings and a role the rollback sets:
    // the values are the same, read the same way.
    let (data, out) = data_check_of(
        &[
            (
                "001_events",
                "SET TIME ZONE 'Asia/Tokyo';\nCREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL, d date, iv interval);\n\
                 CREATE ROLE data_owner;\nALTER TABLE ev OWNER TO data_owner;\nALTER TABLE ev ENABLE ROW LEVEL SECURITY;\nALTER TABLE ev FORCE ROW LEVEL SECURITY;\n\
                 CREATE POLICY half ON ev USING (id % 2 = 0) WITH CHECK (true);\n",
                "DROP TABLE ev;\nDROP ROLE data_owner;\n",
            ),
            (
                "002_note",
                "ALTER TABLE ev ADD COLUMN note text;\n",
                "SET TIME ZONE 'America/New_York';\nSET DateStyle = 'SQL, DMY';\nSET IntervalStyle = 'iso_8601';\nSET ROLE data_owner;\nALTER TABLE ev DROP COLUMN note;\n",
            ),
        ],
        &[],
        "002_note.sql",
    );
    assert_eq!(data["status"], "passed", "{}", out.stdout);
}

#[test]
fn a_backfill_the_rollback_leaves_alone_is_the_migration_s_data_fix_but_a_changed_column_must_come_back() {
    let users = (
        "001_users",
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, disabled boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;\n\
         CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();\n",
        "DROP TABLE users;\nDROP FUNCTION touch();\n",
    );
    // A column added and backfilled: the trigger moves updated_at, which no DDL touched.
    let (data, out) = data_check_of(
        &[
            users,
            (
                "002_backfill",
                "ALTER TABLE users ADD COLUMN name_lower text;\nUPDATE users SET name_lower = lower(name);\n",
                "ALTER TABLE users DROP COLUMN name_lower;\n",
            ),
        ],
        &[],
        "002_backfill.sql",
    );
    assert_eq!(data["status"], "passed", "{}", out.stdout);
    // A column renamed and inverted, renamed back but not inverted: the same multiset of
    // values (half true, half false), in other rows.
    let (data, out) = data_check_of(
        &[
            users,
            (
                "002_invert",
                "ALTER TABLE users RENAME COLUMN disabled TO enabled;\nUPDATE users SET enabled = NOT enabled;\n",
                "ALTER TABLE users RENAME COLUMN enabled TO disabled;\n",
            ),
        ],
        &[],
        "002_invert.sql",
    );
    assert_eq!(data["status"], "failed", "{}", out.stdout);
    assert_eq!(
        data["failures"][0]["message"],
        "public.users.disabled: the values after 002_invert_rollback.sql are not the ones before 002_invert.sql (20 rows: the same values, in other rows)"
    );
}

#[test]
fn a_table_rebuilt_under_its_own_name_is_compared_and_a_kept_copy_restored_is_no_loss() {
    // Made partitioned: a new table of the same name; the rollback loses a column's values.
    let (data, out) = data_check_of(
        &[
            (
                "001_events",
                "CREATE TABLE events (id int NOT NULL, at date NOT NULL, body text NOT NULL);\n",
                "DROP TABLE events;\n",
            ),
            (
                "002_partition",
                "ALTER TABLE events RENAME TO events_old;\n\
                 CREATE TABLE events (id int NOT NULL, at date NOT NULL, body text NOT NULL) PARTITION BY RANGE (at);\n\
                 CREATE TABLE events_default PARTITION OF events DEFAULT;\n\
                 INSERT INTO events SELECT * FROM events_old;\nDROP TABLE events_old;\n",
                "CREATE TABLE events_flat (id int NOT NULL, at date NOT NULL, body text);\n\
                 INSERT INTO events_flat (id, at) SELECT id, at FROM events;\nDROP TABLE events;\n\
                 ALTER TABLE events_flat RENAME TO events;\nALTER TABLE events ALTER COLUMN body SET NOT NULL;\n",
            ),
        ],
        &[],
        "002_partition.sql",
    );
    // The rollback cannot even run on rows (NOT NULL on the emptied column): it fails there.
    assert_eq!(data["status"], "failed", "{}", out.stdout);
    assert!(
        data["failures"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("fails on tables with rows"),
        "{data}"
    );

    // A column moved to a backup table and restored from it: no loss, no warning.
    let backup = (
        "002_drop_legacy",
        "CREATE TABLE users_legacy (id int, legacy text);\nINSERT INTO users_legacy SELECT id, legacy FROM users;\nALTER TABLE users DROP COLUMN legacy;\n",
        "ALTER TABLE users ADD COLUMN legacy text;\nUPDATE users u SET legacy = b.legacy FROM users_legacy b WHERE b.id = u.id;\nDROP TABLE users_legacy;\n",
    );
    let users = (
        "001_users",
        "CREATE TABLE users (id int PRIMARY KEY, legacy text);\n",
        "DROP TABLE users;\n",
    );
    let repo = TempRepo::new();
    repo.migrations(&[users, backup]);
    repo.write("dbgate.toml", "[lint]\nenabled = false\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    assert!(!out.stdout.contains("warning (data)"), "{}", out.stdout);
    // Not restored: the warning, at the DROP.
    repo.write(
        "migrations/002_drop_legacy_rollback.sql",
        "ALTER TABLE users ADD COLUMN legacy text;\nDROP TABLE users_legacy;\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has(
        "warning (data): migrations/002_drop_legacy.sql:3:1: drops public.users.legacy with its data; no rollback can restore it",
    );
}

#[test]
fn a_rollback_that_ends_its_session_on_rows_fails_the_data_check_and_the_rest_goes_on() {
    let repo = TempRepo::new();
    repo.migrations(&[
        ("001_users", "CREATE TABLE users (id int PRIMARY KEY);\n", "DROP TABLE users;\n"),
        (
            "002_add",
            "ALTER TABLE users ADD COLUMN y int;\n",
            "SELECT pg_terminate_backend(pg_backend_pid()) FROM users LIMIT 1;\nALTER TABLE users DROP COLUMN y;\n",
        ),
        (
            "003_more",
            "ALTER TABLE users ADD COLUMN z int;\n",
            "ALTER TABLE users DROP COLUMN z;\n",
        ),
    ]);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    let report = json_of(&json);
    let data = check(migration(&report, "002_add.sql"), "data");
    assert_eq!(data["status"], "failed", "{}", out.stdout);
    assert!(data["failures"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("ends its session on tables with rows"));
    assert_eq!(data["failures"][0]["location"]["line"], 1);
    // The lint's database is rebuilt and the next migration checked there.
    assert_eq!(
        check(migration(&report, "003_more.sql"), "data")["status"],
        "passed",
        "{}",
        out.stdout
    );
    assert_eq!(check(migration(&report, "003_more.sql"), "lint")["status"], "passed");
}

#[test]
fn with_no_rows_nothing_is_compared_and_the_check_says_so() {
    let (data, out) = data_check_of(
        &[
            (
                "001_users",
                "CREATE TABLE users (id int PRIMARY KEY, email text);\n",
                "DROP TABLE users;\n",
            ),
            (
                "002_lose",
                "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\n",
                "ALTER TABLE users DROP COLUMN email;\nALTER TABLE users ADD COLUMN email text;\n",
            ),
        ],
        &["--rows", "0"],
        "002_lose.sql",
    );
    assert_eq!(data["status"], "skipped", "{}", out.stdout);
    assert!(data["skip_reason"].as_str().unwrap().contains("held no rows"), "{data}");
    out.stdout_has("volume: 0.00 s; --rows 0 put no rows in its tables");
}

#[test]
fn pins_are_read_as_people_write_them_and_one_several_migrations_match_is_a_finding() {
    let repo = TempRepo::from_fixture("data-migration");
    // Any case, a space after the colon, the file name's spelling; by version number.
    repo.write(
        "smoke/03_spelled.sql",
        "-- DBGATE: After_Rollback 2\nSELECT 1 / (SELECT count(*)::int FROM users WHERE full_name IS NOT NULL);\n",
    );
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    assert!(
        cases(&json_of(&json)).contains(&case(
            "data_migration",
            "after 002_split_names_rollback.sql: 03_spelled.sql",
            "passed"
        )),
        "{}",
        out.stdout
    );
    // A word dbgate does not know: an input error, not an ordinary test run at the wrong time.
    repo.write("smoke/03_spelled.sql", "-- dbgate:aftr 002\nSELECT 1;\n");
    input_error(
        &repo,
        "smoke/03_spelled.sql:1:1: `-- dbgate:aftr` on a test file's first line is not a pin dbgate knows",
    );
    fs::remove_file(repo.path().join("smoke/03_spelled.sql")).unwrap();
    // pgTAP in a before test: said, not a mystery of a missing function.
    repo.write("tests/data/001/before.sql", "SELECT plan(1);\nSELECT ok(true);\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("tests/data/001/before.sql:1:1: a before test puts rows in, and what it does is kept, so pgTAP");
    fs::remove_dir_all(repo.path().join("tests/data/001")).unwrap();
    // Two migrations of one version under name order: the pin names neither.
    repo.write("dbgate.toml", "[migrations]\norder = \"name\"\n");
    repo.write("migrations/002_zz_more.sql", "CREATE TABLE more (id int);\n");
    repo.write("migrations/002_zz_more_rollback.sql", "DROP TABLE more;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("tests/data/002/after.sql:1:1: this data test is pinned to 002, which 2 migrations have");
    assert!(!out.stdout.contains("before 002_split_names.sql"), "{}", out.stdout);
}

#[test]
fn a_pinned_test_takes_the_search_path_a_migration_set_on_the_login_role() {
    // A data test runs in a new session, which takes the role's search path as a new
    // connection does; `t` resolves only through it.
    let run = |set_on_role: bool| {
        let repo = TempRepo::new();
        let role = if set_on_role {
            "ALTER ROLE CURRENT_USER SET search_path = app, public;\n"
        } else {
            ""
        };
        repo.migrations(&[
            (
                "001_app",
                &format!("CREATE SCHEMA app;\nCREATE TABLE app.t (id int);\n{role}"),
                "ALTER ROLE CURRENT_USER RESET search_path;\nDROP SCHEMA app CASCADE;\n",
            ),
            ("002_u", "CREATE TABLE app.u (id int);\n", "DROP TABLE app.u;\n"),
        ]);
        repo.write("tests/data/002_u/after.sql", "SELECT count(*) FROM t;\n");
        let json = repo.path().join("report.json");
        let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
        (out, cases(&json_of(&json)))
    };
    let (out, all) = run(true);
    out.code(0);
    assert!(
        all.contains(&case("data_migration", "after 002_u.sql: after.sql", "passed")),
        "{all:?}"
    );
    // Near miss: no search path on the role, and `t` is not found.
    let (out, all) = run(false);
    out.code(1);
    assert!(
        all.contains(&case("data_migration", "after 002_u.sql: after.sql", "failed")),
        "{all:?}"
    );
}
