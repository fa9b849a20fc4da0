//! The local and url providers: nothing left behind, on success, failure and interruption.

use crate::support::{self, Dbgate, TestServer};

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
fn with_no_tmpdir_the_local_cluster_lives_in_memory_when_there_is_room_and_goes_with_the_run() {
    // Not u64 everywhere (32 bits on some systems).
    #[allow(clippy::unnecessary_cast)]
    let room = nix::sys::statvfs::statvfs("/dev/shm").map(|fs| fs.blocks_available() as u64 * fs.fragment_size() as u64);
    let in_memory = room.is_ok_and(|room| room >= 1 << 30);
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(60);\n");
    let child = Dbgate::at(repo.path()).args(["check"]).env_remove("TMPDIR").spawn();
    let pid = child.id().to_string();
    let parent = if in_memory {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    // The run's cluster: the folder whose owner file names its pid (its first line; the second
    // is its pid namespace).
    let ours = || {
        std::fs::read_dir(&parent)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| std::fs::read_to_string(p.join("dbgate.pid")).is_ok_and(|owner| owner.lines().next() == Some(pid.as_str())))
    };
    support::wait_for(|| ours().is_some_and(|dir| support::postgres_running_under(&dir)));
    let dir = ours().unwrap();
    assert!(dir.starts_with(&parent), "{}", dir.display());
    let out = support::interrupt(child, nix::sys::signal::Signal::SIGINT);
    out.code(130);
    assert!(!dir.exists(), "{} is left behind", dir.display());
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

    // Rebuilds after failures make databases in place of the first and drop the roles the
    // migrations created: all gone at the end.
    let out = Dbgate::fixture("several-bad-rollbacks")
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(1);
    out.stdout_has("note: rebuilt the schema after migrations/003_reader_role.sql in a fresh database");
    out.stdout_has("PASS  migrations/003_reader_role.sql");
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
fn a_database_url_that_is_not_one_is_an_input_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "url", "--database-url", "not a url"])
        .run();
    out.code(2);
    out.stderr_has("--database-url is not a PostgreSQL connection URL");
}

/// The server check's failures in a JSON report: (migration file, line, message), in order.
fn server_failures(report: &serde_json::Value) -> Vec<(String, u64, String)> {
    let mut found = Vec::new();
    for migration in report["migrations"].as_array().unwrap() {
        let Some(check) = migration["checks"].as_array().unwrap().iter().find(|c| c["kind"] == "server") else {
            continue;
        };
        for failure in check["failures"].as_array().unwrap() {
            let file = failure["location"]["file"].as_str().unwrap();
            found.push((
                file.rsplit('/').next().unwrap().to_string(),
                failure["location"]["line"].as_u64().unwrap(),
                failure["message"].as_str().unwrap().to_string(),
            ));
        }
    }
    found
}

#[test]
fn the_url_provider_fails_a_migration_that_changes_the_server_outside_its_database_and_puts_it_back() {
    let server = TestServer::start();
    server.sql("postgres", "CREATE ROLE bystander NOLOGIN");
    let before = server.inventory();
    let out_dir = support::TempRepo::new();
    let json = out_dir.path().join("report.json");
    let out = Dbgate::fixture("server-changes")
        .args(["check", "--provider", "url", "--database-url", &server.url(), "--json"])
        .arg(&json)
        .run();
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outside = "changed the server outside its database: ";
    let expected: Vec<(String, u64, String)> = [
        ("001_reporting_role.sql", 2, "database postgres: granted CONNECT to reporting"),
        ("002_tuning.sql", 2, "ALTER SYSTEM: set work_mem = 64MB (was not set)"),
        ("003_analytics_database.sql", 1, "created database fixture_analytics"),
        ("004_bystander.sql", 2, "role bystander: set statement_timeout = 5s (was not set)"),
        ("004_bystander.sql", 3, "role bystander: connection limit 3 (was -1)"),
    ]
    .into_iter()
    .map(|(file, line, sentence)| (file.to_string(), line, format!("{outside}{sentence}")))
    .collect();
    assert_eq!(server_failures(&report), expected);
    // The near miss: a role the migrations create, and their own database named as such.
    let own_role = &report["migrations"][4];
    let checks = own_role["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["status"] == "passed" && c["kind"] != "server"),
        "{own_role}"
    );
    // Everything is put back, each change said once (not again by the reapply or the chain).
    out.stdout_has("dbgate puts it back at the end of the run");
    out.stdout_has("name it as current_database()");
    assert_eq!(server.inventory(), before);
}

#[test]
fn on_a_server_of_its_own_a_change_outside_the_database_is_a_warning() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_tuning.sql", "ALTER SYSTEM SET work_mem = '64MB';\n");
    repo.write("migrations/001_tuning_rollback.sql", "ALTER SYSTEM RESET work_mem;\n");
    repo.write(
        "migrations/002_analytics.sql",
        "CREATE TABLE t (id int);\nCREATE DATABASE analytics;\n",
    );
    // Near miss: the database the migrations run in is theirs (named postgres on this provider).
    repo.write(
        "migrations/003_own_database.sql",
        "ALTER DATABASE postgres SET work_mem = '16MB';\n",
    );
    let out = Dbgate::at(repo.path()).args(["check", "--provider", "local"]).run();
    out.code(0);
    out.in_order(&[
        "warning (server): migrations/001_tuning.sql:1:1: changed the server outside its database: ALTER SYSTEM: set work_mem = 64MB (was not set) (dbgate's own server, thrown away",
        "warning (server): migrations/002_analytics.sql:2:1: changed the server outside its database: created database analytics",
        "2 warnings",
    ]);
    assert!(!out.stdout.contains("003_own_database.sql:"), "{}", out.stdout);
}

#[test]
fn what_the_url_provider_cannot_put_back_is_said() {
    let server = TestServer::start();
    server.sql("postgres", "CREATE ROLE bystander NOLOGIN; CREATE ROLE onlooker NOLOGIN");
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_cleanup.sql",
        "CREATE TABLE t (id int);\nDROP ROLE bystander;\nALTER ROLE onlooker RENAME TO watcher;\n",
    );
    let out = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(1);
    out.in_order(&[
        "migrations/001_cleanup.sql:2:1: changed the server outside its database: dropped role bystander",
        "dbgate cannot put this back: set it back by hand",
        "migrations/001_cleanup.sql:3:1: changed the server outside its database: role onlooker: renamed to watcher",
        "dbgate puts it back at the end of the run",
    ]);
    out.stderr_has("cannot put back what a migration changed on the server: dropped role bystander");
    // The rename is undone.
    assert_eq!(
        server.sql(
            "postgres",
            "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('onlooker', 'watcher')"
        ),
        "onlooker"
    );
}

#[test]
fn the_url_provider_puts_back_renames_swaps_options_and_what_only_a_superuser_sees() {
    let server = TestServer::start();
    for sql in [
        "CREATE ROLE alice NOLOGIN; CREATE ROLE bob NOLOGIN; COMMENT ON ROLE bob IS 'the original bob'",
        "CREATE DATABASE other",
        "CREATE DATABASE \"Odd DB\"",
        "GRANT CONNECT ON DATABASE other TO alice; GRANT alice TO bob; ALTER DATABASE other SET search_path = ''",
    ] {
        server.sql("postgres", sql);
    }
    let before = server.inventory();
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_renames.sql",
        "CREATE TABLE t (id int);
ALTER ROLE bob RENAME TO bob_old;
CREATE ROLE bob LOGIN;
ALTER ROLE alice RENAME TO tmp_swap;
ALTER ROLE bob_old RENAME TO alice;
ALTER ROLE tmp_swap RENAME TO bob_old;
ALTER DATABASE other RENAME TO tmp_db;
ALTER DATABASE \"Odd DB\" RENAME TO other;
ALTER DATABASE tmp_db RENAME TO \"Odd DB\";
",
    );
    repo.write(
        "migrations/002_options.sql",
        "ALTER ROLE ALL SET work_mem = '8MB';
GRANT pg_read_all_data TO bob_old;
GRANT CONNECT ON DATABASE \"Odd DB\" TO bob_old WITH GRANT OPTION;
GRANT CREATE ON TABLESPACE pg_default TO PUBLIC;
ALTER DATABASE \"Odd DB\" SET search_path = 'x';
ALTER ROLE bob_old PASSWORD 'secret';
COMMENT ON DATABASE postgres IS 'changed';
",
    );
    repo.write(
        "migrations/003_made.sql",
        "CREATE ROLE \"App Writer\";\nCREATE DATABASE \"tmpl db\" IS_TEMPLATE true;\n",
    );
    let out = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(1);
    // No panic on a setting of every role; each change said, with what cannot be put back.
    for said in [
        "changed the server outside its database: role bob: renamed to alice",
        "changed the server outside its database: role alice: renamed to bob_old",
        "changed the server outside its database: database other: renamed to \"Odd DB\"",
        "migrations/002_options.sql:1:1: changed the server outside its database: every role: set work_mem = 8MB (was not set)",
        "migrations/002_options.sql:2:1: changed the server outside its database: role bob_old: made a member of pg_read_all_data",
        "migrations/002_options.sql:3:1: changed the server outside its database: database \"Odd DB\": CONNECT to bob_old with grant option (was without grant option)",
        "migrations/002_options.sql:4:1: changed the server outside its database: tablespace pg_default: granted CREATE to PUBLIC",
        "migrations/002_options.sql:5:1: changed the server outside its database: database \"Odd DB\": set search_path = x (was \"\")",
        "migrations/002_options.sql:6:1: changed the server outside its database: role bob_old: password changed",
        "migrations/002_options.sql:7:1: changed the server outside its database: database postgres: comment changed (was default administrative connection database)",
        "migrations/003_made.sql:2:1: changed the server outside its database: created database \"tmpl db\"",
    ] {
        out.stdout_has(said);
    }
    out.in_order(&["role bob_old: password changed", "dbgate puts it back at the end of the run"]);
    assert!(!out.stderr.contains("cannot put back"), "{}", out.stderr);
    // Everything else is as it was: the original bob by its oid, names swapped back, options taken back.
    assert_eq!(server.inventory(), before);
}

#[test]
fn a_rebuild_on_a_shared_server_puts_it_back_first_and_blames_no_later_migration() {
    let server = TestServer::start();
    let before = server.inventory();
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_owned",
            "CREATE ROLE r_owner;\nCREATE DATABASE d_owned OWNER r_owner;\n",
            "DROP DATABASE d_owned;\nDROP ROLE r_owner;",
        ),
        ("002_u", "CREATE TABLE u (id int);", "SELECT nope;"),
        ("003_v", "CREATE TABLE v (id int);", "DROP TABLE v;"),
    ]);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &server.url(), "--json"])
        .arg(&json)
        .run();
    out.code(1);
    out.stdout_has("note: rebuilt the schema");
    out.stdout_has("PASS  migrations/003_v.sql");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Only the reapply after the failed rollback is not checked (002 names no table that was
    // there before it: it has no data check): every rebuild worked.
    assert_eq!(report["summary"]["checks_not_checked"], 1, "{}", out.stdout);
    assert!(!out.stdout.contains("could not rebuild"), "{}", out.stdout);
    // The database 001 made is said once, on 001; the replay in the rebuild makes it again.
    assert_eq!(
        server_failures(&report),
        vec![(
            "001_owned.sql".to_string(),
            2,
            "changed the server outside its database: created database d_owned".to_string()
        )]
    );
    assert_eq!(server.inventory(), before);
}

#[test]
fn the_url_provider_cleans_up_as_a_createrole_user_and_whatever_the_migrations_left_set() {
    let server = TestServer::start();
    for sql in [
        "CREATE ROLE ci LOGIN CREATEDB CREATEROLE; CREATE ROLE bob NOLOGIN; COMMENT ON ROLE bob IS 'the original bob'",
        "CREATE DATABASE other",
        "COMMENT ON TABLESPACE pg_default IS 'kept'",
    ] {
        server.sql("postgres", sql);
    }
    let before = server.inventory();
    // As a superuser: a new role takes a renamed role's name and owns a database; the server's
    // statement_timeout is cut to 2 ms for everyone; the owner's own privilege is revoked; an
    // item changed twice is said twice; a quoted database name is dropped.
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_impostor.sql",
        "ALTER ROLE bob RENAME TO bob_old;\nCREATE ROLE bob;\nCREATE DATABASE bobdb OWNER bob;\nALTER SYSTEM SET work_mem = '1MB';\n",
    );
    repo.write(
        "migrations/002_hostile_settings.sql",
        "ALTER SYSTEM SET work_mem = '2MB';\nREVOKE ALL ON DATABASE other FROM dbgate;\nCOMMENT ON TABLESPACE pg_default IS 'changed';\nCREATE DATABASE \"Odd DB\";\nALTER SYSTEM SET statement_timeout = '2ms';\nSELECT pg_reload_conf();\n",
    );
    let out = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &server.url()])
        .run();
    out.code(1);
    out.stdout_has(
        "migrations/001_impostor.sql:4:1: changed the server outside its database: ALTER SYSTEM: set work_mem = 1MB (was not set)",
    );
    out.stdout_has(
        "migrations/002_hostile_settings.sql:1:1: changed the server outside its database: ALTER SYSTEM: set work_mem = 2MB (was not set)",
    );
    out.stdout_has("database other: revoked CONNECT to dbgate (the owner)");
    out.stdout_has("tablespace pg_default: comment changed (was kept)");
    assert_eq!(server.inventory(), before);

    // As a user with CREATEDB and CREATEROLE only: the roles the migrations make are dropped.
    let repo = support::TempRepo::new();
    repo.migrations(&[
        ("001_app", "CREATE ROLE app NOLOGIN;", "DROP ROLE app;"),
        ("002_x", "CREATE TABLE x (id int);", "SELECT nope;"),
    ]);
    let url = server.url().replace("user=dbgate", "user=ci");
    let out = Dbgate::at(repo.path())
        .args(["check", "--provider", "url", "--database-url", &url])
        .run();
    out.code(1);
    assert!(!out.stdout.contains("could not rebuild"), "{}", out.stdout);
    assert_eq!(server.inventory(), before);
}
