//! A column of a table that existed before the migration, renamed.

use super::super::observe::{Migration, Seen};
use super::{renamed, Hit, Words};
use crate::catalog::ObjectKind;

pub const WORDS: Words = Words {
    summary: "a column of an existing table renamed",
    why: "the application version still running selects or writes the old name and fails from the moment the migration commits",
    fix: "add the new column, write both, backfill, move the reads over in a release, then drop the old column",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    renamed(migration, seen, ObjectKind::Column)
}
