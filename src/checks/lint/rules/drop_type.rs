//! A type that existed before the migration (enum, composite, domain, range), dropped.

use super::super::observe::{Migration, Seen};
use super::{dropped, Hit, Words};
use crate::catalog::ObjectKind;

pub const WORDS: Words = Words {
    summary: "an existing type dropped",
    why: "the application's queries and functions that use the type fail, and the values of every column of it go with it",
    fix: "stop using the type in a release first, then drop it in a later migration",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    dropped(
        migration,
        seen,
        &[
            ObjectKind::EnumType,
            ObjectKind::CompositeType,
            ObjectKind::Domain,
            ObjectKind::RangeType,
        ],
        "drops existing",
    )
}
