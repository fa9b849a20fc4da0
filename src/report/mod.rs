//! The one report model every renderer reads: what ran, what passed, what failed and where.

pub mod console;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::catalog::Difference;
use crate::script::RunMode;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub dbgate_version: String,
    pub verdict: Verdict,
    pub environment: Environment,
    pub migrations_dir: PathBuf,
    pub rollbacks_dir: Option<PathBuf>,
    pub duration_ms: u64,
    /// From dbgate's start to the first migration statement sent to the server.
    #[serde(default)]
    pub first_statement_ms: Option<u64>,
    pub summary: Summary,
    pub migrations: Vec<MigrationResult>,
    /// The repo's database tests, RLS cells and expectations, one case each.
    pub tests: Vec<TestCaseResult>,
    /// Which roles and commands the tests exercise on each table with row level security.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rls_coverage: Option<Vec<CoverageRow>>,
    pub warnings: Vec<String>,
    /// What the user should know that is not a problem (a preset applied, expectations updated).
    pub notes: Vec<String>,
}

/// One test case outside the migration checks: a smoke test file, a pgTAP assertion, an RLS
/// matrix cell, an expectation, the seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestCaseResult {
    /// `seed`, `smoke`, `pgtap`, `rls` or `expectations`.
    pub suite: String,
    pub name: String,
    pub file: PathBuf,
    pub status: Status,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    pub failures: Vec<Failure>,
}

impl TestCaseResult {
    pub fn new(suite: &str, name: impl Into<String>, file: PathBuf) -> TestCaseResult {
        TestCaseResult {
            suite: suite.to_string(),
            name: name.into(),
            file,
            status: Status::Passed,
            duration_ms: 0,
            skip_reason: None,
            failures: Vec::new(),
        }
    }

    pub fn fail(&mut self, failure: Failure) {
        self.status = Status::Failed;
        self.failures.push(failure);
    }

    pub fn skip(&mut self, reason: impl Into<String>) {
        self.status = Status::Skipped;
        self.skip_reason = Some(reason.into());
    }
}

/// A table with row level security, and what the tests do to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageRow {
    pub table: String,
    /// Role -> commands the RLS matrix runs as that role.
    pub exercised: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Whether SQL or pgTAP tests read or wrote the table (as whatever role).
    pub touched_by_sql_tests: bool,
}

impl CoverageRow {
    pub fn untested(&self) -> bool {
        self.exercised.is_empty() && !self.touched_by_sql_tests
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
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
    pub checks_passed: usize,
    pub checks_failed: usize,
    pub checks_skipped: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationResult {
    pub version: String,
    pub name: String,
    pub file: PathBuf,
    pub rollback: Option<PathBuf>,
    pub layout: crate::discovery::Layout,
    pub run_mode: Option<RunMode>,
    /// Time of the first run of the migration.
    pub duration_ms: u64,
    pub checks: Vec<CheckResult>,
}

impl MigrationResult {
    pub fn status(&self) -> Status {
        if self.checks.iter().any(|c| c.status == Status::Failed) {
            Status::Failed
        } else if self.checks.iter().any(|c| c.status == Status::Passed) {
            Status::Passed
        } else {
            Status::Skipped
        }
    }
}

/// The checks each migration goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The migration runs.
    Replay,
    /// Its rollback restores the schema from before it.
    Rollback,
    /// Run again after its rollback, it gives the schema its first run gave.
    Reapply,
    /// Run in reverse order from the last migration, its rollback restores the schema from before it.
    RollbackChain,
}

impl CheckKind {
    pub const ALL: [CheckKind; 4] = [CheckKind::Replay, CheckKind::Rollback, CheckKind::Reapply, CheckKind::RollbackChain];

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Replay => "replay",
            CheckKind::Rollback => "rollback",
            CheckKind::Reapply => "reapply",
            CheckKind::RollbackChain => "rollback chain",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            CheckKind::Replay => "the migration runs",
            CheckKind::Rollback => "the rollback restores the schema from before the migration",
            CheckKind::Reapply => "the migration, run again after its rollback, gives the same schema",
            CheckKind::RollbackChain => "the rollbacks, run in reverse order after the last migration, restore each earlier schema",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub status: Status,
    pub duration_ms: u64,
    /// Why the check did not run, when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// A sentence that heads the failures ("rollback X does not restore the schema from before Y").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    pub failures: Vec<Failure>,
}

impl CheckResult {
    pub fn passed(kind: CheckKind, duration_ms: u64) -> CheckResult {
        CheckResult {
            kind,
            status: Status::Passed,
            duration_ms,
            skip_reason: None,
            headline: None,
            failures: Vec::new(),
        }
    }

    pub fn skipped(kind: CheckKind, reason: impl Into<String>) -> CheckResult {
        CheckResult {
            kind,
            status: Status::Skipped,
            duration_ms: 0,
            skip_reason: Some(reason.into()),
            headline: None,
            failures: Vec::new(),
        }
    }

    pub fn failed(kind: CheckKind, duration_ms: u64, headline: Option<String>, failures: Vec<Failure>) -> CheckResult {
        CheckResult {
            kind,
            status: Status::Failed,
            duration_ms,
            skip_reason: None,
            headline,
            failures,
        }
    }
}

/// A place in a file, 1-based; the column counts characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One thing that is wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// One sentence.
    pub message: String,
    pub location: Option<Location>,
    /// Lines that help: SQLSTATE, detail, hint, the source line with a caret, long values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// For a schema difference, the difference itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Difference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>, location: Option<Location>) -> Failure {
        Failure {
            message: message.into(),
            location,
            details: Vec::new(),
            difference: None,
            sqlstate: None,
        }
    }

    /// `path:line:column: message`, the form editors and CI logs link.
    pub fn located_message(&self) -> String {
        match &self.location {
            Some(location) => format!("{location}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl Report {
    pub fn new(
        environment: Environment,
        discovery: &crate::discovery::Discovery,
        outcome: crate::checks::Outcome,
        duration_ms: u64,
    ) -> Report {
        let crate::checks::Outcome {
            migrations,
            tests,
            rls_coverage,
            ..
        } = outcome;
        let mut summary = Summary {
            migrations: migrations.len(),
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
            }
        }
        Report {
            dbgate_version: env!("CARGO_PKG_VERSION").to_string(),
            verdict: if summary.checks_failed == 0 {
                Verdict::Passed
            } else {
                Verdict::Failed
            },
            environment,
            migrations_dir: discovery.migrations_dir.clone(),
            rollbacks_dir: discovery.rollbacks_dir.clone(),
            duration_ms,
            summary,
            migrations,
            tests,
            rls_coverage,
            first_statement_ms: None,
            warnings: discovery.warnings.clone(),
            notes: Vec::new(),
        }
    }
}
