//! The rollback chain: after the last migration, the rollbacks run in reverse order, and each
//! must restore the schema from before its migration; the last one restores the schema the
//! chain began from.

use std::time::Instant;

use super::compare::Comparison;
use super::recovery::Position;
use super::{millis, CatalogError, Chain, CheckKind, CheckResult, MigrationResult, Status, Stop, Unrunnable};
use crate::catalog::{Fingerprint, Snapshot, Undo};
use crate::execute::run_script;

/// Where the forward chain left the reverse chain.
pub(super) struct Reverse<'a> {
    /// How many migrations' ups ran in the forward chain: the reverse chain starts below them.
    pub ran: usize,
    pub stopped: Option<&'a Stop>,
    /// For each migration that ran: the schema before it, and the way back to it from after it.
    pub before: &'a [(Fingerprint, Undo)],
    /// The schema after the first n migrations' first runs.
    pub after: &'a [Fingerprint],
    pub position: Position,
}

impl Chain<'_> {
    /// The reverse chain: each rollback, from the last migration back to the first, must restore
    /// the schema from before its migration. Migrations without a runnable rollback split the
    /// chain into runs of consecutive rollbacks; the run at the top starts from the migrated
    /// schema, and the others, lowest first, from the state after their top migration: rebuilt
    /// once, then reached by replaying the ups between one run and the next (each up replayed at
    /// most twice, not once per gap). A rollback that fails or differs leaves the schema astray:
    /// the state below it is rebuilt.
    pub(super) async fn reverse(
        &mut self,
        results: &mut [MigrationResult],
        from: Reverse<'_>,
        mut state: Snapshot,
    ) -> Result<(), CatalogError> {
        let Reverse {
            ran,
            stopped,
            before,
            after,
            mut position,
        } = from;
        let migrations = self.migrations;
        // What is not checked or not run at all, and the runs of rollbacks that are.
        let forward = stopped.map(|why| format!("the forward chain stopped: {why}"));
        let mut runs: Vec<std::ops::RangeInclusive<usize>> = Vec::new();
        // --changed-only: the chain runs down to the last migration the branch did not change.
        let floor = migrations
            .iter()
            .rposition(|m| !self.options.proves(m))
            .map_or(0, |last_unchanged| last_unchanged + 1);
        for (index, migration) in migrations.iter().enumerate() {
            let result = &mut results[index];
            if index < floor && index < ran {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, super::UNCHANGED));
            } else if index >= ran {
                let why = forward.clone().unwrap_or_default();
                result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why));
            } else if migration.down.is_none() {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, "no rollback"));
            } else if let Some(down) = migration.down.as_ref().filter(|d| d.not_utf8) {
                let why = format!("{} is not valid UTF-8", down.path.display());
                result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why));
            } else if let Some(unrunnable) = Unrunnable::of(migration, self.options) {
                result
                    .checks
                    .push(CheckResult::skipped(CheckKind::RollbackChain, unrunnable.reason()));
            } else {
                match runs.last_mut() {
                    Some(run) if *run.end() + 1 == index => *run = *run.start()..=index,
                    _ => runs.push(index..=index),
                }
            }
        }
        // The top run first when the schema is already where it starts; then the rest, lowest first.
        if let Some(top) = runs.last() {
            if position == Position::After(top.end() + 1) {
                let top = runs.pop().expect("just seen");
                runs.insert(0, top);
            }
        }
        // Set when nothing more can run: a rebuild that failed.
        let mut broken: Option<String> = None;
        // The harmless differences the chain said so far: still there below, not said again.
        let mut warned_above: Vec<(crate::failure::WarningKind, Option<crate::catalog::ObjectId>)> = Vec::new();
        let mut froze_above = false;
        // The new migrations' rollbacks still to run: the lint's copy waits for them.
        let copied_at = self.lint_copy.as_ref().map(|kept| kept.at());
        let mut new_left = runs
            .iter()
            .flat_map(|run| run.clone())
            .filter(|i| copied_at.is_some_and(|at| *i >= at))
            .count();
        for run in runs {
            for index in run.rev() {
                // The lint's copy holds the older migrations' roles: the lint runs from it, and
                // it goes, before their rollbacks run.
                if broken.is_none()
                    && self.lint_copy.is_some()
                    && copied_at.is_some_and(|at| index < at)
                    && self
                        .lint_before_older_rollbacks(
                            results,
                            stopped,
                            (position == Position::After(index + 1)).then_some(&state),
                            new_left > 0,
                        )
                        .await
                {
                    position = Position::Astray;
                }
                if copied_at.is_some_and(|at| index >= at) {
                    new_left -= 1;
                }
                let (migration, result) = (&migrations[index], &mut results[index]);
                let down = migration.down.as_ref().expect("a run holds rollbacks");
                if let Some(why) = &broken {
                    result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why.clone()));
                    continue;
                }
                if position != Position::After(index + 1) {
                    match self.reach(index + 1, position, after).await {
                        Ok(reached) => state = reached,
                        Err(why) => {
                            result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why.clone()));
                            broken = Some(why);
                            continue;
                        }
                    }
                }
                self.new_invocation().await;
                let started = Instant::now();
                match run_script(self.client(), down, self.options.migration_timeout).await {
                    Err(error) => {
                        self.watch_server(down).await;
                        let headline = format!("in the reverse chain, {} failed", down.path.display());
                        result.checks.push(CheckResult::failed(
                            CheckKind::RollbackChain,
                            millis(started.elapsed()),
                            Some(headline),
                            vec![error.failure().clone()],
                        ));
                        position = Position::Astray;
                    }
                    Ok(_) => {
                        let step = self.after(&mut state, down).await?;
                        // The schema before this step is the one right after the migration; its
                        // undo leads back from there.
                        let (expected, back) = &before[index];
                        let back_to_before = || state.earlier(&[&step, back]);
                        let mut judging = Comparison::judging(self.options, migration);
                        judging.reported = reported(result);
                        judging.warned = warned_above.iter().cloned().chain(warned(result)).collect();
                        // A rollback above that froze 'now' again leaves its literal here too.
                        froze_above |= judging.freezes;
                        judging.freezes = froze_above;
                        let check = Comparison::rollback(CheckKind::RollbackChain, started, migration, down).check(
                            &state,
                            *expected,
                            back_to_before,
                            &judging,
                        );
                        warned_above = judging.warned;
                        warned_above.extend(check.warnings.iter().map(|w| (w.kind, w.object.clone())));
                        position = if check.status == Status::Failed {
                            Position::Astray
                        } else {
                            Position::After(index)
                        };
                        result.checks.push(check);
                    }
                }
            }
        }
        Ok(())
    }

    /// Brings the database to the state after the first `n` migrations: from `position` when it
    /// is below, by replaying the ups between (unchecked); else by a rebuild.
    async fn reach(&mut self, n: usize, position: Position, after: &[Fingerprint]) -> Result<Snapshot, String> {
        if let Position::After(at) = position {
            if at < n && !self.client().is_closed() {
                let mut replayed = true;
                for migration in &self.migrations[at..n] {
                    if run_script(self.client(), &migration.up, self.options.migration_timeout)
                        .await
                        .is_err()
                    {
                        replayed = false;
                        break;
                    }
                }
                if let Some(settings) = &self.session.role_settings {
                    settings.forget();
                }
                // Only when it gives what the forward chain saw there (an up that reads its data
                // may give another schema the second time): else a rebuild.
                if replayed {
                    if let Ok(snapshot) = self.full_snapshot().await {
                        if after.get(n).is_none_or(|expected| *expected == snapshot.fingerprint()) {
                            return Ok(snapshot);
                        }
                    }
                }
            }
        }
        self.rebuild(n, after.get(n).copied()).await
    }
}

/// The differences a migration's rollback check failed on.
fn reported(result: &MigrationResult) -> Vec<crate::catalog::Difference> {
    let Some(rollback) = result.checks.iter().find(|c| c.kind == CheckKind::Rollback) else {
        return Vec::new();
    };
    rollback.failures.iter().filter_map(|f| f.difference.clone()).collect()
}

/// The harmless differences a migration's rollback check said, by kind and object.
fn warned(result: &MigrationResult) -> Vec<(crate::failure::WarningKind, Option<crate::catalog::ObjectId>)> {
    let rollback = result.checks.iter().filter(|c| c.kind == CheckKind::Rollback);
    rollback.flat_map(|c| &c.warnings).map(|w| (w.kind, w.object.clone())).collect()
}
