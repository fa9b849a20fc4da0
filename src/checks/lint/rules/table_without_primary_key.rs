//! A table in an exposed schema without a primary key (splinter's no_primary_key).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a table without a primary key",
    why: "rows cannot be told apart for an update from the API, logical replication cannot replicate its updates and deletes, and tools that diff or sync data need a key",
    fix: "ALTER TABLE ... ADD PRIMARY KEY (an identity column, or the natural key)",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'table', format('%I.%I', n.nspname, c.relname), '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e' WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1) AND d.objid IS NULL AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::TableWithoutPrimaryKey, |object, detail| {
        let _ = detail;
        format!("{object} has no primary key")
    })
}
