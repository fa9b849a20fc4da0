//! auth.users exposed through a view or materialized view the API's roles may read (splinter's auth_users_exposed).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "auth.users exposed through a view",
    why: "a view or materialized view over auth.users in an exposed schema that the API's roles may read hands every user's e-mail and metadata to anyone with the public key",
    fix: "select only what the application needs into a table of its own (a profiles table kept by a trigger) with row level security, or revoke SELECT on the view from anon and authenticated",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT DISTINCT CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, format('%I.%I', n.nspname, c.relname), '' FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE d.refobjid = to_regclass('auth.users') AND d.deptype = 'n' AND c.relkind IN ('v', 'm') AND n.nspname = ANY($1) AND (EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE a.grantee = 0 AND a.privilege_type = 'SELECT') OR coalesce(has_table_privilege(to_regrole('anon')::oid, c.oid, 'SELECT'), false) OR coalesce(has_table_privilege(to_regrole('authenticated')::oid, c.oid, 'SELECT'), false))";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::AuthUsersExposed, |object, detail| {
        let _ = detail;
        format!("{object} reads auth.users and the API's roles may select from it")
    })
}
