//! A column of an existing table changed to a type that holds fewer values (bigint to integer,
//! varchar(50) to varchar(20), text to varchar(n), timestamp to date).

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};
use crate::catalog::{ObjectKind, SchemaChangeKind};

pub const WORDS: Words = Words {
    summary: "a column's type narrowed",
    why: "values the old type held fail to convert (the migration fails on production's data) or are cut; the running application's writes of such values fail afterwards",
    fix: "check production's values first, and narrow in a migration of its own with a CHECK added NOT VALID and validated beforehand",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        for change in s.changes() {
            if change.kind == SchemaChangeKind::Changes
                && change.destructive
                && change.object.kind == ObjectKind::Column
                && migration.existed(&change.object)
                && !migration.follows_parent(change, s.changes())
            {
                hits.push(Hit {
                    statement: s.statement,
                    message: change.sentence.replacen("changes ", "narrows ", 1),
                    object: Some(change.object.clone()),
                });
            }
        }
    }
    hits
}
