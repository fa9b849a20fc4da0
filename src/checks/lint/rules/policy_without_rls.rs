//! Policies on a table whose row level security is off (splinter's policy_exists_rls_disabled).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "policies on a table with row level security off",
    why: "policies do nothing until RLS is enabled: the table looks protected and is not",
    fix: "ALTER TABLE ... ENABLE ROW LEVEL SECURITY",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'table', format('%I.%I', n.nspname, c.relname), '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND n.nspname = ANY($1) AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::PolicyWithoutRls, |object, detail| {
        let _ = detail;
        format!("{object} has policies, but row level security is off: they restrict nothing")
    })
}
