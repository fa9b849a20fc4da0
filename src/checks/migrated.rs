//! What runs on the fully migrated schema, before the reverse chain takes it apart: the seed, the
//! repo's SQL and pgTAP tests, the RLS matrices, the RLS coverage, and the expectations.

use super::{database_tests, CatalogError, Chain, CoverageRow, Outcome, Plan, Suite, TestCaseResult};
use crate::catalog::{ObjectKind, ReadAttributes, Snapshot};

impl Chain<'_> {
    /// Seed, tests, RLS matrices, coverage and expectations on the migrated schema `after`;
    /// `start` is the schema before the first migration (the image's and the preset's).
    pub(super) async fn test(
        &self,
        plan: &Plan<'_>,
        start: &Snapshot,
        after: &Snapshot,
        outcome: &mut Outcome,
    ) -> Result<(), CatalogError> {
        let mut touched = std::collections::BTreeSet::new();
        if !plan.tests.is_empty() {
            let run = database_tests::run(self.client(), plan.tests, self.options.migration_timeout).await?;
            outcome.tests = run.cases;
            touched = run.touched;
        }
        let coverage: Vec<CoverageRow> = crate::checks::expectations::created(start, after)
            .filter(|(id, attrs)| id.kind == ObjectKind::Table && attrs.row_level_security() == Some(true))
            .map(|(id, _)| {
                let mut exercised: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
                for matrix in &plan.tests.matrices {
                    for (table, role, command) in matrix.exercised() {
                        if same_table(table, &id.name) {
                            exercised.entry(role.to_string()).or_default().insert(command.name().to_string());
                        }
                    }
                }
                CoverageRow {
                    table: id.name.clone(),
                    exercised,
                    touched_by_sql_tests: touched.contains(&id.name),
                }
            })
            .collect();
        if !coverage.is_empty() {
            outcome.rls_coverage = Some(coverage);
        }
        let updated;
        let expectations = match plan.update_expectations {
            Some(path) => {
                outcome.expectation_updates = crate::checks::expectations::update_file(path, start, after)?;
                updated = crate::checks::expectations::Expectations::load(path)?;
                updated.as_ref()
            }
            None => plan.expectations,
        };
        if let Some(expectations) = expectations {
            outcome.tests.extend(expectations.check(start, after));
        }
        Ok(())
    }
}

/// Whether a table as a matrix names it (`notes`, `public.notes`) is the snapshot's `public.notes`.
fn same_table(named: &str, snapshot_name: &str) -> bool {
    let unquote = |s: &str| s.replace('"', "");
    let named = unquote(named);
    let full = unquote(snapshot_name);
    named == full || (!named.contains('.') && full == format!("public.{named}"))
}

/// Every test case the plan would have run, not checked.
pub(super) fn not_checked_tests(plan: &Plan<'_>, reason: &str) -> Vec<TestCaseResult> {
    let mut cases = Vec::new();
    for (suite, script) in plan
        .tests
        .seeds
        .iter()
        .map(|s| (Suite::Seed, s))
        .chain(plan.tests.files.iter().map(|f| {
            (
                if database_tests::is_pgtap(f.text()) {
                    Suite::Pgtap
                } else {
                    Suite::Smoke
                },
                f,
            )
        }))
    {
        let mut case = TestCaseResult::new(suite, script.path.display().to_string(), script.path.clone());
        case.not_checked(reason);
        cases.push(case);
    }
    for matrix in &plan.tests.matrices {
        let mut case = TestCaseResult::new(Suite::Rls, matrix.path.display().to_string(), matrix.path.clone());
        case.not_checked(reason);
        cases.push(case);
    }
    if let Some(expectations) = plan.expectations {
        let mut case = TestCaseResult::new(Suite::Expectations, "expectations", expectations.path.clone());
        case.not_checked(reason);
        cases.push(case);
    }
    cases
}
