//! The rollback chain: after the last migration, the rollbacks run in reverse order, and each
//! must restore the schema from before its migration; the last one restores the schema the
//! chain began from.

use std::time::Instant;

use super::compare::Comparison;
use super::recovery::Position;
use super::{millis, CatalogError, Chain, CheckKind, CheckResult, MigrationResult, Status, Stop, Unrunnable};
use crate::catalog::{Fingerprint, Snapshot, Undo};
use crate::execute::{run_script, ScriptError};

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
    /// The reverse chain: from the last migration back to the first, each rollback must restore
    /// the schema from before its migration. Past a migration without a runnable rollback, or a
    /// rollback that failed, the state it needs is rebuilt and the chain goes on.
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
        let forward = stopped.map(|why| format!("the forward chain stopped: {why}"));
        // Set when nothing more can run: the connection lost, a rebuild that failed.
        let mut broken: Option<String> = stopped.filter(|s| s.connection_lost()).map(|why| why.to_string());
        let migrations = self.migrations;
        for (index, migration) in migrations.iter().enumerate().rev() {
            let result = &mut results[index];
            if index >= ran {
                let why = forward.clone().unwrap_or_default();
                result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why));
                continue;
            }
            let Some(down) = &migration.down else {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, "no rollback"));
                continue;
            };
            if let Some(unrunnable) = Unrunnable::of(migration, self.options) {
                result
                    .checks
                    .push(CheckResult::skipped(CheckKind::RollbackChain, unrunnable.reason()));
                continue;
            }
            if let Some(why) = &broken {
                result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why.clone()));
                continue;
            }
            if position != Position::After(index + 1) {
                match self.rebuild(index + 1, after.get(index + 1).copied()).await {
                    Ok(rebuilt) => state = rebuilt,
                    Err(why) => {
                        result.checks.push(CheckResult::not_checked(CheckKind::RollbackChain, why.clone()));
                        broken = Some(why);
                        continue;
                    }
                }
            }
            let started = Instant::now();
            match run_script(self.client(), down, self.options.migration_timeout).await {
                Err(error) => {
                    let headline = format!("in the reverse chain, {} failed", down.path.display());
                    result.checks.push(CheckResult::failed(
                        CheckKind::RollbackChain,
                        millis(started.elapsed()),
                        Some(headline),
                        vec![error.failure().clone()],
                    ));
                    if let ScriptError::ConnectionLost(_) = error {
                        broken = Some(format!(
                            "the connection to the server was lost while running {}",
                            down.path.display()
                        ));
                    }
                    position = Position::Astray;
                }
                Ok(_) => {
                    let step = self.after(&mut state, down).await?;
                    // The schema before this step is the one right after the migration; its
                    // undo leads back from there.
                    let (expected, back) = &before[index];
                    let back_to_before = || state.earlier(&[&step, back]);
                    let check =
                        Comparison::rollback(CheckKind::RollbackChain, started, migration, down).check(&state, *expected, back_to_before);
                    position = if check.status == Status::Failed {
                        Position::Astray
                    } else {
                        Position::After(index)
                    };
                    result.checks.push(check);
                }
            }
        }
        Ok(())
    }
}
