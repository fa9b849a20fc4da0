//! The catalog: a snapshot of every object the migrations can create, read from the system
//! catalogs (not pg_dump text, whose output changes between versions), and the differences
//! between two snapshots, in words.
//!
//! Speed: a snapshot that reads the whole catalog grows with the schema and makes a gate over
//! N migrations quadratic. So after the first, full snapshot, dbgate reads only what a script
//! touched: event triggers record every DDL command's objects (and those that depend on them,
//! whose text may name them), dropped objects, and GRANTs (found by the catalog rows they
//! rewrote). Snapshots are persistent maps that share what did not change, and carry an
//! order-independent fingerprint, so that comparing two is O(1) unless they differ.

mod diff;
mod touched;

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

pub use diff::{Change, Difference, Wording};
pub use touched::Tracker;

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
pub type Attributes = std::collections::BTreeMap<String, String>;

/// What changes are tracked on: `c<oid>` a relation and its parts, `p<oid>` a routine,
/// `t<oid>` a type, `n<oid>` a schema, `x` the small sets re-read every time.
pub type Owner = Arc<str>;

/// The catalog at one moment. Cloning is cheap: the maps are persistent and share structure.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Keys are shared (`Arc`): persistent maps copy the nodes they change, and a node of
    /// pointers is far smaller than a node of names.
    pub objects: im::OrdMap<Arc<ObjectId>, Arc<Attributes>>,
    owners: im::HashMap<Owner, Owned>,
    /// A part's own key (`i<oid>` an index, `k` a constraint, `g` a trigger, `o` a policy,
    /// `w` a rule, `a` a column default, `r` a role) -> its owner.
    parts: im::HashMap<Arc<str>, Owner>,
    fingerprint: u128,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint && self.objects.len() == other.objects.len()
    }
}
impl Eq for Snapshot {}

/// What an owner has in a snapshot: its objects and the part keys that lead to it.
#[derive(Debug, Clone, Default)]
struct Owned {
    ids: im::Vector<Arc<ObjectId>>,
    parts: im::Vector<Arc<str>>,
}

/// The way back from one snapshot to an earlier one: each object that differs, with its earlier
/// attributes (`None`: it did not exist then). Far smaller than the earlier snapshot itself.
#[derive(Debug, Default)]
pub struct Undo(Vec<(Arc<ObjectId>, Option<Arc<Attributes>>)>);

/// Which owners to read again.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Read everything.
    pub full: bool,
    pub relations: BTreeSet<u32>,
    pub routines: BTreeSet<u32>,
    pub types: BTreeSet<u32>,
    pub schemas: BTreeSet<u32>,
}

impl Scope {
    pub fn full() -> Scope {
        Scope {
            full: true,
            ..Scope::default()
        }
    }

    /// Adds an owner key (`c123`, `p45`...); false when it is not one.
    pub fn add(&mut self, owner: &str) -> bool {
        let (kind, oid) = owner.split_at(owner.len().min(1));
        let Ok(oid) = oid.parse::<u32>() else { return false };
        match kind {
            "c" => self.relations.insert(oid),
            "p" => self.routines.insert(oid),
            "t" => self.types.insert(oid),
            "n" => self.schemas.insert(oid),
            _ => return false,
        };
        true
    }

    /// The owner keys to read again; `x` always.
    fn owners(&self) -> impl Iterator<Item = String> + '_ {
        self.relations
            .iter()
            .map(|o| format!("c{o}"))
            .chain(self.routines.iter().map(|o| format!("p{o}")))
            .chain(self.types.iter().map(|o| format!("t{o}")))
            .chain(self.schemas.iter().map(|o| format!("n{o}")))
            .chain(std::iter::once("x".to_string()))
    }
}

/// Reads snapshots on one connection.
pub struct Catalog {
    /// Everything.
    full: Statement,
    /// Only the owners given: $1 relations, $2 routines, $3 types, $4 schemas (oid arrays),
    /// looked up by index, so that the cost follows the change, not the schema.
    scoped: Statement,
}

impl Catalog {
    /// Prepares the catalog query for the server's version.
    pub async fn prepare(client: &Client, server_version_num: u32) -> Result<Catalog, tokio_postgres::Error> {
        let function_body = if server_version_num >= 140000 {
            "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END"
        } else {
            "p.prosrc"
        };
        let query = QUERY.replace("{{function_body}}", function_body);
        let full = query
            .replace("{{relations}}", "pg_class c")
            .replace("{{routines}}", "pg_proc p")
            .replace("{{types}}", "pg_type t")
            .replace("{{schemas}}", "true");
        let scoped = query
            .replace(
                "{{relations}}",
                "unnest($1::oid[]) AS wanted_relation(oid) JOIN pg_class c ON c.oid = wanted_relation.oid",
            )
            .replace(
                "{{routines}}",
                "unnest($2::oid[]) AS wanted_routine(oid) JOIN pg_proc p ON p.oid = wanted_routine.oid",
            )
            .replace(
                "{{types}}",
                "unnest($3::oid[]) AS wanted_type(oid) JOIN pg_type t ON t.oid = wanted_type.oid",
            )
            .replace("{{schemas}}", "n.oid = ANY($4::oid[])");
        let full = client.prepare(&full).await?;
        let scoped = client
            .prepare_typed(&scoped, &[Type::OID_ARRAY, Type::OID_ARRAY, Type::OID_ARRAY, Type::OID_ARRAY])
            .await?;
        Ok(Catalog { full, scoped })
    }

    /// Reads the whole catalog.
    pub async fn snapshot(&self, client: &Client) -> Result<Snapshot, tokio_postgres::Error> {
        self.update(client, &Snapshot::default(), &Scope::full()).await
    }

    /// `previous` with the owners in `scope` read again (everything, for a full scope).
    pub async fn update(&self, client: &Client, previous: &Snapshot, scope: &Scope) -> Result<Snapshot, tokio_postgres::Error> {
        let oids = |set: &BTreeSet<u32>| set.iter().copied().collect::<Vec<u32>>();
        // A fixed search_path makes every name the query prints schema-qualified, whatever the
        // migrations did to the session's search_path.
        // A generic plan: planning this query costs more than running it on a small scope.
        // The three are sent together (pipelined): one round trip.
        let (relations, routines, types, schemas) = (
            oids(&scope.relations),
            oids(&scope.routines),
            oids(&scope.types),
            oids(&scope.schemas),
        );
        let (begun, rows, committed) = futures_util::join!(
            client.batch_execute("BEGIN READ ONLY; SET LOCAL search_path TO pg_catalog; SET LOCAL plan_cache_mode = force_generic_plan"),
            async {
                if scope.full {
                    client.query(&self.full, &[]).await
                } else {
                    client.query(&self.scoped, &[&relations, &routines, &types, &schemas]).await
                }
            },
            client.batch_execute("COMMIT"),
        );
        begun?;
        let rows = rows?;
        committed?;

        let mut next = if scope.full { Snapshot::default() } else { previous.clone() };
        if !scope.full {
            for owner in scope.owners() {
                next.remove_owner(&owner);
            }
        }
        for row in rows {
            let (Some(kind), Some(name), Some(owner)) = (
                row.get::<_, Option<&str>>(0),
                row.get::<_, Option<&str>>(1),
                row.get::<_, Option<&str>>(3),
            ) else {
                continue;
            };
            let id = ObjectId {
                kind: kind.to_string(),
                name: name.to_string(),
            };
            let attributes = parse_attributes(row.get::<_, Option<&str>>(2).unwrap_or("{}"));
            // Share the previous snapshot's copies when nothing changed: memory stays flat.
            let (id, attributes) = match previous.objects.get_key_value(&id) {
                Some((key, same)) if **same == attributes => (key.clone(), same.clone()),
                Some((key, _)) => (key.clone(), Arc::new(attributes)),
                None => (Arc::new(id), Arc::new(attributes)),
            };
            let part: Option<&str> = row.get(4);
            next.insert(id, attributes, owner, part);
        }
        Ok(next)
    }
}

fn object_hash(id: &ObjectId, attributes: &Attributes) -> u128 {
    // Two independent 64-bit hashes: a collision between different catalogs is not a concern.
    let mut a = std::collections::hash_map::DefaultHasher::new();
    let mut b = std::collections::hash_map::DefaultHasher::new();
    0xdb_u8.hash(&mut b);
    for hasher in [&mut a, &mut b] {
        id.hash(hasher);
        attributes.hash(hasher);
    }
    ((a.finish() as u128) << 64) | b.finish() as u128
}

impl Snapshot {
    fn insert(&mut self, id: Arc<ObjectId>, attributes: Arc<Attributes>, owner: &str, part: Option<&str>) {
        let owner: Owner = Arc::from(owner);
        self.fingerprint = self.fingerprint.wrapping_add(object_hash(&id, &attributes));
        if let Some(old) = self.objects.insert(id.clone(), attributes) {
            // The same object named twice (should not happen): keep the fingerprint honest.
            let hash = object_hash(&id, &old);
            self.fingerprint = self.fingerprint.wrapping_sub(hash);
        }
        let owned = self.owners.entry(owner.clone()).or_default();
        owned.ids.push_back(id);
        if let Some(part) = part {
            let part: Arc<str> = Arc::from(part);
            owned.parts.push_back(part.clone());
            self.parts.insert(part, owner);
        }
    }

    #[cfg(test)]
    pub(crate) fn insert_for_test(&mut self, id: ObjectId, attributes: Arc<Attributes>) {
        self.insert(Arc::new(id), attributes, "x", None);
    }

    fn remove_owner(&mut self, owner: &str) {
        let Some(owned) = self.owners.remove(owner) else { return };
        for id in owned.ids {
            if let Some(attributes) = self.objects.remove(&id) {
                self.fingerprint = self.fingerprint.wrapping_sub(object_hash(&id, &attributes));
            }
        }
        for part in owned.parts {
            self.parts.remove(&part);
        }
    }

    /// The snapshot as far as comparing it goes (objects and fingerprint), without the indexes
    /// that updating it needs: what the reverse chain keeps for every migration.
    pub fn for_comparison(&self) -> Snapshot {
        Snapshot {
            objects: self.objects.clone(),
            owners: im::HashMap::new(),
            parts: im::HashMap::new(),
            fingerprint: self.fingerprint,
        }
    }

    /// Whether `owner` (`c123`...) is in the snapshot.
    pub fn has_owner(&self, owner: &str) -> bool {
        self.owners.contains_key(owner)
    }

    /// The owner of a part (`i123`, `k45`...), if the snapshot has it.
    pub fn owner_of_part(&self, part: &str) -> Option<Owner> {
        self.parts.get(part).cloned()
    }

    /// The names of the roles in the snapshot. Roles are among the small sets re-read every
    /// time (`x`), so this does not walk the whole snapshot.
    pub fn roles(&self) -> BTreeSet<&str> {
        fn roles<'a>(ids: impl Iterator<Item = &'a Arc<ObjectId>>) -> BTreeSet<&'a str> {
            ids.filter(|id| id.kind == "role").map(|id| id.name.as_str()).collect()
        }
        match self.owners.get("x") {
            Some(owned) => roles(owned.ids.iter()),
            None => roles(self.objects.keys()),
        }
    }

    /// What takes this snapshot back to `earlier`: the objects that differ, with their earlier
    /// attributes. Walks only the parts of the two maps that are not shared.
    pub fn undo_to(&self, earlier: &Snapshot) -> Undo {
        let changes = earlier
            .objects
            .diff(&self.objects)
            .map(|item| match item {
                im::ordmap::DiffItem::Add(id, _) => (id.clone(), None),
                im::ordmap::DiffItem::Update { old: (id, old), .. } | im::ordmap::DiffItem::Remove(id, old) => {
                    (id.clone(), Some(old.clone()))
                }
            })
            .collect();
        Undo(changes)
    }

    /// This snapshot with `undo` applied, as far as comparing goes: the earlier snapshot.
    pub fn undone(&self, undo: &Undo) -> Snapshot {
        let mut earlier = self.for_comparison();
        for (id, attributes) in &undo.0 {
            if let Some(now) = earlier.objects.remove(id) {
                earlier.fingerprint = earlier.fingerprint.wrapping_sub(object_hash(id, &now));
            }
            if let Some(attributes) = attributes {
                earlier.fingerprint = earlier.fingerprint.wrapping_add(object_hash(id, attributes));
                earlier.objects.insert(id.clone(), attributes.clone());
            }
        }
        earlier
    }

    /// What differs from `expected` in `self`, object by object.
    pub fn differences_from(&self, expected: &Snapshot) -> Vec<Difference> {
        if self == expected {
            return Vec::new();
        }
        diff::differences(expected, self)
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
