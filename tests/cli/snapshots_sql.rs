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

/// `dbgate snapshot` in `repo` with the url provider (its login role dbgate) and the docker
/// provider (postgres) prints `local`, the local provider's text.
fn the_same_from_every_provider(repo: &TempRepo, local: &str) {
    let server = TestServer::start();
    for provider in [
        vec!["--provider", "url", "--database-url", &server.url()],
        vec!["--provider", "docker", "--image", &support::test_image()],
    ] {
        let out = Dbgate::at(repo.path()).arg("snapshot").args(provider.iter()).run();
        out.code(0);
        assert_eq!(local, out.stdout, "{provider:?}");
    }
}

#[test]
fn the_snapshot_of_the_example_is_readable_sql_the_same_on_every_run_and_provider() {
    let repo = example();
    let first = Dbgate::at(repo.path()).args(["snapshot"]).run();
    first.code(0);
    let again = Dbgate::at(repo.path()).args(["snapshot"]).run();
    assert_eq!(first.stdout, again.stdout);
    the_same_from_every_provider(&repo, &first.stdout);
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
    out.stdout_has("db/snapshots/schema.sql:17:1: db/snapshots/schema.sql is not the schema the migrations make (from line 17)");
    out.stdout_has("17 |     nickname text,");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let case = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["suite"] == "generated")
        .unwrap();
    assert_eq!(case["name"], "snapshot db/snapshots/schema.sql");
    assert_eq!(case["failures"][0]["location"]["line"], 17);
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
    let generated = support::generated_cases(&json);
    let generated: Vec<(&str, &str)> = generated.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
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

#[test]
fn the_login_role_never_shows_and_hard_objects_are_written_as_they_are() {
    let repo = TempRepo::new();
    repo.migrations(&[(
        "001_hard",
        "CREATE ROLE snap_reader;\n\
         GRANT snap_reader TO CURRENT_USER;\n\
         ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n\
         ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO snap_reader WITH GRANT OPTION;\n\
         CREATE TABLE cg (a int, b int);\n\
         GRANT SELECT (a), UPDATE (a) ON cg TO snap_reader;\n\
         CREATE FUNCTION hardened() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp RETURN 1;\n\
         CREATE FUNCTION ends_dollar() RETURNS text LANGUAGE sql AS 'select ''a$'' -- $';\n\
         CREATE DOMAIN posint AS int;\n\
         ALTER DOMAIN posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0) NOT VALID;\n\
         CREATE TABLE ev (id int NOT NULL, at date NOT NULL, region text) PARTITION BY RANGE (at);\n\
         CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);\n\
         CREATE TABLE ev_2024_eu PARTITION OF ev_2024 FOR VALUES IN ('eu');\n\
         CREATE INDEX ev_at ON ev (at);\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
         CREATE TRIGGER ev_touch BEFORE UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION touch();\n\
         CREATE CONSTRAINT TRIGGER cg_check AFTER INSERT ON cg DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION touch();\n\
         CREATE TABLE counted (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10) PRIMARY KEY);\n",
        "DROP TABLE counted, ev, cg;\nDROP FUNCTION touch(), ends_dollar(), hardened();\nDROP DOMAIN posint;\n\
         ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM snap_reader;\nALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC;\n\
         REVOKE snap_reader FROM CURRENT_USER;\nDROP ROLE snap_reader;\n",
    )]);
    let local = Dbgate::at(repo.path()).args(["snapshot"]).run();
    local.code(0);
    the_same_from_every_provider(&repo, &local.stdout);
    let text = &local.stdout;
    for line in [
        "CREATE ROLE snap_reader NOLOGIN;\n",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO snap_reader WITH GRANT OPTION;\n",
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n",
        "GRANT SELECT (a), UPDATE (a) ON TABLE public.cg TO snap_reader;\n",
        "    SET search_path = public, pg_temp\n",
        "AS $body1$select 'a$' -- $$body1$;\n",
        "ALTER DOMAIN public.posint ADD CONSTRAINT posint_positive CHECK ((VALUE > 0)) NOT VALID;\n",
        "CREATE TABLE public.ev_2024 PARTITION OF public.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);\n",
        "CREATE INDEX ev_at ON public.ev USING btree (at);\n",
        "    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10) NOT NULL,\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    // Neither the login role nor what a partition or a constraint trigger has of another.
    assert!(
        !text.lines().any(|l| ["TO dbgate", "ROLE dbgate", "TO postgres", "ROLE postgres"]
            .iter()
            .any(|w| l.contains(w))),
        "{text}"
    );
    assert_eq!(text.matches("CREATE TRIGGER ev_touch").count(), 1, "{text}");
    assert!(!text.contains("CONSTRAINT cg_check"), "{text}");
    assert!(!text.contains("ON ONLY"), "{text}");
}
