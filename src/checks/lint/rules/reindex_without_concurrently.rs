//! REINDEX without CONCURRENTLY of something that existed before the migration: it blocks
//! writes to the table, and reads that would use the index, until it ends.

use pg_query::NodeEnum;

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};

pub const WORDS: Words = Words {
    summary: "REINDEX without CONCURRENTLY",
    why: "REINDEX locks out writes to the table (and reads that use the index) for the whole rebuild",
    fix: "REINDEX (CONCURRENTLY) or REINDEX ... CONCURRENTLY, in a migration that runs without a transaction",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some(NodeEnum::ReindexStmt(reindex)) = migration.node(s.statement) else {
            continue;
        };
        if super::super::tree::has_option(&reindex.params, "concurrently") {
            continue;
        }
        // What it locked that was there before: the reindexed relations.
        let Some(name) = s
            .locks
            .iter()
            .filter_map(|(oid, _)| migration.existing.get(oid))
            .map(|r| r.table.and_then(|t| migration.existing.get(&t)).unwrap_or(r).name.clone())
            .next()
        else {
            continue;
        };
        hits.push(Hit {
            statement: s.statement,
            message: format!("REINDEX without CONCURRENTLY locks existing table {name} while it rebuilds"),
            object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, name)),
        });
    }
    hits
}
