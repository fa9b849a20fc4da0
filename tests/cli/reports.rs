//! Reports: console, JUnit, JSON.

use crate::support::{self, Dbgate, TempRepo};
use std::fs;

#[test]
fn console_report_of_a_failing_run() {
    let out = Dbgate::fixture("rollback-leaves-index").args(["check"]).run();
    insta::assert_snapshot!("console_rollback_leaves_index", support::normalize(&out.stdout));
}

#[test]
fn junit_report_has_a_suite_per_check_and_file_line_in_failures() {
    let repo = support::TempRepo::new();
    let junit = repo.path().join("junit.xml");
    let out = Dbgate::fixture("rollback-errors").args(["check", "--junit"]).arg(&junit).run();
    out.code(1);
    let xml = fs::read_to_string(&junit).unwrap();
    insta::assert_snapshot!("junit_rollback_errors", support::normalize(&xml));
}

#[test]
fn json_report_carries_the_whole_result() {
    let repo = support::TempRepo::new();
    let json = repo.path().join("report.json");
    let out = Dbgate::fixture("syntax-error").args(["check", "--json"]).arg(&json).run();
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "failed");
    assert_eq!(report["environment"]["provider"], "local");
    let failure = &support::check(&report["migrations"][0], "replay")["failures"][0];
    assert_eq!(failure["location"]["file"], "migrations/001_init.sql");
    assert_eq!(failure["location"]["line"], 7);
    assert_eq!(failure["location"]["column"], 42);
    assert_eq!(failure["sqlstate"], "42601");
}

#[test]
fn json_report_describes_differences_as_objects() {
    let repo = support::TempRepo::new();
    let json = repo.path().join("report.json");
    Dbgate::fixture("rollback-changes-default")
        .args(["check", "--json"])
        .arg(&json)
        .run()
        .code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let rollback = &support::check(&report["migrations"][1], "rollback");
    assert_eq!(rollback["kind"], "rollback");
    assert_eq!(rollback["status"], "failed");
    let difference = &rollback["failures"][0]["difference"];
    assert_eq!(difference["object"]["kind"], "column");
    assert_eq!(difference["object"]["name"], "public.articles.status");
    assert_eq!(difference["change"], "changed");
    assert_eq!(difference["attribute"], "default");
    assert_eq!(difference["expected"], "'draft'::text");
    assert_eq!(difference["actual"], "'old'::text");
}

#[test]
fn a_report_path_that_cannot_be_written_is_an_input_error() {
    let out = Dbgate::fixture("layout-golang-migrate")
        .args(["check", "--json", "/nonexistent/dir/report.json"])
        .run();
    out.code(2);
    out.stderr_has("cannot write /nonexistent/dir/report.json");
}

#[test]
fn colour_is_on_when_asked_and_off_with_no_color() {
    let out = Dbgate::fixture("layout-supabase").args(["check", "--color", "always"]).run();
    out.code(0);
    out.stdout_has("\x1b[32mPASS\x1b[0m");
    let out = Dbgate::fixture("layout-supabase").args(["check"]).env("NO_COLOR", "1").run();
    assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
}

/// A failing fixture in `services/api` of a repository, with its reports.
fn run_in_a_subfolder(workspace: Option<&std::path::Path>, repo: &TempRepo) -> (support::Output, String, serde_json::Value) {
    repo.copy_fixture("rollback-leaves-index", "services/api");
    let (junit, json) = (repo.path().join("junit.xml"), repo.path().join("report.json"));
    let mut dbgate = Dbgate::at(repo.path().join("services/api"))
        .args(["check", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_EVENT_PATH");
    dbgate = match workspace {
        Some(root) => dbgate.env("GITHUB_WORKSPACE", root),
        None => dbgate.env_remove("GITHUB_WORKSPACE"),
    };
    let out = dbgate.run();
    out.code(1);
    let report = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    (out, fs::read_to_string(&junit).unwrap(), report)
}

fn assert_repo_relative(out: &support::Output, junit: &str, report: &serde_json::Value) {
    // The console stays relative to where dbgate runs...
    out.stdout_has("  FAIL  migrations/002_add_order_note_and_index.sql");
    // ...what CI tools read starts at the repository root.
    out.stdout_has("::error file=services/api/migrations/002_add_order_note_and_index_rollback.sql,line=1,col=1,");
    assert_eq!(
        report["migrations"][1]["file"],
        "services/api/migrations/002_add_order_note_and_index.sql"
    );
    assert_eq!(
        support::check(&report["migrations"][1], "rollback")["failures"][0]["location"]["file"],
        "services/api/migrations/002_add_order_note_and_index_rollback.sql"
    );
    assert_eq!(report["migrations_dir"], "services/api/migrations");
    // A failing testcase names the file at fault and its line; a passing one its migration.
    assert!(
        junit.contains(r#"classname="dbgate.rollback" time="#)
            && junit.contains(r#"file="services/api/migrations/002_add_order_note_and_index_rollback.sql" line="1">"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"file="services/api/migrations/001_create_orders.sql"/>"#),
        "{junit}"
    );
}

#[test]
fn annotations_junit_and_json_name_files_from_the_workspace_root_in_a_subfolder() {
    let repo = TempRepo::new();
    let (out, junit, report) = run_in_a_subfolder(Some(repo.path()), &repo);
    assert_repo_relative(&out, &junit, &report);
}

#[test]
fn without_a_workspace_the_git_top_level_is_the_repository_root() {
    let repo = TempRepo::new();
    let git = std::process::Command::new("git").arg("init").arg("-q").arg(repo.path()).status();
    assert!(git.is_ok_and(|s| s.success()), "git init");
    let (out, junit, report) = run_in_a_subfolder(None, &repo);
    assert_repo_relative(&out, &junit, &report);
}

#[test]
fn outside_any_repository_paths_stay_as_dbgate_sees_them() {
    let repo = TempRepo::new();
    repo.copy_fixture("rollback-leaves-index", "");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path())
        .env_remove("GITHUB_WORKSPACE")
        .args(["check", "--json"])
        .arg(&json)
        .run();
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["migrations"][1]["file"], "migrations/002_add_order_note_and_index.sql");
}

#[test]
fn the_summary_counts_irreversible_rollbacks_apart() {
    let repo = TempRepo::new();
    repo.migrations(&[
        ("001_a", "CREATE TABLE a (id int);", "DROP TABLE a;"),
        ("002_b", "CREATE TABLE b (id int);", "-- dbgate:irreversible\nSELECT 1;"),
    ]);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    out.stdout_has("PASS  migrations/002_b.sql");
    out.stdout_has("replay, lint (rollback declared irreversible)");
    out.stdout_has("7 checks passed, 0 failed, 0 warnings, 3 skipped, 1 irreversible rollback, in");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["irreversible"], 1);
    assert_eq!(report["migrations"][1]["irreversible"], true);
    assert!(report["migrations"][0].get("irreversible").is_none());
}

#[test]
fn a_long_run_of_migrations_not_checked_is_one_line_in_the_console_and_whole_elsewhere() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_a.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/002_broken.sql", "CREATE TABLE nope (;\n");
    for n in 3..=20 {
        repo.write(&format!("migrations/{n:03}_t.sql"), &format!("CREATE TABLE t{n} (id int);\n"));
    }
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.in_order(&[
        "----  migrations/003_t.sql",
        "----  migrations/004_t.sql",
        "----  migrations/005_t.sql",
        "----  15 more migrations, through migrations/020_t.sql, not checked for the same reason",
    ]);
    assert!(!out.stdout.contains("migrations/006_t.sql"), "{}", out.stdout);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["migrations"].as_array().unwrap().len(), 20);
    assert_eq!(report["summary"]["migrations_not_checked"], 18);
    // A run of four is listed whole (one line would save nothing).
    for n in 7..=20 {
        std::fs::remove_file(repo.path().join(format!("migrations/{n:03}_t.sql"))).unwrap();
    }
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.stdout_has("----  migrations/006_t.sql");
    assert!(!out.stdout.contains("more migrations"), "{}", out.stdout);
}
