//! DROP INDEX without CONCURRENTLY on an index that existed before the migration: it takes
//! ACCESS EXCLUSIVE on the index's table, which blocks every read and write of it.

use pg_query::protobuf::ObjectType;
use pg_query::NodeEnum;

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};
use crate::catalog::{ObjectKind, SchemaChangeKind};

pub const WORDS: Words = Words {
    summary: "an existing index dropped without CONCURRENTLY",
    why: "DROP INDEX takes ACCESS EXCLUSIVE on the index's table: every query on the table, reads too, waits for it, and for whatever long query it waits behind",
    fix: "DROP INDEX CONCURRENTLY, in a migration that runs without a transaction",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some(NodeEnum::DropStmt(drop)) = migration.node(s.statement) else {
            continue;
        };
        if drop.remove_type != ObjectType::ObjectIndex as i32 || drop.concurrent {
            continue;
        }
        for change in s.changes() {
            if change.kind == SchemaChangeKind::Drops && change.object.kind == ObjectKind::Index && migration.existed(&change.object) {
                hits.push(Hit {
                    statement: s.statement,
                    message: format!(
                        "DROP INDEX without CONCURRENTLY drops existing {} under ACCESS EXCLUSIVE on its table",
                        change.object
                    ),
                    object: Some(change.object.clone()),
                });
            }
        }
    }
    hits
}
