//! Holding a schema to the one it should be: equal fingerprints pass at once; otherwise each
//! difference from the expected schema (rebuilt only now) is judged: one an ignore rule covers
//! is listed, one that changes no behaviour (catalog/harmless.rs) is a warning unless
//! `[rollback] strict = true`, and every other one is a failure in words.

use std::time::Instant;

use super::{millis, CheckKind, CheckResult};
use crate::catalog::{Difference, Fingerprint, ObjectId, ObjectKind, Snapshot, Wording};
use crate::discovery::Migration;
use crate::failure::{Failure, Ignored, Location, Warning, WarningKind};
use crate::object::IgnoreRule;
use crate::script::Script;

/// How differences are judged: the ignore rules that apply, whether harmless ones fail, and
/// what an earlier check of the same migration already reported.
#[derive(Default)]
pub(super) struct Judging<'a> {
    /// `[rollback] strict = true`: a difference that changes no behaviour fails too.
    pub strict: bool,
    /// `[rollback] ignore`, and the rollback's own `-- dbgate:ignore` lines.
    pub rules: Vec<&'a IgnoreRule>,
    /// Differences the migration's rollback check reported: the reverse chain says so instead
    /// of repeating them.
    pub reported: Vec<Difference>,
    /// The scripts that led here cast 'now' or 'today': a literal of around now may be one
    /// frozen when they ran.
    pub freezes: bool,
    /// Harmless differences already said, by kind and object: the rollback check's, and the
    /// reverse chain's above (a default frozen again by a later rollback is still there below
    /// it, and not the lower rollback's doing).
    pub warned: Vec<(WarningKind, Option<ObjectId>)>,
}

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
    /// How a migration's comparisons judge differences: `[rollback] ignore` and `strict`, and
    /// the rollback's own `-- dbgate:ignore` lines.
    pub fn judging<'o>(options: &'o super::Options, migration: &'o Migration) -> Judging<'o> {
        let own = migration.down.iter().flat_map(|down| &down.ignore);
        let scripts = std::iter::once(&migration.up).chain(&migration.down);
        Judging {
            freezes: scripts.into_iter().any(|s| crate::catalog::freezes_time(s.text())),
            strict: options.strict_rollbacks,
            rules: options.ignore.iter().chain(own).collect(),
            reported: Vec::new(),
            warned: Vec::new(),
        }
    }

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
    pub fn check(
        self,
        actual: &Snapshot,
        expected: Fingerprint,
        expected_schema: impl FnOnce() -> Snapshot,
        judging: &Judging,
    ) -> CheckResult {
        let duration = millis(self.started.elapsed());
        if actual.fingerprint() == expected {
            return CheckResult::passed(self.kind, duration);
        }
        let expected = expected_schema();
        let differences = actual.differences_from(&expected);
        let relation_kind = |name: &str| {
            [
                ObjectKind::Table,
                ObjectKind::View,
                ObjectKind::MaterializedView,
                ObjectKind::ForeignTable,
            ]
            .into_iter()
            .find(|&kind| actual.holds(kind, name) || expected.holds(kind, name))
        };
        let mut ignored = Vec::new();
        let mut judged = Vec::new();
        for difference in differences {
            match judging
                .rules
                .iter()
                .find(|rule| rule.pattern.covers(&difference.object, relation_kind))
            {
                Some(rule) => ignored.push(Ignored {
                    difference,
                    pattern: rule.pattern.to_string(),
                    source: rule.source.clone(),
                }),
                None => judged.push(difference),
            }
        }
        let (real, harmless) = if judging.strict {
            (judged, Vec::new())
        } else {
            crate::catalog::separate_harmless(judged, &expected, actual, judging.freezes)
        };
        let at = self.script.location(self.script.body().start);
        // A harmless difference the rollback check already said is not said again.
        let warnings: Vec<Warning> = harmless
            .into_iter()
            .filter(|h| {
                !judging
                    .warned
                    .iter()
                    .any(|(kind, object)| *kind == h.kind && object.as_ref() == Some(&h.object))
            })
            .map(|h| Warning {
                kind: h.kind,
                message: h.describe(&self.wording),
                location: Some(at.clone()),
                object: Some(h.object),
                differences: h.differences,
            })
            .collect();
        let (repeated, new): (Vec<Difference>, Vec<Difference>) = real.into_iter().partition(|d| judging.reported.contains(d));
        let mut failures: Vec<Failure> = new.into_iter().map(|d| difference_failure(d, &self.wording, self.script)).collect();
        if !repeated.is_empty() {
            let what = match repeated.len() {
                1 => "the same difference as its rollback check".to_string(),
                n => format!("the same {n} differences as its rollback check"),
            };
            failures.insert(0, Failure::new(what, Some(at)));
        }
        let mut result = if failures.is_empty() {
            CheckResult::passed(self.kind, duration)
        } else {
            CheckResult::failed(self.kind, duration, Some(self.headline), failures)
        };
        result.warnings = warnings;
        result.ignored = ignored;
        result
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
