//! Row level security on with no policy (splinter's rls_enabled_no_policy).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "row level security on, and no policy",
    why: "with RLS on and no policy, the API's roles see no row and can change none: a table the application cannot use, usually a policy forgotten",
    fix: "CREATE POLICY for the roles and commands the application needs (or a comment that the table is meant to be closed)",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'table', format('%I.%I', n.nspname, c.relname), '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e' WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND n.nspname = ANY($1) AND d.objid IS NULL AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::RlsWithoutPolicy, |object, detail| {
        let _ = detail;
        format!("{object} has row level security on and no policy: the API's roles see none of its rows")
    })
}
