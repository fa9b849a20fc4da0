//! A UNIQUE or PRIMARY KEY constraint added to an existing table without USING INDEX: its index
//! is built under ACCESS EXCLUSIVE.

use pg_query::protobuf::ConstrType;

use super::super::observe::{Migration, Seen};
use super::super::tree;
use super::{altered_existing_table, Hit, Words};

pub const WORDS: Words = Words {
    summary: "a UNIQUE or PRIMARY KEY added to an existing table without USING INDEX",
    why: "the constraint's index is built while the table is locked against reads and writes (ACCESS EXCLUSIVE)",
    fix: "CREATE UNIQUE INDEX CONCURRENTLY first (in a migration without a transaction), then ADD CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX), which is instant",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some((_, table, cmds)) = altered_existing_table(migration, s) else {
            continue;
        };
        for constraint in cmds.iter().filter_map(|c| tree::added_constraint(c)) {
            let kind = if tree::constraint_is(constraint, ConstrType::ConstrUnique) {
                "UNIQUE"
            } else if tree::constraint_is(constraint, ConstrType::ConstrPrimary) {
                "PRIMARY KEY"
            } else {
                continue;
            };
            if !constraint.indexname.is_empty() {
                continue;
            }
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "adds {kind} to existing table {} without USING INDEX: its index is built under ACCESS EXCLUSIVE",
                    table.name
                ),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
            });
        }
    }
    hits
}
