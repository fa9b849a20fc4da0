//! The JUnit report: one testsuite per check kind, one testcase per migration per check, and a
//! testsuite for each kind of database test. A failing testcase carries the `file` and `line`
//! of its first failure (the file at fault: the rollback, for a rollback that does not restore
//! the schema), which mikepenz/action-junit-report and EnricoMi/publish-unit-test-result-action
//! annotate; a skipped one says why; a passing one with warnings lists them in its output.
//!
//! Written with quick-xml: junit-report (0.8 and 0.9) writes a testcase's name, time, classname
//! and file only, and no reason on a skipped case.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{CheckKind, CheckResult, Failure, Location, Report, Status, TestCaseResult};

/// A testcase, ready to write.
struct Case {
    name: String,
    classname: String,
    time_ms: u64,
    /// Where a failure is, else the file the case is about.
    file: String,
    line: Option<usize>,
    outcome: CaseOutcome,
    /// What a passing or failing check adds: its warnings and the differences ignored.
    output: String,
}

enum CaseOutcome {
    Passed,
    /// The first failure's sentence as the message; every failure with its details as the text.
    Failed {
        kind: String,
        message: String,
        text: String,
    },
    Skipped(String),
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

pub fn render(report: &Report) -> Result<String, quick_xml::Error> {
    let env = &report.environment;
    let image = env.image.as_ref().map(|i| format!(" ({i})")).unwrap_or_default();
    let environment = format!(
        "dbgate {} · {} provider{image} · PostgreSQL {}",
        report.dbgate_version, env.provider, env.server_version
    );
    let mut suites = Vec::new();
    // The repo's own defects first: they belong to no migration.
    if !report.findings.is_empty() {
        let cases = report
            .findings
            .iter()
            .map(|finding| {
                let failure = finding.failure();
                Case {
                    name: finding.location.file.display().to_string(),
                    classname: "dbgate.repository".to_string(),
                    time_ms: 0,
                    file: finding.location.file.display().to_string(),
                    line: Some(finding.location.line),
                    outcome: CaseOutcome::Failed {
                        kind: finding.kind.name().to_string(),
                        message: failure.located_message(),
                        text: failure_text(std::slice::from_ref(&failure)),
                    },
                    output: String::new(),
                }
            })
            .collect();
        suites.push(Suite {
            name: "dbgate repository".to_string(),
            cases,
        });
    }
    for kind in CheckKind::ALL {
        let cases = report
            .migrations
            .iter()
            .filter_map(|migration| {
                let check = migration.checks.iter().find(|c| c.kind == kind)?;
                Some(match kind {
                    CheckKind::Lint => lint_cases(migration, check),
                    _ => vec![check_case(&migration.file.display().to_string(), check)],
                })
            })
            .flatten()
            .collect::<Vec<_>>();
        // A server or history check is listed only for a migration it has something to say about.
        if kind.only_when_relevant() && cases.is_empty() {
            continue;
        }
        suites.push(Suite {
            name: format!("dbgate {}", kind.name()),
            cases,
        });
    }
    for name in report.suites() {
        let cases = report.tests.iter().filter(|c| c.suite == name).map(test_case).collect();
        suites.push(Suite {
            name: format!("dbgate {name}"),
            cases,
        });
    }
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let count = |suite: &Suite, outcome: fn(&CaseOutcome) -> bool| suite.cases.iter().filter(|c| outcome(&c.outcome)).count();
    let failed = |o: &CaseOutcome| matches!(o, CaseOutcome::Failed { .. });
    let skipped = |o: &CaseOutcome| matches!(o, CaseOutcome::Skipped(_));
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(|s| count(s, failed)).sum();
    writer.write_event(Event::Start(BytesStart::new("testsuites").with_attributes([
        ("name", "dbgate"),
        ("tests", tests.to_string().as_str()),
        ("failures", failures.to_string().as_str()),
        ("errors", "0"),
        ("time", seconds(report.duration_ms).as_str()),
    ])))?;
    for (id, suite) in suites.iter().enumerate() {
        let time: u64 = suite.cases.iter().map(|c| c.time_ms).sum();
        writer.write_event(Event::Start(BytesStart::new("testsuite").with_attributes([
            ("id", id.to_string().as_str()),
            ("name", suite.name.as_str()),
            ("tests", suite.cases.len().to_string().as_str()),
            ("failures", count(suite, failed).to_string().as_str()),
            ("errors", "0"),
            ("skipped", count(suite, skipped).to_string().as_str()),
            ("time", seconds(time).as_str()),
        ])))?;
        for case in &suite.cases {
            write_case(&mut writer, case)?;
        }
        text_element(&mut writer, "system-out", &environment)?;
        writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut out = writer.into_inner();
    out.push(b'\n');
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn write_case(writer: &mut Writer<Vec<u8>>, case: &Case) -> Result<(), quick_xml::Error> {
    let time = seconds(case.time_ms);
    let line = case.line.map(|l| l.to_string());
    let mut start = BytesStart::new("testcase").with_attributes([
        ("name", clean(&case.name).as_str()),
        ("classname", clean(&case.classname).as_str()),
        ("time", time.as_str()),
        ("file", clean(&case.file).as_str()),
    ]);
    if let Some(line) = &line {
        start.push_attribute(("line", line.as_str()));
    }
    if matches!(case.outcome, CaseOutcome::Passed) && case.output.is_empty() {
        writer.write_event(Event::Empty(start))?;
        return Ok(());
    }
    writer.write_event(Event::Start(start))?;
    match &case.outcome {
        CaseOutcome::Passed => {}
        CaseOutcome::Skipped(reason) => {
            writer.write_event(Event::Empty(
                BytesStart::new("skipped").with_attributes([("message", clean(reason).as_str())]),
            ))?;
        }
        CaseOutcome::Failed { kind, message, text } => {
            let start = BytesStart::new("failure").with_attributes([("type", kind.as_str()), ("message", clean(message).as_str())]);
            writer.write_event(Event::Start(start))?;
            write_text(writer, text)?;
            writer.write_event(Event::End(BytesEnd::new("failure")))?;
        }
    }
    if !case.output.is_empty() {
        text_element(writer, "system-out", &case.output)?;
    }
    writer.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> Result<(), quick_xml::Error> {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    write_text(writer, text)?;
    writer.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

/// Text, escaped only where it must be (<, >, &): quotes stay readable.
fn write_text(writer: &mut Writer<Vec<u8>>, text: &str) -> Result<(), quick_xml::Error> {
    let clean = clean(text);
    writer.write_event(Event::Text(BytesText::from_escaped(quick_xml::escape::partial_escape(&clean))))?;
    Ok(())
}

/// A migration's check as a testcase named after the migration.
fn check_case(migration: &str, check: &CheckResult) -> Case {
    let mut output = String::new();
    for warning in &check.warnings {
        output.push_str(&format!("warning: {}\n", warning.located_message()));
    }
    for ignored in &check.ignored {
        output.push_str(&format!("ignored: {}\n", ignored.describe()));
    }
    let outcome = match check.status {
        Status::Passed => CaseOutcome::Passed,
        Status::Skipped => CaseOutcome::Skipped(check.skip_reason.clone().unwrap_or_default()),
        Status::NotChecked => CaseOutcome::Skipped(not_checked(&check.skip_reason)),
        Status::Failed => {
            let first = check.failures.first().map(|f| f.located_message()).unwrap_or_default();
            CaseOutcome::Failed {
                kind: check.kind.name().to_string(),
                message: match &check.headline {
                    Some(headline) => format!("{headline}: {first}"),
                    None => first,
                },
                text: failure_text(&check.failures),
            }
        }
    };
    let at = (check.status == Status::Failed).then(|| first_location(&check.failures)).flatten();
    Case {
        name: migration.to_string(),
        classname: format!("dbgate.{}", check.kind.name().replace(' ', "_")),
        time_ms: check.duration_ms,
        file: at.map_or_else(|| migration.to_string(), |l| l.file.display().to_string()),
        line: at.map(|l| l.line),
        outcome,
        output,
    }
}

/// The lint's cases for one migration: one per finding (failed when it is an error not
/// allowed), one per allow comment that cannot be read, and one for the migration when it was
/// linted with no finding or could not be.
fn lint_cases(migration: &super::MigrationResult, check: &CheckResult) -> Vec<Case> {
    let file = migration.file.display().to_string();
    let mut cases: Vec<Case> = migration
        .lint
        .iter()
        .map(|finding| {
            let failure = finding.failure();
            let (outcome, output) = match (&finding.allowed, finding.severity) {
                (Some(allowed), _) => (
                    CaseOutcome::Passed,
                    format!("allowed at {}: {}\n", allowed.location, allowed.reason),
                ),
                (None, crate::checks::lint::Severity::Error) => (
                    CaseOutcome::Failed {
                        kind: finding.rule.id().to_string(),
                        message: failure.located_message(),
                        text: failure_text(std::slice::from_ref(&failure)),
                    },
                    String::new(),
                ),
                (None, _) => (CaseOutcome::Passed, format!("warning: {}\n", failure.located_message())),
            };
            Case {
                name: format!("{} at {}", finding.rule.id(), finding.location),
                classname: format!("dbgate.lint.{}", finding.rule.id()),
                time_ms: 0,
                file: finding.location.file.display().to_string(),
                line: Some(finding.location.line),
                outcome,
                output,
            }
        })
        .collect();
    let from_findings: Vec<String> = migration.lint.iter().map(|f| f.failure().located_message()).collect();
    let others: Vec<Failure> = check
        .failures
        .iter()
        .filter(|f| !from_findings.contains(&f.located_message()))
        .cloned()
        .collect();
    for failure in others {
        let mut case = check_case(&file, &CheckResult::failed(CheckKind::Lint, 0, None, vec![failure]));
        case.name = format!("{} at {}", file, case.line.unwrap_or(1));
        cases.push(case);
    }
    if cases.is_empty() || check.status == Status::NotChecked {
        cases.push(check_case(&file, check));
    }
    cases
}

/// A database test's case: a smoke test file, a pgTAP assertion, an RLS cell, an expectation.
fn test_case(case: &TestCaseResult) -> Case {
    let outcome = match case.status {
        Status::Passed => CaseOutcome::Passed,
        Status::Skipped => CaseOutcome::Skipped(case.skip_reason.clone().unwrap_or_default()),
        Status::NotChecked => CaseOutcome::Skipped(not_checked(&case.skip_reason)),
        Status::Failed => CaseOutcome::Failed {
            kind: case.suite.name().to_string(),
            message: case.failures.first().map(|f| f.located_message()).unwrap_or_default(),
            text: failure_text(&case.failures),
        },
    };
    let at = (case.status == Status::Failed).then(|| first_location(&case.failures)).flatten();
    Case {
        name: case.name.clone(),
        classname: format!("dbgate.{}.{}", case.suite, case.file.display()),
        time_ms: case.duration_ms,
        file: at.map_or_else(|| case.file.display().to_string(), |l| l.file.display().to_string()),
        line: at.map(|l| l.line),
        outcome,
        output: String::new(),
    }
}

/// "not checked: " and why.
fn not_checked(reason: &Option<String>) -> String {
    format!("not checked: {}", reason.as_deref().unwrap_or(""))
}

fn first_location(failures: &[Failure]) -> Option<&Location> {
    failures.iter().find_map(|f| f.location.as_ref())
}

/// Every failure with its details, as the testcase's output.
fn failure_text(failures: &[Failure]) -> String {
    let mut text = String::new();
    for failure in failures {
        text.push_str(&failure.located_message());
        text.push('\n');
        for detail in &failure.details {
            text.push_str(detail);
            text.push('\n');
        }
    }
    text
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Server messages may carry ANSI colour codes and control characters that XML 1.0 cannot hold.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte; other escapes: ESC and one character.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if super::sanitize::is_bidi_override(c) {
            // A bidirectional override reorders what a test reporter shows: written out.
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else if (!c.is_control() || c == '\n' || c == '\t') && !matches!(c, '\u{fffe}' | '\u{ffff}') {
            // XML 1.0 holds neither control characters nor U+FFFE and U+FFFF.
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_codes_and_control_characters_are_stripped() {
        assert_eq!(
            super::clean("bad \u{1b}[31;1mred\u{1b}[0m and \u{7} bell\nnext\u{fffe}\u{ffff}"),
            "bad red and  bell\nnext"
        );
    }
}
