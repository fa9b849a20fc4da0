//! ACCESS EXCLUSIVE on an existing table with no lock_timeout: a migration that waits for a
//! long query's lock makes every later query on the table queue behind it.

use super::super::observe::{Migration, Seen};
use super::{Hit, Words};

pub const WORDS: Words = Words {
    summary: "ACCESS EXCLUSIVE on an existing table with no lock_timeout",
    why: "while the statement waits for its lock (behind a long query or an idle transaction), every query on the table queues behind it: an outage with no error",
    fix: "SET lock_timeout = '5s' (or what production tolerates) before the statement and retry the migration when it times out; or [migrations] lock_timeout in dbgate.toml when production's runner sets one",
};

pub fn check(migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
    if migration.lock_timeout_configured {
        return Vec::new();
    }
    for s in seen {
        if s.lock_timeout != "0" {
            continue;
        }
        if let Some(table) = s.access_exclusive().find_map(|oid| migration.existing_table(oid)) {
            return vec![Hit {
                statement: s.statement,
                message: format!("takes ACCESS EXCLUSIVE on existing table {} with no lock_timeout set", table.name),
                object: Some(crate::object::ObjectId::new(crate::object::ObjectKind::Table, table.name.clone())),
            }];
        }
    }
    Vec::new()
}
