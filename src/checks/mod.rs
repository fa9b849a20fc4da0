//! Checks: the replay of every migration and the proof of every rollback.
//!
//! For each migration with a rollback: snapshot S0, run up (S1), run down (S2 must equal S0), run
//! up again (S3 must equal S1), and go on from there. After the last migration the rollbacks run
//! in reverse order, each of which must restore the schema from before its migration; the last
//! one restores the schema the chain began from.

mod budget;
mod chain;
mod compare;
pub mod database_tests;
pub mod expectations;
mod migrated;
pub mod outcome;
mod reapply;
mod replay;
pub mod rls;
mod rollback;
mod stop;
pub mod tap;

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::catalog::{Catalog, Fingerprint, Scope, Snapshot, Tracker, Undo};
use crate::discovery::Migration;
use crate::script::Script;
use expectations::Expectations;
pub use outcome::{CheckKind, CheckResult, CoverageRow, MigrationResult, Outcome, Status, Suite, TestCaseResult};
use stop::Stop;

/// How the checks run the migrations, from `[migrations]` of dbgate.toml and the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long one script may run before it is cancelled.
    pub migration_timeout: Duration,
    /// A migration slower than this is a warning...
    pub warn_after: Option<Duration>,
    /// ...and slower than this, a failure.
    pub fail_after: Option<Duration>,
    /// PostgreSQL's statement_timeout for the migrations' session, e.g. "30s".
    pub statement_timeout: Option<String>,
    /// PostgreSQL's lock_timeout, e.g. "5s".
    pub lock_timeout: Option<String>,
    /// A rollback with no statements fails instead of being a warning (`[rollback] strict`).
    pub strict_rollbacks: bool,
    /// Migrations whose rollback is declared irreversible, by version or file stem
    /// (`[rollback] irreversible`).
    pub irreversible: Vec<String>,
}

/// Why a migration's rollback is not run, when it exists but does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unrunnable {
    /// Declared so: a `-- dbgate:irreversible` line, or `[rollback] irreversible`.
    Irreversible,
    /// Only comments and white space (what generators write): the tool runs it, marks the
    /// migration reverted, and the schema stays.
    NoStatements,
}

impl Unrunnable {
    /// The skip reason a check carries.
    fn reason(self) -> &'static str {
        match self {
            Unrunnable::Irreversible => "the rollback is declared irreversible",
            Unrunnable::NoStatements => "the rollback has no statements",
        }
    }

    fn of(migration: &Migration, options: &Options) -> Option<Unrunnable> {
        let down = migration.down.as_ref()?;
        let stem = migration
            .up
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let declared = options
            .irreversible
            .iter()
            .any(|named| *named == migration.version.text || *named == stem)
            || down.text().lines().any(|line| line.trim() == "-- dbgate:irreversible");
        if declared {
            Some(Unrunnable::Irreversible)
        } else if down.is_empty() {
            Some(Unrunnable::NoStatements)
        } else {
            None
        }
    }
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
    /// Where the incremental catalog read failed and the whole catalog was read instead.
    fallbacks: std::sync::Mutex<Vec<String>>,
}

/// What a check tells the driver to do next.
enum Flow {
    /// On to the migration's next check.
    Next,
    /// This migration is done; the chain goes on with the next.
    Done,
    /// The chain cannot go on.
    Stop(Stop),
}

/// One migration on its way through replay, rollback and reapply.
struct Migrating<'a, 'c> {
    chain: &'a Chain<'c>,
    migration: &'a Migration,
    result: &'a mut MigrationResult,
    /// The schema now, kept up to date after each script.
    current: &'a mut Snapshot,
    /// The way back from each script, oldest first.
    steps: Vec<Undo>,
    /// The schema before the migration (S0) and after its first run (S1).
    s0: Fingerprint,
    s1: Fingerprint,
}

impl Migrating<'_, '_> {
    /// Brings the schema up to date after `script`, keeping the way back.
    async fn after(&mut self, script: &Script) -> Result<(), CatalogError> {
        let undo = self.chain.after(self.current, script).await?;
        self.steps.push(undo);
        Ok(())
    }
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
        fallbacks: Default::default(),
    };
    let mut results: Vec<MigrationResult> = migrations.iter().map(new_result).collect();
    let mut current = chain.full_snapshot().await?;
    let start = current.clone();
    let first_statement_at = Some(Instant::now());
    // For each migration: the schema before it, as a fingerprint, and the way back to it from
    // the schema after it. The reverse chain compares with the one and words a difference
    // with the other.
    let mut before: Vec<(Fingerprint, Undo)> = Vec::with_capacity(migrations.len());
    let mut stopped: Option<Stop> = None;
    let mut slow: Vec<String> = Vec::new();

    for (migration, result) in migrations.iter().zip(results.iter_mut()) {
        if let Some(stop) = &stopped {
            skip(
                result,
                &[CheckKind::Replay, CheckKind::Rollback, CheckKind::Reapply],
                &stop.to_string(),
            );
            continue;
        }
        let s0 = current.fingerprint();
        let mut m = Migrating {
            chain: &chain,
            migration,
            result,
            current: &mut current,
            steps: Vec::new(),
            s0,
            s1: s0,
        };
        let mut flow = replay::check(&mut m, &mut slow).await?;
        if matches!(flow, Flow::Next) {
            flow = rollback::check(&mut m, &mut slow).await?;
        }
        if let (Flow::Next, Some(down)) = (&flow, &migration.down) {
            flow = reapply::check(&mut m, down).await?;
        }
        if let Flow::Stop(stop) = flow {
            stopped = Some(stop);
        }
        before.push((s0, Undo::combined(m.steps)));
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
        Some(why) => outcome.tests = migrated::skipped_tests(plan, &format!("not run: {why}")),
    }
    chain.reverse(migrations, &mut results, &before, stopped.as_ref(), current).await?;
    outcome.migrations = results;
    outcome
        .warnings
        .extend(chain.fallbacks.into_inner().unwrap_or_else(|e| e.into_inner()));
    Ok(outcome)
}

impl Chain<'_> {
    /// The whole catalog, with nothing left over in the tracker.
    async fn full_snapshot(&self) -> Result<Snapshot, CatalogError> {
        self.tracker.scope(self.client, &Snapshot::default(), None).await?;
        Ok(self.catalog.snapshot(self.client).await?)
    }

    /// Brings `snapshot` up to date after `script`; returns the way back. The incremental read
    /// is dbgate's own machinery: when one of its queries fails and the server still answers,
    /// the whole catalog is read instead (and from then on), the report says so, and the run
    /// goes on. Only a server that is gone or refuses the full read ends the run.
    async fn after(&self, snapshot: &mut Snapshot, script: &Script) -> Result<Undo, CatalogError> {
        match self.incremental_after(snapshot, script).await {
            Err(CatalogError::Database(error)) if !self.client.is_closed() => {
                self.tracker.give_up();
                self.fallbacks.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                    "reading what {} changed failed ({}); dbgate read the whole catalog instead, and does from then on (slower, same verdicts)",
                    script.path.display(),
                    crate::execute::describe(&error)
                ));
                Ok(self.catalog.update(self.client, snapshot, &Scope::full()).await?)
            }
            done => done,
        }
    }

    /// Brings `snapshot` up to date after `script`, from what the script touched; returns the
    /// way back. A role renamed renames it everywhere: then read everything.
    async fn incremental_after(&self, snapshot: &mut Snapshot, script: &Script) -> Result<Undo, CatalogError> {
        let scope = self.tracker.scope(self.client, snapshot, Some(script)).await?;
        let roles = snapshot.role_names();
        let undo = self.catalog.update(self.client, snapshot, &scope).await?;
        if !scope.full && roles.renamed_in(snapshot) {
            let everything = self.catalog.update(self.client, snapshot, &Scope::full()).await?;
            return Ok(Undo::combined(vec![undo, everything]));
        }
        Ok(undo)
    }
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
