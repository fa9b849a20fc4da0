//! The docker provider: a container through testcontainers, from the image that
//! images/postgres/build.sh builds from Debian's packages.

use crate::support::{self, verdicts, Dbgate};

macro_rules! docker_gives_the_local_verdict {
    ($($test:ident: $fixture:literal;)*) => {$(
        #[test]
        fn $test() {
            let image = support::test_image();
            let out_dir = support::TempRepo::new();
            let (local, docker) = (out_dir.path().join("local.json"), out_dir.path().join("docker.json"));
            let local_run = Dbgate::fixture($fixture).args(["check", "--json"]).arg(&local).run();
            let docker_run = Dbgate::fixture($fixture).args(["check", "--provider", "docker", "--image", &image, "--json"]).arg(&docker).run();
            docker_run.code(local_run.status.unwrap());
            docker_run.stdout_has(&format!("docker provider ({image})"));
            assert_eq!(verdicts(&docker), verdicts(&local));
        }
    )*};
}

docker_gives_the_local_verdict! {
    docker_passes_the_example_layouts_like_local: "layout-flyway";
    docker_passes_non_transactional_migrations_like_local: "non-transactional";
    docker_fails_a_leftover_index_like_local: "rollback-leaves-index";
    docker_fails_a_leftover_role_like_local: "rollback-leaves-role";
    docker_fails_a_changed_function_body_like_local: "rollback-function-body";
    docker_fails_a_syntax_error_at_the_same_place_as_local: "syntax-error";
    docker_fails_a_killed_connection_like_local: "kills-connection";
}

#[test]
fn auto_uses_docker_when_the_image_is_there() {
    let image = support::test_image();
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--image", &image])
        .run();
    out.code(0);
    out.stdout_has(&format!("docker provider ({image})"));
}

#[test]
fn auto_falls_back_to_local_binaries_and_says_why() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--image", "dbgate-test/no-such-image:1"])
        .run();
    out.code(0);
    out.stdout_has("local provider");
    out.stdout_has("warning: provider auto chose local server binaries: the image dbgate-test/no-such-image:1 is not on this machine");
}

#[test]
fn auto_without_docker_or_binaries_names_both_and_how_to_get_them() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "auto", "--pg-bin", "/nonexistent"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    out.code(3);
    out.stderr_has("no usable PostgreSQL.\n  docker: cannot reach the Docker daemon at unix:///nonexistent/docker.sock");
    out.stderr_has("\n  local: --pg-bin /nonexistent has no initdb and postgres");
}

#[test]
fn db_host_names_where_the_container_is_reached() {
    let image = support::test_image();
    // An address nothing answers at (TEST-NET-3): dbgate must try it, and say so.
    let out = Dbgate::fixture("layout-golang-migrate")
        .args([
            "check",
            "--provider",
            "docker",
            "--image",
            &image,
            "--db-host",
            "203.0.113.1",
            "--startup-timeout",
            "2",
        ])
        .run();
    out.code(3);
    out.stderr_has("did not accept connections on 203.0.113.1:");
}

#[test]
fn a_missing_image_is_an_environment_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "docker", "--image", "dbgate-test/no-such-image:1"])
        .run();
    out.code(3);
    out.stderr_has("the image dbgate-test/no-such-image:1 is not on this machine and could not be pulled");
    out.stderr_has("images/postgres/build.sh");
}

#[test]
fn a_daemon_that_does_not_answer_is_an_environment_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--provider", "docker"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    out.code(3);
    out.stderr_has("cannot reach the Docker daemon at unix:///nonexistent/docker.sock");
}

#[test]
fn a_server_that_never_gets_ready_fails_with_its_log_within_the_timeout() {
    let image = support::test_image();
    // The same image, running something that is not a server.
    let dockerfile = format!("FROM {image}\nCMD [\"bash\", \"-c\", \"echo not a server here; sleep 300\"]\n");
    build_image("dbgate-test/never-ready:1", &dockerfile);

    let child = Dbgate::fixture("layout-golang-migrate")
        .args([
            "check",
            "--provider",
            "docker",
            "--image",
            "dbgate-test/never-ready:1",
            "--startup-timeout",
            "3",
        ])
        .spawn();
    let pid = child.id().to_string();
    let out = support::Output::from(child.wait_with_output().unwrap());
    out.code(3);
    out.stderr_has("did not accept connections");
    out.stderr_has("within 3 s");
    out.stderr_has("its log ends with:\nnot a server here");
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &pid), Vec::<String>::new());
}

#[test]
fn no_container_survives_interruption_at_any_point() {
    let image = support::test_image();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "CREATE TABLE t (id int);\nSELECT pg_sleep(60);\n");
    use nix::sys::signal::Signal::{SIGINT, SIGTERM};
    // While the container starts, while its server initialises, while a migration runs.
    for (signal, delay_ms) in [
        (SIGINT, 100),
        (SIGTERM, 300),
        (SIGINT, 600),
        (SIGTERM, 1200),
        (SIGTERM, 2500),
        (SIGINT, 6000),
    ] {
        let child = Dbgate::at(repo.path())
            .args(["check", "--provider", "docker", "--image", &image])
            .spawn();
        let pid = child.id().to_string();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let out = support::interrupt(child, signal);
        out.code(130);
        assert_eq!(
            support::containers_labelled("dev.dbgate.pid", &pid),
            Vec::<String>::new(),
            "after {signal} at {delay_ms} ms"
        );
    }
}

#[test]
fn gc_removes_what_a_killed_run_left_and_only_that() {
    let image = support::test_image();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(120);\n");
    let not_ours = support::docker(&["create", "--label", "dev.dbgate.test=not-ours", &image]);

    let killed = Dbgate::at(repo.path())
        .args(["check", "--provider", "docker", "--image", &image])
        .spawn();
    let running = Dbgate::at(repo.path())
        .args(["check", "--provider", "docker", "--image", &image])
        .spawn();
    let (killed_pid, running_pid) = (killed.id().to_string(), running.id().to_string());
    support::wait_for(|| {
        support::containers_labelled("dev.dbgate.pid", &killed_pid).len() == 1
            && support::containers_labelled("dev.dbgate.pid", &running_pid).len() == 1
    });
    let out = support::interrupt(killed, nix::sys::signal::Signal::SIGKILL);
    assert_eq!(out.status, None, "killed by a signal");
    assert_eq!(
        support::containers_labelled("dev.dbgate.pid", &killed_pid).len(),
        1,
        "SIGKILL leaves the container"
    );

    let gc = Dbgate::at(repo.path()).args(["gc"]).run();
    gc.code(0);
    gc.stdout_has("removed container ");
    gc.stdout_has("is still going");
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &killed_pid), Vec::<String>::new());
    assert_eq!(
        support::containers_labelled("dev.dbgate.pid", &running_pid).len(),
        1,
        "a live run's container stays"
    );
    assert_eq!(
        support::containers_labelled("dev.dbgate.test", "not-ours"),
        vec![not_ours[..12].to_string()]
    );

    support::interrupt(running, nix::sys::signal::Signal::SIGINT).code(130);
    support::docker(&["rm", "-f", &not_ours]);
    assert_eq!(support::containers_labelled("dev.dbgate.pid", &running_pid), Vec::<String>::new());
}

#[test]
fn gc_removes_the_temporary_cluster_of_a_killed_local_run() {
    let tmp = support::TempRepo::new();
    let repo = support::TempRepo::new();
    repo.write("migrations/001_slow.sql", "SELECT pg_sleep(60);\n");
    let child = Dbgate::at(repo.path()).args(["check"]).env("TMPDIR", tmp.path()).spawn();
    support::wait_for(|| support::postgres_running_under(tmp.path()));
    support::interrupt(child, nix::sys::signal::Signal::SIGKILL);
    // The server dies with dbgate (parent-death signal); its directory stays until gc.
    support::wait_for(|| !support::postgres_running_under(tmp.path()));
    assert_eq!(support::entries(tmp.path()).len(), 1);
    // The near miss: a cluster of a run in another container sharing the folder, whose pid
    // (gone here) cannot be looked up: kept.
    tmp.write("dbgate-cluster-elsewhere/dbgate.pid", "4000000\npid:[1]\n");
    let gc = Dbgate::at(repo.path())
        .args(["gc"])
        .env("TMPDIR", tmp.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    gc.code(0);
    gc.stdout_has("removed temporary cluster ");
    gc.stdout_has("dbgate-cluster-elsewhere: its run is in another pid namespace (pid:[1], another container)");
    assert_eq!(support::entries(tmp.path()), vec!["dbgate-cluster-elsewhere".to_string()]);
}

/// Builds `dockerfile` as `name`; returns the image's id.
fn build_image(name: &str, dockerfile: &str) -> String {
    let mut build = std::process::Command::new("docker")
        .args(["build", "-q", "-t", name, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(build.stdin.as_mut().unwrap(), dockerfile.as_bytes()).unwrap();
    drop(build.stdin.take());
    assert!(build.wait().unwrap().success());
    support::docker(&["image", "inspect", "-f", "{{.Id}}", name]).trim().to_string()
}

/// An image of the test image's own, whose id the test controls (a label makes another).
fn derived_image(name: &str, label: &str) -> String {
    let dockerfile = format!("FROM {}\nLABEL dev.dbgate.test.variant=\"{label}\"\n", support::test_image());
    build_image(name, &dockerfile)
}

#[test]
fn the_initialised_cluster_is_kept_as_an_image_started_from_with_throwaway_settings_and_collected_when_stale() {
    let image = "dbgate-test/cache-source:1";
    let id = derived_image(image, "first");
    let cache = format!("dbgate/initialised:{}", &id.trim_start_matches("sha256:")[..12]);
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &cache]).output();
    let repo = support::TempRepo::new();
    // Fails unless the server runs with the throwaway settings, however it was started.
    repo.write(
        "migrations/001_settings.sql",
        "DO $$ BEGIN IF current_setting('fsync') <> 'off' OR current_setting('synchronous_commit') <> 'off' THEN RAISE EXCEPTION 'durable settings'; END IF; END $$;\nCREATE TABLE t (id int);\n",
    );
    let json = repo.path().join("report.json");
    let server = |out: &support::Output| {
        out.code(0);
        let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        report["environment"]["server"].as_str().unwrap().to_string()
    };
    let run = || {
        Dbgate::at(repo.path())
            .args(["check", "--provider", "docker", "--image", image, "--json"])
            .arg(&json)
            .run()
    };
    // The first run makes the cache, the second starts from it; both with the settings.
    for _ in 0..2 {
        let said = server(&run());
        assert!(said.ends_with(&format!("(its initialised cluster, kept as {cache})")), "{said}");
    }
    let labels = support::docker(&["image", "inspect", "-f", "{{json .Config.Labels}}", &cache]);
    assert!(labels.contains(&format!("\"dev.dbgate.cache.source-id\":\"{id}\"")), "{labels}");
    // The cache is current: gc keeps it.
    Dbgate::at(repo.path()).args(["gc"]).run().code(0);
    support::docker(&["image", "inspect", "-f", "{{.Id}}", &cache]);
    // The image is rebuilt: its old cache is never used, and gc removes it.
    let rebuilt = derived_image(image, "second");
    assert_ne!(rebuilt, id);
    let said = server(&run());
    assert!(!said.contains(&cache), "{said}");
    let gc = Dbgate::at(repo.path()).args(["gc"]).run();
    gc.code(0).stdout_has(&format!("removed cached cluster image {cache} (of {image})"));
    assert!(std::process::Command::new("docker")
        .args(["image", "inspect", &cache])
        .output()
        .map(|o| !o.status.success())
        .unwrap());
    let rebuilt_cache = format!("dbgate/initialised:{}", &rebuilt.trim_start_matches("sha256:")[..12]);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &rebuilt_cache, image])
        .output();
}

#[test]
fn an_image_whose_command_is_not_plain_postgres_starts_as_before() {
    // The same image, started as supabase/postgres is (`postgres -D <dir>`): not cached.
    let dockerfile = format!(
        "FROM {}\nCMD [\"postgres\", \"-c\", \"max_connections=50\"]\n",
        support::test_image()
    );
    build_image("dbgate-test/own-command:1", &dockerfile);
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_settings.sql",
        "DO $$ BEGIN IF current_setting('max_connections') <> '50' OR current_setting('fsync') <> 'off' THEN RAISE EXCEPTION 'not the image''s command'; END IF; END $$;\n",
    );
    let json = repo.path().join("report.json");
    Dbgate::at(repo.path())
        .args(["check", "--provider", "docker", "--image", "dbgate-test/own-command:1", "--json"])
        .arg(&json)
        .run()
        .code(0);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let said = report["environment"]["server"].as_str().unwrap();
    assert!(!said.contains("initialised"), "{said}");
}
