//! Every renderer of the report, from one hand-built report (tests/fixtures/reports/mixed.json:
//! passed, failed and skipped migrations, a rollback's schema difference, a syntax error with
//! its caret, every kind of test, RLS coverage, warnings and notes), held as snapshots.

use std::fs;
use std::path::Path;

use dbgate::report::{console, github, json, junit, markdown, Report};

use crate::support;

fn mixed() -> Report {
    let text = fs::read_to_string(support::fixture("reports/mixed.json")).unwrap();
    serde_json::from_str(&text).expect("the hand-built report reads as a report")
}

#[test]
fn console_report() {
    insta::assert_snapshot!(console::render(&mixed(), console::Style { color: false }));
}

#[test]
fn junit_report() {
    // The run's timestamps and host are the renderer's own, not the report's: normalised.
    insta::assert_snapshot!(support::normalize(&junit::render(&mixed()).unwrap()));
}

#[test]
fn markdown_comment() {
    insta::assert_snapshot!(markdown::comment(&mixed()));
}

#[test]
fn job_summary() {
    insta::assert_snapshot!(markdown::job_summary(&mixed()));
}

#[test]
fn annotations_and_step_outputs() {
    let report = mixed();
    let outputs = github::outputs(
        &report,
        [
            Some(Path::new("out/junit.xml")),
            Some(Path::new("out/report.json")),
            Some(Path::new("out/dbgate.sarif")),
        ],
    );
    insta::assert_snapshot!(format!("{}\n--- outputs\n{outputs}", github::annotations(&report)));
}

#[test]
fn the_json_report_reads_back_as_it_was_written() {
    let report = mixed();
    let written: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
    let hand_built: serde_json::Value = serde_json::from_str(&fs::read_to_string(support::fixture("reports/mixed.json")).unwrap()).unwrap();
    assert_eq!(written, hand_built);
}
