//! Data-migration tests pinned to a migration, run at their moment of the forward replay, each
//! in a session of its own (as `psql` runs a file): `before` committed, so that its rows in the
//! old shape stay for the migration and the ones after it, as production's data would; `after`
//! and `after_rollback` in a transaction rolled back, as the other tests are. A plain SQL file
//! is one test case, a pgTAP file one per assertion.

use std::time::Instant;

use super::{database_tests, Chain, Status, Suite, TestCaseResult};
use crate::discovery::pinned::{Moment, PinnedTest};
use crate::discovery::Migration;
use crate::execute::{connect_own, within};

impl Chain<'_> {
    /// The tests pinned to `migration` at `moment` (a pin several migrations match is a
    /// finding, and runs at none).
    fn pinned_at<'t>(&'t self, migration: &'t Migration, moment: Moment) -> impl Iterator<Item = &'t PinnedTest> + 't {
        self.pinned.iter().filter(move |t| {
            t.moment == moment && migration.pinned_by(&t.version) && self.migrations.iter().filter(|m| m.pinned_by(&t.version)).count() == 1
        })
    }

    /// The last test pinned before `migration`, when there is one.
    pub(super) fn pinned_before<'t>(&'t self, migration: &'t Migration) -> Option<&'t crate::script::Script> {
        self.pinned_at(migration, Moment::Before).last().map(|t| &t.script)
    }

    /// Runs the tests pinned to `migration` at `moment`; their cases.
    pub(super) async fn run_pinned(&self, migration: &Migration, moment: Moment) -> Vec<TestCaseResult> {
        let mut cases = Vec::new();
        for test in self.pinned_at(migration, moment) {
            let started = Instant::now();
            let mut ran = match self.run_one_pinned(test).await {
                Ok(ran) => ran,
                Err(why) => {
                    let mut case = TestCaseResult::new(Suite::Setup, String::new(), test.script.path.clone());
                    case.not_checked(why);
                    vec![case]
                }
            };
            if let [only] = ran.as_mut_slice() {
                only.duration_ms = started.elapsed().as_millis() as u64;
            }
            cases.extend(ran.into_iter().map(|case| named(case, migration, test)));
        }
        cases
    }

    /// The tests pinned to `migration` at `moments`, not run: `status` says why.
    pub(super) fn pinned_not_run(&self, migration: &Migration, moments: &[Moment], status: Status, reason: &str) -> Vec<TestCaseResult> {
        let mut cases = Vec::new();
        for moment in moments {
            for test in self.pinned_at(migration, *moment) {
                let mut case = TestCaseResult::new(Suite::Setup, String::new(), test.script.path.clone());
                if status == Status::Skipped {
                    case.skip(reason);
                } else {
                    case.not_checked(reason);
                }
                cases.push(named(case, migration, test));
            }
        }
        cases
    }

    /// Runs the tests pinned before `migration` for their rows alone (a rebuild replaying it).
    pub(super) async fn replay_pinned_before(&self, migration: &Migration) {
        for test in self.pinned_at(migration, Moment::Before) {
            let _ = self.run_one_pinned(test).await;
        }
    }

    /// One pinned test in a session of its own; `Err` when dbgate could not open it.
    async fn run_one_pinned(&self, test: &PinnedTest) -> Result<Vec<TestCaseResult>, String> {
        let timeout = self.options.migration_timeout;
        let client = connect_own(&self.session.config)
            .await
            .map_err(|e| format!("dbgate could not open a session for it: {}", crate::execute::describe(&e)))?;
        let lost = |e: crate::execute::WaitError| format!("its session did not answer: {e}");
        within(&client, timeout, client.batch_execute(&self.invocation_sql()))
            .await
            .map_err(lost)?;
        // As the checks' new sessions take them: the reset's search path above gives way to
        // one a migration set on the role or database.
        if let Some(start) = &self.session.role_settings {
            let differences = start.differences(&client, None).await;
            let _ = super::role_settings::set(&client, &differences, false).await;
        }
        let at_start = || Some(test.script.location(test.script.body().start));
        if test.moment == Moment::Before {
            // As psql runs a file: each statement on its own, kept; the first error stops it.
            // pgTAP, which dbgate installs only in a transaction it rolls back, is not there.
            if database_tests::is_pgtap(test.script.text()) {
                let mut case = TestCaseResult::new(Suite::Smoke, String::new(), test.script.path.clone());
                case.fail(crate::failure::Failure::new(
                    "a before test puts rows in, and what it does is kept, so pgTAP (installed only in a transaction dbgate rolls back) is not available there: assert in after.sql",
                    at_start(),
                ));
                return Ok(vec![case]);
            }
            return Ok(database_tests::run_test_file(&client, &test.script, timeout).await);
        }
        within(&client, timeout, client.batch_execute("BEGIN")).await.map_err(lost)?;
        let problem = database_tests::pgtap_for(&client, &test.script, timeout).await.map_err(lost)?;
        let cases = match problem {
            Some(problem) => {
                let mut case = TestCaseResult::new(Suite::Pgtap, String::new(), test.script.path.clone());
                case.fail(crate::failure::Failure::new(problem, at_start()));
                vec![case]
            }
            None => database_tests::run_test_file(&client, &test.script, timeout).await,
        };
        within(&client, timeout, client.batch_execute("ROLLBACK")).await.map_err(lost)?;
        Ok(cases)
    }
}

/// A pinned test's case, named for when it ran: `after 004_x.sql: after.sql`,
/// `after 004_x_rollback.sql: 2 - the rows are back`.
fn named(mut case: TestCaseResult, migration: &Migration, test: &PinnedTest) -> TestCaseResult {
    let script = match (test.moment, &migration.down) {
        (Moment::AfterRollback, Some(down)) => down,
        _ => &migration.up,
    };
    let own = if case.name.is_empty() {
        test.script.path.file_name().unwrap_or_default().to_string_lossy().into_owned()
    } else {
        case.name.clone()
    };
    // A diesel migration's file is up.sql: its folder says which.
    case.name = format!("{} {}: {own}", test.moment.words(), super::file_name(script));
    case.suite = Suite::DataMigration;
    case
}
