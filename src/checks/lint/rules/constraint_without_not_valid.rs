//! A CHECK or FOREIGN KEY added to an existing table without NOT VALID: the server reads every
//! row to validate it while holding a lock that blocks writes.

use pg_query::protobuf::ConstrType;

use super::super::observe::{Migration, Seen};
use super::super::tree;
use super::{altered_existing_table, Hit, Words};

pub const WORDS: Words = Words {
    summary: "a CHECK or FOREIGN KEY added to an existing table without NOT VALID",
    why: "adding the constraint validates every row while holding a lock that blocks writes (ACCESS EXCLUSIVE for a CHECK; SHARE ROW EXCLUSIVE on both tables for a foreign key)",
    fix: "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later statement or migration: validation takes a lock that lets reads and writes go on",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        let Some((_, table, cmds)) = altered_existing_table(migration, s) else {
            continue;
        };
        for constraint in cmds.iter().filter_map(|c| tree::added_constraint(c)) {
            let kind = if tree::constraint_is(constraint, ConstrType::ConstrCheck) {
                "CHECK"
            } else if tree::constraint_is(constraint, ConstrType::ConstrForeign) {
                "FOREIGN KEY"
            } else {
                continue;
            };
            // Before PostgreSQL 18 a foreign key on a partitioned table cannot be NOT VALID: the
            // advice would be refused.
            if constraint.skip_validation || (kind == "FOREIGN KEY" && table.partitioned) {
                continue;
            }
            let name = if constraint.conname.is_empty() {
                String::new()
            } else {
                format!(" {}", constraint.conname)
            };
            hits.push(Hit {
                statement: s.statement,
                message: format!(
                    "adds {kind}{name} to existing table {} without NOT VALID: every row is validated under a lock that blocks writes",
                    table.name
                ),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
            });
        }
    }
    hits
}
