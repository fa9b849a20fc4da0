//! Checks: the replay of every migration and the proof of every rollback.
//!
//! For each migration with a rollback: snapshot S0, run up (S1), run down (S2 must equal S0), run
//! up again (S3 must equal S1), and go on from there. After the last migration the rollbacks run
//! in reverse order, each of which must restore the schema from before its migration; the last
//! one restores the schema the chain began from.

pub mod database_tests;
pub mod expectations;
pub mod outcome;
pub mod rls;
pub mod tap;

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::catalog::{Catalog, Difference, Fingerprint, Scope, Snapshot, Tracker, Undo, Wording};
use crate::discovery::Migration;
use crate::execute::{run_script, Ran, ScriptError};
use crate::failure::{Failure, Location};
use crate::script::Script;
use expectations::Expectations;
pub use outcome::{CheckKind, CheckResult, CoverageRow, MigrationResult, Outcome, Status, TestCaseResult};

pub struct Options {
    /// How long one script may run before it is cancelled.
    pub migration_timeout: Duration,
    /// A migration slower than this is a warning...
    pub warn_after: Option<Duration>,
    /// ...and slower than this, a failure.
    pub fail_after: Option<Duration>,
}

/// Everything the checks run over.
pub struct Plan<'a> {
    pub migrations: &'a [Migration],
    pub tests: &'a crate::discovery::DatabaseTests,
    pub expectations: Option<&'a Expectations>,
    /// With `--update-expectations`: the file to write the actual counts into.
    pub update_expectations: Option<&'a std::path::Path>,
}

/// The checks could not go on for a reason that is not the migrations' fault.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog of the throwaway database: {}", crate::execute::describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Expectations(#[from] expectations::ExpectationsError),
}

struct Chain<'a> {
    client: &'a Client,
    catalog: &'a Catalog,
    tracker: &'a Tracker,
    options: &'a Options,
}

pub async fn run(
    client: &Client,
    catalog: &Catalog,
    tracker: &Tracker,
    plan: &Plan<'_>,
    options: &Options,
) -> Result<Outcome, CatalogError> {
    let migrations = plan.migrations;
    let chain = Chain {
        client,
        catalog,
        tracker,
        options,
    };
    let mut results: Vec<MigrationResult> = migrations.iter().map(new_result).collect();
    let mut current = chain.full_snapshot().await?;
    let start = current.clone();
    let first_statement_at = Some(Instant::now());
    // For each migration: the schema before it, as a fingerprint, and the way back to it from
    // the schema after it. The reverse chain compares with the one and words a difference
    // with the other.
    let mut before: Vec<(Fingerprint, Undo)> = Vec::with_capacity(migrations.len());
    let mut stopped: Option<String> = None;
    let mut slow: Vec<String> = Vec::new();

    for (migration, result) in migrations.iter().zip(results.iter_mut()) {
        if let Some(reason) = &stopped {
            skip(result, &[CheckKind::Replay, CheckKind::Rollback, CheckKind::Reapply], reason);
            continue;
        }
        let s0 = current.fingerprint();
        // Each script's undo, oldest first.
        let mut steps: Vec<Undo> = Vec::new();
        'migration: {
            let started = Instant::now();
            match run_script(client, &migration.up, options.migration_timeout).await {
                Ok(Ran { run_mode, duration }) => {
                    result.run_mode = Some(run_mode);
                    result.duration_ms = millis(duration);
                    result.checks.push(chain.budget(migration, duration, &mut slow));
                }
                Err(error) => {
                    let lost = matches!(error, ScriptError::ConnectionLost(_));
                    if let ScriptError::Failed { run_mode, .. } = &error {
                        result.run_mode = run_mode.clone();
                    }
                    result.checks.push(CheckResult::failed(
                        CheckKind::Replay,
                        millis(started.elapsed()),
                        None,
                        vec![error.failure().clone()],
                    ));
                    skip(
                        result,
                        &[CheckKind::Rollback, CheckKind::Reapply],
                        &format!("{} failed", file_name(&migration.up)),
                    );
                    stopped = Some(if lost {
                        format!(
                            "the connection to the server was lost while running {}",
                            migration.up.path.display()
                        )
                    } else {
                        format!("{} failed, so later migrations cannot run", migration.up.path.display())
                    });
                    break 'migration;
                }
            }
            steps.push(chain.after(&mut current, &migration.up).await?);
            let s1 = current.fingerprint();
            let Some(down) = &migration.down else {
                skip(result, &[CheckKind::Rollback, CheckKind::Reapply], "no rollback");
                break 'migration;
            };

            // Rollback: S2 must equal S0.
            let started = Instant::now();
            if let Err(error) = run_script(client, down, options.migration_timeout).await {
                let headline = Some(format!("{} failed", down.path.display()));
                result.checks.push(CheckResult::failed(
                    CheckKind::Rollback,
                    millis(started.elapsed()),
                    headline,
                    vec![error.failure().clone()],
                ));
                skip(result, &[CheckKind::Reapply], "the rollback failed");
                if matches!(error, ScriptError::ConnectionLost(_)) {
                    stopped = Some(format!(
                        "the connection to the server was lost while running {}",
                        down.path.display()
                    ));
                    break 'migration;
                }
                // A rollback that failed in its transaction left the schema as the migration made it.
                steps.push(chain.after(&mut current, down).await?);
                if current.fingerprint() != s1 {
                    stopped = Some(format!("{} failed part way, leaving the schema in between", down.path.display()));
                }
                break 'migration;
            }
            steps.push(chain.after(&mut current, down).await?);
            let back_to_s0 = || current.earlier(&[&steps[1], &steps[0]]);
            let check = chain.rollback_restores(CheckKind::Rollback, started, &current, s0, back_to_s0, migration, down);
            result.checks.push(check);

            // Reapply: S3 must equal S1.
            let started = Instant::now();
            if let Err(error) = run_script(client, &migration.up, options.migration_timeout).await {
                let lost = matches!(error, ScriptError::ConnectionLost(_));
                let headline = format!("{} fails when run again after {}", migration.up.path.display(), file_name(down));
                result.checks.push(CheckResult::failed(
                    CheckKind::Reapply,
                    millis(started.elapsed()),
                    Some(headline),
                    vec![error.failure().clone()],
                ));
                stopped = Some(if lost {
                    format!(
                        "the connection to the server was lost while running {} again",
                        migration.up.path.display()
                    )
                } else {
                    format!(
                        "{} could not be run again after its rollback, so the chain cannot go on",
                        migration.up.path.display()
                    )
                });
                break 'migration;
            }
            steps.push(chain.after(&mut current, &migration.up).await?);
            let wording = Wording {
                added: "is new",
                after: format!("after running {} again", file_name(&migration.up)),
                before: "after its first run".to_string(),
            };
            let headline = format!(
                "{}, run again after {}, does not give the schema its first run gave",
                migration.up.path.display(),
                file_name(down)
            );
            let back_to_s1 = || current.earlier(&[&steps[2], &steps[1]]);
            let check = chain.compare(
                CheckKind::Reapply,
                started,
                &current,
                s1,
                back_to_s1,
                &wording,
                headline,
                &migration.up,
            );
            result.checks.push(check);
        }
        before.push((s0, Undo::combined(steps)));
    }

    // The repo's tests and expectations, on the fully migrated schema, before the reverse chain
    // takes it apart.
    let mut outcome = Outcome {
        migrations: Vec::new(),
        tests: Vec::new(),
        rls_coverage: None,
        expectation_updates: Vec::new(),
        first_statement_at,
        warnings: std::mem::take(&mut slow),
    };
    match &stopped {
        None => chain.test(plan, &start, &current, &mut outcome).await?,
        Some(why) => outcome.tests = skipped_tests(plan, &format!("not run: {why}")),
    }
    chain
        .reverse(migrations, &mut results, &before, stopped.as_deref(), current)
        .await?;
    outcome.migrations = results;
    Ok(outcome)
}

impl Chain<'_> {
    /// The whole catalog, with nothing left over in the tracker.
    async fn full_snapshot(&self) -> Result<Snapshot, CatalogError> {
        self.tracker.scope(self.client, &Snapshot::default(), None).await?;
        Ok(self.catalog.snapshot(self.client).await?)
    }

    /// Brings `snapshot` up to date after `script`, from what the script touched; returns the
    /// way back. A role renamed renames it everywhere: then read everything.
    async fn after(&self, snapshot: &mut Snapshot, script: &Script) -> Result<Undo, CatalogError> {
        let scope = self.tracker.scope(self.client, snapshot, Some(script)).await?;
        let roles = snapshot.role_names();
        let undo = self.catalog.update(self.client, snapshot, &scope).await?;
        if !scope.full && roles.renamed_in(snapshot) {
            let everything = self.catalog.update(self.client, snapshot, &Scope::full()).await?;
            return Ok(Undo::combined(vec![undo, everything]));
        }
        Ok(undo)
    }

    /// The replay check of a migration that ran in `duration`, against the budgets.
    fn budget(&self, migration: &Migration, duration: Duration, slow: &mut Vec<String>) -> CheckResult {
        let took = format!("{} took {:.1} s", migration.up.path.display(), duration.as_secs_f64());
        match (self.options.fail_after, self.options.warn_after) {
            (Some(limit), _) if duration > limit => {
                let at = Location {
                    file: migration.up.path.clone(),
                    line: 1,
                    column: 1,
                };
                let failure = Failure::new(
                    format!("{took}, over its {:.1} s budget ([migrations] fail_seconds)", limit.as_secs_f64()),
                    Some(at),
                );
                CheckResult::failed(CheckKind::Replay, millis(duration), None, vec![failure])
            }
            (_, Some(limit)) if duration > limit => {
                slow.push(format!(
                    "{took}, over the {:.1} s warning threshold ([migrations] warn_seconds)",
                    limit.as_secs_f64()
                ));
                CheckResult::passed(CheckKind::Replay, millis(duration))
            }
            _ => CheckResult::passed(CheckKind::Replay, millis(duration)),
        }
    }

    /// Seed, tests, RLS matrices, coverage and expectations on the migrated schema `after`;
    /// `start` is the schema before the first migration (the image's and the preset's).
    async fn test(&self, plan: &Plan<'_>, start: &Snapshot, after: &Snapshot, outcome: &mut Outcome) -> Result<(), CatalogError> {
        let mut touched = std::collections::BTreeSet::new();
        if !plan.tests.is_empty() {
            let run = database_tests::run(self.client, plan.tests, self.options.migration_timeout).await?;
            outcome.tests = run.cases;
            touched = run.touched;
        }
        let coverage: Vec<CoverageRow> = crate::checks::expectations::created(start, after)
            .filter(|(id, attrs)| id.kind == "table" && attrs.get("row level security").is_some_and(|v| v == "enabled"))
            .map(|(id, _)| {
                let mut exercised: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
                for matrix in &plan.tests.matrices {
                    for (table, role, command) in matrix.exercised() {
                        if same_table(table, &id.name) {
                            exercised.entry(role.to_string()).or_default().insert(command.name().to_string());
                        }
                    }
                }
                CoverageRow {
                    table: id.name.clone(),
                    exercised,
                    touched_by_sql_tests: touched.contains(&id.name),
                }
            })
            .collect();
        if !coverage.is_empty() {
            outcome.rls_coverage = Some(coverage);
        }
        let updated;
        let expectations = match plan.update_expectations {
            Some(path) => {
                outcome.expectation_updates = crate::checks::expectations::update_file(path, start, after)?;
                updated = crate::checks::expectations::Expectations::load(path)?;
                updated.as_ref()
            }
            None => plan.expectations,
        };
        if let Some(expectations) = expectations {
            outcome.tests.extend(expectations.check(start, after));
        }
        Ok(())
    }

    /// A check that passes when `actual` is the schema `expected` stands for; otherwise each
    /// difference from that schema (rebuilt by `expected_schema`) is a failure placed at the
    /// start of `script`.
    #[allow(clippy::too_many_arguments)]
    fn compare(
        &self,
        kind: CheckKind,
        started: Instant,
        actual: &Snapshot,
        expected: Fingerprint,
        expected_schema: impl FnOnce() -> Snapshot,
        wording: &Wording,
        headline: String,
        script: &Script,
    ) -> CheckResult {
        let duration = millis(started.elapsed());
        if actual.fingerprint() == expected {
            return CheckResult::passed(kind, duration);
        }
        let differences = actual.differences_from(&expected_schema());
        if differences.is_empty() {
            return CheckResult::passed(kind, duration);
        }
        let failures = differences.into_iter().map(|d| difference_failure(d, wording, script)).collect();
        CheckResult::failed(kind, duration, Some(headline), failures)
    }

    /// A rollback check: after `down`, the schema must be the one from before the migration.
    #[allow(clippy::too_many_arguments)]
    fn rollback_restores(
        &self,
        kind: CheckKind,
        started: Instant,
        actual: &Snapshot,
        expected: Fingerprint,
        expected_schema: impl FnOnce() -> Snapshot,
        migration: &Migration,
        down: &Script,
    ) -> CheckResult {
        let (prefix, suffix) = if kind == CheckKind::RollbackChain {
            ("in the reverse chain, ", " in the reverse chain")
        } else {
            ("", "")
        };
        let wording = Wording {
            added: "is still there",
            after: format!("after {}{suffix}", file_name(down)),
            before: format!("before {}", file_name(&migration.up)),
        };
        let headline = format!(
            "{prefix}{} does not restore the schema from before {}",
            down.path.display(),
            migration.up.path.display()
        );
        self.compare(kind, started, actual, expected, expected_schema, &wording, headline, down)
    }

    /// The reverse chain: from the last migration back to the first, each rollback must restore
    /// the schema from before its migration.
    async fn reverse(
        &self,
        migrations: &[Migration],
        results: &mut [MigrationResult],
        before: &[(Fingerprint, Undo)],
        stopped: Option<&str>,
        mut state: Snapshot,
    ) -> Result<(), CatalogError> {
        let mut reason: Option<String> = stopped.map(|why| format!("the forward chain stopped: {why}"));
        for (index, migration) in migrations.iter().enumerate().rev() {
            let result = &mut results[index];
            if migration.down.is_none() {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, "no rollback"));
                reason.get_or_insert_with(|| format!("the reverse chain stops at {}, which has no rollback", migration.up.path.display()));
                continue;
            }
            if let Some(why) = &reason {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, why.clone()));
                continue;
            }
            let Some(down) = &migration.down else { continue };
            let started = Instant::now();
            match run_script(self.client, down, self.options.migration_timeout).await {
                Err(error) => {
                    let headline = format!("in the reverse chain, {} failed", down.path.display());
                    result.checks.push(CheckResult::failed(
                        CheckKind::RollbackChain,
                        millis(started.elapsed()),
                        Some(headline),
                        vec![error.failure().clone()],
                    ));
                    reason = Some(format!("the reverse chain stopped at {}", down.path.display()));
                }
                Ok(_) => {
                    let step = self.after(&mut state, down).await?;
                    // Every later rollback restored its schema, so the one before this step is
                    // the schema right after the migration; its undo leads back from there.
                    let (expected, back) = &before[index];
                    let back_to_before = || state.earlier(&[&step, back]);
                    let check = self.rollback_restores(
                        CheckKind::RollbackChain,
                        started,
                        &state,
                        *expected,
                        back_to_before,
                        migration,
                        down,
                    );
                    if check.status == Status::Failed {
                        reason = Some(format!("the reverse chain stopped at {}", down.path.display()));
                    }
                    result.checks.push(check);
                }
            }
        }
        Ok(())
    }
}

fn difference_failure(difference: Difference, wording: &Wording, script: &Script) -> Failure {
    let (message, detail) = difference.describe(wording);
    let position = script.position(script.body().start);
    let mut failure = Failure::new(
        message,
        Some(Location {
            file: script.path.clone(),
            line: position.line,
            column: 1,
        }),
    );
    failure.details.extend(detail);
    failure.difference = Some(difference);
    failure
}

fn new_result(migration: &Migration) -> MigrationResult {
    MigrationResult {
        version: migration.version.text.clone(),
        name: migration.name.clone(),
        file: migration.up.path.clone(),
        rollback: migration.down.as_ref().map(|d| d.path.clone()),
        layout: migration.layout,
        run_mode: None,
        duration_ms: 0,
        checks: Vec::new(),
    }
}

fn skip(result: &mut MigrationResult, kinds: &[CheckKind], reason: &str) {
    for kind in kinds {
        result.checks.push(CheckResult::skipped(*kind, reason));
    }
}

/// The name a sentence uses for a script: its file name, or the section of a dbmate file.
fn file_name(script: &Script) -> String {
    let name = script.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if script.body().start > 0 && script.text().len() < script.source.len() {
        let section = if script.source[..script.body().start].contains("-- migrate:down") {
            "down"
        } else {
            "up"
        };
        format!("the {section} section of {name}")
    } else {
        name
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// Whether a table as a matrix names it (`notes`, `public.notes`) is the snapshot's `public.notes`.
fn same_table(named: &str, snapshot_name: &str) -> bool {
    let unquote = |s: &str| s.replace('"', "");
    let named = unquote(named);
    let full = unquote(snapshot_name);
    named == full || (!named.contains('.') && full == format!("public.{named}"))
}

/// Every test case the plan would have run, skipped.
fn skipped_tests(plan: &Plan<'_>, reason: &str) -> Vec<TestCaseResult> {
    let mut cases = Vec::new();
    for (suite, script) in plan.tests.seeds.iter().map(|s| ("seed", s)).chain(
        plan.tests
            .files
            .iter()
            .map(|f| (if database_tests::is_pgtap(f.text()) { "pgtap" } else { "smoke" }, f)),
    ) {
        let mut case = TestCaseResult::new(suite, script.path.display().to_string(), script.path.clone());
        case.skip(reason);
        cases.push(case);
    }
    for matrix in &plan.tests.matrices {
        let mut case = TestCaseResult::new("rls", matrix.path.display().to_string(), matrix.path.clone());
        case.skip(reason);
        cases.push(case);
    }
    if let Some(expectations) = plan.expectations {
        let mut case = TestCaseResult::new("expectations", "expectations", expectations.path.clone());
        case.skip(reason);
        cases.push(case);
    }
    cases
}
