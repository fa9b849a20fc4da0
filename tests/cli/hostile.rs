//! Hostile input: values that overflow, files that are not files or whose names are not UTF-8.
//! Each gets a clear verdict or error with its documented exit code, never a panic or a hang.

use crate::support::{Dbgate, TempRepo};

fn one_migration() -> TempRepo {
    let repo = TempRepo::new();
    repo.migrations(&[("001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")]);
    repo
}

#[test]
fn huge_durations_are_config_errors_not_panics() {
    let repo = one_migration();
    let out = Dbgate::at(repo.path())
        .args(["check", "--migration-timeout", "18446744073709551615"])
        .run();
    out.code(2);
    out.stderr_has("--migration-timeout must be between 1 and 86400 seconds (a day), not 18446744073709551615");
    for (toml, message) in [
        (
            "[migrations]\ntimeout_seconds = 9223372036854775807\n",
            "dbgate.toml: line 2, [migrations] timeout_seconds must be between 1 and 86400 seconds (a day), not 9223372036854775807",
        ),
        (
            "[migrations]\nwarn_seconds = 1e300\n",
            "dbgate.toml: line 2, [migrations] warn_seconds must be a positive number of seconds, at most 86400 (a day), not 1e300\n",
        ),
        (
            "[database]\n\nstartup_timeout_seconds = 0\n",
            "dbgate.toml: line 3, [database] startup_timeout_seconds must be between 1 and 86400 seconds",
        ),
        (
            "[migrations]\nfail_seconds = 0\n",
            "dbgate.toml: line 2, [migrations] fail_seconds must be a positive number of seconds, at most 86400 (a day), not 0\n",
        ),
    ] {
        repo.write("dbgate.toml", toml);
        let out = Dbgate::at(repo.path()).arg("check").run();
        out.code(2);
        out.stderr_has(message);
    }
    // A day is allowed, and a budget of a fraction of a second.
    repo.write(
        "dbgate.toml",
        "[migrations]\ntimeout_seconds = 86400\nwarn_seconds = 0.5\nfail_seconds = 86400\n",
    );
    Dbgate::at(repo.path()).arg("check").run().code(0);
}

#[test]
fn a_named_pipe_in_the_migrations_folder_is_a_finding_not_a_hang() {
    let repo = one_migration();
    let pipe = repo.path().join("migrations/002_pipe.sql");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has(
        "migrations/002_pipe.sql:1:1: migrations/002_pipe.sql is not a regular file (a named pipe, socket, device, link to a folder, or a broken or looping link)",
    );
    out.stdout_has("PASS  migrations/001_a.sql");
}

#[test]
fn a_file_name_that_is_not_utf8_is_shown_lossily_with_a_warning() {
    use std::os::unix::ffi::OsStrExt;
    let repo = one_migration();
    let name = std::ffi::OsStr::from_bytes(b"migrations/002_caf\xe9.sql");
    std::fs::write(repo.path().join(name), "CREATE TABLE b (id int);\n").unwrap();
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    out.stdout_has("warning: the name of migrations/002_caf\u{fffd}.sql is not UTF-8");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["migrations"][1]["file"], "migrations/002_caf\u{fffd}.sql");
}

#[test]
fn a_migration_that_stops_the_postmaster_outlives_its_timeout_by_a_bounded_grace_and_everything_is_cleaned_up() {
    // The cancel goes to the postmaster, which no longer answers; the backend sleeps on. dbgate
    // gives the cancel and then the session a grace each, gives up on the session, and the
    // provider kills the server and removes its cluster.
    let repo = TempRepo::new();
    repo.migrations(&[(
        "001_stop",
        "COPY (SELECT 1) TO PROGRAM 'kill -STOP $(ps -o ppid= -p $PPID)';\nSELECT pg_sleep(120);\n",
        "SELECT 1;",
    )]);
    let started = std::time::Instant::now();
    let out = Dbgate::at(repo.path()).args(["check", "--migration-timeout", "1"]).run();
    let took = started.elapsed();
    assert!(matches!(out.status, Some(1) | Some(3)), "{}\n{}", out.stdout, out.stderr);
    out.stdout_has("did not finish within 1 s");
    out.stdout_has("dbgate gave up on this session");
    assert!(took < std::time::Duration::from_secs(100), "took {took:?}");
}

#[test]
fn a_configuration_that_is_not_a_file_is_an_error_not_a_hang_or_a_silent_default() {
    let repo = one_migration();
    assert!(std::process::Command::new("mkfifo")
        .arg(repo.path().join("c.toml"))
        .status()
        .unwrap()
        .success());
    let out = Dbgate::at(repo.path()).args(["check", "--config", "c.toml"]).run();
    out.code(2);
    out.stderr_has("c.toml: not a regular file");
    // dbgate.toml at the root as a folder: not silently no configuration.
    std::fs::create_dir(repo.path().join("dbgate.toml")).unwrap();
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(2);
    out.stderr_has("dbgate.toml: not a regular file");
}

#[test]
fn a_statement_timeout_a_migration_leaves_does_not_cut_dbgate_s_own_reads() {
    let repo = TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE t1 (id int);\nSET statement_timeout = 1;\n", "DROP TABLE t1;"),
        // Slower than the 1 ms left, whatever the machine: a CREATE TABLE alone may finish in time.
        ("002_b", "CREATE TABLE t2 (id int);\nSELECT pg_sleep(0.2);\n", "DROP TABLE t2;"),
    ]);
    let out = Dbgate::at(repo.path()).arg("check").run();
    // A verdict, not an environment error: 001 passes (dbgate's reads ran without the limit),
    // and 002 fails as it would in the same session of the tool.
    out.code(1);
    out.stdout_has("PASS  migrations/001_a.sql");
    out.stdout_has("canceling statement due to statement timeout");
    out.stdout_has("FAIL  migrations/002_b.sql");
}

#[test]
fn a_warning_threshold_over_the_failure_threshold_is_a_config_error() {
    let repo = one_migration();
    repo.write("dbgate.toml", "[migrations]\nwarn_seconds = 20\nfail_seconds = 10\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(2);
    out.stderr_has("[migrations] warn_seconds (20) must be less than fail_seconds (10)");
}

#[test]
fn test_and_setup_paths_that_are_not_what_they_should_be_are_input_errors() {
    let repo = one_migration();
    let mkfifo = |path: &std::path::Path| assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
    // A named pipe among the tests: said, never waited on.
    repo.write("smoke/01_ok.sql", "SELECT 1;\n");
    mkfifo(&repo.path().join("smoke/02_pipe.sql"));
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(2);
    out.stderr_has("smoke/02_pipe.sql is not a regular file (a named pipe");
    std::fs::remove_file(repo.path().join("smoke/02_pipe.sql")).unwrap();
    // A link to a test file is a test file (it was skipped before).
    repo.write("shared/03_linked.sql", "SELECT no_such_column FROM a;\n");
    std::os::unix::fs::symlink(repo.path().join("shared/03_linked.sql"), repo.path().join("smoke/03_linked.sql")).unwrap();
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has("smoke/03_linked.sql");
    out.stdout_has("column \"no_such_column\" does not exist");
    std::fs::remove_file(repo.path().join("smoke/03_linked.sql")).unwrap();
    // Configured paths of the wrong kind say so, not "does not exist" or nothing.
    std::fs::create_dir(repo.path().join("seeds")).unwrap();
    mkfifo(&repo.path().join("setup.sql"));
    for (toml, message) in [
        ("[seed]\nfiles = [\"seeds\"]\n", "the seed file seeds is not a file"),
        (
            "[tests]\ndirs = [\"smoke/01_ok.sql\"]\n",
            "the test folder smoke/01_ok.sql is not a folder",
        ),
        (
            "[migrations]\nsetup = [\"setup.sql\"]\n",
            "setup.sql is not a regular file (a named pipe",
        ),
        ("[seed]\nfiles = [\"missing.sql\"]\n", "the seed file missing.sql does not exist"),
    ] {
        repo.write("dbgate.toml", toml);
        let out = Dbgate::at(repo.path()).arg("check").run();
        out.code(2);
        out.stderr_has(message);
    }
    // A default seed.sql that is a named pipe is the repo's: said too.
    std::fs::remove_file(repo.path().join("dbgate.toml")).unwrap();
    mkfifo(&repo.path().join("seed.sql"));
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(2);
    out.stderr_has("seed.sql is not a regular file");
}

type WorkflowCommand = (String, Vec<(String, String)>, String);

/// A workflow command as the runner reads one (actions/runner's ActionCommand.TryParseV2:
/// `::name key=value,key=value::message`, with %25, %0D, %0A, %3A and %2C escaped in property
/// values and %25, %0D, %0A in the message): (name, properties, message), decoded.
fn workflow_command(line: &str) -> Option<WorkflowCommand> {
    let rest = line.strip_prefix("::")?;
    let (head, message) = rest.split_once("::")?;
    let (name, properties) = head.split_once(' ').unwrap_or((head, ""));
    let decode = |v: &str| {
        v.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    };
    let properties = properties
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("a property is key=value");
            (k.to_string(), decode(v))
        })
        .collect();
    Some((name.to_string(), properties, decode(message)))
}

#[test]
fn hostile_names_and_messages_reach_every_report_well_formed() {
    let repo = TempRepo::new();
    // A file name with an escape sequence, a line break that starts a forged workflow command,
    // a CDATA end, HTML, a mention, a percent escape, a table pipe and a right-to-left override.
    let hostile = "x\u{1b}[31m\n::error::forged ]]> <b>@octocat %0A |\u{202e}gnp";
    repo.write("migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/001_a_rollback.sql", "DROP TABLE a;\n");
    repo.write(&format!("migrations/002_{hostile}.sql"), "CREATE TABLE b (id int);\n");
    repo.write(
        &format!("migrations/002_{hostile}_rollback.sql"),
        "DO $$ BEGIN RAISE EXCEPTION E'msg ]]> \\x1b[2J \\u202e <script>x</script> @octocat\\n::error::inside'; END $$;\n",
    );
    repo.write(
        "smoke/t.sql",
        "SELECT plan(1);\nSELECT ok(false, E'desc ]]> \\u202e \\x1b[31m |pipe| <img src=x> @octocat');\nSELECT * FROM finish();\n",
    );
    let p = |name: &str| repo.path().join(name);
    let out = Dbgate::at(repo.path())
        .args(["check", "--junit"])
        .arg(p("junit.xml"))
        .arg("--json")
        .arg(p("report.json"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", p("summary.md"))
        .run();
    out.code(1);

    // JSON: the exact names and messages, parseable.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("report.json")).unwrap()).unwrap();
    let file = report["migrations"][1]["file"].as_str().unwrap();
    assert_eq!(file, format!("migrations/002_{hostile}.sql"));

    // JUnit: valid against the schema; no control character, no raw override.
    let xml = std::fs::read_to_string(p("junit.xml")).unwrap();
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit.xsd"))
        .arg(p("junit.xml"))
        .output()
        .expect("xmllint (libxml2-utils) runs");
    assert!(lint.status.success(), "{}\n{xml}", String::from_utf8_lossy(&lint.stderr));
    assert!(!xml.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'), "{xml}");
    assert!(xml.contains("\\u{202e}"), "{xml}");

    // The console and annotations: nothing a terminal or the runner would act on.
    let stdout = &out.stdout;
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'), "{stdout}");
    let token = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("::stop-commands::"))
        .expect("stop-commands first")
        .to_string();
    let (_, after) = stdout.split_once(&format!("::{token}::\n")).expect("commands resume");
    let mut annotated = Vec::new();
    for line in after.lines().filter(|l| l.starts_with("::")) {
        let (name, properties, message) = workflow_command(line).unwrap_or_else(|| panic!("not a workflow command: {line}"));
        assert!(["error", "warning", "notice"].contains(&name.as_str()), "{line}");
        // A line break in a message is %0A: the runner puts it back inside the annotation.
        assert!(
            !line.starts_with("::error::forged") && !line.starts_with("::error::inside"),
            "{line}"
        );
        assert!(!message.is_empty(), "{line}");
        if let Some((_, file)) = properties.iter().find(|(k, _)| k == "file") {
            annotated.push(file.clone());
        }
    }
    // The annotations name the file with its escape written out; its line break comes back as
    // one when the runner decodes the property.
    assert!(
        annotated
            .iter()
            .any(|f| f.starts_with("migrations/002_x\\x1b[31m\n::error::forged ]]> <b>@octocat %0A |\\u{202e}gnp")),
        "{annotated:?}"
    );

    // The job summary, rendered as markdown (GitHub-flavoured tables): no HTML from the repo,
    // no mention, no override; every table row stays one row.
    let markdown = std::fs::read_to_string(p("summary.md")).unwrap();
    let mut html = String::new();
    let parser = pulldown_cmark::Parser::new_ext(&markdown, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut html, parser);
    for raw in ["<script", "<b>", "<img", "\u{202e}", "\u{1b}"] {
        assert!(!html.contains(raw), "{raw:?} in\n{html}");
    }
    // GitHub mentions nobody from code.
    let outside_code = regex::Regex::new(r"(?s)<code>.*?</code>|<pre>.*?</pre>")
        .unwrap()
        .replace_all(&html, "");
    assert!(!outside_code.contains("@octocat"), "{outside_code}");
    let rows = markdown
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|-") && !l.starts_with("|:") && !l.starts_with("| -"))
        .count();
    assert_eq!(html.matches("<tr>").count(), rows, "{markdown}\n{html}");
}

#[test]
fn a_test_that_stops_the_postmaster_or_a_cell_that_sleeps_has_a_deadline() {
    // An RLS cell whose condition sleeps: cancelled at the timeout, a failure of that cell; the
    // next cell still runs.
    let repo = TempRepo::new();
    repo.migrations(&[(
        "001_t",
        "CREATE TABLE t (id int);\nCREATE ROLE sleepy_reader;\nGRANT SELECT ON t TO sleepy_reader;\n",
        "DROP TABLE t;\nDROP ROLE sleepy_reader;",
    )]);
    let cell =
        |condition: &str| format!("[[cell]]\nuser = \"alice\"\ntable = \"t\"\ncommand = \"select\"\nwhere = {condition:?}\nexpect = 0\n\n");
    repo.write(
        "smoke/t.rls.toml",
        &format!(
            "setup = \"INSERT INTO t VALUES (1)\"\n\n[users.alice]\nrole = \"sleepy_reader\"\n\n{}{}",
            cell("pg_sleep(60) IS NULL"),
            cell("id < 0")
        ),
    );
    let started = std::time::Instant::now();
    let out = Dbgate::at(repo.path()).args(["check", "--migration-timeout", "1"]).run();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    out.code(1);
    out.stdout_has("where pg_sleep(60) IS NULL: expected 0 rows, but it failed: the cell's statement: no answer within 1 s; cancelled (SQLSTATE 57014)");
    out.stdout_has("rls           1 passed, 1 failed");
    // A smoke test that stops the postmaster: dbgate's own commands around it give up after
    // their deadline and the grace, as an environment error, and the server is cleaned up.
    let repo = one_migration();
    repo.write(
        "smoke/stop.sql",
        "COPY (SELECT 1) TO PROGRAM 'kill -STOP $(ps -o ppid= -p $PPID)';\nSELECT pg_sleep(120);\n",
    );
    let tmp = TempRepo::new();
    let started = std::time::Instant::now();
    let out = Dbgate::at(repo.path())
        .args(["check", "--migration-timeout", "1"])
        .env("TMPDIR", tmp.path())
        .run();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(100),
        "took {:?}",
        started.elapsed()
    );
    out.code(3);
    out.stderr_has("the database tests' session: no answer within 1 s, nor after a cancel: dbgate gave up on the session");
    assert!(!crate::support::postgres_running_under(tmp.path()));
}

#[test]
fn a_lock_on_a_shared_catalog_left_open_does_not_hold_the_server_watch() {
    let repo = TempRepo::new();
    repo.write(
        "migrations/001_lock.sql",
        "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nBEGIN;\nLOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE;\n",
    );
    repo.write("migrations/002_u.sql", "CREATE TABLE u (id int);\n");
    let started = std::time::Instant::now();
    let out = Dbgate::at(repo.path()).args(["check", "--migration-timeout", "2"]).run();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    out.code(0);
    out.stdout_has("warning: dbgate stopped watching the server outside the database after migrations/001_lock.sql (no answer within 2 s; cancelled): changes there by it and later migrations are not checked");
    out.stdout_has("PASS  migrations/002_u.sql");
}
