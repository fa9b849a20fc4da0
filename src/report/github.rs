//! GitHub workflow commands: an annotation at the exact line of each failure (so that the pull
//! request's diff shows it), and the step's outputs.

use std::fmt::Write;
use std::path::Path;

use super::{Location, Report, Status};

/// `::error file=…,line=…,col=…,title=…::message` for every failure that has a place.
pub fn annotations(report: &Report) -> String {
    // A control character in a message must not reach the runner's log as one.
    let report = &report.without_control_characters();
    let mut out = String::new();
    let mut annotate = |level: &str, title: String, location: &Option<Location>, message: &str| {
        let Some(location) = location else { return };
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},title={}::{}",
            property(&location.file.display().to_string()),
            location.line,
            location.column,
            property(&title),
            data(message)
        );
    };
    for finding in &report.findings {
        let failure = finding.failure();
        annotate(
            "error",
            format!("dbgate: {}", finding.kind.name()),
            &failure.location,
            &failure.message,
        );
    }
    for migration in &report.migrations {
        for check in &migration.checks {
            let title = format!("dbgate {}: {}", check.kind.name(), migration.file.display());
            for failure in check.failures.iter().filter(|_| check.status == Status::Failed) {
                annotate("error", title.clone(), &failure.location, &failure.message);
            }
            for warning in &check.warnings {
                let kind = warning.kind.name();
                annotate(
                    "warning",
                    if kind == check.kind.name() {
                        title.clone()
                    } else {
                        format!("{title} ({kind})")
                    },
                    &warning.location,
                    &warning.message,
                );
            }
        }
    }
    for case in report.tests.iter().filter(|t| t.status == Status::Failed) {
        for failure in &case.failures {
            annotate(
                "error",
                format!("dbgate {}: {}", case.suite, case.name),
                &failure.location,
                &failure.message,
            );
        }
    }
    out
}

/// `key=value` lines for `GITHUB_OUTPUT`.
/// `paths`: the JUnit, JSON and SARIF files written, if they were.
pub fn outputs(report: &Report, paths: [Option<&Path>; 3]) -> String {
    let verdict = match report.verdict {
        super::Verdict::Passed => "passed",
        super::Verdict::Failed => "failed",
        super::Verdict::Incomplete => "incomplete",
    };
    let failed_tests = report.tests.iter().filter(|t| t.status == Status::Failed).count();
    let s = &report.summary;
    let mut out = format!(
        "verdict={verdict}\nmigrations={}\nchecks-passed={}\nchecks-failed={}\nchecks-skipped={}\nchecks-not-checked={}\nwarnings={}\ntests={}\ntests-failed={failed_tests}\n",
        s.migrations,
        s.checks_passed,
        s.checks_failed,
        s.checks_skipped,
        s.checks_not_checked,
        s.warnings,
        report.tests.len()
    );
    for (key, path) in ["junit-path", "json-path", "sarif-path"].into_iter().zip(paths) {
        if let Some(path) = path {
            let _ = writeln!(out, "{key}={}", path.display());
        }
    }
    out
}

/// The message of a workflow command.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property of a workflow command.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn workflow_command_values_are_escaped() {
        assert_eq!(super::data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(super::property("a:b,c"), "a%3Ab%2Cc");
    }
}
