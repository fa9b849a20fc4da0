//! `dbgate snapshot`: the schema the migrations make, as SQL a person reviews, the same from run
//! to run and provider to provider; and `[snapshots]`, which holds the committed file to it.

use std::fs;

use crate::support::{self, fixture, Dbgate, TempRepo, TestServer};

/// A copy of the example schema (migrations, tests) without its dbgate.toml's image.
fn example() -> TempRepo {
    let repo = TempRepo::new();
    for folder in ["migrations", "smoke", "tests/data"] {
        copy_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder),
            &repo.path().join(folder),
        );
    }
    repo
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn the_snapshot_of_the_example_is_readable_sql_the_same_on_every_run_and_provider() {
    let repo = example();
    let first = Dbgate::at(repo.path()).args(["snapshot"]).run();
    first.code(0);
    let again = Dbgate::at(repo.path()).args(["snapshot"]).run();
    assert_eq!(first.stdout, again.stdout);
    // Another provider, another login role: the same text.
    let server = TestServer::start();
    let url = Dbgate::at(repo.path())
        .args(["snapshot", "--provider", "url", "--database-url", &server.url()])
        .run();
    url.code(0);
    assert_eq!(first.stdout, url.stdout);
    let docker = Dbgate::at(repo.path())
        .args(["snapshot", "--provider", "docker", "--image", &support::test_image()])
        .run();
    docker.code(0);
    assert_eq!(first.stdout, docker.stdout);
    insta::assert_snapshot!("example_schema_sql", first.stdout);
}

#[test]
fn snapshots_drift_fails_the_gate_at_the_first_differing_line_and_write_fixes_it() {
    let repo = TempRepo::from_fixture("data-migration");
    repo.write("dbgate.toml", "[snapshots]\n");
    let json = repo.path().join("report.json");
    // Not committed yet: a failure on the file, with the command that writes it.
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("db/snapshots/schema.sql:1:1: db/snapshots/schema.sql is missing");
    out.stdout_has("run `dbgate snapshot --write` and commit the file");
    let written = Dbgate::at(repo.path()).args(["snapshot", "--write"]).run();
    written.code(0).stdout_has("wrote db/snapshots/schema.sql");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // A migration changes the schema; the committed snapshot does not follow.
    let up = repo.path().join("migrations/002_split_names.sql");
    fs::write(
        &up,
        fs::read_to_string(&up).unwrap() + "ALTER TABLE users ADD COLUMN nickname text;\n",
    )
    .unwrap();
    let rollback = repo.path().join("migrations/002_split_names_rollback.sql");
    fs::write(
        &rollback,
        "ALTER TABLE users DROP COLUMN nickname;\n".to_string() + &fs::read_to_string(&rollback).unwrap(),
    )
    .unwrap();
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("db/snapshots/schema.sql:16:1: db/snapshots/schema.sql is not the schema the migrations make (from line 16)");
    out.stdout_has("16 |     nickname text,");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let case = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["suite"] == "generated")
        .unwrap();
    assert_eq!(case["name"], "snapshot db/snapshots/schema.sql");
    assert_eq!(case["failures"][0]["location"]["line"], 16);
    Dbgate::at(repo.path()).args(["snapshot", "--write"]).run().code(0);
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn every_migration_gets_its_snapshot_with_every_and_a_failing_migration_gives_none() {
    let repo = TempRepo::from_fixture("data-migration");
    repo.write("dbgate.toml", "[snapshots]\ndir = \"schema-history\"\nevery = true\n");
    Dbgate::at(repo.path()).args(["snapshot", "--write"]).run().code(0);
    assert_eq!(
        support::entries(&repo.path().join("schema-history")),
        ["001_create_users.sql", "002_split_names.sql"]
    );
    let first = fs::read_to_string(repo.path().join("schema-history/001_create_users.sql")).unwrap();
    assert!(first.starts_with("-- The schema after migration 001_create_users\n"), "{first}");
    assert!(first.contains("    full_name text,"), "{first}");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    repo.write("migrations/003_broken.sql", "ALTER TABLE nowhere ADD COLUMN x int;\n");
    let out = Dbgate::at(repo.path()).args(["snapshot"]).run();
    out.code(1);
    out.stderr_has("migrations/003_broken.sql:1:1: relation \"nowhere\" does not exist: the migrations must run");
    // In the gate: not checked, the migrations having stopped.
    let json = repo.path().join("report.json");
    Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run().code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let generated: Vec<(&str, &str)> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["suite"] == "generated")
        .map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        generated,
        [
            ("snapshot schema-history/001_create_users.sql", "not_checked"),
            ("snapshot schema-history/002_split_names.sql", "not_checked"),
            ("snapshot schema-history/003_broken.sql", "not_checked"),
        ]
    );
    assert!(!fixture("data-migration").join("schema-history").exists());
}

#[test]
fn what_the_migrations_change_in_objects_that_were_there_before_them_is_written_as_changes() {
    let repo = TempRepo::new();
    // A table the platform provides (a setup file stands for it), and the public schema.
    repo.write("setup.sql", "CREATE TABLE platform_users (id int PRIMARY KEY);\n");
    repo.write("dbgate.toml", "[migrations]\nsetup = [\"setup.sql\"]\n");
    repo.migrations(&[(
        "001_extend",
        "ALTER TABLE platform_users ADD COLUMN nickname text;\n\
         ALTER TABLE platform_users ADD CONSTRAINT nickname_length CHECK (char_length(nickname) < 40);\n\
         COMMENT ON SCHEMA public IS 'the app';\n",
        "ALTER TABLE platform_users DROP COLUMN nickname;\nCOMMENT ON SCHEMA public IS 'standard public schema';\n",
    )]);
    let out = Dbgate::at(repo.path()).args(["snapshot"]).run();
    out.code(0);
    out.stdout_has("ALTER TABLE public.platform_users ADD COLUMN nickname text;\n");
    out.stdout_has("ALTER TABLE public.platform_users ADD CONSTRAINT nickname_length CHECK ((char_length(nickname) < 40));\n");
    out.stdout_has("COMMENT ON SCHEMA public IS 'the app';\n");
    assert!(!out.stdout.contains("CREATE SCHEMA public"), "{}", out.stdout);
    assert!(!out.stdout.contains("CREATE TABLE public.platform_users"), "{}", out.stdout);
}
