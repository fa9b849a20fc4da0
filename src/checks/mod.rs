//! Checks: the replay of every migration and the proof of every rollback.
//!
//! For each migration with a rollback: snapshot S0, run up (S1), run down (S2 must equal S0), run
//! up again (S3 must equal S1), and go on from there. After the last migration the rollbacks run
//! in reverse order, each of which must restore the schema from before its migration; the last
//! one restores the schema the chain began from. A failure that leaves the schema between two
//! states does not end the checking: the state the next check needs is rebuilt (recovery.rs).
//! Only an up that fails in the forward chain ends it, for the later migrations need it.

mod budget;
mod chain;
mod compare;
pub mod data;
pub mod database_tests;
pub mod drift;
pub mod expectations;
pub mod history;
pub mod lint;
mod lint_copy;
mod migrated;
pub mod outcome;
mod pinned;
mod reapply;
mod recovery;
mod replay;
pub mod rls;
pub(crate) mod role_settings;
mod rollback;
mod server;
pub mod session;
mod stop;
pub mod tap;
mod test_helpers;

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::catalog::{Fingerprint, Scope, Snapshot, Undo};
use crate::discovery::Migration;
use crate::script::Script;
use expectations::Expectations;
pub use outcome::{CheckKind, CheckResult, CoverageRow, MigrationResult, Outcome, Status, Suite, TestCaseResult};
use recovery::Position;
use session::{Baseline, Session};
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
    /// Differences not to fail on, by object (`[rollback] ignore`).
    pub ignore: Vec<crate::object::IgnoreRule>,
    /// `--changed-only`: the migrations whose rollbacks are proved (new and edited ones); the
    /// others are replayed only. `None`: every migration is proved.
    pub prove_only: Option<Vec<std::path::PathBuf>>,
    /// `[lint]`, and which migrations are linted.
    pub lint: lint::LintOptions,
    /// `[data]`, and `--rows`.
    pub data: data::DataOptions,
}

impl Options {
    /// Whether `migration`'s rollback is proved (not passed over by `--changed-only`).
    fn proves(&self, migration: &Migration) -> bool {
        self.prove_only.as_ref().is_none_or(|files| files.contains(&migration.up.path))
    }
}

impl Options {
    /// Whether the lint's copy runs `migration` checked: to lint it, or to compare its round
    /// trip's data (the same migrations: a pull request's new ones, or all with no base).
    fn in_copy(&self, migration: &Migration) -> bool {
        self.lint.in_scope(migration) && (self.lint.enabled || self.data.check_rollbacks || self.data.volume)
    }

    /// The checks the copy makes of each migration it runs checked.
    fn copy_kinds(&self) -> Vec<CheckKind> {
        let mut kinds = Vec::new();
        if self.lint.enabled {
            kinds.push(CheckKind::Lint);
        }
        if self.data.check_rollbacks {
            kinds.push(CheckKind::Data);
        }
        if self.data.volume {
            kinds.push(CheckKind::Volume);
        }
        kinds
    }
}

/// Why `--changed-only` passes over a migration's rollback.
const UNCHANGED: &str = "unchanged by this branch (--changed-only)";

impl Options {
    /// The session's limits, as production would set them for its migrations: each setting with
    /// the statement that sets it.
    fn session_limits(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [("statement_timeout", &self.statement_timeout), ("lock_timeout", &self.lock_timeout)]
            .into_iter()
            .filter_map(|(setting, value)| {
                let value = crate::script::quote_literal(value.as_ref()?);
                Some((setting, format!("SET {setting} = {value}")))
            })
    }
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
        let declared = migration.named_in(&options.irreversible) || down.text().lines().any(|line| line.trim() == "-- dbgate:irreversible");
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
    /// The migrations whose changes to the schema are put into words (a pull request's new ones).
    pub summarize: &'a [std::path::PathBuf],
    /// `[snapshots]`: the committed schema snapshots to hold to the migrations.
    pub snapshots: Option<&'a drift::SnapshotPlan>,
    /// `[types]`: the committed TypeScript types to hold to the migrations.
    pub types: Option<&'a drift::TypesPlan>,
}

/// The checks could not go on for a reason that is not the migrations' fault.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog of the throwaway database: {}", crate::execute::describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Expectations(#[from] expectations::ExpectationsError),
    /// A test left the session unable to answer dbgate's own commands around it.
    #[error("the database tests' session: {0}")]
    TestsSession(#[from] crate::execute::WaitError),
}

struct Chain<'a> {
    /// The database the checks work in now: a rebuild replaces it.
    session: Session,
    baseline: &'a Baseline<'a>,
    options: &'a Options,
    migrations: &'a [Migration],
    /// The roles before the first migration: a rebuild drops the others.
    roles_before: std::collections::BTreeSet<u32>,
    /// Where the incremental catalog read failed and the whole catalog was read instead.
    fallbacks: std::sync::Mutex<Vec<String>>,
    /// The rebuilds made, in words.
    notes: Vec<String>,
    warnings: Vec<String>,
    /// What the scripts change on the server outside the database; `None` when it cannot be read.
    server: Option<server::ServerWatch>,
    /// The migrations whose changes to the schema are put into words.
    summarize: &'a [std::path::PathBuf],
    /// The data-migration tests pinned to migrations.
    pinned: &'a [crate::discovery::pinned::PinnedTest],
    /// The checks' database copied at the first migration the lint runs checked, for the lint.
    lint_copy: Option<lint_copy::KeptCopy>,
    /// The checks' session while the lint works in its copy, in the middle of the reverse chain.
    parked: Option<Session>,
    /// Whether the lint ran already (in the middle of the reverse chain).
    lint_ran: bool,
    /// The login role's and database's settings a new session could not take, each said once.
    role_settings_unset: std::sync::Mutex<Vec<String>>,
}

/// What a check tells the driver to do next.
enum Flow {
    /// On to the migration's next check.
    Next,
    /// This migration is done; the chain goes on with the next.
    Done,
    /// This migration is done, but left the schema other than its first run did: the state
    /// after it is rebuilt before the chain goes on.
    Astray,
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

/// Runs every check in the database `session` works in (which a rebuild may replace: the
/// provider drops what `baseline.replacements` names).
pub async fn run(session: Session, baseline: &Baseline<'_>, plan: &Plan<'_>) -> Result<Outcome, CatalogError> {
    let migrations = plan.migrations;
    let mut chain = Chain {
        roles_before: session.roles_before.clone(),
        session,
        baseline,
        options: baseline.options,
        migrations,
        fallbacks: Default::default(),
        notes: Vec::new(),
        warnings: Vec::new(),
        server: None,
        summarize: plan.summarize,
        pinned: &plan.tests.pinned,
        lint_copy: None,
        parked: None,
        lint_ran: false,
        role_settings_unset: Default::default(),
    };
    let mut results: Vec<MigrationResult> = migrations.iter().map(new_result).collect();
    let mut current = chain.full_snapshot().await?;
    let shared = baseline.role_words.is_some();
    match server::ServerWatch::start(&chain.session.config, shared, baseline.options.migration_timeout).await {
        Ok(watch) => chain.server = Some(watch),
        Err(why) => chain.warnings.push(format!(
            "dbgate cannot read the server outside the database ({why}): what the migrations change there is not checked"
        )),
    }
    let start = current.clone();
    let copy_point = chain.copy_point(plan).await;
    let first_new = match &baseline.options.lint.only {
        Some(new) => migrations.iter().position(|m| new.contains(&m.up.path)).filter(|at| *at > 0),
        None => None,
    };
    let first_statement_at = Some(Instant::now());
    // The schema after the first n migrations' first runs, as fingerprints: what a rebuild
    // should give.
    let mut after: Vec<Fingerprint> = vec![start.fingerprint()];
    // For each migration: the schema before it, as a fingerprint, and the way back to it from
    // the schema after it. The reverse chain compares with the one and words a difference
    // with the other.
    let mut before: Vec<(Fingerprint, Undo)> = Vec::with_capacity(migrations.len());
    let mut position = Position::After(0);
    let mut stopped: Option<Stop> = None;
    let mut slow: Vec<String> = Vec::new();
    // The data-migration tests' cases, as they ran in the forward chain.
    let mut pinned_cases: Vec<TestCaseResult> = Vec::new();
    // The schema snapshots the migrations make, to compare with the committed ones; the login
    // role, whose ownership is the provider's.
    let mut snapshots: Vec<(std::path::PathBuf, String)> = Vec::new();
    let login = match plan.snapshots {
        Some(_) => chain
            .client()
            .query_one("SELECT session_user::text", &[])
            .await?
            .get::<_, String>(0),
        None => String::new(),
    };
    use crate::discovery::pinned::Moment;

    for (index, (migration, result)) in migrations.iter().zip(results.iter_mut()).enumerate() {
        // The state this migration needs, rebuilt when a failure left the schema elsewhere.
        if stopped.is_none() && position != Position::After(index) {
            match chain.rebuild(index, after.get(index).copied()).await {
                Ok(snapshot) => current = snapshot,
                Err(why) => stopped = Some(Stop::RebuildFailed(why)),
            }
        }
        // A pull request's migrations are deployed by a new invocation of the tool.
        if stopped.is_none() && Some(index) == first_new {
            let lost = match &copy_point {
                Some(point) => chain.keep_lint_copy(point).await,
                None => {
                    chain.new_invocation().await;
                    None
                }
            };
            stopped = lost.map(Stop::RebuildFailed);
        }
        if let Some(stop) = &stopped {
            not_checked(
                result,
                &[CheckKind::Replay, CheckKind::Rollback, CheckKind::Reapply],
                &stop.to_string(),
            );
            pinned_cases.extend(chain.pinned_not_run(migration, &Moment::ALL, Status::NotChecked, &stop.to_string()));
            continue;
        }
        if let Some(before_test) = chain.pinned_before(migration) {
            pinned_cases.extend(chain.run_pinned(migration, Moment::Before).await);
            // Meant to add rows; whatever it changed in the schema (or on the server) is the
            // state before the migration, not the migration's doing.
            chain.after(&mut current, before_test).await?;
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
            pinned_cases.extend(chain.run_pinned(migration, Moment::After).await);
        } else {
            let why = format!("{} failed", file_name(&migration.up));
            let moments = [Moment::After, Moment::AfterRollback];
            pinned_cases.extend(chain.pinned_not_run(migration, &moments, Status::NotChecked, &why));
        }
        let replay_passed = matches!(flow, Flow::Next);
        if let (Some(plan), true) = (plan.snapshots.filter(|p| p.every), replay_passed) {
            snapshots.push(plan.expected(&migration.stem, &start, m.current, &login));
        }
        if matches!(flow, Flow::Next) && !chain.options.proves(migration) {
            skip(m.result, &[CheckKind::Rollback, CheckKind::Reapply], UNCHANGED);
            flow = Flow::Done;
        }
        if matches!(flow, Flow::Next) {
            flow = rollback::check(&mut m, &mut slow).await?;
        }
        if replay_passed {
            let rollback = m.result.checks.iter().find(|c| c.kind == CheckKind::Rollback);
            pinned_cases.extend(match rollback {
                // It ran to its end: the data after it is there to test, whatever the schema.
                Some(check)
                    if check.status == Status::Passed
                        || (check.status == Status::Failed && check.failures.iter().all(|f| f.difference.is_some())) =>
                {
                    chain.run_pinned(migration, Moment::AfterRollback).await
                }
                Some(check) if check.status == Status::Skipped => {
                    let why = check.skip_reason.clone().unwrap_or_default();
                    chain.pinned_not_run(migration, &[Moment::AfterRollback], Status::Skipped, &why)
                }
                Some(check) if check.status == Status::NotChecked => {
                    let why = check.skip_reason.clone().unwrap_or_default();
                    chain.pinned_not_run(migration, &[Moment::AfterRollback], Status::NotChecked, &why)
                }
                Some(_) => chain.pinned_not_run(migration, &[Moment::AfterRollback], Status::NotChecked, "the rollback failed"),
                None => chain.pinned_not_run(migration, &[Moment::AfterRollback], Status::Skipped, "no rollback"),
            });
        }
        if let (Flow::Next, Some(down)) = (&flow, &migration.down) {
            flow = reapply::check(&mut m, down).await?;
        }
        let (s1, mut steps) = (m.s1, m.steps);
        position = match flow {
            Flow::Stop(stop) => {
                // A failed up that ran in a transaction left the schema from before it.
                let unchanged = matches!(stop, Stop::Failed(_) | Stop::NotUtf8(_)) && current.fingerprint() == s0;
                stopped = Some(stop);
                if unchanged {
                    Position::After(index)
                } else {
                    Position::Astray
                }
            }
            Flow::Astray => {
                // The way back from the rebuilt schema is the first run's alone.
                steps.truncate(1);
                Position::Astray
            }
            Flow::Next | Flow::Done => Position::After(index + 1),
        };
        if stopped.is_none() {
            after.push(s1);
            before.push((s0, Undo::combined(steps)));
        }
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
        notes: Vec::new(),
    };
    let migrated = migrations.len();
    if stopped.is_none() && position != Position::After(migrated) {
        match chain.rebuild(migrated, after.get(migrated).copied()).await {
            Ok(snapshot) => {
                current = snapshot;
                position = Position::After(migrated);
            }
            Err(why) => stopped = Some(Stop::RebuildFailed(why)),
        }
    }
    let mut generated: Vec<TestCaseResult> = Vec::new();
    match &stopped {
        None => {
            if let (Some(snapshot_plan), Some(last)) = (plan.snapshots, migrations.last()) {
                if !snapshot_plan.every {
                    snapshots.push(snapshot_plan.expected(&last.stem, &start, &current, &login));
                }
                generated = snapshots.iter().map(|(path, text)| snapshot_plan.compare(path, text)).collect();
            }
            if let Some(types_plan) = plan.types {
                generated.push(types_plan.check(&chain.session.config).await);
            }
            // The tests are run by another command (`supabase test db`, pg_prove): a new session.
            chain.new_invocation().await;
            chain.test(plan, &start, &current, &mut outcome).await?
        }
        Some(why) => {
            outcome.tests = migrated::not_checked_tests(plan, &why.to_string());
            if let Some(snapshot_plan) = plan.snapshots {
                let stems: Vec<&str> = migrations.iter().map(|m| m.stem.as_str()).collect();
                generated = snapshot_plan.not_checked(&stems, &why.to_string());
            }
            if let Some(types_plan) = plan.types {
                generated.push(types_plan.not_checked(&why.to_string()));
            }
        }
    }
    // The reverse chain runs over the migrations whose ups all ran.
    let reverse = chain::Reverse {
        ran: before.len(),
        stopped: stopped.as_ref(),
        before: &before,
        after: &after,
        position,
    };
    chain.reverse(&mut results, reverse, current).await?;
    chain.lint(&mut results, stopped.as_ref()).await;
    if let Some(watch) = chain.server.take() {
        chain.warnings.extend(watch.finish(&mut results).await);
    }
    outcome.migrations = results;
    // The pinned tests ran first, in the forward chain; the generated files are compared last.
    pinned_cases.append(&mut outcome.tests);
    pinned_cases.append(&mut generated);
    outcome.tests = pinned_cases;
    outcome
        .warnings
        .extend(chain.fallbacks.into_inner().unwrap_or_else(|e| e.into_inner()));
    outcome.warnings.extend(chain.warnings);
    outcome
        .warnings
        .extend(chain.role_settings_unset.into_inner().unwrap_or_else(|e| e.into_inner()));
    outcome.notes = chain.notes;
    Ok(outcome)
}

impl Chain<'_> {
    /// Before a script its tool runs in a new invocation (`migrate down`, `migrate up` again):
    /// a new session, as there. A role, search path or setting an earlier script switched to
    /// and left does not follow it (the session's limits are set again), nor a temporary table
    /// it made.
    async fn new_invocation(&self) {
        // A session that cannot take this is gone: the script's own run says so.
        let _ = self.client().batch_execute(&self.invocation_sql()).await;
        self.take_role_settings().await;
        // Apart: a temporary table that cannot go (a cursor held on it) must not undo the reset.
        let _ = self.client().batch_execute("DISCARD TEMP").await;
    }

    /// After the reset: the settings of the login role and the database that a new connection
    /// would take and this session did not start with (a migration's `ALTER ROLE ... SET`;
    /// RESET ALL goes back to the session's start). Read again only when the server watch
    /// saw the server change since the last read (or without a watch).
    async fn take_role_settings(&self) {
        let Some(start) = &self.session.role_settings else {
            return;
        };
        let changes = match &self.server {
            Some(watch) => watch.changes().await,
            None => None,
        };
        let differences = start.differences(self.client(), changes).await;
        if !differences.is_empty() {
            let unset = role_settings::set(self.client(), &differences, false).await;
            for ((name, value), why) in unset {
                // Where it was set: the first statement of a migration that spells it.
                let spelled = self
                    .migrations
                    .iter()
                    .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
                    .find_map(|script| {
                        let statements = script.statements().ok()?;
                        let at = script.statement_spelling(statements, &[&[name.as_str()]], false)?;
                        Some(format!("{}: ", script.location(at)))
                    })
                    .unwrap_or_default();
                let warning = format!(
                    "{spelled}the login role or database has {name} = {value}, which dbgate's new sessions could not take ({why}); a new connection in production skips it with a warning too, unless the value is valid there"
                );
                // Each said once (not a fallback of the catalog read: the reads stay incremental).
                let mut said = self.role_settings_unset.lock().unwrap_or_else(|e| e.into_inner());
                if !said.contains(&warning) {
                    said.push(warning);
                }
            }
            // The session's limits after them, as the tool sets its own after connecting.
            for (_, set) in self.options.session_limits() {
                let _ = self.client().batch_execute(&set).await;
            }
        }
    }

    /// What puts the session as a new invocation of the tool finds it (inside a transaction
    /// too, where a rollback takes it back).
    fn invocation_sql(&self) -> String {
        let mut sql = format!(
            "RESET SESSION AUTHORIZATION; RESET ALL; SELECT set_config('search_path', {}, false);",
            crate::script::quote_literal(&self.session.search_path)
        );
        for (_, set) in self.options.session_limits() {
            sql.push_str(&format!(" {set};"));
        }
        sql
    }

    /// Reads what `script` changed on the server outside the database (after a script that
    /// failed too: one that ran without a transaction kept what it did).
    async fn watch_server(&self, script: &Script) {
        if let Some(watch) = &self.server {
            watch.after(script, &self.session.config).await;
        }
    }

    /// The whole catalog, with nothing left over in the tracker.
    async fn full_snapshot(&self) -> Result<Snapshot, CatalogError> {
        let Session {
            client, catalog, tracker, ..
        } = &self.session;
        tracker.scope(client, &Snapshot::default(), None).await?;
        Ok(catalog.snapshot(client).await?)
    }

    fn client(&self) -> &Client {
        &self.session.client
    }

    /// Whether the incremental catalog read failed once: then the whole catalog is read after
    /// every script, in a rebuilt database too.
    fn gave_up_incremental(&self) -> bool {
        !self.fallbacks.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// Brings `snapshot` up to date after `script`; returns the way back. The incremental read
    /// is dbgate's own machinery: when one of its queries fails and the server still answers,
    /// the whole catalog is read instead (and from then on), the report says so, and the run
    /// goes on. Only a server that is gone or refuses the full read ends the run.
    async fn after(&self, snapshot: &mut Snapshot, script: &Script) -> Result<Undo, CatalogError> {
        self.watch_server(script).await;
        match self.incremental_after(snapshot, script).await {
            // A migration left a statement_timeout too short for dbgate's own reads: they run
            // without it (the whole catalog, for the tracker may have been read), and the
            // migration's value is put back for the migrations after it.
            Err(CatalogError::Database(error))
                if error.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) && !self.client().is_closed() =>
            {
                let left = self.client().query_one("SHOW statement_timeout", &[]).await?.get::<_, String>(0);
                self.client().batch_execute("SET statement_timeout = 0").await?;
                let read = self.session.catalog.update(self.client(), snapshot, &Scope::full()).await;
                let restore = format!("SET statement_timeout = {}", crate::script::quote_literal(&left));
                self.client().batch_execute(&restore).await?;
                Ok(read?)
            }
            Err(CatalogError::Database(error)) if !self.client().is_closed() => {
                self.session.tracker.give_up();
                self.fallbacks.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                    "reading what {} changed failed ({}); dbgate read the whole catalog instead, and does from then on (slower, same verdicts)",
                    script.path.display(),
                    crate::execute::describe(&error)
                ));
                Ok(self.session.catalog.update(self.client(), snapshot, &Scope::full()).await?)
            }
            done => done,
        }
    }

    /// Brings `snapshot` up to date after `script`, from what the script touched; returns the
    /// way back. A role renamed renames it everywhere: then read everything.
    async fn incremental_after(&self, snapshot: &mut Snapshot, script: &Script) -> Result<Undo, CatalogError> {
        let Session {
            client, catalog, tracker, ..
        } = &self.session;
        let scope = tracker.scope(client, snapshot, Some(script)).await?;
        let roles = snapshot.role_names();
        let undo = catalog.update(client, snapshot, &scope).await?;
        if !scope.full && roles.renamed_in(snapshot) {
            let everything = catalog.update(client, snapshot, &Scope::full()).await?;
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
        irreversible: false,
        checks: Vec::new(),
        schema_changes: Vec::new(),
        lint: Vec::new(),
        volume: None,
    }
}

fn skip(result: &mut MigrationResult, kinds: &[CheckKind], reason: &str) {
    for kind in kinds {
        result.checks.push(CheckResult::skipped(*kind, reason));
    }
}

/// Checks that a failure kept from running: counted and said, never shown as passed.
fn not_checked(result: &mut MigrationResult, kinds: &[CheckKind], reason: &str) {
    for kind in kinds {
        result.checks.push(CheckResult::not_checked(*kind, reason));
    }
}

/// The name a sentence uses for a script: its file name, or the section of a dbmate file.
fn file_name(script: &Script) -> String {
    let mut name = script.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    // Every diesel migration is an up.sql: its folder says which.
    if name == "up.sql" || name == "down.sql" {
        if let Some(folder) = script.path.parent().and_then(|p| p.file_name()) {
            name = format!("{}/{name}", folder.to_string_lossy());
        }
    }
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
