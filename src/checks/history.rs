//! The history checks as the reports show them: a migration the base has that was edited, a
//! new one out of order (history/ judges them before any server starts). Each is a check of
//! the migration, listed only when there is something to say.

use super::{CheckKind, CheckResult, MigrationResult};
use crate::failure::{Failure, Warning, WarningKind};
use crate::history::{HistoryKind, Judgement, Verdict};

/// Adds each migration's history checks; returns the notes for what `[history]` allowed.
pub fn attach(migrations: &mut [MigrationResult], verdicts: &[Verdict]) -> Vec<String> {
    let mut notes = Vec::new();
    for migration in migrations.iter_mut() {
        for (history, kind, warning) in [
            (HistoryKind::Edited, CheckKind::Edited, WarningKind::Edited),
            (HistoryKind::OutOfOrder, CheckKind::OutOfOrder, WarningKind::OutOfOrder),
        ] {
            let own: Vec<&Verdict> = verdicts
                .iter()
                .filter(|v| v.kind == history && v.migration == migration.file)
                .collect();
            if own.is_empty() {
                continue;
            }
            let failures: Vec<Failure> = own
                .iter()
                .filter(|v| v.judgement == Judgement::Fails)
                .map(|v| {
                    let mut failure = Failure::new(v.message.clone(), Some(v.location.clone()));
                    failure.details = v.details.clone();
                    failure
                })
                .collect();
            let mut check = if failures.is_empty() {
                CheckResult::passed(kind, 0)
            } else {
                CheckResult::failed(kind, 0, None, failures)
            };
            check.warnings = own
                .iter()
                .filter(|v| v.judgement == Judgement::Warns)
                .map(|v| Warning {
                    kind: warning,
                    message: v.message.clone(),
                    location: Some(v.location.clone()),
                    object: None,
                    differences: Vec::new(),
                })
                .collect();
            notes.extend(own.iter().filter(|v| v.judgement == Judgement::Allowed).map(|v| v.message.clone()));
            migration.checks.push(check);
        }
    }
    notes
}
