//! A statement that rewrote a table that existed before the migration (its file changed:
//! `pg_class.relfilenode`), under ACCESS EXCLUSIVE: a type change that is not binary-coercible,
//! ADD COLUMN with a volatile default, a STORED generated column, a serial.

use pg_query::protobuf::AlterTableType;
use pg_query::NodeEnum;

use super::super::observe::{Migration, Seen};
use super::super::tree;
use super::{Hit, Words};

pub const WORDS: Words = Words {
    summary: "an existing table rewritten",
    why: "a rewrite copies every row into a new file under ACCESS EXCLUSIVE: no query reads or writes the table until it ends, and it needs twice the table's disk space",
    fix: "add the column without the default and backfill in batches, or add a new column, backfill it, and swap; a binary-coercible type change (varchar(n) to a longer varchar or text) does not rewrite",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        if matches!(migration.node(s.statement), Some(NodeEnum::TruncateStmt(_))) {
            continue;
        }
        for oid in &s.rewritten {
            let Some(table) = migration.existing_table(*oid) else { continue };
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "{} existing table {} (observed: its file was rewritten)",
                    cause(migration, s),
                    table.name
                ),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
            });
        }
    }
    hits
}

/// What in the statement rewrote the table, in words.
fn cause(migration: &Migration, s: &Seen) -> String {
    if let Some((_, cmds)) = migration.node(s.statement).and_then(tree::alter_table) {
        for cmd in &cmds {
            if tree::is(cmd, AlterTableType::AtAlterColumnType) {
                return format!("changing the type of column {} rewrites", cmd.name);
            }
            if let Some(column) = tree::added_column(cmd) {
                return format!(
                    "adding column {} (its default or generated value is computed for every row) rewrites",
                    column.colname
                );
            }
        }
    }
    match migration.node(s.statement) {
        Some(NodeEnum::VacuumStmt(_)) => "VACUUM FULL rewrites".to_string(),
        Some(NodeEnum::ClusterStmt(_)) => "CLUSTER rewrites".to_string(),
        _ => "rewrites".to_string(),
    }
}
