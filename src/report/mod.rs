//! The one report model every renderer reads: what ran, what passed, what failed and where.

pub mod console;
pub mod github;
pub mod json;
pub mod junit;
pub mod list;
pub mod markdown;
mod paths;
mod sanitize;
pub mod sarif;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::checks::outcome::{CheckKind, CheckResult, CoverageRow, MigrationResult, Outcome, Status, Suite, TestCaseResult};
pub use crate::discovery::{Finding, FindingKind};
pub use crate::failure::{Failure, Location};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub dbgate_version: String,
    pub verdict: Verdict,
    pub environment: Environment,
    pub migrations_dir: PathBuf,
    pub rollbacks_dir: Option<PathBuf>,
    /// The migration tool whose way each file ran, and why dbgate assumed it.
    #[serde(default)]
    pub tool: crate::discovery::Assumed,
    pub duration_ms: u64,
    /// From dbgate's start to the first migration statement sent to the server.
    #[serde(default)]
    pub first_statement_ms: Option<u64>,
    pub summary: Summary,
    /// Defects of the repo itself (a rollback without a migration, a duplicate version, a file
    /// that is not UTF-8): they belong to no migration, and each fails the gate.
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub migrations: Vec<MigrationResult>,
    /// The repo's database tests, RLS cells and expectations, one case each.
    pub tests: Vec<TestCaseResult>,
    /// Which roles and commands the tests exercise on each table with row level security.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rls_coverage: Option<Vec<CoverageRow>>,
    pub warnings: Vec<String>,
    /// What the user should know that is not a problem (a preset applied, expectations updated).
    pub notes: Vec<String>,
    /// The base branch the history checks compared with, and the migrations this branch adds;
    /// absent when history was not compared (a note says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::history::HistorySummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// Nothing failed, but some checks could not run (dbgate could not rebuild a state, the
    /// server went away): not a pass.
    Incomplete,
}

/// Where the checks ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub provider: String,
    /// The container image, for the docker provider.
    pub image: Option<String>,
    /// e.g. "temporary cluster from /usr/lib/postgresql/15/bin"
    pub server: String,
    pub server_version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub migrations: usize,
    /// Defects of the repo (`findings`).
    #[serde(default)]
    pub findings: usize,
    pub checks_passed: usize,
    pub checks_failed: usize,
    pub checks_skipped: usize,
    /// Checks a failure kept from running.
    #[serde(default)]
    pub checks_not_checked: usize,
    /// Migrations with a check not run because of a failure elsewhere, and none failed.
    #[serde(default)]
    pub migrations_not_checked: usize,
    /// Warnings: differences that change no behaviour, and the report's own warnings.
    #[serde(default)]
    pub warnings: usize,
    /// Differences an ignore rule covers.
    #[serde(default)]
    pub ignored: usize,
    /// Migrations whose rollback is declared irreversible.
    #[serde(default)]
    pub irreversible: usize,
    /// Why, in the words of the first such check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked_because: Option<String>,
}

impl Summary {
    /// "20 checks passed, 0 failed, 3 warnings, 1 skipped": failed, warnings and skipped always;
    /// irreversible rollbacks, ignored differences and what was not checked when there are some.
    pub fn counts(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut counts = vec![
            plural(self.checks_passed, "check passed", "checks passed"),
            format!("{} failed", self.checks_failed),
            plural(self.warnings, "warning", "warnings"),
            format!("{} skipped", self.checks_skipped),
        ];
        if self.irreversible > 0 {
            counts.push(plural(self.irreversible, "irreversible rollback", "irreversible rollbacks"));
        }
        if self.ignored > 0 {
            counts.push(plural(self.ignored, "difference ignored", "differences ignored"));
        }
        if self.checks_not_checked > 0 {
            counts.push(format!("{} not checked", self.checks_not_checked));
        }
        counts.join(", ")
    }
}

/// How many untested tables with row level security the reports list by name; the rest are
/// counted.
pub const UNTESTED_TABLES_LISTED: usize = 20;

/// Everything a report is made of.
pub struct Run<'a> {
    pub environment: Environment,
    pub discovery: &'a crate::discovery::Discovery,
    pub outcome: Outcome,
    /// When dbgate started: the run's duration and the time to the first statement count from here.
    pub started: std::time::Instant,
    /// Warnings from getting the database (the provider's choices).
    pub provider_warnings: Vec<String>,
    /// The Supabase preset prepared the database.
    pub supabase_preset: bool,
    /// The setup files run before the first migration (`[migrations] setup`).
    pub setup: Vec<std::path::PathBuf>,
    /// With `--update-expectations`: the file the actual counts were written into.
    pub updated_expectations: Option<&'a std::path::Path>,
    /// The base the history checks compared with.
    pub history: Option<crate::history::HistorySummary>,
}

impl Report {
    pub fn new(run: Run<'_>) -> Report {
        let Run {
            environment,
            discovery,
            outcome,
            started,
            provider_warnings,
            supabase_preset,
            setup,
            updated_expectations,
            history,
        } = run;
        let Outcome {
            migrations,
            tests,
            rls_coverage,
            expectation_updates,
            first_statement_at,
            warnings: slow,
            notes: recovery_notes,
        } = outcome;
        let mut summary = Summary {
            migrations: migrations.len(),
            findings: discovery.findings.len(),
            ..Summary::default()
        };
        let statuses = migrations
            .iter()
            .flat_map(|m| &m.checks)
            .map(|c| c.status)
            .chain(tests.iter().map(|t| t.status));
        for status in statuses {
            match status {
                Status::Passed => summary.checks_passed += 1,
                Status::Failed => summary.checks_failed += 1,
                Status::Skipped => summary.checks_skipped += 1,
                Status::NotChecked => summary.checks_not_checked += 1,
            }
        }
        let checks = || migrations.iter().flat_map(|m| &m.checks);
        summary.ignored = checks().map(|c| c.ignored.len()).sum();
        summary.irreversible = migrations.iter().filter(|m| m.irreversible).count();
        summary.migrations_not_checked = migrations.iter().filter(|m| m.status() == Status::NotChecked).count();
        // Why, from the first migration that did not even run (the forward chain's stop), then
        // from any migration not checked, then from any check.
        let not_run = |m: &&MigrationResult| {
            m.checks
                .iter()
                .any(|c| c.kind == CheckKind::Replay && c.status == Status::NotChecked)
        };
        summary.not_checked_because = migrations
            .iter()
            .filter(not_run)
            .chain(migrations.iter().filter(|m| m.status() == Status::NotChecked))
            .chain(&migrations)
            .flat_map(|m| &m.checks)
            .map(|c| (c.status, &c.skip_reason))
            .chain(tests.iter().map(|t| (t.status, &t.skip_reason)))
            .find(|(status, _)| *status == Status::NotChecked)
            .and_then(|(_, reason)| reason.clone());
        let mut notes = recovery_notes;
        if supabase_preset {
            notes.push("the Supabase preset prepared the database (roles, auth, storage, extensions)".to_string());
        }
        if !setup.is_empty() {
            let files: Vec<String> = setup.iter().map(|p| p.display().to_string()).collect();
            notes.push(format!(
                "ran the setup files before the first migration (not checked): {}",
                files.join(", ")
            ));
        }
        if let Some(path) = updated_expectations {
            notes.push(match expectation_updates.as_slice() {
                [] => format!("{}: the expectations already match", path.display()),
                changes => format!("updated the expectations in {}: {}", path.display(), changes.join(", ")),
            });
        }
        let warnings: Vec<String> = discovery.warnings.iter().cloned().chain(provider_warnings).chain(slow).collect();
        summary.warnings = warnings.len() + checks().map(|c| c.warnings.len()).sum::<usize>();
        Report {
            dbgate_version: env!("CARGO_PKG_VERSION").to_string(),
            verdict: if summary.checks_failed > 0 || summary.findings > 0 {
                Verdict::Failed
            } else if summary.checks_not_checked > 0 {
                // Nothing failed, but dbgate could not check everything: never a pass.
                Verdict::Incomplete
            } else {
                Verdict::Passed
            },
            environment,
            migrations_dir: discovery.migrations_dir.clone(),
            rollbacks_dir: discovery.rollbacks_dir.clone(),
            tool: discovery.tool.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
            first_statement_ms: first_statement_at.map(|at| at.duration_since(started).as_millis() as u64),
            summary,
            findings: discovery.findings.clone(),
            migrations,
            tests,
            rls_coverage,
            warnings,
            notes,
            history,
        }
    }
}

impl Report {
    /// What the verdict rests on, in a few words each: "1 of 285 migrations failed", "99 not
    /// checked: ...". Empty when everything ran and passed.
    pub fn headline(&self) -> Vec<String> {
        let mut what = Vec::new();
        match self.findings.len() {
            0 => {}
            1 => what.push("1 defect in the repository".to_string()),
            n => what.push(format!("{n} defects in the repository")),
        }
        let failed = self.migrations.iter().filter(|m| m.status() == Status::Failed).count();
        if failed > 0 {
            what.push(format!("{failed} of {} migrations failed", self.migrations.len()));
        }
        let failed_tests = self.tests.iter().filter(|t| t.status == Status::Failed).count();
        if failed_tests > 0 {
            what.push(format!("{failed_tests} of {} tests failed", self.tests.len()));
        }
        let s = &self.summary;
        if s.checks_not_checked > 0 {
            let because = s.not_checked_because.as_deref().map(|b| format!(": {b}")).unwrap_or_default();
            let (n, what_) = match s.migrations_not_checked {
                0 => (s.checks_not_checked, "check"),
                n => (n, "migration"),
            };
            what.push(format!("{n} {what_}{} not checked{because}", if n == 1 { "" } else { "s" }));
        }
        what
    }

    /// Whether the repo has database tests of its own (smoke, pgTAP or RLS), beyond the seed and
    /// the expectations.
    pub fn has_database_tests(&self) -> bool {
        self.tests
            .iter()
            .any(|t| matches!(t.suite, Suite::Smoke | Suite::Pgtap | Suite::Rls))
    }

    /// The kinds of test the report holds, in the order they ran.
    pub fn suites(&self) -> Vec<Suite> {
        let mut suites: Vec<Suite> = Vec::new();
        for case in &self.tests {
            if !suites.contains(&case.suite) {
                suites.push(case.suite);
            }
        }
        suites
    }
}
