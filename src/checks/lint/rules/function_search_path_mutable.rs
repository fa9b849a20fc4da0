//! A function in an exposed schema that does not set its own search_path (splinter's function_search_path_mutable).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a function without its own search_path",
    why: "a function that does not set search_path resolves names through the caller's: a caller who puts its own schema first can make it call other code (for a SECURITY DEFINER function, as its owner)",
    fix: "ALTER FUNCTION ... SET search_path = '' (and qualify every name in the body), or SET search_path = pg_catalog, public",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), '' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' WHERE p.prokind IN ('f', 'p') AND n.nspname = ANY($1) AND d.objid IS NULL AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS setting WHERE setting LIKE 'search\\_path=%')";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::FunctionSearchPathMutable, |object, detail| {
        let _ = detail;
        format!("{object} does not set its own search_path")
    })
}
