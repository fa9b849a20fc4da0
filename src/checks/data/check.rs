//! The `data` check of one migration: its round trip in the copy, in words.
//!
//! Three reads of the tables with rows: before the migration, after it, after its rollback.
//! A column's values after the rollback must be the ones before; where they are not, the
//! rollback is at fault when DDL changed that column (a rollback must bring back what it takes
//! apart) or when the rollback itself changed its values; a value the migration's own UPDATE
//! changed in a column no DDL touched is the migration's data fix, which a rollback need not
//! undo (an `updated_at` trigger firing during a backfill, say).

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::columns::{Before, ColumnData, Measured, TableData};
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
    /// The login role's and database's settings a new invocation takes that the session did
    /// not start with (set after the reset).
    pub role_settings: Vec<crate::checks::role_settings::Setting>,
    /// The lint's `drop-table` and `drop-column` rules are on: they say what the migration drops
    /// (and an allow comment silences them), so the data check does not say it again.
    pub drops_said_by_lint: (bool, bool),
    /// The migration or its rollback names tables that existed before it (whether or not they
    /// got rows).
    pub names_existing: bool,
}

/// After the migration ran (in the transaction that `before` was read in): the data it left,
/// then its rollback, then the data compared. `None` when there is nothing to say.
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
    let by_design = matches!(down, Down::Not(_, true));
    if before.tables.is_empty() {
        // Nothing held rows: no data to lose. Said only when there were tables to fill.
        return (replayed.names_existing && !by_design).then(|| {
            CheckResult::skipped(
                CheckKind::Data,
                "the tables it names held no rows (--rows 0, or the generator left them empty: a note says why), so no data was compared",
            )
        });
    }
    let after_up = match before.after_migration(client).await {
        Ok(after_up) => after_up,
        Err(error) => return Some(could_not_read(&error, &name(up))),
    };
    let (down, statements) = match down {
        Down::Runs(script, statements) => (script, statements),
        Down::Not(why, by_design) => {
            // Whatever the migration dropped with its data stays dropped.
            let warnings = dropped(up, before, &after_up, None, replayed.drops_said_by_lint);
            if by_design && warnings.is_empty() {
                return None;
            }
            return Some(with_warnings(CheckResult::skipped(CheckKind::Data, why), warnings));
        }
    };
    let ran = match client.batch_execute(&replayed.invocation).await {
        Ok(()) => {
            // Not set (dbgate's own failure): the rollback runs without them, and says so if
            // it needs them.
            let _ = crate::checks::role_settings::set(client, &replayed.role_settings, true).await;
            run_statements(client, down, statements, timeout, |_, _| {}).await
        }
        Err(error) => Err(ScriptError::ConnectionLost(Failure::new(crate::execute::describe(&error), None))),
    };
    if let Err(error) = ran {
        if replayed.rollback_failed {
            return Some(CheckResult::not_checked(CheckKind::Data, "the rollback failed"));
        }
        // It ran on the replay's empty tables: it fails on rows alone, as it would in
        // production.
        let ended = matches!(error, ScriptError::ConnectionLost(_));
        let mut failure = error.failure().clone();
        failure.message = if ended {
            format!("ends its session on tables with rows: {}", failure.message)
        } else {
            format!("fails on tables with rows: {}", failure.message)
        };
        let check = CheckResult::failed(
            CheckKind::Data,
            millis(started.elapsed()),
            Some(format!(
                "{} {} once the tables hold rows (dbgate put up to {} rows in {})",
                name(down),
                if ended { "ends its session" } else { "fails" },
                before.tables.iter().map(|t| t.rows).max().unwrap_or(0),
                before.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
            )),
            vec![failure],
        );
        // What the migration dropped, which this rollback cannot have restored.
        let warnings = dropped(up, before, &after_up, None, replayed.drops_said_by_lint);
        return Some(with_warnings(check, warnings));
    }
    let after_down = match before.after_rollback(client).await {
        Ok(after_down) => after_down,
        Err(error) => return Some(could_not_read(&error, &name(down))),
    };
    let warnings = dropped(up, before, &after_up, Some(&after_down), replayed.drops_said_by_lint);
    let failures = compare(migration, (down, statements), before, &after_up, &after_down);
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

fn could_not_read(error: &tokio_postgres::Error, after: &str) -> CheckResult {
    CheckResult::skipped(
        CheckKind::Data,
        format!("dbgate could not read the data after {after}: {}", crate::execute::describe(error)),
    )
}

fn with_warnings(mut check: CheckResult, warnings: Vec<Warning>) -> CheckResult {
    check.warnings = warnings;
    check
}

/// The file name a sentence uses.
fn name(script: &Script) -> String {
    crate::checks::file_name(script)
}

/// The tables and columns with data that the migration dropped (neither the same table nor one
/// of its name is there after it, or the column is not) and that the rollback, when it ran, did
/// not bring back with their values (a migration that keeps a copy and a rollback that restores
/// it are fine).
fn dropped(
    up: &Script,
    before: &Before,
    after_up: &[Measured],
    after_down: Option<&[Measured]>,
    (tables_said, columns_said): (bool, bool),
) -> Vec<Warning> {
    let statements = up.statements().unwrap_or_default();
    let restored = |index: usize, column: Option<&ColumnData>| {
        let Some(now) = after_down.and_then(|m| m.iter().find(|m| m.before == index)) else {
            return false;
        };
        let table = &before.tables[index];
        match column {
            None => {
                now.rows == table.rows
                    && table
                        .columns
                        .iter()
                        .all(|c| now.columns.get(&c.attnum).is_some_and(|v| c.values.same(&v.0)))
            }
            Some(c) => now.rows == table.rows && now.columns.get(&c.attnum).is_some_and(|v| c.values.same(&v.0)),
        }
    };
    let mut warnings = Vec::new();
    for (index, table) in before.tables.iter().enumerate() {
        let Some(left) = after_up.iter().find(|m| m.before == index) else {
            if !tables_said && !restored(index, None) {
                warnings.push(Warning {
                    kind: WarningKind::DroppedData,
                    message: format!("drops {} with its rows; no rollback can restore them", table.name),
                    location: Some(place(up, statements, table, None, "drop")),
                    object: Some(ObjectId::new(ObjectKind::Table, table.name.clone())),
                    differences: Vec::new(),
                });
            }
            continue;
        };
        if columns_said {
            continue;
        }
        for column in &table.columns {
            if column.values.with_value == 0 || left.columns.contains_key(&column.attnum) || restored(index, Some(column)) {
                continue;
            }
            warnings.push(Warning {
                kind: WarningKind::DroppedData,
                message: format!("drops {}.{} with its data; no rollback can restore it", table.name, column.quoted),
                location: Some(place(up, statements, table, Some(&column.name), "drop")),
                object: Some(column_id(table, column)),
                differences: Vec::new(),
            });
        }
    }
    warnings
}

/// The data after the rollback against the data before the migration, for the tables DDL
/// touched, the columns the migration kept.
fn compare(
    migration: &Migration,
    (down, statements): (&Script, &[Statement]),
    before: &Before,
    after_up: &[Measured],
    after_down: &[Measured],
) -> Vec<Failure> {
    let (up, down_name) = (name(&migration.up), name(down));
    let mut failures = Vec::new();
    for now in after_down {
        let then = &before.tables[now.before];
        // A table the migration dropped: the warnings say it.
        let Some(left) = after_up.iter().find(|m| m.before == now.before) else {
            continue;
        };
        if now.rows != then.rows {
            // Rows the migration itself deleted or added, which the rollback left alone.
            if left.rows == now.rows {
                continue;
            }
            let mut failure = Failure::new(
                format!("{}: {} rows before {up}, {} after {down_name}", then.name, then.rows, now.rows),
                Some(place(down, statements, then, None, "")),
            );
            failure.details.push(format!("expected: {} rows", then.rows));
            failure.details.push(format!("actual: {} rows", now.rows));
            failures.push(failure);
            continue;
        }
        for column in &then.columns {
            // Dropped by the migration (the warnings say it), or by the rollback (the schema
            // check says it).
            let (Some((kept, _)), Some((restored, written))) = (left.columns.get(&column.attnum), now.columns.get(&column.attnum)) else {
                continue;
            };
            if column.values.same(restored) || (!written && kept.same(restored)) {
                continue;
            }
            let qualified = format!("{}.{}", then.name, column.quoted);
            let message = if restored.with_value < column.values.with_value {
                format!(
                    "{qualified}: {} of {} rows lost their value after {down_name}",
                    column.values.with_value - restored.with_value,
                    then.rows
                )
            } else {
                format!(
                    "{qualified}: the values after {down_name} are not the ones before {up} ({} rows{})",
                    then.rows,
                    if restored.with_value == column.values.with_value && restored.hash == column.values.hash {
                        ": the same values, in other rows"
                    } else {
                        ""
                    }
                )
            };
            let mut failure = Failure::new(message, Some(place(down, statements, then, Some(&column.name), "")));
            failure
                .details
                .push(format!("expected: {} rows with a value, as before {up}", column.values.with_value));
            failure.details.push(format!(
                "actual: {} rows with a value{}",
                restored.with_value,
                if restored.with_value == column.values.with_value {
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

fn column_id(table: &TableData, column: &ColumnData) -> ObjectId {
    ObjectId::new(ObjectKind::Column, format!("{}.{}", table.name, column.quoted))
}

/// Where a script acts on a table (and column): the first statement naming both (and spelling
/// `verb`, when one is given: the DROP of what was dropped), else the first naming both, else
/// the first naming the table, else the script's first statement.
fn place(script: &Script, statements: &[Statement], table: &TableData, column: Option<&str>, verb: &str) -> Location {
    let both: Vec<&str> = std::iter::once(table.relname.as_str()).chain(column).collect();
    let with_verb: Vec<&str> = both.iter().copied().chain((!verb.is_empty()).then_some(verb)).collect();
    let wanted: [&[&str]; 3] = [&with_verb, &both, &both[..1]];
    let found = script.statement_spelling(statements, &wanted, true);
    let first = statements.first().map_or(script.body().start, |s| s.range.start);
    script.location(found.unwrap_or(first))
}
