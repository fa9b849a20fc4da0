//! A SECURITY DEFINER function the API's roles may execute (splinter's anon_/authenticated_security_definer_function_executable).
//! Trigger functions are left out: they cannot be called but as triggers.

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a SECURITY DEFINER function the API's roles may call",
    why: "a SECURITY DEFINER function runs with its owner's rights and past row level security; in an exposed schema, with EXECUTE for PUBLIC, anon or authenticated, anyone with the public key calls it (/rest/v1/rpc)",
    fix: "REVOKE EXECUTE ... FROM PUBLIC, anon (and authenticated) and grant it only to who needs it; or make it SECURITY INVOKER; or move it out of the exposed schemas",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), '' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' WHERE p.prosecdef AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype) AND n.nspname = ANY($1) AND d.objid IS NULL AND (EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0) OR coalesce(has_function_privilege(to_regrole('anon')::oid, p.oid, 'EXECUTE'), false) OR coalesce(has_function_privilege(to_regrole('authenticated')::oid, p.oid, 'EXECUTE'), false))";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::SecurityDefinerFunction, |object, detail| {
        let _ = detail;
        format!("{object} is SECURITY DEFINER and the API's roles may execute it")
    })
}
