//! The lint: every rule on a fixture where it fires and a near miss where it must not, the
//! row generator on hard tables, severities, allow comments, and the SARIF file against its
//! schema.

use std::collections::BTreeSet;
use std::fs;

use crate::support::{fixture, normalize, Dbgate, TempRepo};

/// (file, line, rule, allowed) of every lint finding in a JSON report.
fn findings(report: &serde_json::Value) -> BTreeSet<(String, u64, String, bool)> {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["lint"].as_array().cloned().unwrap_or_default())
        .map(|f| {
            let file = f["location"]["file"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            (
                file,
                f["location"]["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f.get("allowed").is_some(),
            )
        })
        .collect()
}

fn json_of(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_rule_fires_on_its_fixture_and_stays_silent_on_its_near_miss() {
    let repo = TempRepo::from_fixture("lint-rules");
    let (json, sarif, junit) = (
        repo.path().join("report.json"),
        repo.path().join("lint.sarif"),
        repo.path().join("junit.xml"),
    );
    let out = Dbgate::at(repo.path())
        .args(["check", "--json"])
        .arg(&json)
        .arg("--sarif")
        .arg(&sarif)
        .arg("--junit")
        .arg(&junit)
        .run();
    // With no base every finding is a warning.
    out.code(0);
    let expected: BTreeSet<(String, u64, String, bool)> = [
        ("002_index_accounts_name.sql", 2, "create-index-without-concurrently", false),
        // A plain CREATE INDEX in a file that runs without a transaction, observed in place.
        ("004_index_concurrently.sql", 3, "create-index-without-concurrently", false),
        ("005_drop_index.sql", 2, "drop-index-without-concurrently", false),
        ("007_reindex.sql", 2, "reindex-without-concurrently", false),
        ("009_lock_then_backfill.sql", 2, "exclusive-lock-held", false),
        ("011_no_lock_timeout.sql", 1, "lock-timeout-missing", false),
        ("012_type_change_rewrites.sql", 2, "table-rewrite", false),
        ("015_volatile_default.sql", 2, "table-rewrite", false),
        ("017_set_not_null.sql", 2, "set-not-null-scan", false),
        ("021_check_without_not_valid.sql", 2, "constraint-without-not-valid", false),
        ("022_foreign_key_without_not_valid.sql", 2, "constraint-without-not-valid", false),
        ("023_unique.sql", 2, "unique-without-using-index", false),
        ("026_drop_table.sql", 2, "drop-table", false),
        ("027_drop_column.sql", 2, "drop-column", false),
        ("028_drop_type.sql", 1, "drop-type", false),
        ("029_rename_table.sql", 2, "rename-table", false),
        ("030_rename_column.sql", 2, "rename-column", false),
        ("031_narrowing.sql", 2, "narrowing-type-change", false),
        ("031_narrowing.sql", 2, "table-rewrite", false),
        ("032_not_null_without_default.sql", 2, "not-null-without-default", false),
        ("033_fails_with_rows.sql", 2, "fails-with-rows", false),
        // Observed again without the rows, the same statement rewrites the table.
        ("033_fails_with_rows.sql", 2, "table-rewrite", false),
        ("034_allowed.sql", 3, "drop-column", true),
        // A partitioned table: its partitions' scan counts, its column said once, ON ONLY silent.
        ("036_partitioned_changes.sql", 5, "set-not-null-scan", false),
        ("036_partitioned_changes.sql", 6, "drop-column", false),
        // The table's file is kept, its index is built again (observed).
        ("037_collation_rebuilds_index.sql", 2, "table-rewrite", false),
        // An index built by a DO block, seen in the catalog and its lock.
        ("038_index_in_a_do_block.sql", 2, "create-index-without-concurrently", false),
        ("039_block_comment_allow.sql", 3, "drop-column", true),
        // A column of a table renamed earlier in the migration existed under the old name.
        ("042_rename_then_drop.sql", 2, "rename-table", false),
        ("042_rename_then_drop.sql", 4, "drop-column", false),
    ]
    .into_iter()
    .map(|(file, line, rule, allowed)| (file.to_string(), line, rule.to_string(), allowed))
    .collect();
    let report = json_of(&json);
    let found = findings(&report);
    // Exactly these: each near miss (003 a new table, 004/006/008 CONCURRENTLY, 010 a comment
    // after the lock, 013/014 a binary-coercible type change, which keeps its index's file too,
    // 016 a constant default, 018-020 SET NOT NULL after a validated check, 019 VALIDATE,
    // 024/025 USING INDEX, 035 a new partitioned table, SET LOCAL lock_timeout everywhere else)
    // stays silent.
    assert_eq!(
        found.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, u64, String, bool)>::new(),
        "unexpected findings"
    );
    assert_eq!(
        expected.difference(&found).collect::<Vec<_>>(),
        Vec::<&(String, u64, String, bool)>::new(),
        "missing findings"
    );
    // Every rule but the security advisors (their own test below) has a case here.
    let rules: BTreeSet<&str> = expected.iter().map(|(_, _, rule, _)| rule.as_str()).collect();
    assert_eq!(rules.len(), 17, "{rules:?}");

    // What was observed, in the messages.
    out.stdout_has("002_index_accounts_name.sql:2:1: create-index-without-concurrently: CREATE INDEX accounts_name on existing table public.accounts without CONCURRENTLY blocks writes to it while the index builds (SHARE lock observed)");
    out.stdout_has("009_lock_then_backfill.sql:2:1: exclusive-lock-held: takes ACCESS EXCLUSIVE on existing table public.accounts and holds it while line 3's UPDATE accounts SET flag = true runs in the same transaction");
    out.stdout_has("015_volatile_default.sql:2:1: table-rewrite: adding column token (its default or generated value is computed for every row) rewrites existing table public.items (observed: its file was rewritten)");
    out.stdout_has("032_not_null_without_default.sql:2:1: not-null-without-default: adds NOT NULL column sku without a default to existing table public.items: it fails on a table with rows (observed: column \"sku\" of relation \"items\" contains null values)");
    out.stdout_has("033_fails_with_rows.sql:2:1: fails-with-rows: fails on tables with rows (dbgate put rows in public.accounts, public.items): invalid input syntax for type integer: \"label_1\"");
    out.stdout_has("allowed (lint): migrations/034_allowed.sql:3:1: drop-column: drops existing column public.accounts.created_at (allowed: the column moved to the audit table in release 2.3)");
    // The replay's verdicts do not change: the lint works in a database of its own.
    out.stdout_has("PASSED 82 checks passed, 0 failed, 28 warnings, 123 skipped");
    assert!(!out.stdout.contains("left empty"), "{}", out.stdout);

    // JUnit: a `dbgate lint` suite, a case per finding at its line (30), and one for each of
    // the 15 migrations linted without one.
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite id="4" name="dbgate lint" tests="45" failures="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="drop-table at migrations/026_drop_table.sql:2:1" classname="dbgate.lint.drop-table" time="0.000" file="migrations/026_drop_table.sql" line="2">"#),
        "{xml}"
    );
    assert!(
        xml.contains("allowed at migrations/034_allowed.sql:2:1: the column moved to the audit table in release 2.3"),
        "{xml}"
    );

    // SARIF 2.1.0, valid against its schema, with every rule and a result per finding.
    let text = fs::read_to_string(&sarif).unwrap();
    validate_sarif(&sarif);
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 28);
    assert_eq!(run["results"].as_array().unwrap().len(), expected.len());
    insta::assert_snapshot!("sarif_lint_rules", normalize(&text));
}

/// Validates a SARIF file against the SARIF 2.1.0 JSON schema (the copy the serde-sarif crate
/// ships, in the fixtures) with Python's jsonschema, which CI installs.
fn validate_sarif(path: &std::path::Path) {
    let schema = fixture("sarif").join("sarif-schema-2.1.0.json");
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the SARIF file does not validate (python3 with jsonschema is needed: pip install jsonschema):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_base_makes_breaking_and_locking_findings_errors_and_an_allow_comment_lets_one_through() {
    let repo = crate::history::on_a_branch();
    repo.migrations(&[(
        "004_drop_orders_id",
        "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n",
        "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;\n",
    )]);
    crate::history::commit(&repo, "new");
    let out = Dbgate::at(repo.path()).args(["check", "--base", "main"]).run();
    out.code(1);
    out.stdout_has("lint           FAILED");
    out.stdout_has(
        "migrations/004_drop_orders_id.sql:2:1: create-index-without-concurrently: CREATE INDEX users_email on existing table public.users",
    );
    out.stdout_has("why: CREATE INDEX holds a SHARE lock on the table for the whole build");
    out.stdout_has("fix: CREATE INDEX CONCURRENTLY");
    // The base's own migrations are not linted.
    assert_eq!(
        out.stdout.matches(", lint").count() + out.stdout.matches("lint  ").count(),
        1,
        "{}",
        out.stdout
    );

    // The near miss: the same statement, allowed with a reason.
    repo.write(
        "migrations/004_drop_orders_id.sql",
        "ALTER TABLE users ADD COLUMN email text;\n-- dbgate:allow create-index-without-concurrently users has 40 rows in production\nCREATE INDEX users_email ON users (email);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check", "--base", "main"]).run();
    out.code(0);
    out.stdout_has("allowed (lint): migrations/004_drop_orders_id.sql:3:1: create-index-without-concurrently: CREATE INDEX users_email on existing table public.users");
    out.stdout_has("(allowed: users has 40 rows in production)");

    // With a base, an allow naming no rule fails the migration's lint at its line.
    repo.write(
        "migrations/004_drop_orders_id.sql",
        "ALTER TABLE users ADD COLUMN email text;\n-- dbgate:allow create-index-without-concurency users has 40 rows\nCREATE INDEX users_email ON users (email);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check", "--base", "main"]).run();
    out.code(1);
    out.stdout_has(
        "migrations/004_drop_orders_id.sql:2:1: -- dbgate:allow names 'create-index-without-concurency', which is no rule of dbgate's",
    );
}

#[test]
fn severities_set_in_dbgate_toml_win_and_lint_can_be_turned_off() {
    let repo = TempRepo::new();
    repo.migrations(&[
        (
            "001_a",
            "CREATE TABLE a (id int, v text);\nCREATE TABLE b (id int);\n",
            "DROP TABLE b;\nDROP TABLE a;\n",
        ),
        (
            "002_b",
            "SET LOCAL lock_timeout = '1s';\nDROP TABLE b;\nCREATE INDEX a_v ON a (v);\n",
            "CREATE TABLE b (id int);\nDROP INDEX a_v;\n",
        ),
    ]);
    repo.write(
        "dbgate.toml",
        "[lint]\ndrop-table = \"error\"\ncreate-index-without-concurrently = \"off\"\n",
    );
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has("migrations/002_b.sql:2:1: drop-table: drops existing table public.b");
    assert!(!out.stdout.contains("create-index-without-concurrently"), "{}", out.stdout);

    repo.write("dbgate.toml", "[lint]\nenabled = false\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    assert!(!out.stdout.contains("lint"), "{}", out.stdout);
}

#[test]
fn a_lint_setting_dbgate_cannot_take_is_a_config_error_at_its_line() {
    let repo = TempRepo::new();
    repo.migrations(&[("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")]);
    for (toml, says) in [
        (
            "[lint]\nrows = 20\ndrop-tables = \"error\"\n",
            "dbgate.toml: line 3, [lint] drop-tables: no rule of dbgate's has this id (`dbgate rules` lists them",
        ),
        (
            "[lint]\ndrop-table = \"fatal\"\n",
            "dbgate.toml: line 2, [lint] drop-table: must be \"error\", \"warning\" or \"off\", not \"fatal\"",
        ),
        (
            "[lint]\nrows = -1\n",
            "dbgate.toml: line 2, [lint] rows: must be a whole number from 0 to 1000000",
        ),
        (
            "[lint]\nenabled = \"yes\"\n",
            "dbgate.toml: line 2, [lint] enabled: must be true or false",
        ),
    ] {
        repo.write("dbgate.toml", toml);
        let out = Dbgate::at(repo.path()).arg("check").run();
        out.code(2);
        out.stderr_has(says);
    }
}

#[test]
fn an_allow_comment_dbgate_cannot_read_fails_at_its_line_and_one_that_allows_nothing_warns() {
    let repo = TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n"),
        (
            "002_b",
            "-- dbgate:allow drop-tabel typo in the id\nALTER TABLE a ADD COLUMN v int;\n-- dbgate:allow drop-table\nSELECT 1;\n-- dbgate:allow drop-column nothing is dropped here\nSELECT 2;\n",
            "ALTER TABLE a DROP COLUMN v;\n",
        ),
    ]);
    // With no base, a warning, as every finding is.
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("warning (lint): migrations/002_b.sql:1:1: -- dbgate:allow names 'drop-tabel', which is no rule of dbgate's (`dbgate rules` lists them); it allows nothing until it is fixed");
    out.stdout_has("warning (lint): migrations/002_b.sql:3:1: -- dbgate:allow drop-table needs a reason after the rule id (the report shows it); it allows nothing until it has one");
    out.stdout_has("warning (lint): migrations/002_b.sql:5:1: -- dbgate:allow drop-column allows nothing here: the rule found nothing at this statement");
}

#[test]
fn the_row_generator_fills_hard_tables_or_says_why_it_could_not() {
    let repo = TempRepo::new();
    repo.migrations(&[
        (
            "001_schema",
            "CREATE TYPE color AS ENUM ('red', 'green');\n\
             CREATE DOMAIN positive AS int CHECK (VALUE > 0);\n\
             CREATE TABLE parent (a int, b text, PRIMARY KEY (a, b));\n\
             CREATE TABLE child (id int PRIMARY KEY, pa int NOT NULL, pb text NOT NULL, c color NOT NULL, n positive NOT NULL,\n\
               FOREIGN KEY (pa, pb) REFERENCES parent (a, b));\n\
             CREATE UNIQUE INDEX child_lower ON child (lower(pb), id);\n\
             CREATE TABLE tree (id int PRIMARY KEY, parent_id int REFERENCES tree (id), name text NOT NULL UNIQUE);\n\
             CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL CHECK (email LIKE '%_@_%'), status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'active')));\n\
             CREATE UNIQUE INDEX people_email ON people (lower(email));\n\
             CREATE TABLE odd (id int PRIMARY KEY, code text NOT NULL CHECK (code ~ '^[A-Z]{3}$'));\n\
             CREATE TABLE chain (id int PRIMARY KEY, up int NOT NULL REFERENCES chain (id), span int4range NOT NULL, flag boolean NOT NULL UNIQUE);\n\
             CREATE SCHEMA app;\nCREATE TABLE app.t (v int);\nCREATE TABLE public.t (v int);\n",
            "DROP TABLE odd, people, tree, child, parent, chain, app.t, public.t;\nDROP SCHEMA app;\nDROP DOMAIN positive;\nDROP TYPE color;\n",
        ),
        ("002_child", "SET LOCAL lock_timeout = '1s';\nALTER TABLE child ADD COLUMN x int NOT NULL;\n", "SELECT 1;\n"),
        ("003_tree", "SET LOCAL lock_timeout = '1s';\nALTER TABLE tree ADD COLUMN x int NOT NULL;\n", "SELECT 1;\n"),
        ("004_people", "SET LOCAL lock_timeout = '1s';\nALTER TABLE people ADD COLUMN x int NOT NULL;\n", "SELECT 1;\n"),
        ("005_odd", "SET LOCAL lock_timeout = '1s';\nALTER TABLE odd ADD COLUMN x int NOT NULL;\n", "SELECT 1;\n"),
        ("006_chain", "SET LOCAL lock_timeout = '1s';\nALTER TABLE chain ADD COLUMN x int NOT NULL;\n", "SELECT 1;\n"),
        // The table the statement names is the one the migration's own search_path finds.
        (
            "007_search_path",
            "SET LOCAL lock_timeout = '1s';\nSET LOCAL search_path = app;\nALTER TABLE t ADD COLUMN x int NOT NULL;\n",
            "SELECT 1;\n",
        ),
    ]);
    let out = Dbgate::at(repo.path()).arg("check").run();
    // Composite foreign keys (parents first), enum and domain columns, a self-reference,
    // unique expressions, an e-mail CHECK and a default a CHECK admits: filled, so the ADD
    // COLUMN fails on their rows.
    for (file, table) in [("002_child", "child"), ("003_tree", "tree"), ("004_people", "people")] {
        out.stdout_has(&format!(
            "migrations/{file}.sql:2:1: not-null-without-default: adds NOT NULL column x without a default to existing table public.{table}: it fails on a table with rows (observed: column \"x\" of relation \"{table}\" contains null values)"
        ));
    }
    // A CHECK the generator cannot satisfy: the table is left empty, and the report says why.
    out.stdout_has("migrations/005_odd.sql:2:1: not-null-without-default: adds NOT NULL column x without a default to existing table public.odd: it fails on a table with rows (dbgate could not put rows in the table to show it: ");
    out.stdout_has("note: lint: public.odd was left empty in the copy for migrations/005_odd.sql: new row for relation \"odd\" violates check constraint \"odd_code_check\"");
    // A NOT NULL key to the table itself (each row points at itself), a range, a UNIQUE
    // boolean (one row alone): filled.
    out.stdout_has("migrations/006_chain.sql:2:1: not-null-without-default: adds NOT NULL column x without a default to existing table public.chain: it fails on a table with rows (observed: ");
    out.stdout_has("migrations/007_search_path.sql:3:1: not-null-without-default: adds NOT NULL column x without a default to existing table app.t: it fails on a table with rows (observed: ");
}

#[test]
fn dbgate_rules_lists_every_rule_with_why_and_fix() {
    let out = Dbgate::at(std::env::temp_dir()).arg("rules").run();
    out.code(0);
    insta::assert_snapshot!("rules", out.stdout);
}

#[test]
fn the_security_advisors_fire_on_a_supabase_project_and_stay_silent_on_their_near_misses() {
    let repo = TempRepo::from_fixture("lint-advisors");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    let expected: BTreeSet<(String, u64, String, bool)> = [
        ("20240101000001_rls_off.sql", 1, "rls-disabled"),
        ("20240101000003_no_policy.sql", 1, "rls-without-policy"),
        ("20240101000004_policy_rls_off.sql", 1, "rls-disabled"),
        ("20240101000004_policy_rls_off.sql", 1, "policy-without-rls"),
        ("20240101000004_policy_rls_off.sql", 1, "lock-timeout-missing"),
        ("20240101000005_definer_view.sql", 1, "security-definer-view"),
        ("20240101000007_definer_function.sql", 1, "security-definer-function"),
        ("20240101000009_mutable_search_path.sql", 1, "function-search-path-mutable"),
        ("20240101000011_auth_users_view.sql", 1, "auth-users-exposed"),
        ("20240101000012_always_true.sql", 3, "policy-always-true"),
        ("20240101000013_foreign_key_without_index.sql", 1, "foreign-key-without-index"),
        ("20240101000014_no_primary_key.sql", 1, "table-without-primary-key"),
        ("20240101000015_extension_in_public.sql", 1, "extension-in-public"),
        // A foreign key written in its CREATE TABLE is said at that statement.
        ("20240101000017_inline_foreign_keys.sql", 3, "foreign-key-without-index"),
    ]
    .into_iter()
    .map(|(file, line, rule)| (file.to_string(), line, rule.to_string(), false))
    .collect();
    // The near misses (RLS on with a policy and an indexed key, a security_invoker view, a
    // definer function nobody may call, a trigger function, a SELECT USING (true), an extension
    // in a schema of its own, a table in a schema the API does not expose) stay silent; each
    // advisory is said once, by the migration that made it true.
    assert_eq!(findings(&json_of(&json)), expected);
    out.stdout_has("20240101000012_always_true.sql:3:1: policy-always-true: policy posts_edit on public.posts lets the API's roles update every row: its condition is always true");
    out.stdout_has("20240101000007_definer_function.sql:1:1: security-definer-function: function public.promote(uid uuid) is SECURITY DEFINER and the API's roles may execute it");

    // `[expect] rls_on_all_tables` reports a table with RLS off; the advisor does not again.
    repo.write("dbgate.toml", "[expect]\nrls_on_all_tables = true\n");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("table public.open_table has row level security disabled (rls_on_all_tables = true)");
    assert!(!out.stdout.contains("rls-disabled"), "{}", out.stdout);
}

#[test]
fn the_security_advisors_are_off_outside_the_supabase_preset_unless_dbgate_toml_sets_them() {
    let repo = TempRepo::new();
    repo.migrations(&[("001_a", "CREATE TABLE a (v text);\n", "DROP TABLE a;\n")]);
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    assert!(!out.stdout.contains("table-without-primary-key"), "{}", out.stdout);
    repo.write("dbgate.toml", "[lint]\ntable-without-primary-key = \"warning\"\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("migrations/001_a.sql:1:1: table-without-primary-key: table public.a has no primary key");
}

#[test]
fn the_lint_never_changes_the_gate_s_verdict_and_sees_past_a_statement_that_fails_on_rows() {
    let repo = TempRepo::new();
    // No rollbacks: the reapply of 002 would draw new ids in the replay itself.
    for (name, sql) in [
        ("001_roles", "CREATE TABLE roles (id serial PRIMARY KEY, name text NOT NULL UNIQUE);\nCREATE TABLE spare (id int);\nCREATE TABLE notes (body text);\n"),
        // The observed run draws from the sequence and is rolled back: the real run after it
        // must draw what the replay drew.
        ("002_seed", "INSERT INTO roles (name) VALUES ('admin'), ('member');\n"),
        (
            "003_rename_first",
            "UPDATE roles SET name = 'owner' WHERE id = 1;\nDO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM roles WHERE name = 'owner') THEN RAISE EXCEPTION 'role 1 missing'; END IF; END $$;\n",
        ),
        // A savepoint of the migration's own, in the tool's transaction.
        (
            "004_savepoint",
            "SET LOCAL lock_timeout = '5s';\nSAVEPOINT sp;\nALTER TABLE roles ADD COLUMN x int;\nROLLBACK TO SAVEPOINT sp;\nALTER TABLE roles ADD COLUMN y int;\n",
        ),
        // The first ALTER fails on the generated rows; the statements after it are still seen.
        (
            "005_fails_then_drops",
            "SET LOCAL lock_timeout = '5s';\nALTER TABLE notes ALTER COLUMN body TYPE varchar(6);\nDROP TABLE spare;\n",
        ),
    ] {
        repo.write(&format!("migrations/{name}.sql"), sql);
    }
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    assert!(!out.stdout.contains("not checked"), "{}", out.stdout);
    assert!(!out.stdout.contains("rebuilt"), "{}", out.stdout);
    out.stdout_has("migrations/005_fails_then_drops.sql:2:1: fails-with-rows: fails on tables with rows");
    out.stdout_has("migrations/005_fails_then_drops.sql:2:1: narrowing-type-change: narrows the type of column public.notes.body from text to character varying(6)");
    out.stdout_has("migrations/005_fails_then_drops.sql:3:1: drop-table: drops existing table public.spare");
}

#[test]
fn a_lock_on_a_table_the_statement_does_not_name_still_counts() {
    let repo = TempRepo::new();
    for (name, sql) in [
        (
            "001_tables",
            "CREATE TABLE parent (id int PRIMARY KEY);\nCREATE TABLE parted (k int NOT NULL) PARTITION BY RANGE (k);\nCREATE TABLE parted_rest PARTITION OF parted DEFAULT;\n",
        ),
        // A new partition takes ACCESS EXCLUSIVE on its existing parent and default partition.
        ("002_new_partition", "CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);\n"),
        // Dropping a table this migration made locks the existing table its key pointed to.
        ("003_scratch", "CREATE TABLE scratch (p int REFERENCES parent (id));\nDROP TABLE scratch;\n"),
    ] {
        repo.write(&format!("migrations/{name}.sql"), sql);
    }
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(0);
    out.stdout_has("migrations/002_new_partition.sql:1:1: lock-timeout-missing: takes ACCESS EXCLUSIVE on existing table public.parted");
    out.stdout_has("migrations/003_scratch.sql:2:1: lock-timeout-missing: takes ACCESS EXCLUSIVE on existing table public.parent");
}
