//! The security advisors, as Supabase's splinter defines them (supabase/splinter, lints/): what
//! the schema exposes through the API's schemas. Each advisor rule is one query over the catalog
//! (its own file), read after each linted migration; a migration is told only what it made
//! true (in the schema after it, not before), at the statement that made or changed the object.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::observe::Seen;
use super::rules::Rule;
use crate::object::{ObjectId, ObjectKind};

/// One object an advisor names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Advised {
    pub rule: Rule,
    pub object: ObjectId,
    /// What the query adds (a policy's command, say).
    pub detail: String,
}

/// An advisor's finding placed at a statement of the migration that made it true.
#[derive(Debug, Clone)]
pub struct Advisory {
    pub advised: Advised,
    pub statement: usize,
}

/// What the advisors said of the schema as it is now, and how to ask them.
pub struct Known {
    pub rules: Vec<Rule>,
    pub exposed: Vec<String>,
    pub said: BTreeSet<Advised>,
}

impl Known {
    /// What the advisors say now becomes what is known (after a migration not linted, or a
    /// rebuild: what the schema holds then is not a later migration's doing).
    pub async fn refresh(&mut self, client: &Client) {
        self.said = read(client, &self.rules, &self.exposed).await.unwrap_or_default();
    }
}

/// What every enabled advisor says of the schema now.
pub async fn read(client: &Client, rules: &[Rule], exposed: &[String]) -> Result<BTreeSet<Advised>, tokio_postgres::Error> {
    // Sent together: one round trip.
    let answers = futures_util::future::join_all(rules.iter().filter_map(|rule| {
        let query = rule.advisor_query()?;
        Some(async move { (rule, client.query(query, &[&exposed]).await) })
    }))
    .await;
    let mut said = BTreeSet::new();
    for (rule, rows) in answers {
        for row in rows? {
            let kind: &str = row.get(0);
            let Some(kind) = ObjectKind::from_word(kind) else { continue };
            said.insert(Advised {
                rule: *rule,
                object: ObjectId::new(kind, row.get::<_, String>(1)),
                detail: row.get(2),
            });
        }
    }
    Ok(said)
}

/// The statement that made the object; else the last that changed it, or a part of it (a
/// table's policy, column or RLS setting); else the migration's first.
pub fn place(object: &ObjectId, seen: &[Seen]) -> usize {
    let part_of_it = |id: &ObjectId| {
        id.name.ends_with(&format!(" on {}", object.name))
            || id.name.strip_prefix(object.name.as_str()).is_some_and(|rest| rest.starts_with('.'))
    };
    // The catalog's ids carry their schema apart; the advisors' do not: kind and name say it.
    let is_it = |id: &ObjectId| id.kind == object.kind && id.name == object.name;
    let made = seen.iter().find(|s| {
        s.changes()
            .iter()
            .any(|c| is_it(&c.object) && c.kind == crate::catalog::SchemaChangeKind::Adds)
    });
    let placed = made
        .or_else(|| seen.iter().rev().find(|s| s.changes().iter().any(|c| is_it(&c.object))))
        .or_else(|| seen.iter().rev().find(|s| s.changes().iter().any(|c| part_of_it(&c.object))))
        .map(|s| s.statement);
    // A part made with its table (a foreign key written in the CREATE TABLE) is said with the
    // table: where the table was made or last changed.
    let owner = || {
        let (_, table) = object.name.split_once(" on ")?;
        Some(place(&ObjectId::new(ObjectKind::Table, table), seen))
    };
    placed.or_else(owner).unwrap_or(0)
}
