//! An index built without CONCURRENTLY on a table that existed before the migration: the
//! build holds a SHARE lock, which blocks every INSERT, UPDATE and DELETE until it ends.

use pg_query::NodeEnum;

use super::super::observe::{Migration, RelationKind, Seen};
use super::{Hit, Words};
use crate::catalog::{ObjectKind, SchemaChangeKind};

pub const WORDS: Words = Words {
    summary: "an index built without CONCURRENTLY on an existing table",
    why: "CREATE INDEX holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE waits until it ends, which on a large table is minutes",
    fix: "CREATE INDEX CONCURRENTLY, in a migration that runs without a transaction (your tool's no-transaction directive)",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let (oid, table, name) = match migration.node(s.statement) {
            Some(NodeEnum::IndexStmt(index)) => {
                // ON ONLY builds nothing: the first step of indexing a partitioned table.
                let Some(range) = index.relation.as_ref().filter(|r| r.inh) else {
                    continue;
                };
                if index.concurrent {
                    continue;
                }
                let Some((oid, table)) = migration.existing_named(s, range, RelationKind::Table) else {
                    continue;
                };
                (oid, table, index.idxname.clone())
            }
            // Code (a DO block, a function) that built an index on an existing table: seen in
            // the catalog and the lock it took.
            Some(NodeEnum::DoStmt(_) | NodeEnum::SelectStmt(_) | NodeEnum::CallStmt(_)) | None => {
                let built = s.changes().iter().find_map(|c| {
                    let on = c.object.name.split_once(" on ")?.1;
                    (c.kind == SchemaChangeKind::Adds && c.object.kind == ObjectKind::Index).then_some((c, on))
                });
                let Some((change, on)) = built else { continue };
                let Some((oid, table)) = migration
                    .existing
                    .iter()
                    .find(|(_, r)| r.name == on && r.kind == RelationKind::Table)
                else {
                    continue;
                };
                if !s.locks.iter().any(|(locked, mode)| locked == oid && mode == "ShareLock") {
                    continue;
                }
                let name = change.object.name.split(" on ").next().unwrap_or_default().to_string();
                (*oid, table, name)
            }
            _ => continue,
        };
        let lock = if s.locks.iter().any(|(locked, mode)| *locked == oid && mode == "ShareLock") {
            " (SHARE lock observed)"
        } else {
            ""
        };
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" {}", crate::script::ident(&name))
        };
        let partitioned = if table.partitioned {
            "; it is partitioned, where CONCURRENTLY is refused: CREATE INDEX ... ON ONLY it, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION"
        } else {
            ""
        };
        hits.push(Hit {
            statement: s.statement,
            message: format!(
                "CREATE INDEX{name} on existing table {} without CONCURRENTLY blocks writes to it while the index builds{lock}{partitioned}",
                table.name
            ),
            object: Some(crate::object::ObjectId::new(ObjectKind::Table, table.name.clone())),
        });
    }
    hits
}
