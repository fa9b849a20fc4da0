//! An extension installed in public (splinter's extension_in_public).

use super::super::observe::{Migration, Seen};
use super::{advised, Hit, Rule, Words};

pub const WORDS: Words = Words {
    summary: "an extension installed in the public schema",
    why: "its functions, types and tables land in public, where the API exposes them and where they clash with the application's names",
    fix: "CREATE EXTENSION ... SCHEMA extensions (a schema of their own), or ALTER EXTENSION ... SET SCHEMA extensions",
};

/// Rows of (object kind, object name as the catalog names it, detail), for the exposed schemas ($1).
pub const QUERY: &str = "SELECT 'extension', quote_ident(e.extname), '' FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = 'public' AND $1::text[] IS NOT NULL";

pub fn check(migration: &Migration, _seen: &[Seen]) -> Vec<Hit> {
    advised(migration, Rule::ExtensionInPublic, |object, detail| {
        let _ = detail;
        format!("{object} is installed in the public schema")
    })
}
