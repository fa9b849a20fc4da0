//! The JUnit report: one testsuite per check kind, one testcase per migration per check, the
//! migration file as the testcase's file, and `path:line:column` in every failure.

use junit_report::{Duration, ReportBuilder, TestCase, TestSuiteBuilder};

use super::{CheckKind, Report, Status};

pub fn render(report: &Report) -> Result<String, junit_report::Error> {
    let mut builder = ReportBuilder::new();
    let env = &report.environment;
    let image = env.image.as_ref().map(|i| format!(" ({i})")).unwrap_or_default();
    let environment = format!(
        "dbgate {} · {} provider{image} · PostgreSQL {}",
        report.dbgate_version, env.provider, env.server_version
    );
    // For every testcase, in the order written: the reason of a check not checked.
    let mut not_checked: Vec<Option<String>> = Vec::new();
    // The repo's own defects first: they belong to no migration.
    if !report.findings.is_empty() {
        let mut suite = TestSuiteBuilder::new("dbgate repository");
        for finding in &report.findings {
            let file = finding.location.file.display().to_string();
            let failure = finding.failure();
            let mut case = TestCase::failure(&file, Duration::ZERO, finding.kind.name(), &clean(&failure.located_message()));
            case.set_classname("dbgate.repository");
            case.set_filepath(&file);
            suite.add_testcase(case);
            not_checked.push(None);
        }
        suite.set_system_out(&cdata(&environment));
        builder.add_testsuite(suite.build());
    }
    for kind in CheckKind::ALL {
        let mut suite = TestSuiteBuilder::new(&format!("dbgate {}", kind.name()));
        for migration in &report.migrations {
            let Some(check) = migration.checks.iter().find(|c| c.kind == kind) else {
                continue;
            };
            let name = migration.file.display().to_string();
            let time = Duration::milliseconds(check.duration_ms as i64);
            let mut case = match check.status {
                Status::Passed => TestCase::success(&name, time),
                Status::Skipped => TestCase::skipped(&name),
                Status::NotChecked => TestCase::skipped(&name),
                Status::Failed => {
                    let first = check.failures.first().map(|f| f.located_message()).unwrap_or_default();
                    let message = match &check.headline {
                        Some(headline) => format!("{headline}: {first}"),
                        None => first,
                    };
                    let mut case = TestCase::failure(&name, time, kind.name(), &clean(&message));
                    case.set_system_out(&cdata(&failure_text(&check.failures)));
                    case
                }
            };
            case.set_classname(&format!("dbgate.{}", kind.name().replace(' ', "_")));
            case.set_filepath(&name);
            suite.add_testcase(case);
            not_checked.push(reason_if_not_checked(check.status, &check.skip_reason));
        }
        suite.set_system_out(&cdata(&environment));
        builder.add_testsuite(suite.build());
    }
    let suites = report.suites();
    for name in suites {
        let mut suite = TestSuiteBuilder::new(&format!("dbgate {name}"));
        for case in report.tests.iter().filter(|c| c.suite == name) {
            let time = Duration::milliseconds(case.duration_ms as i64);
            let mut testcase = match case.status {
                Status::Passed => TestCase::success(&case.name, time),
                Status::Skipped => TestCase::skipped(&case.name),
                Status::NotChecked => TestCase::skipped(&case.name),
                Status::Failed => {
                    let message = case.failures.first().map(|f| f.located_message()).unwrap_or_default();
                    let mut testcase = TestCase::failure(&case.name, time, name.name(), &clean(&message));
                    testcase.set_system_out(&cdata(&failure_text(&case.failures)));
                    testcase
                }
            };
            testcase.set_classname(&format!("dbgate.{name}.{}", case.file.display()));
            testcase.set_filepath(&case.file.display().to_string());
            suite.add_testcase(testcase);
            not_checked.push(reason_if_not_checked(case.status, &case.skip_reason));
        }
        suite.set_system_out(&cdata(&environment));
        builder.add_testsuite(suite.build());
    }
    let mut out = Vec::new();
    builder.build().write_xml(&mut out)?;
    Ok(with_not_checked_reasons(&String::from_utf8_lossy(&out), &not_checked))
}

fn reason_if_not_checked(status: Status, reason: &Option<String>) -> Option<String> {
    (status == Status::NotChecked).then(|| format!("not checked: {}", reason.as_deref().unwrap_or("")))
}

/// The report with `<skipped message="not checked: ..."/>` for each testcase not checked (the
/// nth testcase written gets `reasons[n]`): a skip the user must not read as done by design.
fn with_not_checked_reasons(xml: &str, reasons: &[Option<String>]) -> String {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut testcase: Option<usize> = None;
    let mut seen = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(event) => event,
            // Never a report cut short: without the reasons, but whole.
            Err(_) => return xml.to_string(),
        };
        let event = match event {
            Event::Start(start) if start.name().as_ref() == b"testcase" => {
                testcase = Some(seen);
                seen += 1;
                Event::Start(start)
            }
            Event::Empty(start) if start.name().as_ref() == b"testcase" => {
                seen += 1;
                Event::Empty(start)
            }
            Event::Empty(start) if start.name().as_ref() == b"skipped" => {
                match testcase.and_then(|i| reasons.get(i)).and_then(Option::as_deref) {
                    Some(reason) => Event::Empty(BytesStart::new("skipped").with_attributes([("message", clean(reason).as_str())])),
                    None => Event::Empty(start),
                }
            }
            other => other,
        };
        if writer.write_event(event).is_err() {
            return xml.to_string();
        }
    }
    String::from_utf8(writer.into_inner()).unwrap_or_else(|_| xml.to_string())
}

/// Every failure with its details, as the testcase's output.
fn failure_text(failures: &[super::Failure]) -> String {
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

/// Text for a CDATA section (junit-report writes system-out as one): `]]>` would end it early, so
/// it is broken up (a failing statement may well hold `m[m[1]]>0`).
fn cdata(text: &str) -> String {
    clean(text).replace("]]>", "]] >")
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
        } else if !c.is_control() || c == '\n' || c == '\t' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_that_would_end_a_cdata_section_is_broken_up() {
        assert_eq!(super::cdata("CHECK (m[m[1]]>0)"), "CHECK (m[m[1]] >0)");
    }

    #[test]
    fn ansi_codes_and_control_characters_are_stripped() {
        assert_eq!(
            super::clean("bad \u{1b}[31;1mred\u{1b}[0m and \u{7} bell\nnext"),
            "bad red and  bell\nnext"
        );
    }
}
