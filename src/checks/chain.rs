//! The rollback chain: after the last migration, the rollbacks run in reverse order, and each
//! must restore the schema from before its migration; the last one restores the schema the
//! chain began from.

use std::time::Instant;

use super::compare::Comparison;
use super::{millis, CatalogError, Chain, CheckKind, CheckResult, MigrationResult, Status, Stop, Unrunnable};
use crate::catalog::{Fingerprint, Snapshot, Undo};
use crate::discovery::Migration;
use crate::execute::run_script;

impl Chain<'_> {
    /// The reverse chain: from the last migration back to the first, each rollback must restore
    /// the schema from before its migration.
    pub(super) async fn reverse(
        &self,
        migrations: &[Migration],
        results: &mut [MigrationResult],
        before: &[(Fingerprint, Undo)],
        stopped: Option<&Stop>,
        mut state: Snapshot,
    ) -> Result<(), CatalogError> {
        let mut reason: Option<String> = stopped.map(|why| format!("the forward chain stopped: {why}"));
        for (index, migration) in migrations.iter().enumerate().rev() {
            let result = &mut results[index];
            let Some(down) = &migration.down else {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, "no rollback"));
                reason.get_or_insert_with(|| format!("the reverse chain stops at {}, which has no rollback", migration.up.path.display()));
                continue;
            };
            if let Some(unrunnable) = Unrunnable::of(migration, self.options) {
                result
                    .checks
                    .push(CheckResult::skipped(CheckKind::RollbackChain, unrunnable.reason()));
                reason.get_or_insert_with(|| {
                    format!(
                        "the reverse chain stops at {}: {}",
                        migration.up.path.display(),
                        unrunnable.reason()
                    )
                });
                continue;
            }
            if let Some(why) = &reason {
                result.checks.push(CheckResult::skipped(CheckKind::RollbackChain, why.clone()));
                continue;
            }
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
                    let check =
                        Comparison::rollback(CheckKind::RollbackChain, started, migration, down).check(&state, *expected, back_to_before);
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
