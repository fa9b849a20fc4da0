//! An index built without CONCURRENTLY on a table that existed before the migration: the
//! build holds a SHARE lock, which blocks every INSERT, UPDATE and DELETE until it ends.

use pg_query::NodeEnum;

use super::super::observe::{Migration, RelationKind, Seen};
use super::{Hit, Words};

pub const WORDS: Words = Words {
    summary: "an index built without CONCURRENTLY on an existing table",
    why: "CREATE INDEX holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE waits until it ends, which on a large table is minutes",
    fix: "CREATE INDEX CONCURRENTLY, in a migration that runs without a transaction (your tool's no-transaction directive)",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some(NodeEnum::IndexStmt(index)) = migration.node(s.statement) else {
            continue;
        };
        if index.concurrent {
            continue;
        }
        let Some(range) = index.relation.as_ref() else { continue };
        let Some((oid, table)) = migration.existing_named(s, range, RelationKind::Table) else {
            continue;
        };
        let lock = if s.locks.iter().any(|(locked, mode)| *locked == oid && mode == "ShareLock") {
            " (SHARE lock observed)"
        } else {
            ""
        };
        let name = if index.idxname.is_empty() {
            String::new()
        } else {
            format!(" {}", index.idxname)
        };
        hits.push(Hit {
            statement: s.statement,
            message: format!(
                "CREATE INDEX{name} on existing table {} without CONCURRENTLY blocks writes to it while the index builds{lock}",
                table.name
            ),
            object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
        });
    }
    hits
}
