//! Row level security off on a table in an exposed schema (splinter's rls_disabled_in_public).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a table in an exposed schema with row level security off",
    why: "the API (PostgREST, pg_graphql) reaches every table in an exposed schema as anon and authenticated: with RLS off, anyone with the public key reads and writes all its rows",
    fix: "ALTER TABLE ... ENABLE ROW LEVEL SECURITY, and policies for who may see and change which rows",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'table', format('%I.%I', n.nspname, c.relname), '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e' WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT c.relrowsecurity AND n.nspname = ANY($1) AND d.objid IS NULL";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::RlsDisabled, |object, detail| {
        let _ = detail;
        format!("{object} is in an exposed schema and has row level security off")
    })
}
