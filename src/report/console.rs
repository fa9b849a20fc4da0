//! The console report: one line per migration that passes, the details of each that does not.

use std::fmt::Write;

use super::{CheckResult, Failure, MigrationResult, Report, Status, Verdict};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn red(&self, t: &str) -> String {
        self.paint("31;1", t)
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
}

pub fn render(report: &Report, style: Style) -> String {
    // Nothing from the repo or the server reaches the terminal as a control sequence.
    let report = &report.without_control_characters();
    let mut out = String::new();
    let env = &report.environment;
    let _ = writeln!(
        out,
        "dbgate {} · {} provider{} · PostgreSQL {} · {} migration{} in {}",
        report.dbgate_version,
        env.provider,
        env.image.as_ref().map(|i| format!(" ({i})")).unwrap_or_default(),
        env.server_version,
        report.migrations.len(),
        if report.migrations.len() == 1 { "" } else { "s" },
        report.migrations_dir.display()
    );
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!("tool: {} ({})", report.tool.tool.name(), report.tool.why))
    );
    if let Some(history) = &report.history {
        let new = history.new_migrations.len();
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "history: compared with {} at {} ({}): {new} new migration{}",
                history.base.name,
                &history.base.commit[..history.base.commit.len().min(7)],
                history.base.how,
                if new == 1 { "" } else { "s" }
            ))
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "{} {}", style.yellow("warning:"), continued(warning));
    }
    let _ = writeln!(out);
    let width = report
        .migrations
        .iter()
        .map(|m| m.file.display().to_string().chars().count())
        .max()
        .unwrap_or(0);
    for finding in &report.findings {
        let _ = writeln!(out, "  {}  {}", style.red("FAIL"), finding.kind.name());
        render_failure(&mut out, &finding.failure());
    }
    let mut index = 0;
    while index < report.migrations.len() {
        // A long run of migrations a failure kept from running, all for one reason: the first
        // few, then one line for the rest (every one is in the JSON and JUnit).
        let run = not_checked_run(&report.migrations[index..]);
        if run > NOT_CHECKED_SHOWN + 1 {
            for migration in &report.migrations[index..index + NOT_CHECKED_SHOWN] {
                render_migration(&mut out, migration, width, style);
            }
            let last = &report.migrations[index + run - 1];
            let _ = writeln!(
                out,
                "  {}  {}",
                style.yellow("----"),
                style.dim(&format!(
                    "{} more migrations, through {}, not checked for the same reason",
                    run - NOT_CHECKED_SHOWN,
                    last.file.display()
                ))
            );
            index += run;
            continue;
        }
        let migration = &report.migrations[index];
        render_migration(&mut out, migration, width, style);
        render_warnings(&mut out, migration, style);
        render_volume(&mut out, migration, style);
        index += 1;
    }
    render_tests(&mut out, report, style);
    render_coverage(&mut out, report, style);
    for note in &report.notes {
        let _ = writeln!(out, "{} {}", style.dim("note:"), continued(note));
    }
    let summary = &report.summary;
    let _ = writeln!(out);
    let counts = format!("{}, in {:.1} s", summary.counts(), report.duration_ms as f64 / 1000.0);
    let headline = report.headline();
    let verdict = match report.verdict {
        Verdict::Passed => style.green("PASSED"),
        Verdict::Failed => style.red("FAILED"),
        Verdict::Incomplete => style.yellow("INCOMPLETE"),
    };
    let _ = match headline.is_empty() {
        true => writeln!(out, "{verdict} {counts}"),
        false => writeln!(out, "{verdict} {}; {counts}", headline.join("; ")),
    };
    out
}

/// How many migrations of a long not-checked run the console lists one by one.
const NOT_CHECKED_SHOWN: usize = 3;

/// How many migrations from the first of `migrations` on were not checked at all (no check ran,
/// no warning), for one and the same reason.
fn not_checked_run(migrations: &[MigrationResult]) -> usize {
    let reason = |m: &MigrationResult| {
        let untouched = m.checks.iter().all(|c| c.status == Status::NotChecked && c.warnings.is_empty());
        (untouched && !m.checks.is_empty()).then(|| m.checks[0].skip_reason.clone())
    };
    let Some(first) = migrations.first().and_then(reason) else {
        return 0;
    };
    migrations.iter().take_while(|m| reason(m).as_ref() == Some(&first)).count()
}

fn render_migration(out: &mut String, migration: &MigrationResult, width: usize, style: Style) {
    let file = migration.file.display().to_string();
    let ran: Vec<&str> = migration
        .checks
        .iter()
        .filter(|c| c.status == Status::Passed)
        .map(|c| c.kind.name())
        .collect();
    let time = style.dim(&format!("{:>6} ms", migration.duration_ms));
    match migration.status() {
        // Some checks ran and passed, others a failure elsewhere kept from running: each said.
        Status::NotChecked if !ran.is_empty() => {
            let _ = writeln!(out, "  {}  {file:<width$} {time}", style.yellow("----"));
            for check in &migration.checks {
                render_check(out, check, style);
            }
        }
        Status::NotChecked => {
            let reason = migration.checks.first().and_then(|c| c.skip_reason.clone()).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {file:<width$}             {}",
                style.yellow("----"),
                style.dim(&continued(&format!("not checked: {reason}")))
            );
        }
        Status::Passed => render_passed(out, migration, &file, width, time, &ran, style),
        Status::Skipped => {
            let reason = migration.checks.first().and_then(|c| c.skip_reason.clone()).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {file:<width$}             {}",
                style.yellow("SKIP"),
                style.dim(&continued(&reason))
            );
        }
        Status::Failed => {
            let _ = writeln!(out, "  {}  {file:<width$} {time}", style.red("FAIL"));
            for check in &migration.checks {
                render_check(out, check, style);
            }
        }
    }
}

/// A migration whose checks that ran passed: one line, with what did not run in brackets.
fn render_passed(out: &mut String, migration: &MigrationResult, file: &str, width: usize, time: String, ran: &[&str], style: Style) {
    let mut notes = Vec::new();
    if let Some(crate::script::RunMode::NoTransaction(why)) = &migration.run_mode {
        notes.push(format!("no transaction: {why}"));
    }
    if migration.rollback.is_none() {
        notes.push("no rollback".to_string());
    } else if migration.irreversible {
        notes.push("rollback declared irreversible".to_string());
    } else {
        let skipped: Vec<&str> = migration
            .checks
            .iter()
            .filter(|c| c.status == Status::Skipped)
            .map(|c| c.kind.name())
            .collect();
        if !skipped.is_empty() {
            notes.push(format!("skipped: {}", skipped.join(", ")));
        }
    }
    let ignored: usize = migration.checks.iter().map(|c| c.ignored.len()).sum();
    if ignored > 0 {
        notes.push(format!("{ignored} difference{} ignored", if ignored == 1 { "" } else { "s" }));
    }
    let note = if notes.is_empty() {
        String::new()
    } else {
        style.dim(&format!(" ({})", notes.join("; ")))
    };
    let _ = writeln!(out, "  {}  {file:<width$} {time}  {}{note}", style.green("PASS"), ran.join(", "));
}

/// A migration's time on the generated rows `--rows` asked for, and its statements that moved
/// rows, under the migration.
fn render_volume(out: &mut String, migration: &MigrationResult, style: Style) {
    let Some(volume) = &migration.volume else { return };
    let seconds = volume.duration_ms as f64 / 1000.0;
    let line = if volume.rows_per_table == 0 {
        format!("volume: {seconds:.2} s; --rows 0 put no rows in its tables")
    } else if volume.tables.is_empty() {
        format!("volume: {seconds:.2} s; no table it names existed before it, so it ran on no generated rows")
    } else {
        format!(
            "volume: {seconds:.2} s on {} rows per table ({:.2} s to put them in {})",
            volume.rows_per_table,
            volume.fill_ms as f64 / 1000.0,
            volume.tables.join(", ")
        )
    };
    let _ = writeln!(out, "        {}", style.dim(&line));
    for moved in &volume.moved {
        let _ = writeln!(
            out,
            "          {}",
            style.dim(&continued(&format!(
                "{}: {} rows in {:.2} s, {} rows/s: {}",
                moved.location,
                moved.rows,
                moved.duration_ms as f64 / 1000.0,
                moved.rows_per_second,
                moved.statement
            )))
        );
    }
}

/// The differences that change no behaviour, one line each, under the migration.
fn render_warnings(out: &mut String, migration: &MigrationResult, style: Style) {
    for check in &migration.checks {
        for warning in &check.warnings {
            let _ = writeln!(
                out,
                "        {} {}",
                style.yellow(&format!("warning ({}):", check.kind.name())),
                continued(&warning.located_message())
            );
        }
    }
    // A lint finding a `-- dbgate:allow` comment allows: said, with the comment's reason.
    for finding in migration.lint.iter().filter(|f| f.allowed.is_some()) {
        let reason = finding.allowed.as_ref().map(|a| a.reason.as_str()).unwrap_or_default();
        let _ = writeln!(
            out,
            "        allowed (lint): {}: {}: {} (allowed: {})",
            finding.location,
            finding.rule.id(),
            continued(&finding.message),
            continued(reason)
        );
    }
}

fn render_check(out: &mut String, check: &CheckResult, style: Style) {
    let name = format!("{:<15}", check.kind.name());
    match check.status {
        Status::Passed => {
            let _ = writeln!(out, "        {name}{}", style.green("passed"));
        }
        Status::Skipped => {
            let _ = writeln!(
                out,
                "        {name}{}",
                style.dim(&continued(&format!("skipped: {}", check.skip_reason.as_deref().unwrap_or(""))))
            );
        }
        Status::NotChecked => {
            let _ = writeln!(
                out,
                "        {name}{}",
                style.yellow(&continued(&format!("not checked: {}", check.skip_reason.as_deref().unwrap_or(""))))
            );
        }
        Status::Failed => {
            let headline = check.headline.as_deref().map(|h| format!(" {}", continued(h))).unwrap_or_default();
            let _ = writeln!(out, "        {name}{}{headline}", style.red("FAILED"));
            for failure in &check.failures {
                render_failure(out, failure);
            }
        }
    }
}

/// A text from the repo or the server that holds line breaks (a RAISE message, a file name):
/// each further line indented under the first, so that none reads as a line of the report.
fn continued(text: &str) -> String {
    text.replace('\n', "\n            ")
}

fn render_failure(out: &mut String, failure: &Failure) {
    let message = match (&failure.location, &failure.difference) {
        // A difference is about the whole rollback file: its sentence names the file already.
        (_, Some(_)) => format!("- {}", failure.message),
        (Some(_), None) => failure.located_message(),
        (None, None) => failure.message.clone(),
    };
    let _ = writeln!(out, "          {}", continued(&message));
    for detail in &failure.details {
        for line in detail.lines() {
            let _ = writeln!(out, "            {line}");
        }
    }
}

/// The database tests, a line per suite; the failing cases in full.
fn render_tests(out: &mut String, report: &Report, style: Style) {
    if report.tests.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let suites = report.suites();
    for suite in suites {
        let cases: Vec<_> = report.tests.iter().filter(|c| c.suite == suite).collect();
        let count = |status: Status| cases.iter().filter(|c| c.status == status).count();
        let (passed, failed, skipped) = (count(Status::Passed), count(Status::Failed), count(Status::Skipped));
        let mut counts = format!("{passed} passed");
        if failed > 0 {
            counts.push_str(&format!(", {failed} failed"));
        }
        if skipped > 0 {
            counts.push_str(&format!(", {skipped} skipped"));
        }
        let not_checked = count(Status::NotChecked);
        if not_checked > 0 {
            counts.push_str(&format!(", {not_checked} not checked"));
        }
        let label = if failed > 0 {
            style.red("FAIL")
        } else if not_checked > 0 {
            style.yellow("----")
        } else if passed > 0 {
            style.green("PASS")
        } else {
            style.yellow("SKIP")
        };
        let _ = writeln!(out, "  {label}  {suite:<13} {counts}");
        for case in cases.iter().filter(|c| c.status == Status::Failed) {
            let _ = writeln!(out, "        {} {}", style.red("FAILED"), continued(&case.name));
            for failure in &case.failures {
                render_failure(out, failure);
            }
        }
        if passed == 0 && failed == 0 {
            if let Some(first) = cases.first() {
                let reason = first.skip_reason.as_deref().unwrap_or_default();
                let line = match first.status {
                    Status::NotChecked => format!("not checked: {reason}"),
                    _ => reason.to_string(),
                };
                let _ = writeln!(out, "        {}", style.dim(&continued(&line)));
            }
        }
    }
}

/// Which roles and commands the tests exercise on each table with row level security. With no
/// database tests at all, one line; else the tables the tests touch, and the untested ones up to
/// a limit.
fn render_coverage(out: &mut String, report: &Report, style: Style) {
    let Some(rows) = &report.rls_coverage else { return };
    let untested = rows.iter().filter(|r| r.untested()).count();
    if !report.has_database_tests() {
        let _ = writeln!(
            out,
            "\nRLS coverage: {}",
            style.yellow(&format!(
                "no database tests: {untested} table{} with row level security {} untested",
                if untested == 1 { "" } else { "s" },
                if untested == 1 { "is" } else { "are" }
            ))
        );
        return;
    }
    let _ = writeln!(out, "\nRLS coverage (tables with row level security the migrations created):");
    let width = rows.iter().map(|r| r.table.chars().count()).max().unwrap_or(0);
    let mut listed_untested = 0;
    for row in rows {
        let mut parts: Vec<String> = row
            .exercised
            .iter()
            .map(|(role, commands)| format!("{role}: {}", commands.iter().cloned().collect::<Vec<_>>().join(", ")))
            .collect();
        if row.touched_by_sql_tests {
            parts.push("SQL tests".to_string());
        }
        let text = if row.untested() {
            listed_untested += 1;
            if listed_untested > super::UNTESTED_TABLES_LISTED {
                continue;
            }
            style.yellow("no test touches it")
        } else {
            parts.join(" · ")
        };
        let _ = writeln!(out, "  {:<width$}  {text}", row.table);
    }
    if untested > super::UNTESTED_TABLES_LISTED {
        let _ = writeln!(
            out,
            "  {}",
            style.yellow(&format!(
                "...and {} more tables no test touches",
                untested - super::UNTESTED_TABLES_LISTED
            ))
        );
    }
}
