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
