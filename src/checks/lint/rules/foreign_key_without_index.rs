//! A foreign key whose columns lead no index (splinter's unindexed_foreign_keys).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a foreign key without an index on its columns",
    why: "every DELETE or key UPDATE on the referenced table scans the referencing table for rows that point at it, and joins along the key cannot use an index",
    fix: "CREATE INDEX CONCURRENTLY on the foreign key's columns (in their order, or leading a wider index)",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'constraint', quote_ident(k.conname) || ' on ' || format('%I.%I', n.nspname, c.relname), '' FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f' AND n.nspname = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indnkeyatts >= cardinality(k.conkey) AND (SELECT array_agg(a ORDER BY a) FROM unnest((i.indkey::int2[])[0:cardinality(k.conkey) - 1]) a) = (SELECT array_agg(a ORDER BY a) FROM unnest(k.conkey) a))";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::ForeignKeyWithoutIndex, |object, detail| {
        let _ = detail;
        format!("{object} has no index on its columns: deletes from the referenced table scan the whole table")
    })
}
