//! A column of a table that existed before the migration, dropped while the table stays.

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};
use crate::catalog::{ObjectKind, SchemaChangeKind};

pub const WORDS: Words = Words {
    summary: "a column of an existing table dropped",
    why: "the application version still running selects or inserts the column and fails; its values are gone, and no rollback brings them back",
    fix: "stop reading and writing the column in a release first (with an ORM, mark it ignored), then drop it in a later migration",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let tables_dropped: Vec<&str> = s
            .changes()
            .iter()
            .filter(|c| c.kind == SchemaChangeKind::Drops && c.object.kind.is_relation())
            .map(|c| c.object.name.as_str())
            .collect();
        for change in s.changes() {
            let column = &change.object;
            if change.kind != SchemaChangeKind::Drops
                || column.kind != ObjectKind::Column
                || !migration.existed_at(column, seen, s.statement)
            {
                continue;
            }
            let of_dropped_table = tables_dropped
                .iter()
                .any(|t| column.name.strip_prefix(t).is_some_and(|rest| rest.starts_with('.')));
            if of_dropped_table || migration.follows_parent(change, s.changes()) {
                continue;
            }
            hits.push(Hit {
                statement: s.statement,
                message: format!("drops existing {column}"),
                object: Some(column.clone()),
            });
        }
    }
    hits
}
