//! The time budget of a migration's first run: over `fail_seconds` its replay check fails, over
//! `warn_seconds` the report warns.

use std::time::Duration;

use super::{millis, CheckKind, CheckResult, Options};
use crate::discovery::Migration;
use crate::failure::{Failure, Location};

/// The replay check of a migration that ran in `duration`, against the budgets.
pub(super) fn check(options: &Options, migration: &Migration, duration: Duration, slow: &mut Vec<String>) -> CheckResult {
    let took = format!("{} took {:.1} s", migration.up.path.display(), duration.as_secs_f64());
    match (options.fail_after, options.warn_after) {
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
