//! Rollback: after the migration, its rollback restores the schema from before it (S2 = S0).

use std::time::Instant;

use super::compare::Comparison;
use super::{millis, not_checked, skip, CatalogError, CheckKind, CheckResult, Flow, Migrating, Unrunnable};
use crate::discovery::Migration;
use crate::execute::{run_script, ScriptError};
use crate::failure::Failure;
use crate::script::Script;

pub(super) async fn check(m: &mut Migrating<'_, '_>, warnings: &mut Vec<String>) -> Result<Flow, CatalogError> {
    let (chain, migration) = (m.chain, m.migration);
    let Some(down) = &migration.down else {
        skip(m.result, &[CheckKind::Rollback, CheckKind::Reapply], "no rollback");
        return Ok(Flow::Done);
    };
    if down.not_utf8 {
        not_checked(
            m.result,
            &[CheckKind::Rollback, CheckKind::Reapply],
            &format!("{} is not valid UTF-8", down.path.display()),
        );
        return Ok(Flow::Done);
    }
    match Unrunnable::of(migration, chain.options) {
        None => {}
        Some(Unrunnable::NoStatements) if chain.options.strict_rollbacks => {
            m.result.checks.push(CheckResult::failed(
                CheckKind::Rollback,
                0,
                None,
                vec![Failure::new(no_statements(migration, down), Some(down.location(down.body().start)))],
            ));
            skip(m.result, &[CheckKind::Reapply], Unrunnable::NoStatements.reason());
            return Ok(Flow::Done);
        }
        Some(unrunnable) => {
            m.result.irreversible = unrunnable == Unrunnable::Irreversible;
            if unrunnable == Unrunnable::NoStatements {
                warnings.push(format!(
                    "{} ([rollback] strict = true makes it a failure)",
                    no_statements(migration, down)
                ));
            }
            skip(m.result, &[CheckKind::Rollback, CheckKind::Reapply], unrunnable.reason());
            return Ok(Flow::Done);
        }
    }
    chain.new_invocation().await;
    let started = Instant::now();
    if let Err(error) = run_script(chain.client(), down, chain.options.migration_timeout).await {
        let headline = Some(format!("{} failed", down.path.display()));
        m.result.checks.push(CheckResult::failed(
            CheckKind::Rollback,
            millis(started.elapsed()),
            headline,
            vec![error.failure().clone()],
        ));
        not_checked(m.result, &[CheckKind::Reapply], "the rollback failed");
        // A session the rollback ended: the state after the migration is rebuilt in a fresh
        // database, on a fresh connection (if the server is gone, that says so).
        if matches!(error, ScriptError::ConnectionLost(_)) {
            return Ok(Flow::Astray);
        }
        // A rollback that failed in its transaction left the schema as the migration made it;
        // one that failed part way left it in between, to be rebuilt.
        m.after(down).await?;
        if m.current.fingerprint() != m.s1 {
            return Ok(Flow::Astray);
        }
        return Ok(Flow::Done);
    }
    m.after(down).await?;
    let back_to_s0 = || m.current.earlier(&[&m.steps[1], &m.steps[0]]);
    let judging = Comparison::judging(chain.options, migration);
    let check = Comparison::rollback(CheckKind::Rollback, started, migration, down).check(m.current, m.s0, back_to_s0, &judging);
    m.result.checks.push(check);
    Ok(Flow::Next)
}

/// What a rollback without statements does under its tool, and what to do about it.
fn no_statements(migration: &Migration, down: &Script) -> String {
    format!(
        "{} has no statements: the tool runs it, marks {} reverted and leaves the schema as it is; write what undoes the migration, or declare it irreversible (a `-- dbgate:irreversible` line)",
        down.path.display(),
        migration.up.path.display()
    )
}
