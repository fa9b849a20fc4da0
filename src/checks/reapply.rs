//! Reapply: the migration, run again after its rollback, gives the schema its first run gave
//! (S3 = S1).

use std::time::Instant;

use super::compare::Comparison;
use super::{file_name, millis, CatalogError, CheckKind, CheckResult, Flow, Migrating};
use crate::catalog::Wording;
use crate::execute::run_script;
use crate::script::Script;

pub(super) async fn check(m: &mut Migrating<'_, '_>, down: &Script) -> Result<Flow, CatalogError> {
    let (chain, migration) = (m.chain, m.migration);
    chain.new_invocation().await;
    let started = Instant::now();
    if let Err(error) = run_script(chain.client(), &migration.up, chain.options.migration_timeout).await {
        chain.watch_server(&migration.up).await;
        let headline = format!("{} fails when run again after {}", migration.up.path.display(), file_name(down));
        m.result.checks.push(CheckResult::failed(
            CheckKind::Reapply,
            millis(started.elapsed()),
            Some(headline),
            vec![error.failure().clone()],
        ));
        // The schema is after the rollback, or part of the way back up, or the session is gone:
        // rebuilt before the chain goes on.
        return Ok(Flow::Astray);
    }
    m.after(&migration.up).await?;
    let comparison = Comparison {
        kind: CheckKind::Reapply,
        started,
        wording: Wording {
            added: "is new",
            after: format!("after running {} again", file_name(&migration.up)),
            before: "after its first run".to_string(),
        },
        headline: format!(
            "{}, run again after {}, does not give the schema its first run gave",
            migration.up.path.display(),
            file_name(down)
        ),
        script: &migration.up,
    };
    let back_to_s1 = || m.current.earlier(&[&m.steps[2], &m.steps[1]]);
    let judging = Comparison::judging(chain.options, migration);
    let check = comparison.check(m.current, m.s1, back_to_s1, &judging);
    let astray = check.status == super::Status::Failed;
    m.result.checks.push(check);
    // A second run that gave another schema leaves the chain off the first run's path.
    Ok(if astray { Flow::Astray } else { Flow::Done })
}
