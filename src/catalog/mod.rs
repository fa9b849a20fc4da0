//! The catalog: a snapshot of every object the migrations can create, read from the system
//! catalogs (not pg_dump text, whose output changes between versions), and the differences
//! between two snapshots, in words.

mod diff;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_postgres::{Client, SimpleQueryMessage};

pub use diff::{Change, Difference, Wording};

const QUERY: &str = include_str!("query.sql");

/// An object's kind and name, as a user says it: ("index", "idx_orders_created on public.orders").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectId {
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// An object's attributes; absent ones are not set.
pub type Attributes = BTreeMap<String, String>;

/// The catalog at one moment. Attribute maps are shared between snapshots that agree on them,
/// so that keeping a snapshot per migration costs little.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub objects: BTreeMap<ObjectId, Arc<Attributes>>,
}

/// Reads snapshots on one connection.
pub struct Catalog {
    query: String,
}

impl Catalog {
    /// Prepares the catalog query for the server's version.
    pub fn for_server(server_version_num: u32) -> Catalog {
        let function_body = if server_version_num >= 140000 {
            "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END"
        } else {
            "p.prosrc"
        };
        // A fixed search_path makes every name the query prints schema-qualified, whatever the
        // migrations did to the session's search_path.
        let query = format!(
            "BEGIN READ ONLY; SET LOCAL search_path TO pg_catalog; {}; COMMIT",
            QUERY.replace("{{function_body}}", function_body)
        );
        Catalog { query }
    }

    /// Takes a snapshot; `previous` lends its attribute maps where nothing changed.
    pub async fn snapshot(&self, client: &Client, previous: Option<&Snapshot>) -> Result<Snapshot, tokio_postgres::Error> {
        let messages = client.simple_query(&self.query).await?;
        let mut objects = BTreeMap::new();
        for message in messages {
            let SimpleQueryMessage::Row(row) = message else { continue };
            let (Some(kind), Some(name)) = (row.get(0), row.get(1)) else {
                continue;
            };
            let id = ObjectId {
                kind: kind.to_string(),
                name: name.to_string(),
            };
            let attributes = parse_attributes(row.get(2).unwrap_or("{}"));
            let attributes = match previous.and_then(|p| p.objects.get(&id)) {
                Some(same) if **same == attributes => same.clone(),
                _ => Arc::new(attributes),
            };
            objects.insert(id, attributes);
        }
        Ok(Snapshot { objects })
    }
}

fn parse_attributes(json: &str) -> Attributes {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(json) else {
        return Attributes::new();
    };
    map.into_iter()
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) if s.is_empty() => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((key, text))
        })
        .collect()
}

impl Snapshot {
    /// What differs from `expected` in `self`, object by object.
    pub fn differences_from(&self, expected: &Snapshot) -> Vec<Difference> {
        diff::differences(expected, self)
    }
}
