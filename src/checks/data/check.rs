//! The `data` check of one migration: its round trip in the copy, in words.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::columns::{Before, Kept, TableData};
use crate::checks::{millis, CheckKind, CheckResult};
use crate::discovery::Migration;
use crate::execute::{run_statements, ScriptError};
use crate::failure::{Failure, Location, Warning, WarningKind};
use crate::object::{ObjectId, ObjectKind};
use crate::script::{Script, Statement};

/// The rollback as the round trip can run it.
pub enum Down<'a> {
    /// In the transaction the migration was observed in.
    Runs(&'a Script, &'a [Statement]),
    /// Not run: why (no rollback, declared irreversible, outside a transaction...), and whether
    /// by design (the rollback check is skipped for the same reason).
    Not(String, bool),
}

/// What the replay's own checks said of the rollback, so that the round trip does not say it
/// again as its own, and how its tool starts it.
pub struct Replayed {
    /// The rollback check failed with the rollback's error.
    pub rollback_failed: bool,
    /// What puts the session as a new invocation of the tool finds it: the rollback runs in one.
    pub invocation: String,
    /// The lint's `drop-table` and `drop-column` rules are on: they say what the migration drops
    /// (and an allow comment silences them), so the data check does not say it again.
    pub drops_said_by_lint: (bool, bool),
}

/// After the migration ran (in the transaction that `before` was read in): the columns it
/// dropped, then its rollback, then the data compared.
pub async fn round_trip(
    client: &Client,
    migration: &Migration,
    before: &Before,
    down: Down<'_>,
    replayed: Replayed,
    timeout: Duration,
) -> Option<CheckResult> {
    let started = Instant::now();
    let up = &migration.up;
    let Ok(kept) = before.kept(client).await else {
        return Some(CheckResult::skipped(
            CheckKind::Data,
            "dbgate could not read what the migration left of the tables",
        ));
    };
    let warnings = dropped(up, before, &kept, replayed.drops_said_by_lint);
    let (down, statements) = match down {
        Down::Runs(script, statements) => (script, statements),
        // Listed only with something to say: the rollback check says there is no rollback.
        Down::Not(_, true) if warnings.is_empty() => return None,
        Down::Not(why, _) => return Some(with_warnings(CheckResult::skipped(CheckKind::Data, why), warnings)),
    };
    let ran = match client.batch_execute(&replayed.invocation).await {
        Ok(()) => run_statements(client, down, statements, timeout, |_, _| {}).await,
        Err(error) => Err(ScriptError::ConnectionLost(crate::failure::Failure::new(
            crate::execute::describe(&error),
            None,
        ))),
    };
    if let Err(error) = ran {
        let check = if replayed.rollback_failed || matches!(error, ScriptError::ConnectionLost(_)) {
            CheckResult::not_checked(CheckKind::Data, "the rollback failed")
        } else if before.tables.is_empty() {
            // No rows to blame: the copy differs from the replay some other way.
            CheckResult::skipped(
                CheckKind::Data,
                format!(
                    "{} failed in the lint's copy where it passed in the replay: {}",
                    name(down),
                    error.failure().located_message()
                ),
            )
        } else {
            // It ran on empty tables: it fails on rows alone, as it would in production.
            let mut failure = error.failure().clone();
            failure.message = format!("fails on tables with rows: {}", failure.message);
            CheckResult::failed(
                CheckKind::Data,
                millis(started.elapsed()),
                Some(format!(
                    "{} fails once the tables hold rows (dbgate put {} rows in {})",
                    name(down),
                    before.tables.iter().map(|t| t.rows).max().unwrap_or(0),
                    before.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
                vec![failure],
            )
        };
        return Some(with_warnings(check, warnings));
    }
    let after = match before.touched_now(client).await {
        Ok(after) => after,
        Err(error) => {
            let why = format!(
                "dbgate could not read the data after {}: {}",
                name(down),
                crate::execute::describe(&error)
            );
            return Some(with_warnings(CheckResult::skipped(CheckKind::Data, why), warnings));
        }
    };
    let failures = compare(migration, down, statements, before, &kept, &after);
    let check = if failures.is_empty() {
        CheckResult::passed(CheckKind::Data, millis(started.elapsed()))
    } else {
        CheckResult::failed(
            CheckKind::Data,
            millis(started.elapsed()),
            Some(format!("{} does not restore the data from before {}", name(down), name(up))),
            failures,
        )
    };
    Some(with_warnings(check, warnings))
}

fn with_warnings(mut check: CheckResult, warnings: Vec<Warning>) -> CheckResult {
    check.warnings = warnings;
    check
}

/// The file name a sentence uses.
fn name(script: &Script) -> String {
    crate::checks::file_name(script)
}

/// The tables and columns with data that the migration drops: no rollback brings their values
/// back.
fn dropped(up: &Script, before: &Before, kept: &Kept, (tables_said, columns_said): (bool, bool)) -> Vec<Warning> {
    let statements = up.statements().unwrap_or_default();
    let mut warnings = Vec::new();
    for table in &before.tables {
        if !kept.table(table.oid) {
            if tables_said {
                continue;
            }
            warnings.push(Warning {
                kind: WarningKind::DroppedData,
                message: format!("drops {} with its rows; no rollback can restore them", table.name),
                location: Some(place(up, statements, table, None)),
                object: Some(ObjectId::new(ObjectKind::Table, table.name.clone())),
                differences: Vec::new(),
            });
            continue;
        }
        if columns_said {
            continue;
        }
        for column in table
            .columns
            .iter()
            .filter(|c| c.with_value > 0 && !kept.column(table.oid, c.attnum))
        {
            warnings.push(Warning {
                kind: WarningKind::DroppedData,
                message: format!(
                    "drops {}.{} with its data; no rollback can restore it",
                    table.name,
                    crate::script::ident(&column.name)
                ),
                location: Some(place(up, statements, table, Some(&column.name))),
                object: Some(column_id(table, &column.name)),
                differences: Vec::new(),
            });
        }
    }
    warnings
}

/// The data after the rollback against the data before the migration, for the tables DDL
/// touched and the columns the migration kept.
fn compare(
    migration: &Migration,
    down: &Script,
    statements: &[Statement],
    before: &Before,
    kept: &Kept,
    after: &[TableData],
) -> Vec<Failure> {
    let (up, down_name) = (name(&migration.up), name(down));
    let mut failures = Vec::new();
    for now in after {
        let Some(then) = before.tables.iter().find(|t| t.schema == now.schema && t.relname == now.relname) else {
            continue;
        };
        if !kept.table(then.oid) {
            continue;
        }
        if now.rows != then.rows {
            let mut failure = Failure::new(
                format!("{}: {} rows before {up}, {} after {down_name}", then.name, then.rows, now.rows),
                Some(place(down, statements, then, None)),
            );
            failure.details.push(format!("expected: {} rows", then.rows));
            failure.details.push(format!("actual: {} rows", now.rows));
            failures.push(failure);
            continue;
        }
        for column in then.columns.iter().filter(|c| kept.column(then.oid, c.attnum)) {
            // A column the rollback dropped is the schema check's to report.
            let Some(restored) = now.columns.iter().find(|c| c.name == column.name) else {
                continue;
            };
            if restored.with_value == column.with_value && restored.hash == column.hash {
                continue;
            }
            let qualified = format!("{}.{}", then.name, crate::script::ident(&column.name));
            let message = if restored.with_value < column.with_value {
                format!(
                    "{qualified}: {} of {} rows lost their value after {down_name}",
                    column.with_value - restored.with_value,
                    then.rows
                )
            } else {
                format!(
                    "{qualified}: the values after {down_name} are not the ones before {up} ({} rows)",
                    then.rows
                )
            };
            let mut failure = Failure::new(message, Some(place(down, statements, then, Some(&column.name))));
            failure
                .details
                .push(format!("expected: {} rows with a value, as before {up}", column.with_value));
            failure.details.push(format!(
                "actual: {} rows with a value{}",
                restored.with_value,
                if restored.with_value == column.with_value {
                    ", other values"
                } else {
                    ""
                }
            ));
            failures.push(failure);
        }
    }
    failures
}

fn column_id(table: &TableData, column: &str) -> ObjectId {
    ObjectId::new(ObjectKind::Column, format!("{}.{}", table.name, crate::script::ident(column)))
}

/// Where a script acts on a table (and column): the first statement naming both, else the
/// first naming the table, else the script's first statement.
fn place(script: &Script, statements: &[Statement], table: &TableData, column: Option<&str>) -> Location {
    let names = |text: &str, word: &str| {
        let text = text.to_ascii_lowercase();
        let word = word.to_ascii_lowercase();
        text.match_indices(&word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            boundary(before) && boundary(after)
        })
    };
    let text_of = |s: &Statement| &script.source[s.range.clone()];
    let on_table = |s: &&Statement| names(text_of(s), &table.relname);
    let found = column
        .and_then(|column| statements.iter().filter(on_table).find(|s| names(text_of(s), column)))
        .or_else(|| statements.iter().find(on_table))
        .or(statements.first());
    script.location(found.map_or(script.body().start, |s| s.range.start))
}
