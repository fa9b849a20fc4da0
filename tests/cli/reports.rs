//! Reports: console, JUnit, JSON.

use crate::support::{self, Dbgate};
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
