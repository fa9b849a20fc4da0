//! Rollback: after the migration, its rollback restores the schema from before it (S2 = S0).

use std::time::Instant;

use super::compare::Comparison;
use super::{millis, skip, CatalogError, CheckKind, CheckResult, Flow, Migrating, Stop};
use crate::execute::{run_script, ScriptError};

pub(super) async fn check(m: &mut Migrating<'_, '_>) -> Result<Flow, CatalogError> {
    let (chain, migration) = (m.chain, m.migration);
    let Some(down) = &migration.down else {
        skip(m.result, &[CheckKind::Rollback, CheckKind::Reapply], "no rollback");
        return Ok(Flow::Done);
    };
    let started = Instant::now();
    if let Err(error) = run_script(chain.client, down, chain.options.migration_timeout).await {
        let headline = Some(format!("{} failed", down.path.display()));
        m.result.checks.push(CheckResult::failed(
            CheckKind::Rollback,
            millis(started.elapsed()),
            headline,
            vec![error.failure().clone()],
        ));
        skip(m.result, &[CheckKind::Reapply], "the rollback failed");
        if matches!(error, ScriptError::ConnectionLost(_)) {
            return Ok(Flow::Stop(Stop::ConnectionLost {
                file: down.path.clone(),
                again: false,
            }));
        }
        // A rollback that failed in its transaction left the schema as the migration made it.
        m.after(down).await?;
        if m.current.fingerprint() != m.s1 {
            return Ok(Flow::Stop(Stop::PartWay(down.path.clone())));
        }
        return Ok(Flow::Done);
    }
    m.after(down).await?;
    let back_to_s0 = || m.current.earlier(&[&m.steps[1], &m.steps[0]]);
    let check = Comparison::rollback(CheckKind::Rollback, started, migration, down).check(m.current, m.s0, back_to_s0);
    m.result.checks.push(check);
    Ok(Flow::Next)
}
