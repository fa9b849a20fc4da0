//! Markdown for GitHub: the sticky PR comment and the job summary. The verdict first, then what
//! failed with what a reviewer needs (file:line, the objects that differ, expected vs actual),
//! then the migrations and tests. Everything that comes from the repo or the server is escaped,
//! so that it cannot break the markdown, inject HTML or mention people.

use std::fmt::Write;

use super::{CheckKind, CheckResult, Failure, Report, Status, Verdict};

/// Marks dbgate's own comment, so that a later run updates it instead of adding another.
pub const COMMENT_MARKER: &str = "<!-- dbgate:sticky-comment -->";
/// GitHub refuses comment bodies over 65,536 characters; leave room for the note.
pub const COMMENT_LIMIT: usize = 65_000;

/// The sticky PR comment: the report, shortened to fit GitHub's limit and saying so.
pub fn comment(report: &Report) -> String {
    fit(report, COMMENT_LIMIT, true)
}

/// The job summary (`GITHUB_STEP_SUMMARY`, at most 1 MiB).
pub fn job_summary(report: &Report) -> String {
    fit(report, 1_000_000, false)
}

fn fit(report: &Report, limit: usize, marker: bool) -> String {
    // Fewer failures in full until it fits; the tables stay.
    for max in [usize::MAX, 100, 50, 20, 10, 5, 1] {
        let text = render(report, marker, max);
        if text.chars().count() <= limit {
            return text;
        }
    }
    let text = render(report, marker, 1);
    let note =
        "\n\n…the report is too long for a comment and was cut here; the job summary, the JUnit and the JSON reports have all of it.\n";
    const CLOSING_FENCE: &str = "\n````````";
    let cut: String = text.chars().take(limit - note.chars().count() - CLOSING_FENCE.len()).collect();
    // Do not leave a code fence open.
    let open_fence = cut.lines().filter(|l| l.trim_start().starts_with("```")).count() % 2 == 1;
    format!("{cut}{}{note}", if open_fence { CLOSING_FENCE } else { "" })
}

fn render(report: &Report, marker: bool, max_failures: usize) -> String {
    let mut out = String::new();
    if marker {
        out.push_str(COMMENT_MARKER);
        out.push('\n');
    }
    let summary = &report.summary;
    let headline = report.headline();
    let _ = match report.verdict {
        Verdict::Passed => writeln!(out, "## ✅ dbgate: the migration gate passed\n"),
        Verdict::Failed => writeln!(out, "## ❌ dbgate: the migration gate failed\n"),
        Verdict::Incomplete => writeln!(out, "## ⚠️ dbgate: the migration gate could not check everything\n"),
    };
    if !headline.is_empty() {
        let _ = writeln!(out, "**{}**\n", text(&headline.join("; ")));
    }
    let env = &report.environment;
    let image = env.image.as_ref().map(|i| format!(", {}", code(i))).unwrap_or_default();
    let _ = writeln!(
        out,
        "{} · PostgreSQL {} ({} provider{image}) · {:.1} s  \nRun as {} runs migrations ({})\n",
        summary.counts(),
        text(&env.server_version),
        text(&env.provider),
        report.duration_ms as f64 / 1000.0,
        match report.tool.tool {
            crate::discovery::Tool::None => "no particular tool".to_string(),
            tool => code(tool.name()),
        },
        text(&report.tool.why)
    );

    render_schema_changes(&mut out, report);

    // What failed, in full, up to `max_failures` failures.
    let mut shown = 0usize;
    let mut hidden = 0usize;
    let mut failures_out = String::new();
    for finding in &report.findings {
        let _ = writeln!(
            failures_out,
            "#### {} · {}\n",
            code(&finding.location.file.display().to_string()),
            text(finding.kind.name())
        );
        render_failure(&mut failures_out, &finding.failure(), max_failures, &mut shown, &mut hidden);
    }
    for migration in &report.migrations {
        for check in migration.checks.iter().filter(|c| c.status == Status::Failed) {
            let _ = writeln!(
                failures_out,
                "#### {} · {}\n",
                code(&migration.file.display().to_string()),
                text(check.kind.name())
            );
            render_check(&mut failures_out, check, max_failures, &mut shown, &mut hidden);
        }
    }
    for case in report.tests.iter().filter(|t| t.status == Status::Failed) {
        let _ = writeln!(
            failures_out,
            "#### {} · {}: {}\n",
            code(&case.file.display().to_string()),
            text(case.suite.name()),
            text(&case.name)
        );
        for failure in &case.failures {
            render_failure(&mut failures_out, failure, max_failures, &mut shown, &mut hidden);
        }
    }
    if !failures_out.is_empty() {
        out.push_str("### What failed\n\n");
        out.push_str(&failures_out);
        if hidden > 0 {
            let _ = writeln!(
                out,
                "…and {hidden} more failures, not shown here to fit; the job summary, JUnit and JSON reports have all of them.\n"
            );
        }
    }

    render_warnings(&mut out, report, max_failures);
    render_allowed(&mut out, report, max_failures);

    out.push_str("### Migrations\n\n| | Migration | Rollback | Time | Checks |\n|---|---|---|---:|---|\n");
    for migration in &report.migrations {
        let checks: Vec<String> = migration
            .checks
            .iter()
            .map(|c| format!("{} {}", icon(c.status), text(c.kind.name())))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ms | {} |",
            icon(migration.status()),
            code(&migration.file.display().to_string()),
            migration
                .rollback
                .as_ref()
                .map(|r| code(&r.display().to_string()))
                .unwrap_or_else(|| "none".to_string()),
            migration.duration_ms,
            checks.join(" · ")
        );
    }
    render_volume(&mut out, report);
    if !report.tests.is_empty() {
        out.push_str("\n### Tests\n\n| | Suite | Passed | Failed | Skipped | Not checked |\n|---|---|---:|---:|---:|---:|\n");
        let suites = report.suites();
        for suite in suites {
            let count = |status: Status| report.tests.iter().filter(|t| t.suite == suite && t.status == status).count();
            let status = if count(Status::Failed) > 0 {
                Status::Failed
            } else if count(Status::NotChecked) > 0 {
                Status::NotChecked
            } else if count(Status::Passed) > 0 {
                Status::Passed
            } else {
                Status::Skipped
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                icon(status),
                text(suite.name()),
                count(Status::Passed),
                count(Status::Failed),
                count(Status::Skipped),
                count(Status::NotChecked)
            );
        }
    }
    if let Some(rows) = &report.rls_coverage {
        let untested = rows.iter().filter(|r| r.untested()).count();
        if !report.has_database_tests() {
            let _ = writeln!(
                out,
                "\n### RLS coverage\n\n⚠️ no database tests: {untested} table{} with row level security {} untested",
                if untested == 1 { "" } else { "s" },
                if untested == 1 { "is" } else { "are" }
            );
        } else {
            out.push_str("\n### RLS coverage\n\n| Table | Exercised by the RLS matrix | SQL tests |\n|---|---|---|\n");
            let mut listed_untested = 0;
            for row in rows {
                let exercised: Vec<String> = row
                    .exercised
                    .iter()
                    .map(|(role, commands)| format!("{}: {}", text(role), text(&commands.iter().cloned().collect::<Vec<_>>().join(", "))))
                    .collect();
                let exercised = if row.untested() {
                    listed_untested += 1;
                    if listed_untested > super::UNTESTED_TABLES_LISTED {
                        continue;
                    }
                    "⚠️ no test touches it".to_string()
                } else if exercised.is_empty() {
                    "—".to_string()
                } else {
                    exercised.join(" · ")
                };
                let _ = writeln!(
                    out,
                    "| {} | {exercised} | {} |",
                    code(&row.table),
                    if row.touched_by_sql_tests { "yes" } else { "no" }
                );
            }
            if untested > super::UNTESTED_TABLES_LISTED {
                let _ = writeln!(
                    out,
                    "\n…and {} more tables no test touches",
                    untested - super::UNTESTED_TABLES_LISTED
                );
            }
        }
    }
    let _ = writeln!(out, "\n<sub>dbgate {}</sub>", text(&report.dbgate_version));
    out
}

/// Differences that change no behaviour and the run's own warnings, one line each, up to `max`.
/// What the pull request does to the schema, migration by migration, for reviewers: at the
/// top, what loses data marked.
fn render_schema_changes(out: &mut String, report: &Report) {
    let Some(history) = &report.history else { return };
    out.push_str(
        "### What this pull request does to the schema

",
    );
    if history.new_migrations.is_empty() {
        let _ = writeln!(out, "No new migration since {}.\n", code(&history.base.name));
        return;
    }
    for migration in report.migrations.iter().filter(|m| history.new_migrations.contains(&m.file)) {
        let _ = writeln!(out, "- {}", code(&migration.file.display().to_string()));
        if migration.schema_changes.is_empty() {
            out.push_str("  - no change to the schema (or it did not run)\n");
        }
        for change in &migration.schema_changes {
            let mark = if change.destructive { "⚠️ **destructive:** " } else { "" };
            let _ = writeln!(out, "  - {mark}{}", text(&change.sentence));
        }
    }
    out.push('\n');
}

fn render_warnings(out: &mut String, report: &Report, max: usize) {
    let checks = report.migrations.iter().flat_map(|m| m.checks.iter().map(move |c| (m, c)));
    let lines: Vec<String> = checks
        .flat_map(|(m, c)| {
            c.warnings.iter().map(move |w| {
                let place = w
                    .location
                    .as_ref()
                    .map(|l| format!("{} ", code(&format!("{}:{}:{}", l.file.display(), l.line, l.column))))
                    .unwrap_or_default();
                format!(
                    "- {place}{} ({}, {})",
                    text(&w.message),
                    text(c.kind.name()),
                    text(&m.file.display().to_string())
                )
            })
        })
        .chain(report.warnings.iter().map(|w| format!("- {}", text(w))))
        .collect();
    if lines.is_empty() {
        return;
    }
    out.push_str("### Warnings\n\n");
    for line in lines.iter().take(max) {
        let _ = writeln!(out, "{line}");
    }
    if lines.len() > max {
        let _ = writeln!(out, "- …and {} more, in the job summary, JUnit and JSON reports", lines.len() - max);
    }
    out.push('\n');
}

/// Lint findings a `-- dbgate:allow` comment allows, with its reason: a reviewer sees what was
/// waved through, and why.
fn render_allowed(out: &mut String, report: &Report, max: usize) {
    let allowed: Vec<_> = report
        .migrations
        .iter()
        .flat_map(|m| &m.lint)
        .filter(|f| f.allowed.is_some())
        .collect();
    if allowed.is_empty() {
        return;
    }
    out.push_str("### Allowed by `-- dbgate:allow`\n\n");
    for finding in allowed.iter().take(max) {
        let reason = finding.allowed.as_ref().map(|a| a.reason.as_str()).unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} {}: {} (allowed: {})",
            code(&finding.location.to_string()),
            code(finding.rule.id()),
            text(&finding.message),
            text(reason)
        );
    }
    if allowed.len() > max {
        let _ = writeln!(out, "- …and {} more, in the JSON and SARIF reports", allowed.len() - max);
    }
    out.push('\n');
}

/// Each migration's time on the generated rows `--rows` asked for, and its statement that
/// moved the most rows.
fn render_volume(out: &mut String, report: &Report) {
    let timed: Vec<_> = report.migrations.iter().filter_map(|m| Some((m, m.volume.as_ref()?))).collect();
    let Some((_, first)) = timed.first() else { return };
    let _ = writeln!(
        out,
        "\n### On {} generated rows per table\n\n| | Migration | Time | Most rows moved |\n|---|---|---:|---|",
        first.rows_per_table
    );
    for (migration, volume) in timed {
        let status = migration
            .checks
            .iter()
            .find(|c| c.kind == CheckKind::Volume)
            .map_or(Status::Passed, |c| c.status);
        let moved = volume.moved.iter().max_by_key(|m| m.rows).map_or_else(
            || "none".to_string(),
            |m| {
                format!(
                    "{} rows at {} rows/s, line {}: {}",
                    m.rows,
                    m.rows_per_second,
                    m.location.line,
                    code(&m.statement)
                )
            },
        );
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} s | {moved} |",
            icon(status),
            code(&migration.file.display().to_string()),
            volume.duration_ms as f64 / 1000.0
        );
    }
}

fn render_check(out: &mut String, check: &CheckResult, max: usize, shown: &mut usize, hidden: &mut usize) {
    if let Some(headline) = &check.headline {
        let _ = writeln!(out, "{}\n", text(headline));
    }
    for failure in &check.failures {
        render_failure(out, failure, max, shown, hidden);
    }
}

fn render_failure(out: &mut String, failure: &Failure, max: usize, shown: &mut usize, hidden: &mut usize) {
    if *shown >= max {
        *hidden += 1;
        return;
    }
    *shown += 1;
    let place = failure
        .location
        .as_ref()
        .map(|l| format!("{} ", code(&format!("{}:{}:{}", l.file.display(), l.line, l.column))))
        .unwrap_or_default();
    let _ = writeln!(out, "- {place}{}", text(&failure.message));
    if !failure.details.is_empty() {
        let _ = writeln!(out, "\n{}", block(&failure.details.join("\n")));
    }
    out.push('\n');
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Passed => "✅",
        Status::Failed => "❌",
        Status::Skipped => "⏭️",
        Status::NotChecked => "⚠️",
    }
}

/// Text from the repo or the server, inert in markdown: no HTML, no markdown syntax, no
/// mentions, no line breaks that end a table row.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A zero-width space after @ keeps GitHub from mentioning anyone.
            '@' => out.push_str("@&#8203;"),
            // What starts emphasis, code, links, headings, lists, tables and strikethrough.
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '+' | '-' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            // Bidirectional overrides reorder what a reader sees: written out.
            c if super::sanitize::is_bidi_override(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Inline code, with a fence longer than any run of backticks inside (markdown and HTML are not
/// interpreted there, nor are mentions).
pub fn code(raw: &str) -> String {
    let clean: String = without_overrides(raw)
        .chars()
        .map(|c| if c == '\n' || c == '\r' || c == '|' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let fence = "`".repeat(longest_run(&clean, '`') + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// A fenced block whose fence no line inside can close.
pub fn block(raw: &str) -> String {
    let clean: String = without_overrides(raw)
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let fence = "`".repeat(longest_run(&clean, '`').max(2) + 1);
    format!("{fence}text\n{clean}\n{fence}")
}

/// Bidirectional overrides written out: in code too they reorder what a reader sees.
fn without_overrides(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if super::sanitize::is_bidi_override(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == of { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckKind, Environment, Failure, Location, MigrationResult, Summary};

    fn report_with(failures: Vec<Failure>) -> Report {
        let check = CheckResult::failed(CheckKind::Replay, 1, None, failures);
        Report {
            dbgate_version: "0.1.0".into(),
            verdict: Verdict::Failed,
            environment: Environment {
                provider: "local".into(),
                image: None,
                server: "s".into(),
                server_version: "15".into(),
            },
            migrations_dir: "migrations".into(),
            rollbacks_dir: None,
            duration_ms: 1,
            first_statement_ms: None,
            summary: Summary::default(),
            findings: Vec::new(),
            tool: Default::default(),
            migrations: vec![MigrationResult {
                version: "1".into(),
                name: "big".into(),
                file: "migrations/1_big.sql".into(),
                rollback: None,
                layout: crate::discovery::Layout::Plain,
                run_mode: None,
                duration_ms: 1,
                irreversible: false,
                checks: vec![check],
                schema_changes: Vec::new(),
                lint: Vec::new(),
                volume: None,
            }],
            tests: Vec::new(),
            rls_coverage: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            history: None,
        }
    }

    fn failure(message: String, detail: String) -> Failure {
        let mut failure = Failure::new(
            message,
            Some(Location {
                file: "migrations/1_big.sql".into(),
                line: 1,
                column: 1,
            }),
        );
        failure.details.push(detail);
        failure
    }

    #[test]
    fn a_comment_near_the_limit_drops_failures_and_says_so() {
        let failures = (0..3000).map(|i| failure(format!("object {i} differs"), "x".repeat(100))).collect();
        let body = comment(&report_with(failures));
        assert!(body.chars().count() <= COMMENT_LIMIT, "{}", body.len());
        assert!(body.contains("more failures, not shown here to fit"));
        assert!(body.contains("### Migrations"), "the tables stay");
    }

    #[test]
    fn one_enormous_failure_is_cut_with_a_note_and_no_open_fence() {
        let body = comment(&report_with(vec![failure("huge".into(), "line\n".repeat(40_000))]));
        assert!(body.chars().count() <= COMMENT_LIMIT);
        assert!(
            body.ends_with("the job summary, the JUnit and the JSON reports have all of it.\n"),
            "{}",
            &body[body.len() - 200..]
        );
        assert_eq!(body.lines().filter(|l| l.trim_start().starts_with("```")).count() % 2, 0);
    }

    #[test]
    fn repo_text_cannot_inject_markdown_html_or_mentions() {
        assert_eq!(
            text("<img src=x> @octocat *bold* | x\nnext"),
            "&lt;img src=x&gt; @&#8203;octocat \\*bold\\* \\| x next"
        );
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert!(block("```\n</details>").starts_with("````text\n"));
    }
}
