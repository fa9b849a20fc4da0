//! ACCESS EXCLUSIVE taken on an existing table, then, in the same transaction, a statement that
//! takes time: the lock is held until the transaction ends, so every query on the table waits
//! for it too. A later statement that only changes the catalog (COMMENT, SET DEFAULT, GRANT,
//! CREATE POLICY) is instant and not counted; one that moves rows, builds an index, rewrites or
//! scans a table (observed), or runs code (DO, a function call) is.

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};

pub const WORDS: Words = Words {
    summary: "ACCESS EXCLUSIVE on an existing table held while more statements run",
    why: "a lock is held until the transaction ends: every query on the table waits for all the statements after the one that took it (a backfill, an index build), not only for that one",
    fix: "put the statement that takes the lock last in its transaction, or in a migration of its own",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut said: Vec<(usize, u32)> = Vec::new();
    for (position, s) in seen.iter().enumerate() {
        if !s.locks_seen {
            continue;
        }
        // In one transaction: every statement after it, the one that failed on the rows too.
        let later: Vec<usize> = if migration.in_transaction {
            (s.statement + 1..migration.statements.len()).collect()
        } else {
            seen[position + 1..]
                .iter()
                .filter(|l| l.transaction == s.transaction)
                .map(|l| l.statement)
                .collect()
        };
        let Some(&slow) = later.iter().find(|&&at| takes_time(migration, seen, at)) else {
            continue;
        };
        for oid in s.access_exclusive() {
            let Some(table) = migration.existing_table(oid) else { continue };
            if said.contains(&(s.transaction, oid)) {
                continue;
            }
            said.push((s.transaction, oid));
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "takes ACCESS EXCLUSIVE on existing table {} and holds it while line {}'s {} runs in the same transaction",
                    table.name,
                    migration.location(slow).line,
                    migration.first_line(slow)
                ),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
            });
        }
    }
    hits
}

/// Whether the statement at `at` takes time: it moves rows, builds an index, rewrites or scans a
/// table, or runs code whose cost cannot be told.
fn takes_time(migration: &Migration, seen: &[Seen], at: usize) -> bool {
    use pg_query::NodeEnum;
    if seen
        .iter()
        .any(|s| s.statement == at && (!s.rewritten.is_empty() || !s.scanned.is_empty()))
    {
        return true;
    }
    match migration.node(at) {
        Some(
            NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::MergeStmt(_)
            | NodeEnum::CopyStmt(_)
            | NodeEnum::SelectStmt(_)
            | NodeEnum::DoStmt(_)
            | NodeEnum::CallStmt(_)
            | NodeEnum::IndexStmt(_)
            | NodeEnum::ClusterStmt(_)
            | NodeEnum::VacuumStmt(_)
            | NodeEnum::ReindexStmt(_)
            | NodeEnum::RefreshMatViewStmt(_)
            | NodeEnum::CreateTableAsStmt(_),
        ) => true,
        Some(_) => false,
        // Not read by the grammar: it may do anything.
        None => true,
    }
}
