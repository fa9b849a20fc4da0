//! A permissive policy whose condition is always true for a command that changes rows (splinter's rls_policy_always_true).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a policy that lets the API's roles change every row",
    why: "a permissive policy for anon, authenticated or PUBLIC whose USING or WITH CHECK is always true (true, 1=1, or none where one is needed) for INSERT, UPDATE, DELETE or ALL lets them change any row: row level security in name only (SELECT USING (true) is left out: public reads are often meant)",
    fix: "write the condition the rows must meet (owner_id = auth.uid(), say), or restrict the policy to the roles that may do this",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'policy', quote_ident(p.polname) || ' on ' || format('%I.%I', n.nspname, c.relname), CASE p.polcmd WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'change' END FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace, LATERAL (SELECT translate(lower(coalesce(pg_get_expr(p.polqual, p.polrelid), '')), E' \\n\\t', '') AS q, translate(lower(coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')), E' \\n\\t', '') AS wc) e WHERE n.nspname = ANY($1) AND c.relrowsecurity AND p.polpermissive AND (p.polroles = '{0}' OR to_regrole('anon')::oid = ANY(p.polroles) OR to_regrole('authenticated')::oid = ANY(p.polroles)) AND ((p.polcmd IN ('w', 'd', '*') AND (e.q IN ('true', '(true)', '1=1', '(1=1)') OR p.polqual IS NULL)) OR e.wc IN ('true', '(true)', '1=1', '(1=1)') OR (p.polwithcheck IS NULL AND p.polcmd = 'a') OR (p.polwithcheck IS NULL AND p.polcmd IN ('w', '*') AND e.q IN ('true', '(true)', '1=1', '(1=1)')))";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::PolicyAlwaysTrue, |object, detail| {
        let _ = detail;
        format!("{object} lets the API's roles {detail} every row: its condition is always true")
    })
}
