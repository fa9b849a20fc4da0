//! A table that existed before the migration, renamed.

use super::super::observe::{Migration, Seen};
use super::{renamed, Hit, Words};
use crate::catalog::ObjectKind;

pub const WORDS: Words = Words {
    summary: "an existing table renamed",
    why: "the application version still running queries the old name and fails from the moment the migration commits",
    fix: "add the new table (or a view under the new name), move the application over in a release, then drop the old name",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    renamed(migration, seen, ObjectKind::Table)
}
