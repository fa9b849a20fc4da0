//! Holding a schema to the one it should be: equal fingerprints pass at once; otherwise each
//! difference from the expected schema (rebuilt only now) is a failure in words.

use std::time::Instant;

use super::{millis, CheckKind, CheckResult};
use crate::catalog::{Difference, Fingerprint, Snapshot, Wording};
use crate::discovery::Migration;
use crate::failure::{Failure, Location};
use crate::script::Script;

/// What a comparison is for: its check, when it started, how its sentences read, and the
/// script its failures are placed at.
pub(super) struct Comparison<'a> {
    pub kind: CheckKind,
    pub started: Instant,
    pub wording: Wording,
    pub headline: String,
    pub script: &'a Script,
}

impl Comparison<'_> {
    /// A rollback's comparison: after `down`, the schema from before the migration.
    pub fn rollback<'s>(kind: CheckKind, started: Instant, migration: &Migration, down: &'s Script) -> Comparison<'s> {
        let (prefix, suffix) = if kind == CheckKind::RollbackChain {
            ("in the reverse chain, ", " in the reverse chain")
        } else {
            ("", "")
        };
        Comparison {
            kind,
            started,
            wording: Wording {
                added: "is still there",
                after: format!("after {}{suffix}", super::file_name(down)),
                before: format!("before {}", super::file_name(&migration.up)),
            },
            headline: format!(
                "{prefix}{} does not restore the schema from before {}",
                down.path.display(),
                migration.up.path.display()
            ),
            script: down,
        }
    }

    /// Passes when `actual` is the schema `expected` stands for; otherwise each difference from
    /// that schema (rebuilt by `expected_schema`) is a failure placed at the start of the script.
    pub fn check(self, actual: &Snapshot, expected: Fingerprint, expected_schema: impl FnOnce() -> Snapshot) -> CheckResult {
        let duration = millis(self.started.elapsed());
        if actual.fingerprint() == expected {
            return CheckResult::passed(self.kind, duration);
        }
        let differences = actual.differences_from(&expected_schema());
        if differences.is_empty() {
            return CheckResult::passed(self.kind, duration);
        }
        let failures = differences
            .into_iter()
            .map(|d| difference_failure(d, &self.wording, self.script))
            .collect();
        CheckResult::failed(self.kind, duration, Some(self.headline), failures)
    }
}

fn difference_failure(difference: Difference, wording: &Wording, script: &Script) -> Failure {
    let (message, detail) = difference.describe(wording);
    let position = script.position(script.body().start);
    let mut failure = Failure::new(
        message,
        Some(Location {
            file: script.path.clone(),
            line: position.line,
            column: 1,
        }),
    );
    failure.details.extend(detail);
    failure.difference = Some(difference);
    failure
}
