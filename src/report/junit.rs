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
                Status::Failed => {
                    let first = check.failures.first().map(|f| f.located_message()).unwrap_or_default();
                    let message = match &check.headline {
                        Some(headline) => format!("{headline}: {first}"),
                        None => first,
                    };
                    let mut case = TestCase::failure(&name, time, kind.name(), &clean(&message));
                    let mut text = String::new();
                    for failure in &check.failures {
                        text.push_str(&failure.located_message());
                        text.push('\n');
                        for detail in &failure.details {
                            text.push_str(detail);
                            text.push('\n');
                        }
                    }
                    case.set_system_out(&clean(&text));
                    case
                }
            };
            case.set_classname(&format!("dbgate.{}", kind.name().replace(' ', "_")));
            case.set_filepath(&name);
            suite.add_testcase(case);
        }
        suite.set_system_out(&environment);
        builder.add_testsuite(suite.build());
    }
    let mut out = Vec::new();
    builder.build().write_xml(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Server messages may carry control characters that XML 1.0 cannot hold.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect()
}
