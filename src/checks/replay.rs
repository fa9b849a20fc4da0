//! Replay: the migration runs, as its tool runs it, within its time budget.

use std::time::Instant;

use super::{budget, file_name, millis, not_checked, CatalogError, CheckKind, CheckResult, Flow, Migrating, Stop};
use crate::execute::{run_script, Ran, ScriptError};

pub(super) async fn check(m: &mut Migrating<'_, '_>, slow: &mut Vec<String>) -> Result<Flow, CatalogError> {
    let (chain, migration) = (m.chain, m.migration);
    if migration.up.not_utf8 {
        // The finding says where; its tool fails on it before running anything.
        let stop = Stop::NotUtf8(migration.up.path.clone());
        not_checked(
            m.result,
            &[CheckKind::Replay, CheckKind::Rollback, CheckKind::Reapply],
            &stop.to_string(),
        );
        return Ok(Flow::Stop(stop));
    }
    let started = Instant::now();
    match run_script(chain.client(), &migration.up, chain.options.migration_timeout).await {
        Ok(Ran { run_mode, duration }) => {
            m.result.run_mode = Some(run_mode);
            m.result.duration_ms = millis(duration);
            m.result.checks.push(budget::check(chain.options, migration, duration, slow));
        }
        Err(error) => {
            if let ScriptError::Failed { run_mode, .. } = &error {
                m.result.run_mode = run_mode.clone();
            }
            m.result.checks.push(CheckResult::failed(
                CheckKind::Replay,
                millis(started.elapsed()),
                None,
                vec![error.failure().clone()],
            ));
            not_checked(
                m.result,
                &[CheckKind::Rollback, CheckKind::Reapply],
                &format!("{} failed", file_name(&migration.up)),
            );
            let file = migration.up.path.clone();
            return Ok(Flow::Stop(match error {
                ScriptError::ConnectionLost(_) => Stop::ConnectionLost(file),
                ScriptError::Failed { .. } => {
                    // What it left, for the reverse chain to start from: the schema before it
                    // when it ran in a transaction, or part of its work when it did not.
                    m.after(&migration.up).await?;
                    Stop::Failed(file)
                }
            }));
        }
    }
    m.after(&migration.up).await?;
    m.s1 = m.current.fingerprint();
    if chain.summarize.contains(&migration.up.path) {
        if let Some(step) = m.steps.last() {
            let before = m.current.earlier(&[step]);
            m.result.schema_changes = crate::catalog::summarize(&before, m.current);
        }
    }
    Ok(Flow::Next)
}
