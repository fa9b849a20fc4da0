//! The repo's database tests, run after the replay on the fully migrated schema: seed data,
//! plain SQL smoke tests, pgTAP files and RLS matrices. Everything runs in one transaction that
//! is rolled back at the end, each test in a savepoint rolled back after it, so that tests cannot
//! leak into each other or into the rollback chain that follows.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, SimpleQueryMessage};

use super::tap::{Directive, Tap};
use crate::checks::outcome::{Suite, TestCaseResult};
use crate::discovery::rls_matrix::Matrix;
use crate::discovery::DatabaseTests;
use crate::execute::{run_statements, statements_of, within, ScriptError, WaitError};
use crate::failure::{Failure, Location};
use crate::script::quote_literal;
use crate::script::{Script, Statement, StatementKind};

const HELPERS: &str = include_str!("helpers.sql");

pub struct TestRun {
    pub cases: Vec<TestCaseResult>,
    /// Tables (`schema.table`, quoted as the catalog snapshot quotes them) that the SQL and
    /// pgTAP tests read or wrote.
    pub touched: BTreeSet<String>,
}

/// A pgTAP file calls plan()/no_plan()/finish() or runs runtests(); one that only returns TAP
/// lines is found by its output.
pub fn is_pgtap(text: &str) -> bool {
    calls_any(text, &["plan", "no_plan", "finish", "runtests"])
}

/// Whether a file may use pgTAP, so that pgTAP is installed before it runs.
fn may_use_pgtap(text: &str) -> bool {
    is_pgtap(text)
        || calls_any(
            text,
            &[
                "ok",
                "is",
                "isnt",
                "pass",
                "fail",
                "throws_ok",
                "lives_ok",
                "results_eq",
                "set_eq",
                "bag_eq",
                "has_table",
                "has_column",
                "policies_are",
                "todo",
                "skip",
                "diag",
            ],
        )
}

fn calls_any(text: &str, functions: &[&str]) -> bool {
    let lower = text.to_lowercase();
    functions.iter().any(|function| {
        lower
            .match_indices(&format!("{function}("))
            .any(|(at, _)| at == 0 || !(lower.as_bytes()[at - 1].is_ascii_alphanumeric() || lower.as_bytes()[at - 1] == b'_'))
    })
}

pub async fn run(client: &Client, tests: &DatabaseTests, timeout: Duration) -> Result<TestRun, WaitError> {
    let mut cases = Vec::new();
    within(client, timeout, client.batch_execute("BEGIN")).await?;
    let outcome = run_in_transaction(client, tests, timeout, &mut cases).await;
    // Whatever the tests did, none of it stays.
    let _ = within(client, timeout, client.batch_execute("ROLLBACK")).await;
    let touched = outcome?;
    Ok(TestRun { cases, touched })
}

async fn run_in_transaction(
    client: &Client,
    tests: &DatabaseTests,
    timeout: Duration,
    cases: &mut Vec<TestCaseResult>,
) -> Result<BTreeSet<String>, WaitError> {
    let pgtap_problem = if tests.files.iter().any(|f| may_use_pgtap(f.text())) {
        install_pgtap(client, timeout).await?
    } else {
        None
    };
    // auth.users: the Supabase preset or image; the helpers and the matrices' users need it.
    let has_auth = scalar(client, timeout, "SELECT (to_regclass('auth.users') IS NOT NULL)::text")
        .await?
        .as_deref()
        == Some("true");
    if has_auth {
        within(client, timeout, client.batch_execute("SAVEPOINT dbgate_helpers")).await?;
        if let Err(e) = within(client, timeout, client.batch_execute(HELPERS)).await {
            within(client, timeout, client.batch_execute("ROLLBACK TO SAVEPOINT dbgate_helpers")).await?;
            let mut case = TestCaseResult::new(Suite::Setup, "test helpers (tests schema)", "dbgate".into());
            case.fail(Failure::new(format!("installing the test helpers failed: {e}"), None));
            cases.push(case);
        }
    }

    for seed in &tests.seeds {
        let mut case = TestCaseResult::new(Suite::Seed, seed.path.display().to_string(), seed.path.clone());
        within(client, timeout, client.batch_execute("SAVEPOINT dbgate_seed")).await?;
        let started = Instant::now();
        if let Err(failure) = run_file(client, seed, timeout, |_, _| {}).await {
            within(client, timeout, client.batch_execute("ROLLBACK TO SAVEPOINT dbgate_seed")).await?;
            case.fail(failure);
        }
        case.duration_ms = started.elapsed().as_millis() as u64;
        cases.push(case);
    }

    let before = table_activity(client, timeout).await?;
    for file in &tests.files {
        within(client, timeout, client.batch_execute("SAVEPOINT dbgate_test")).await?;
        let started = Instant::now();
        let mut file_cases = match (&pgtap_problem, is_pgtap(file.text())) {
            (Some(problem), true) => {
                let mut case = TestCaseResult::new(Suite::Pgtap, file_name(&file.path), file.path.clone());
                case.fail(Failure::new(
                    problem.clone(),
                    Some(Location {
                        file: file.path.clone(),
                        line: 1,
                        column: 1,
                    }),
                ));
                vec![case]
            }
            _ => run_test_file(client, file, timeout).await,
        };
        within(client, timeout, client.batch_execute("ROLLBACK TO SAVEPOINT dbgate_test")).await?;
        let elapsed = started.elapsed().as_millis() as u64;
        if let [only] = file_cases.as_mut_slice() {
            only.duration_ms = elapsed;
        }
        cases.extend(file_cases);
    }
    let after = table_activity(client, timeout).await?;
    let touched = after.into_iter().filter(|t| !before.contains(t)).map(|(table, _)| table).collect();

    for matrix in &tests.matrices {
        within(client, timeout, client.batch_execute("SAVEPOINT dbgate_matrix")).await?;
        match prepare_matrix(client, matrix, has_auth, timeout).await {
            Ok(()) => {
                within(client, timeout, client.batch_execute("SAVEPOINT dbgate_cell")).await?;
                cases.extend(matrix.run_cells(client, "dbgate_cell", timeout).await);
            }
            Err(failure) => {
                let mut case = TestCaseResult::new(Suite::Rls, format!("{} setup", file_name(&matrix.path)), matrix.path.clone());
                case.fail(failure);
                cases.push(case);
            }
        }
        within(client, timeout, client.batch_execute("ROLLBACK TO SAVEPOINT dbgate_matrix")).await?;
    }
    Ok(touched)
}

/// The matrix's users (in auth.users, when it exists) and its setup rows.
async fn prepare_matrix(client: &Client, matrix: &Matrix, has_auth: bool, timeout: Duration) -> Result<(), Failure> {
    if has_auth {
        for (name, user, id) in matrix.users() {
            let email = user.email.clone().unwrap_or_else(|| format!("{name}@example.test"));
            let sql = format!(
                "INSERT INTO auth.users (id, email, role, aud, raw_user_meta_data, raw_app_meta_data, created_at, updated_at) \
                 VALUES ({}, {}, 'authenticated', 'authenticated', jsonb_build_object('test_identifier', {}), '{{}}', now(), now()) ON CONFLICT (id) DO NOTHING",
                quote_literal(&id),
                quote_literal(&email),
                quote_literal(name)
            );
            client.batch_execute(&sql).await.map_err(|e| {
                Failure::new(
                    format!("creating user {name} in auth.users failed: {}", crate::execute::describe(&e)),
                    None,
                )
            })?;
        }
    }
    if let Some(setup) = matrix.setup() {
        let source: std::sync::Arc<str> = setup.into();
        let script = Script::new(matrix.path.clone(), source.clone(), 0..source.len());
        run_file(client, &script, timeout, |_, _| {}).await.map_err(|mut failure| {
            failure.message = format!("the matrix setup failed: {}", failure.message);
            failure
        })?;
    }
    Ok(())
}

/// Runs a file's statements (less transaction control) in the current transaction.
async fn run_file(
    client: &Client,
    script: &Script,
    timeout: Duration,
    each: impl FnMut(&Statement, Vec<SimpleQueryMessage>),
) -> Result<(), Failure> {
    // BEGIN/COMMIT/ROLLBACK in a test file: dbgate provides the transaction (pgTAP files usually
    // wrap themselves in BEGIN ... ROLLBACK for pg_prove).
    // Loading supabase-test-helpers: dbgate's own helpers stand in (test_helpers.rs).
    let statements: Vec<Statement> = statements_of(script)?
        .iter()
        .filter(|s| s.kind != StatementKind::TransactionBoundary)
        .filter(|s| !super::test_helpers::loads_test_helpers(&script.source[s.range.clone()]))
        .cloned()
        .collect();
    run_statements(client, script, &statements, timeout, each)
        .await
        .map_err(|error| match error {
            ScriptError::Failed { failure, .. } | ScriptError::ConnectionLost(failure) => failure,
        })
}

/// A plain SQL file is one test case; a pgTAP one (by its calls or its output) is one test case
/// per assertion, as pg_prove reads the TAP.
pub(super) async fn run_test_file(client: &Client, file: &Script, timeout: Duration) -> Vec<TestCaseResult> {
    let mut output: Vec<(usize, String)> = Vec::new();
    let outcome = run_file(client, file, timeout, |statement, messages| {
        for message in messages {
            if let SimpleQueryMessage::Row(row) = message {
                if let Some(text) = row.get(0) {
                    output.extend(text.lines().map(|line| (statement.range.start, line.to_string())));
                }
            }
        }
    })
    .await;
    let tap = Tap::parse(output.iter().map(|(origin, line)| (*origin, line.as_str())));
    if !tap.is_tap() && !is_pgtap(file.text()) {
        let mut case = TestCaseResult::new(Suite::Smoke, file_name(&file.path), file.path.clone());
        if let Err(failure) = outcome {
            case.fail(failure);
        }
        return vec![case];
    }
    let mut cases = Vec::new();
    let location = |offset: usize| Some(file.location(offset));
    if let Some((0, Some(reason))) = &tap.plan {
        let mut case = TestCaseResult::new(Suite::Pgtap, file_name(&file.path), file.path.clone());
        case.skip(format!("skipped: {reason}"));
        return vec![case];
    }
    for assertion in &tap.assertions {
        let name = if assertion.description.is_empty() {
            format!("{}", assertion.number)
        } else {
            format!("{} - {}", assertion.number, assertion.description)
        };
        let mut case = TestCaseResult::new(Suite::Pgtap, name, file.path.clone());
        match (&assertion.directive, assertion.ok) {
            (Some(Directive::Skip(reason)), _) => case.skip(if reason.is_empty() { "skipped".to_string() } else { reason.clone() }),
            // A TODO that fails is expected; one that passes is news, not a failure (as pg_prove).
            (Some(Directive::Todo(_)), _) => {}
            (None, true) => {}
            (None, false) => {
                let mut failure = Failure::new(
                    format!("not ok {} - {}", assertion.number, assertion.description),
                    location(assertion.origin),
                );
                failure.details.extend(assertion.diagnostics.iter().cloned());
                case.fail(failure);
            }
        }
        cases.push(case);
    }
    let ran = tap.assertions.len();
    if let Err(failure) = outcome {
        let mut case = TestCaseResult::new(Suite::Pgtap, format!("{} stopped", file_name(&file.path)), file.path.clone());
        let mut failure = failure;
        failure.message = format!("the test file stopped after {ran} assertions: {}", failure.message);
        case.fail(failure);
        cases.push(case);
    } else {
        let mut plan = TestCaseResult::new(Suite::Pgtap, format!("{} plan", file_name(&file.path)), file.path.clone());
        match tap.plan {
            Some((planned, _)) if planned != ran => {
                plan.fail(Failure::new(
                    format!("planned {planned} tests but ran {ran}"),
                    location(file.body().start),
                ));
                cases.push(plan);
            }
            None => {
                plan.fail(Failure::new(
                    format!("no plan in the TAP output ({ran} assertions ran): call plan(n), or no_plan() and finish()"),
                    location(file.body().start),
                ));
                cases.push(plan);
            }
            Some(_) => {}
        }
    }
    cases
}

/// pgTAP for a test file that may use it, installed in the current transaction; why it cannot be.
pub(super) async fn pgtap_for(client: &Client, file: &Script, timeout: Duration) -> Result<Option<String>, WaitError> {
    if !may_use_pgtap(file.text()) {
        return Ok(None);
    }
    let problem = install_pgtap(client, timeout).await?;
    // Only a file that is pgTAP by its calls needs it; one that may use it runs anyway.
    Ok(problem.filter(|_| is_pgtap(file.text())))
}

/// Grants PUBLIC what default privileges took from pgTAP's functions (those whose ACL is not
/// the default).
const PGTAP_FOR_EVERYONE: &str = "DO $dbgate$ DECLARE f regprocedure; BEGIN \
    FOR f IN SELECT p.oid::regprocedure FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid JOIN pg_proc p ON p.oid = d.objid \
      WHERE e.extname = 'pgtap' AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e' AND p.proacl IS NOT NULL LOOP \
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f); \
    END LOOP; END $dbgate$";

/// Installs pgTAP in the test transaction; or says why it cannot be.
async fn install_pgtap(client: &Client, timeout: Duration) -> Result<Option<String>, WaitError> {
    if scalar(client, timeout, "SELECT extname::text FROM pg_extension WHERE extname = 'pgtap'")
        .await?
        .is_some()
    {
        return Ok(None);
    }
    if scalar(
        client,
        timeout,
        "SELECT name::text FROM pg_available_extensions WHERE name = 'pgtap'",
    )
    .await?
    .is_none()
    {
        let major = scalar(client, timeout, "SELECT current_setting('server_version_num')::int / 10000")
            .await?
            .unwrap_or_default();
        return Ok(Some(format!(
            "pgTAP is not installed on this server: install it (apt-get install postgresql-{major}-pgtap), or use the docker provider with an image that has it (images/postgres/build.sh builds one)"
        )));
    }
    let schema = if scalar(
        client,
        timeout,
        "SELECT nspname::text FROM pg_namespace WHERE nspname = 'extensions'",
    )
    .await?
    .is_some()
    {
        "extensions"
    } else {
        "public"
    };
    within(client, timeout, client.batch_execute("SAVEPOINT dbgate_pgtap")).await?;
    match client.batch_execute(&format!("CREATE EXTENSION pgtap SCHEMA {schema}")).await {
        Ok(()) => {
            // A migration's `ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`
            // applies to what dbgate's user creates, pgTAP too; on Supabase another role
            // installs pgTAP, which that revoke does not touch. Tests call it as anon,
            // authenticated or service_role: PUBLIC may execute it, as there.
            within(client, timeout, client.batch_execute(PGTAP_FOR_EVERYONE)).await?;
            Ok(None)
        }
        Err(e) => {
            within(client, timeout, client.batch_execute("ROLLBACK TO SAVEPOINT dbgate_pgtap")).await?;
            Ok(Some(format!("pgTAP could not be installed: {}", crate::execute::describe(&e))))
        }
    }
}

/// Per table, whether it was read or written in this transaction so far.
async fn table_activity(client: &Client, timeout: Duration) -> Result<BTreeSet<(String, String)>, WaitError> {
    let rows = within(
        client,
        timeout,
        client.simple_query(
            "SELECT format('%I.%I', schemaname, relname), (seq_scan + coalesce(idx_scan, 0))::text || '/' || (n_tup_ins + n_tup_upd + n_tup_del)::text \
             FROM pg_stat_xact_user_tables",
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some((row.get(0)?.to_string(), row.get(1)?.to_string())),
            _ => None,
        })
        .filter(|(_, activity)| activity != "0/0")
        .collect())
}

async fn scalar(client: &Client, timeout: Duration, sql: &str) -> Result<Option<String>, WaitError> {
    Ok(within(client, timeout, client.simple_query(sql))
        .await?
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        }))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgtap_files_are_told_from_plain_sql() {
        assert!(is_pgtap(
            "begin;\nselect plan(2);\nselect ok(true);\nselect * from finish();\nrollback;"
        ));
        assert!(is_pgtap("SELECT * FROM no_plan();"));
        assert!(!is_pgtap("select explain_plan(1)"));
        assert!(!is_pgtap("insert into t values (1);"));
    }
}
