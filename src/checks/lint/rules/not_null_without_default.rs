//! A NOT NULL column without a default added to an existing table: it fails on a table that has
//! rows (observed in the copy with rows), and the running application's INSERTs, which do not
//! know the column, fail once it is there.

use pg_query::protobuf::ConstrType;

use super::super::observe::{Migration, Seen};
use super::super::tree;
use super::{altered_existing_table, Hit, Words};

pub const WORDS: Words = Words {
    summary: "a NOT NULL column without a default added to an existing table",
    why: "on a table with rows the statement fails (each row would get NULL); on an empty one it succeeds, and then the running application's INSERTs, which do not set the column, fail",
    fix: "add the column with a DEFAULT (constant defaults are instant since PostgreSQL 11), or add it nullable, backfill, and set NOT NULL later",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    // The statement that failed on the rows is not in `seen` when it was not observed again
    // without them: looked at as it was written.
    let at_failure = migration
        .failed
        .as_ref()
        .filter(|f| !seen.iter().any(|s| s.statement == f.statement))
        .map(|failed| Seen {
            statement: failed.statement,
            ..Seen::default()
        });
    seen.iter()
        .chain(&at_failure)
        .flat_map(|s| added(migration, s))
        .map(|(statement, column, table)| Hit {
            statement,
            message: format!(
                "adds NOT NULL column {} without a default to existing table {table}{}",
                crate::script::ident(&column),
                observed(migration, statement, &table)
            ),
            object: Some(crate::object::ObjectId::new(
                crate::object::ObjectKind::Column,
                format!("{table}.{column}"),
            )),
        })
        .collect()
}

/// Whether the statement at `statement` is one this rule is about (the fails-with-rows rule
/// leaves such a failure to this one).
pub fn covers(migration: &Migration, statement: usize) -> bool {
    let at = Seen {
        statement,
        ..Seen::default()
    };
    !added(migration, &at).is_empty()
}

fn added(migration: &Migration, s: &Seen) -> Vec<(usize, String, String)> {
    let Some((_, table, cmds)) = altered_existing_table(migration, s) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for column in cmds.iter().filter_map(|c| tree::added_column(c)) {
        let constraints: Vec<_> = tree::column_constraints(column).collect();
        let not_null = column.is_not_null
            || constraints
                .iter()
                .any(|c| tree::constraint_is(c, ConstrType::ConstrNotnull) || tree::constraint_is(c, ConstrType::ConstrPrimary));
        let filled = column.raw_default.is_some()
            || !column.identity.is_empty()
            || !column.generated.is_empty()
            || constraints.iter().any(|c| {
                tree::constraint_is(c, ConstrType::ConstrDefault)
                    || tree::constraint_is(c, ConstrType::ConstrIdentity)
                    || tree::constraint_is(c, ConstrType::ConstrGenerated)
            })
            || column.type_name.as_ref().is_some_and(|t| {
                t.names
                    .last()
                    .is_some_and(|n| matches!(n.node.as_ref(), Some(pg_query::NodeEnum::String(s)) if s.sval.contains("serial")))
            });
        if not_null && !filled {
            found.push((s.statement, column.colname.clone(), table.name.clone()));
        }
    }
    found
}

/// What the copy with rows showed.
fn observed(migration: &Migration, statement: usize, table: &str) -> String {
    if let Some(failed) = migration.failed.as_ref().filter(|f| f.statement == statement) {
        return format!(": it fails on a table with rows (observed: {})", failed.message);
    }
    match migration.left_empty.iter().find(|(t, _)| t == table) {
        Some((_, why)) => format!(": it fails on a table with rows (dbgate could not put rows in the table to show it: {why})"),
        None if !migration.with_rows => ": it fails on a table with rows".to_string(),
        None => ": the running application's INSERTs, which do not set it, fail".to_string(),
    }
}
