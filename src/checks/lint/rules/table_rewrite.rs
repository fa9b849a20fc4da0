//! A statement that rewrote a table that existed before the migration (its file changed:
//! `pg_class.relfilenode`), under ACCESS EXCLUSIVE: a type change that is not binary-coercible,
//! ADD COLUMN with a volatile default, a STORED generated column, a serial.

use pg_query::protobuf::AlterTableType;
use pg_query::NodeEnum;

use std::collections::BTreeMap;

use super::super::observe::{Migration, RelationKind, Seen};
use super::super::tree;
use super::{Hit, Words};
use crate::catalog::{ObjectId, ObjectKind, SchemaChangeKind};

pub const WORDS: Words = Words {
    summary: "an existing table rewritten, or its indexes rebuilt",
    why: "a rewrite copies every row into a new file under ACCESS EXCLUSIVE: no query reads or writes the table until it ends, and it needs twice the table's disk space",
    fix: "add the column without the default and backfill in batches, or add a new column, backfill it, and swap; a binary-coercible type change (varchar(n) to a longer varchar or text) does not rewrite",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        if matches!(migration.node(s.statement), Some(NodeEnum::TruncateStmt(_))) {
            continue;
        }
        // A partitioned table's rows are rewritten in its partitions: said once, of the table
        // the statement names, with the partitions.
        let mut rewritten: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for oid in &s.rewritten {
            let Some(table) = migration.existing_table(*oid) else { continue };
            let top = *migration.and_ancestors(*oid).last().unwrap_or(oid);
            let partitions = rewritten.entry(top).or_default();
            if top != *oid {
                partitions.push(table.name.as_str());
            }
        }
        for (top, partitions) in &rewritten {
            let Some(table) = migration.existing_table(*top) else { continue };
            let parts = match partitions.as_slice() {
                [] => String::new(),
                [one] => format!(", in its partition {one}"),
                many => format!(", in its partitions {}", many.join(", ")),
            };
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "{} existing table {}{parts} (observed: its file was rewritten)",
                    cause(migration, s),
                    table.name
                ),
                object: Some(ObjectId::new(ObjectKind::Table, table.name.clone())),
            });
        }
        // An ALTER that keeps the table's file but builds its indexes again (a type change the
        // table can keep, a collation change) holds ACCESS EXCLUSIVE while they build. REINDEX
        // and DROP INDEX have rules of their own.
        if !matches!(migration.node(s.statement), Some(NodeEnum::AlterTableStmt(_))) {
            continue;
        }
        let dropped: Vec<&str> = s
            .changes()
            .iter()
            .filter(|c| c.kind == SchemaChangeKind::Drops && c.object.kind == ObjectKind::Index)
            .map(|c| c.object.name.as_str())
            .collect();
        for oid in s.rewritten.iter().chain(&s.gone) {
            let Some(index) = migration.existing.get(oid).filter(|r| r.kind == RelationKind::Index) else {
                continue;
            };
            let Some(table_oid) = index.table.filter(|t| !s.rewritten.contains(t)) else {
                continue;
            };
            let Some(table) = migration.existing_table(table_oid) else {
                continue;
            };
            if dropped
                .iter()
                .any(|d| d.split(" on ").next() == Some(index.relname.as_str()) || d.starts_with(&format!("{} on", index.name)))
            {
                continue;
            }
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "{} index {} of existing table {} under ACCESS EXCLUSIVE (observed: the index was built again; the table's file was kept)",
                    cause(migration, s).replace(" rewrites", " rebuilds"),
                    crate::script::ident(&index.relname),
                    table.name
                ),
                object: Some(ObjectId::new(ObjectKind::Table, table.name.clone())),
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
