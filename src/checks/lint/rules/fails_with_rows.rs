//! A statement that fails once the tables it touches hold rows, where the replay on empty
//! tables passed: production's tables are not empty.

use super::super::observe::{Migration, Seen};
use super::{not_null_without_default, Hit, Words};

pub const WORDS: Words = Words {
    summary: "a statement that fails on tables with rows",
    why: "the replay runs on empty tables; production's have rows, and there this statement fails (dbgate ran it again on a few generated rows per table, and it failed)",
    fix: "make the statement work on existing rows: a default, a backfill before the constraint, a constraint added NOT VALID",
};

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    let Some(failed) = &migration.failed else { return Vec::new() };
    // A statement cancelled at the time limit did not fail on the rows: the budget says so.
    if failed.message.starts_with("did not finish within") {
        return Vec::new();
    }
    if !migration.replay_passed
        || !migration.with_rows
        || migration.failed_without_rows
        || not_null_without_default::covers(migration, failed.statement)
    {
        return Vec::new();
    }
    let filled = migration.filled.join(", ");
    vec![Hit {
        statement: failed.statement,
        message: format!(
            "fails on tables with rows ({}): {}",
            if filled.is_empty() {
                "dbgate's generated rows".to_string()
            } else {
                format!("dbgate put rows in {filled}")
            },
            failed.message
        ),
        object: None,
    }]
}
