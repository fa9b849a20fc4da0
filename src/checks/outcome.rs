//! What the checks found: a result per check of each migration, a case per test, and what the
//! tests cover. The report is built from it.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::failure::{Failure, Ignored, Warning};
use crate::script::RunMode;

/// What the checks found.
pub struct Outcome {
    pub migrations: Vec<MigrationResult>,
    pub tests: Vec<TestCaseResult>,
    pub rls_coverage: Option<Vec<CoverageRow>>,
    /// What `--update-expectations` changed, in words.
    pub expectation_updates: Vec<String>,
    /// When the first migration's first statement was sent.
    pub first_statement_at: Option<Instant>,
    /// Migrations over the warning budget, rebuilds that differed.
    pub warnings: Vec<String>,
    /// What the checks did to go on after a failure (the rebuilds), in words.
    pub notes: Vec<String>,
}

/// The kinds of test case outside the migration checks, as the reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// dbgate's own preparation for the tests (the supabase-test-helpers `tests` schema).
    Setup,
    Seed,
    Smoke,
    Pgtap,
    Rls,
    Expectations,
    /// Tests pinned to a migration (`tests/data/<version>/`), run in the forward replay.
    DataMigration,
    /// Files generated from the migrated schema that the repo commits (`[snapshots]`).
    Generated,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Setup => "setup",
            Suite::Seed => "seed",
            Suite::Smoke => "smoke",
            Suite::Pgtap => "pgtap",
            Suite::Rls => "rls",
            Suite::Expectations => "expectations",
            Suite::DataMigration => "data migration",
            Suite::Generated => "generated",
        }
    }
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One test case outside the migration checks: a smoke test file, a pgTAP assertion, an RLS
/// matrix cell, an expectation, the seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestCaseResult {
    pub suite: Suite,
    pub name: String,
    pub file: PathBuf,
    pub status: Status,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    pub failures: Vec<Failure>,
}

impl TestCaseResult {
    pub fn new(suite: Suite, name: impl Into<String>, file: PathBuf) -> TestCaseResult {
        TestCaseResult {
            suite,
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

    /// Kept from running by a failure elsewhere.
    pub fn not_checked(&mut self, reason: impl Into<String>) {
        self.status = Status::NotChecked;
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
    /// Its rollback is declared irreversible (`-- dbgate:irreversible`, `[rollback] irreversible`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
    pub checks: Vec<CheckResult>,
    /// What it does to the schema, in words: for the migrations a pull request adds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_changes: Vec<crate::catalog::SchemaChange>,
    /// What the lint found at its statements (allowed ones too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lint: Vec<super::lint::LintFinding>,
    /// Its time on the generated rows `--rows` asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<super::data::volume::Volume>,
}

impl MigrationResult {
    pub fn status(&self) -> Status {
        if self.checks.iter().any(|c| c.status == Status::Failed) {
            Status::Failed
        } else if self.checks.iter().any(|c| c.status == Status::NotChecked) {
            Status::NotChecked
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
    /// It leaves the server outside its database as it was (listed only when it did not).
    Server,
    /// The base has it, and it was edited since (listed only then).
    Edited,
    /// It is new, and sorts before the base's newest migration (listed only then).
    OutOfOrder,
    /// What it locks, rewrites and breaks, observed on a copy with rows (listed for the
    /// migrations linted: a pull request's new ones, or all with no base).
    Lint,
    /// Its rollback restores the data of the columns the migration kept, observed on the same
    /// copy (listed for the same migrations).
    Data,
    /// On the rows `--rows` asks for, it runs within the budgets (listed for the same
    /// migrations, with `--rows` or `[data] rows`).
    Volume,
}

impl CheckKind {
    pub const ALL: [CheckKind; 10] = [
        CheckKind::Replay,
        CheckKind::Rollback,
        CheckKind::Reapply,
        CheckKind::RollbackChain,
        CheckKind::Server,
        CheckKind::Edited,
        CheckKind::OutOfOrder,
        CheckKind::Lint,
        CheckKind::Data,
        CheckKind::Volume,
    ];

    /// A check listed only for a migration it has something to say about.
    pub fn only_when_relevant(self) -> bool {
        matches!(
            self,
            CheckKind::Server | CheckKind::Edited | CheckKind::OutOfOrder | CheckKind::Lint | CheckKind::Data | CheckKind::Volume
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Replay => "replay",
            CheckKind::Rollback => "rollback",
            CheckKind::Reapply => "reapply",
            CheckKind::RollbackChain => "rollback chain",
            CheckKind::Server => "server",
            CheckKind::Edited => "edited",
            CheckKind::OutOfOrder => "out of order",
            CheckKind::Lint => "lint",
            CheckKind::Data => "data",
            CheckKind::Volume => "volume",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            CheckKind::Replay => "the migration runs",
            CheckKind::Rollback => "the rollback restores the schema from before the migration",
            CheckKind::Reapply => "the migration, run again after its rollback, gives the same schema",
            CheckKind::RollbackChain => "the rollbacks, run in reverse order after the last migration, restore each earlier schema",
            CheckKind::Server => "the migration and its rollback leave the server outside their database as it was",
            CheckKind::Edited => "a migration the base branch has is unchanged",
            CheckKind::OutOfOrder => "a new migration sorts after every migration the base branch has",
            CheckKind::Lint => {
                "what the migration locks, rewrites and breaks, observed on a copy of the database with rows, passes the lint rules"
            }
            CheckKind::Data => "the rollback restores the data the migration kept, observed on a copy of the database with rows",
            CheckKind::Volume => "the migration runs within its time budget on the generated rows --rows asks for",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Not run by design: no rollback, a rollback declared irreversible or without statements.
    Skipped,
    /// Not run because a failure kept it from running (an up that failed before it, the
    /// connection lost): counted and said, never shown as passed.
    NotChecked,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub status: Status,
    pub duration_ms: u64,
    /// Why the check did not run, when skipped or not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// A sentence that heads the failures ("rollback X does not restore the schema from before Y").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    pub failures: Vec<Failure>,
    /// Differences that change no behaviour: the check passes with them (unless
    /// `[rollback] strict = true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Differences an ignore rule covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
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
            warnings: Vec::new(),
            ignored: Vec::new(),
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
            warnings: Vec::new(),
            ignored: Vec::new(),
        }
    }

    pub fn not_checked(kind: CheckKind, reason: impl Into<String>) -> CheckResult {
        CheckResult {
            status: Status::NotChecked,
            ..CheckResult::skipped(kind, reason)
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
            warnings: Vec::new(),
            ignored: Vec::new(),
        }
    }
}
