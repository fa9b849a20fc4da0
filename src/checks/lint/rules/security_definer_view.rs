//! A view in an exposed schema that is not security_invoker (splinter's security_definer_view).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "a view in an exposed schema that runs as its owner",
    why: "a view runs with its owner's rights unless it is security_invoker: through the API it reads its tables past their row level security",
    fix: "CREATE VIEW ... WITH (security_invoker = true) (PostgreSQL 15 and later), or move the view out of the exposed schemas",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'view', format('%I.%I', n.nspname, c.relname), '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e' WHERE c.relkind = 'v' AND n.nspname = ANY($1) AND d.objid IS NULL AND NOT coalesce(lower(array_to_string(c.reloptions, ',')) ~ '(^|,)security_invoker=(1|true|yes|on)(,|$)', false)";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::SecurityDefinerView, |object, detail| {
        let _ = detail;
        format!("{object} runs as its owner (no security_invoker): it reads its tables past their row level security")
    })
}
