//! SET NOT NULL on a column of an existing table that the server proved by reading every row
//! (observed: the table was scanned), under ACCESS EXCLUSIVE. A valid CHECK (col IS NOT NULL)
//! lets PostgreSQL 12 and later skip the scan.

use pg_query::protobuf::AlterTableType;

use super::super::observe::{Migration, Seen};
use super::super::tree;
use super::{altered_existing_table, Hit, Words};

pub const WORDS: Words = Words {
    summary: "SET NOT NULL that scans an existing table",
    why: "without a valid CHECK (col IS NOT NULL), SET NOT NULL reads every row to prove it, holding ACCESS EXCLUSIVE: no query reads or writes the table meanwhile",
    fix: "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT (which does not block writes); then SET NOT NULL (no scan) and drop the check",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some((oid, table, cmds)) = altered_existing_table(migration, s) else {
            continue;
        };
        // A partitioned table's rows are read in its partitions.
        let scanned = s.scanned.iter().any(|scanned| migration.and_ancestors(*scanned).contains(&oid));
        if !scanned || s.rewritten.contains(&oid) {
            continue;
        }
        for cmd in cmds.iter().filter(|c| tree::is(c, AlterTableType::AtSetNotNull)) {
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "SET NOT NULL on {}.{} read the whole existing table under ACCESS EXCLUSIVE (observed: a full scan), for no valid CHECK ({} IS NOT NULL) proves it",
                    table.name,
                    crate::script::ident(&cmd.name),
                    crate::script::ident(&cmd.name)
                ),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Column, format!("{}.{}", table.name, cmd.name))),
            });
        }
    }
    hits
}
