//! Execution: runs one script on the throwaway database as production runs it (in its own
//! transaction unless it cannot be), and turns a server error into a place in the file.

use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::report::{Failure, Location};
use crate::script::{byte_offset_of_char, RunMode, Script, Statement};

/// Connects and drives the connection in the background.
pub async fn connect(config: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        // The connection ends with an error when the server goes away; the client reports it.
        let _ = connection.await;
    });
    Ok(client)
}

/// A client error in words: tokio-postgres shows a server error only as "db error".
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
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
    let run_mode = script.run_mode(&statements);
    let in_transaction = run_mode == RunMode::Transaction;
    if in_transaction {
        client.batch_execute("BEGIN").await.map_err(|e| connection_lost(script, None, &e))?;
    }
    if let Err(error) = run_statements(client, script, &statements, timeout, |_, _| {}).await {
        if in_transaction && !matches!(error, ScriptError::ConnectionLost(_)) {
            let _ = client.batch_execute("ROLLBACK").await;
        }
        return Err(match error {
            ScriptError::Failed { failure, .. } => ScriptError::Failed {
                run_mode: Some(run_mode),
                failure,
            },
            lost => lost,
        });
    }
    if in_transaction {
        if let Err(error) = client.batch_execute("COMMIT").await {
            // A deferred constraint fails at COMMIT: point at the end of the script.
            let last = statements.last().cloned().unwrap_or(Statement {
                range: script.body.clone(),
            });
            if is_fatal(client, &error) {
                return Err(connection_lost(script, Some(&last), &error));
            }
            let mut failure = sql_failure(script, &last, &error);
            failure.message = format!("{} (at COMMIT)", failure.message);
            return Err(ScriptError::Failed {
                run_mode: Some(run_mode),
                failure,
            });
        }
    }
    Ok(Ran {
        run_mode,
        duration: started.elapsed(),
    })
}

/// The statements of a script, or a failure at its first psql meta-command.
pub fn statements_of(script: &Script) -> Result<Vec<Statement>, Failure> {
    script.statements().map_err(|meta| {
        let position = script.position(meta.offset);
        let mut failure = Failure::new(
            format!(
                "`{}` is a psql meta-command, not SQL: dbgate sends the file to the server, as migration tools do, and the server cannot run it; inline what it does",
                meta.command
            ),
            Some(Location { file: script.path.clone(), line: position.line, column: position.column }),
        );
        failure.details.push(source_excerpt(script, meta.offset));
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
        let remaining = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(remaining, client.simple_query(text)).await {
            Ok(Ok(messages)) => {
                each(statement, messages);
                continue;
            }
            Ok(Err(error)) => error,
            Err(_elapsed) => {
                let _ = client.cancel_token().cancel_query(NoTls).await;
                let position = script.position(statement.range.start);
                let mut failure = Failure::new(
                    format!(
                        "did not finish within {} s: this statement was still running and was cancelled (raise the limit with --migration-timeout)",
                        timeout.as_secs()
                    ),
                    Some(Location { file: script.path.clone(), line: position.line, column: position.column }),
                );
                failure.details.push(source_excerpt(script, statement.range.start));
                return Err(ScriptError::Failed { run_mode: None, failure });
            }
        };
        if is_fatal(client, &error) {
            return Err(connection_lost(script, Some(statement), &error));
        }
        return Err(ScriptError::Failed {
            run_mode: None,
            failure: sql_failure(script, statement, &error),
        });
    }
    Ok(())
}

/// An error after which the session is gone (a FATAL from the server, or no server at all).
fn is_fatal(client: &Client, error: &tokio_postgres::Error) -> bool {
    client.is_closed() || error.as_db_error().is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC"))
}

fn connection_lost(script: &Script, statement: Option<&Statement>, error: &tokio_postgres::Error) -> ScriptError {
    let offset = statement.map_or(script.body.start, |s| s.range.start);
    let position = script.position(offset);
    let cause = describe(error);
    let mut failure = Failure::new(
        format!(
            "the server closed the connection while running this statement ({cause}); the statement may terminate its own backend or crash the server"
        ),
        Some(Location { file: script.path.clone(), line: position.line, column: position.column }),
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
    let position = script.position(offset);
    let mut failure = Failure::new(
        db.message().to_string(),
        Some(Location {
            file: script.path.clone(),
            line: position.line,
            column: position.column,
        }),
    );
    failure.sqlstate = Some(db.code().code().to_string());
    failure.details.push(format!("SQLSTATE {}", db.code().code()));
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
