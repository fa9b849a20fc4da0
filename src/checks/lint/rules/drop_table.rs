//! A table that existed before the migration, dropped: the running application's queries on it
//! fail from then on, and its rows are gone.

use super::super::observe::{Migration, Seen};
use super::{dropped, Hit, Words};
use crate::catalog::ObjectKind;

pub const WORDS: Words = Words {
    summary: "an existing table dropped",
    why: "the application version still running during and after the deploy queries the table and fails; its rows are gone, and no rollback brings them back",
    fix: "stop using the table in a release first, then drop it in a later migration (expand, then contract)",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    dropped(migration, seen, &[ObjectKind::Table], "drops existing")
}
