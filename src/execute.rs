//! Execution: runs one script on the throwaway database as production runs it (in its own
//! transaction unless it cannot be), and turns a server error into a place in the file.

use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::failure::Failure;
use crate::script::{byte_offset_of_char, RunMode, Script, Statement, StatementKind};

/// A database dbgate connects to: the connection settings and, for a server reached over TLS,
/// the connector (the url provider's; the providers that start a server use none).
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    pub fn plain(config: tokio_postgres::Config) -> Target {
        Target { config, tls: None }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Connects and drives the connection in the background.
pub async fn connect(target: &Target) -> Result<Client, tokio_postgres::Error> {
    // The connection ends with an error when the server goes away; the client reports it.
    Ok(match &target.tls {
        Some(tls) => {
            let (client, connection) = target.config.connect(tls.clone()).await?;
            tokio::spawn(connection);
            client
        }
        None => {
            let (client, connection) = target.config.connect(NoTls).await?;
            tokio::spawn(connection);
            client
        }
    })
}

/// The settings that change how PostgreSQL prints a value or a name (column defaults, check
/// constraints, `quote_ident`): a migration may set them in its session or on its role or
/// database, and dbgate's reads must print the same thing the same way all run long.
const PRINTING: [&str; 8] = [
    "TimeZone",
    "DateStyle",
    "IntervalStyle",
    "extra_float_digits",
    "bytea_output",
    "quote_all_identifiers",
    "standard_conforming_strings",
    "lc_monetary",
];

/// The printing settings of `client`'s session now, each as a `SET` clause body
/// (`TimeZone = 'UTC'`), to set on other sessions (`SET` or `SET LOCAL`).
pub async fn printing_settings(client: &Client) -> Result<Vec<String>, tokio_postgres::Error> {
    let names: Vec<&str> = PRINTING.to_vec();
    let row = client
        .query_one(
            "SELECT array_agg(current_setting(n) ORDER BY o) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, o)",
            &[&names],
        )
        .await?;
    let values: Vec<String> = row.get(0);
    Ok(PRINTING
        .iter()
        .zip(values)
        .map(|(name, value)| format!("{name} = {}", crate::script::quote_literal(&value)))
        .collect())
}

/// A session of dbgate's own (not the migrations'): a timeout or read-only default that a
/// migration set on the server, its database or its role (`ALTER SYSTEM SET statement_timeout`)
/// must not keep dbgate from reading the server and cleaning up.
pub async fn connect_own(target: &Target) -> Result<Client, tokio_postgres::Error> {
    let client = connect(target).await?;
    client
        .batch_execute(
            "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
             SET default_transaction_read_only = off",
        )
        .await?;
    Ok(client)
}

/// A client error in words: tokio-postgres shows a server error only as "db error".
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        // tokio-postgres says "error performing TLS handshake"; what the TLS stack refused
        // (an unknown issuer, a name the certificate is not for) is in its sources.
        None => {
            let mut said = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                let cause_said = cause.to_string();
                if !said.contains(&cause_said) {
                    said.push_str(": ");
                    said.push_str(&cause_said);
                }
                source = cause.source();
            }
            said
        }
    }
}

#[derive(Debug)]
pub struct Ran {
    pub run_mode: RunMode,
    pub duration: Duration,
}

#[derive(Debug)]
pub enum ScriptError {
    /// The script failed; the database is as it was before it (when it ran in a transaction).
    Failed { run_mode: Option<RunMode>, failure: Failure },
    /// The connection is gone: nothing more can run.
    ConnectionLost(Failure),
}

impl ScriptError {
    pub fn failure(&self) -> &Failure {
        match self {
            ScriptError::Failed { failure, .. } | ScriptError::ConnectionLost(failure) => failure,
        }
    }
}

pub async fn run_script(client: &Client, script: &Script, timeout: Duration) -> Result<Ran, ScriptError> {
    let started = Instant::now();
    let statements = statements_of(script).map_err(|failure| ScriptError::Failed { run_mode: None, failure })?;
    let run_mode = script.run_mode(statements);
    if let Some((offset, message)) = script.refusal(statements) {
        let mut failure = Failure::new(message, Some(script.location(offset)));
        failure.details.push(source_excerpt(script, offset));
        return Err(ScriptError::Failed {
            run_mode: Some(run_mode),
            failure,
        });
    }
    // A file sent as one query runs in PostgreSQL's implicit transaction: the same as ours.
    let in_transaction = run_mode.in_transaction();
    let with_run_mode = |error: ScriptError| match error {
        ScriptError::Failed { failure, .. } => ScriptError::Failed {
            run_mode: Some(run_mode.clone()),
            failure,
        },
        lost => lost,
    };
    let controls = statements.iter().any(|s| s.kind.controls_transaction());
    let ran = if in_transaction && !controls {
        run_pipelined(client, script, statements, timeout).await
    } else if let (RunMode::OneQuery(_), true) = (&run_mode, controls) {
        return run_as_one_query(client, script, statements, timeout)
            .await
            .map(|()| Ran {
                run_mode: run_mode.clone(),
                duration: started.elapsed(),
            })
            .map_err(with_run_mode);
    } else {
        if in_transaction {
            client.batch_execute("BEGIN").await.map_err(|e| connection_lost(script, None, &e))?;
        }
        run_statements(client, script, statements, timeout, |_, _| {}).await
    };
    if let Err(error) = ran {
        if in_transaction && !matches!(error, ScriptError::ConnectionLost(_)) {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        return Err(with_run_mode(error));
    }
    if in_transaction {
        if let Err(error) = client.batch_execute("COMMIT").await {
            let last = statements.last().cloned().unwrap_or(Statement {
                range: script.body(),
                kind: StatementKind::Other,
                may_change_search_path: false,
            });
            return Err(with_run_mode(commit_failed(client, script, &last, &error)));
        }
    }
    Ok(Ran {
        run_mode,
        duration: started.elapsed(),
    })
}

/// A file with its own BEGIN and COMMIT, sent as one query string: PostgreSQL runs the
/// statements outside the file's own transactions in implicit transaction blocks, one from the
/// start and a new one after each COMMIT or ROLLBACK, so a statement that cannot run in a
/// transaction fails wherever it is. Statement by statement, with the blocks made explicit.
async fn run_as_one_query(client: &Client, script: &Script, statements: &[Statement], timeout: Duration) -> Result<(), ScriptError> {
    let begin = || client.batch_execute("BEGIN");
    begin().await.map_err(|e| connection_lost(script, None, &e))?;
    // Whether the file's own BEGIN is in force; else PostgreSQL's implicit block, where a
    // savepoint or a chained end is refused.
    let mut explicit = false;
    for statement in statements {
        let text = script.source[statement.range.clone()].trim_start().to_ascii_uppercase();
        let words: Vec<&str> = text.split_whitespace().collect();
        let chained = words.windows(2).any(|w| w == ["AND", "CHAIN"]) && !words.contains(&"NO");
        let first = words.first().map(|w| w.trim_end_matches(';')).unwrap_or_default();
        let refused = match (statement.kind.clone(), first) {
            (StatementKind::Savepoint, "RELEASE") => Some("RELEASE SAVEPOINT"),
            (StatementKind::Savepoint, "ROLLBACK" | "ABORT") => Some("ROLLBACK TO SAVEPOINT"),
            (StatementKind::Savepoint, _) => Some("SAVEPOINT"),
            (StatementKind::TransactionBoundary, "COMMIT" | "END") if chained => Some("COMMIT AND CHAIN"),
            (StatementKind::TransactionBoundary, "ROLLBACK" | "ABORT") if chained => Some("ROLLBACK AND CHAIN"),
            _ => None,
        };
        if let (Some(what), false) = (refused, explicit) {
            let _ = client.batch_execute("ROLLBACK").await;
            // The server's own words for it (25P01), where it stands in the file.
            let mut failure = Failure::new(
                format!("{what} can only be used in transaction blocks"),
                Some(script.location(statement.range.start)),
            );
            failure.sqlstate = Some("25P01".to_string());
            failure.details.push("SQLSTATE 25P01".to_string());
            failure.details.push(format!(
                "fix: {} sends this file as one query, where this runs outside any BEGIN of the file's own",
                script.one_query.unwrap_or("the tool")
            ));
            failure.details.push(source_excerpt(script, statement.range.start));
            return Err(ScriptError::Failed { run_mode: None, failure });
        }
        if let Err(error) = run_statements(client, script, std::slice::from_ref(statement), timeout, |_, _| {}).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(error);
        }
        if statement.kind == StatementKind::TransactionBoundary {
            let starts = ["BEGIN", "START"].iter().any(|w| text.starts_with(w));
            let ends = ["COMMIT", "END", "ROLLBACK", "ABORT"].iter().any(|w| text.starts_with(w)) && !text.contains("PREPARED");
            if starts {
                explicit = true;
            } else if ends {
                explicit = chained;
                if !chained {
                    begin().await.map_err(|e| connection_lost(script, Some(statement), &e))?;
                }
            }
        }
    }
    match (client.batch_execute("COMMIT").await, statements.last()) {
        (Err(error), Some(last)) => Err(commit_failed(client, script, last, &error)),
        _ => Ok(()),
    }
}

/// BEGIN and then every statement, sent without waiting for each answer: one round trip
/// instead of one per statement. The server still runs them one by one, as sent; after a
/// failure every later one fails unrun ("current transaction is aborted"), because the script
/// has no transaction control of its own that could end the transaction early. Answers are read
/// in order, so the first error is the failing statement's, placed as when statements are sent
/// one by one. COMMIT (or ROLLBACK) is the caller's, once every answer is in.
async fn run_pipelined(client: &Client, script: &Script, statements: &[Statement], timeout: Duration) -> Result<(), ScriptError> {
    let deadline = Instant::now() + timeout;
    let lost = |statement: Option<&Statement>, error: &tokio_postgres::Error| connection_lost(script, statement, error);
    // Sending does not wait for the server: it only queues the message on the connection.
    let begin = client.simple_query_raw("BEGIN").await.map_err(|e| lost(None, &e))?;
    let mut sent = Vec::with_capacity(statements.len());
    for statement in statements {
        let text = &script.source[statement.range.clone()];
        sent.push(client.simple_query_raw(text).await.map_err(|e| lost(Some(statement), &e))?);
    }
    drain(begin).await.map_err(|e| lost(None, &e))?;
    for (statement, answer) in statements.iter().zip(sent) {
        answer_of(client, script, statement, deadline, timeout, drain(answer)).await?;
    }
    Ok(())
}

/// Waits for one statement's answer until the script's deadline. A server error is placed at
/// the statement; a statement still running when the time is up is cancelled.
async fn answer_of<T>(
    client: &Client,
    script: &Script,
    statement: &Statement,
    deadline: Instant,
    timeout: Duration,
    answer: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, ScriptError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let failure = match tokio::time::timeout(remaining, answer).await {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(error)) if is_fatal(client, &error) => return Err(connection_lost(script, Some(statement), &error)),
        Ok(Err(error)) => sql_failure(script, statement, &error),
        Err(_elapsed) => {
            let failure = timed_out(script, statement, timeout);
            return Err(cancel(client, failure).await);
        }
    };
    Err(ScriptError::Failed { run_mode: None, failure })
}

/// How long dbgate waits for a server to take a cancel, and then to answer again.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Cancels the statement still running, and makes sure the session answers again: a server
/// that takes no cancel (a stopped postmaster) or a backend that does not stop (waiting inside
/// dblink) would otherwise hold every later wait forever. Past the grace, the session is given
/// up (lost: the checks rebuild elsewhere, the provider tears the server down).
async fn cancel(client: &Client, failure: Failure) -> ScriptError {
    let (cancelled, answers) = cancel_and_probe(client).await;
    if answers {
        return ScriptError::Failed { run_mode: None, failure };
    }
    let mut failure = failure;
    failure.details.push(format!(
        "the cancel did not stop it ({}), and the session did not answer within {} s: dbgate gave up on this session",
        if cancelled { "sent" } else { "the server did not take it" },
        CANCEL_GRACE.as_secs()
    ));
    ScriptError::ConnectionLost(failure)
}

/// Sends a cancel, then asks the session for an answer: (the server took the cancel, the
/// session answers again), each within the grace.
async fn cancel_and_probe(client: &Client) -> (bool, bool) {
    let cancelled = tokio::time::timeout(CANCEL_GRACE, client.cancel_token().cancel_query(NoTls)).await;
    // Answered, even with an error (the transaction is aborted): the session is free again.
    let answers = tokio::time::timeout(CANCEL_GRACE, client.simple_query("SELECT 1")).await.is_ok();
    (cancelled.is_ok(), answers)
}

/// One of dbgate's own queries that did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("{}", describe(.0))]
    Database(#[from] tokio_postgres::Error),
    /// No answer within the limit; cancelled, and the session answers again.
    #[error("no answer within {0} s; cancelled")]
    TimedOut(u64),
    /// No answer, and none to a cancel either: the session is given up.
    #[error("no answer within {0} s, nor after a cancel: dbgate gave up on the session (a stopped server?)")]
    Lost(u64),
}

/// Waits for `work` on `client` for at most `limit`; past it, cancels it as a script's
/// statement is cancelled. Every wait dbgate does has a deadline.
pub async fn within<T>(
    client: &Client,
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, WaitError> {
    match tokio::time::timeout(limit, work).await {
        Ok(answer) => Ok(answer?),
        Err(_elapsed) => Err(match cancel_and_probe(client).await {
            (_, true) => WaitError::TimedOut(limit.as_secs()),
            (_, false) => WaitError::Lost(limit.as_secs()),
        }),
    }
}

/// Reads a statement's answer to its end.
async fn drain(answer: tokio_postgres::SimpleQueryStream) -> Result<(), tokio_postgres::Error> {
    use futures_util::TryStreamExt;
    let mut answer = std::pin::pin!(answer);
    while answer.try_next().await?.is_some() {}
    Ok(())
}

/// The statements of a script, or a failure where its text cannot be sent (a psql
/// meta-command, text PostgreSQL's scanner rejects).
pub fn statements_of(script: &Script) -> Result<&[Statement], Failure> {
    script.statements().map_err(|error| {
        let offset = error.offset();
        let mut failure = Failure::new(error.describe(), Some(script.location(offset)));
        failure.details.push(source_excerpt(script, offset));
        failure
    })
}

/// Runs statements one by one in the current session, handing each one's rows to `each`.
/// Stops at the first error, which is placed in the file; a statement still running when
/// `timeout` has passed since the first one started is cancelled.
pub async fn run_statements(
    client: &Client,
    script: &Script,
    statements: &[Statement],
    timeout: Duration,
    mut each: impl FnMut(&Statement, Vec<SimpleQueryMessage>),
) -> Result<(), ScriptError> {
    let deadline = Instant::now() + timeout;
    for statement in statements {
        let text = &script.source[statement.range.clone()];
        let messages = answer_of(client, script, statement, deadline, timeout, client.simple_query(text)).await?;
        each(statement, messages);
    }
    Ok(())
}

/// COMMIT failed (a deferred constraint, say): the failure points at the end of the script.
fn commit_failed(client: &Client, script: &Script, last: &Statement, error: &tokio_postgres::Error) -> ScriptError {
    if is_fatal(client, error) {
        return connection_lost(script, Some(last), error);
    }
    let mut failure = sql_failure(script, last, error);
    failure.message = format!("{} (at COMMIT)", failure.message);
    ScriptError::Failed { run_mode: None, failure }
}

/// A statement still running when the script's time was up (it has been cancelled).
fn timed_out(script: &Script, statement: &Statement, timeout: Duration) -> Failure {
    let mut failure = Failure::new(
        format!(
            "did not finish within {} s: this statement was still running and was cancelled (raise the limit with --migration-timeout)",
            timeout.as_secs()
        ),
        Some(script.location(statement.range.start)),
    );
    failure.details.push(source_excerpt(script, statement.range.start));
    failure
}

/// An error after which the session is gone (a FATAL from the server, or no server at all).
fn is_fatal(client: &Client, error: &tokio_postgres::Error) -> bool {
    client.is_closed() || error.as_db_error().is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC"))
}

fn connection_lost(script: &Script, statement: Option<&Statement>, error: &tokio_postgres::Error) -> ScriptError {
    let offset = statement.map_or(script.body().start, |s| s.range.start);
    let cause = describe(error);
    let mut failure = Failure::new(
        format!(
            "the server closed the connection while running this statement ({cause}); the statement may terminate its own backend or crash the server"
        ),
        Some(script.location(offset)),
    );
    if statement.is_some() {
        failure.details.push(source_excerpt(script, offset));
    }
    ScriptError::ConnectionLost(failure)
}

/// The server's error, placed in the file: the position the server gives counts characters in
/// the statement text we sent, which starts at `statement.range.start` in the file.
pub fn sql_failure(script: &Script, statement: &Statement, error: &tokio_postgres::Error) -> Failure {
    let db = error.as_db_error().expect("checked by the caller");
    let text = &script.source[statement.range.clone()];
    let offset = match db.position() {
        Some(tokio_postgres::error::ErrorPosition::Original(position)) => {
            statement.range.start + byte_offset_of_char(text, *position as usize)
        }
        _ => statement.range.start,
    };
    let mut failure = Failure::new(db.message().to_string(), Some(script.location(offset)));
    failure.sqlstate = Some(db.code().code().to_string());
    failure.details.push(format!("SQLSTATE {}", db.code().code()));
    // A statement that cannot run in a transaction, in a file its tool runs in one.
    if let StatementKind::NoTransaction(_) = statement.kind {
        if let Some(fix) = script.statements().ok().and_then(|all| script.no_transaction_fix(all)) {
            failure.details.push(format!("fix: {fix}"));
        }
    }
    if let Some(fix) = missing_extension_fix(db.message(), db.detail()) {
        failure.details.push(format!("fix: {fix}"));
    }
    if let Some(detail) = db.detail() {
        failure.details.push(format!("detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        failure.details.push(format!("hint: {hint}"));
    }
    if let Some(context) = db.where_() {
        failure.details.push(format!("context: {}", context.replace('\n', "; ")));
    }
    failure.details.push(source_excerpt(script, offset));
    failure
}

/// How to get an extension the server lacks (Supabase projects use `vector`, `http`,
/// `pg_cron`... that a plain PostgreSQL does not ship). PostgreSQL 15 says `could not open
/// extension control file ".../15/extension/vector.control"`; 16 and later `extension "vector"
/// is not available`, with that sentence as the detail.
fn missing_extension_fix(message: &str, detail: Option<&str>) -> Option<String> {
    let control = [Some(message), detail].into_iter().flatten().find_map(|text| {
        text.split("extension control file \"")
            .nth(1)?
            .split('"')
            .next()
            .map(str::to_string)
    });
    let name = message
        .strip_prefix("extension \"")
        .and_then(|rest| rest.strip_suffix("\" is not available"))
        .map(str::to_string)
        .or_else(|| {
            let file = control.as_deref()?.rsplit('/').next()?;
            file.strip_suffix(".control").map(str::to_string)
        })?;
    let major = control
        .as_deref()
        .and_then(|path| path.split("/postgresql/").nth(1)?.split('/').next().map(str::to_string))
        .filter(|m| m.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| "<major>".to_string());
    // Debian's (and PGDG's) package of each extension Supabase projects use most.
    let package = match name.as_str() {
        "vector" => Some("pgvector"),
        "http" => Some("http"),
        "postgis" | "postgis_topology" | "postgis_raster" => Some("postgis-3"),
        "pg_cron" => Some("cron"),
        "pgrouting" => Some("pgrouting"),
        "plpgsql_check" => Some("plpgsql-check"),
        "pg_partman" => Some("partman"),
        "hypopg" => Some("hypopg"),
        "pg_repack" => Some("repack"),
        "rum" => Some("rum"),
        _ => None,
    };
    let install = match package {
        Some(package) => format!("install it where the server runs (Debian: apt-get install postgresql-{major}-{package})"),
        None => "install it where the server runs".to_string(),
    };
    Some(format!(
        "the extension {name} is not installed on this server; Supabase's own image has it: run on it ([database] image = \"supabase/postgres:<version>\" in dbgate.toml, with the docker provider), or {install}"
    ))
}

/// The line holding `offset`, numbered, with a caret under its column.
pub fn source_excerpt(script: &Script, offset: usize) -> String {
    let position = script.position(offset);
    let line = script.line_text(offset);
    // Keep tabs so that the caret lines up under them.
    let pad: String = line
        .chars()
        .take(position.column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let number = position.line.to_string();
    format!("{number} | {line}\n{} | {pad}^", " ".repeat(number.len()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_a_missing_extension_and_how_to_get_it() {
        let fix = super::missing_extension_fix(
            "could not open extension control file \"/usr/share/postgresql/15/extension/vector.control\": No such file or directory",
            None,
        )
        .unwrap();
        assert!(fix.starts_with("the extension vector is not installed on this server"), "{fix}");
        assert!(fix.contains("apt-get install postgresql-15-pgvector"), "{fix}");
        assert!(fix.contains("supabase/postgres"), "{fix}");
        let fix = super::missing_extension_fix(
            "extension \"http\" is not available",
            Some("Could not open extension control file \"/usr/share/postgresql/17/extension/http.control\": No such file or directory."),
        )
        .unwrap();
        assert!(
            fix.contains("the extension http is not installed") && fix.contains("postgresql-17-http"),
            "{fix}"
        );
        assert_eq!(super::missing_extension_fix("relation \"x\" does not exist", None), None);
    }
}
