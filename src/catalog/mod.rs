//! The catalog: a snapshot of every object the migrations can create, read from the system
//! catalogs (not pg_dump text, whose output changes between versions), and the differences
//! between two snapshots, in words.
//!
//! Speed: a snapshot that reads the whole catalog grows with the schema and makes a gate over
//! N migrations quadratic. So after the first, full snapshot, dbgate reads only what a script
//! touched: event triggers record every DDL command's objects (and those that depend on them,
//! whose text may name them), dropped objects, and GRANTs (found by the catalog rows they
//! rewrote). One snapshot is kept up to date in place; each update returns the way back, and
//! an order-independent fingerprint stands for each moment, so that comparing is O(1) unless
//! two differ.

mod attributes;
mod diff;
mod harmless;
mod summary;
mod touched;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Statement};

pub use crate::failure::{Change, Difference};
pub use crate::object::{ObjectId, ObjectKind};
pub use attributes::{ConstraintType, Read as ReadAttributes};
pub use diff::Wording;
pub use harmless::{freezes_time, separate as separate_harmless, Harmless};
pub use summary::{summarize, SchemaChange, SchemaChangeKind};
pub use touched::Tracker;

// The catalog query, in parts (query/*.sql), one statement each. Each row is an object the
// migrations can create: (kind, identity, attributes as a JSON object, owner, self, schema).
// Objects that belong to extensions, the system schemas and dbgate's own bookkeeping are left
// out: they are not the migrations' work. Attribute names are the words a user reads in a
// difference. `owner` groups rows by what a change is tracked on: a relation ('c' || oid) with
// its columns, constraints, indexes, triggers, policies, rules and privileges; a routine ('p'), a
// type ('t'), a schema ('n'); 'x' for the small sets re-read every time (extensions, event
// triggers, publications, default privileges, roles). `self` names a part by its own oid, so that
// a part that was dropped can be traced to its owner. The {{relations}}-style sources are the
// whole catalogs, or only the owners to read again. Comments are read from pg_description
// directly: obj_description() and col_description() are SQL functions that are not inlined, and
// calling them for every row cost as much as the rest.
//
// A part runs only when the scope has owners of its kind (the extras always): one statement for
// everything started the whole plan (a hundred nodes) on every read, whatever it read.

/// The parts, with the owners each reads.
const PARTS: [(Part, &str); 5] = [
    (Part::Relations, include_str!("query/relations.sql")),
    (Part::Routines, include_str!("query/routines.sql")),
    (Part::Types, include_str!("query/types.sql")),
    (Part::Schemas, include_str!("query/schemas.sql")),
    (Part::Extras, include_str!("query/extras.sql")),
];

/// Pieces the parts share.
const SHARED: [(&str, &str); 3] = [
    ("{{user_ns}}", include_str!("query/user_ns.sql")),
    ("{{role_name}}", include_str!("query/role_name.sql")),
    ("{{privileges}}", include_str!("query/privileges.sql")),
];

/// A part of the catalog query, by the owners it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Relations,
    Routines,
    Types,
    Schemas,
    /// The small sets re-read every time (owner `x`).
    Extras,
}

/// An object's attributes; absent ones are not set.
pub type Attributes = std::collections::BTreeMap<String, String>;

/// An object's attributes as the catalog query gives them: a JSON object (jsonb: keys sorted,
/// so equal attributes are equal text). Kept as text, a quarter of the memory of a map, and
/// read when a difference or an expectation needs them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Properties(Arc<str>);

impl Properties {
    pub fn attributes(&self) -> Attributes {
        parse_attributes(&self.0)
    }

    pub fn get(&self, attribute: &str) -> Option<String> {
        self.attributes().remove(attribute)
    }

    fn same(&self, other: &Properties) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

/// What changes are tracked on: `c<oid>` a relation and its parts, `p<oid>` a routine,
/// `t<oid>` a type, `n<oid>` a schema, `x` the small sets re-read every time.
pub type Owner = Arc<str>;

/// The catalog as dbgate last read it: one, kept up to date in place as the scripts run (a
/// snapshot per step, even with shared structure, cost more to copy than to read). Each update
/// returns an [`Undo`], the way back to what it replaced, and a [`Fingerprint`] stands for a
/// moment to compare with: whole earlier snapshots are rebuilt only to word a difference.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Keys are shared (`Arc`) with the owner lists and the undo lists that name them.
    pub objects: BTreeMap<Arc<ObjectId>, Properties>,
    owners: HashMap<Owner, Owned>,
    /// A part's own key (`i<oid>` an index, `k` a constraint, `g` a trigger, `o` a policy,
    /// `w` a rule, `a` a column default, `r` a role) -> its owner.
    parts: HashMap<Arc<str>, Owner>,
    /// Role `r<oid>` -> its name: a role renamed renames it in everything that names it.
    roles: BTreeMap<Arc<str>, String>,
    fingerprint: u128,
}

/// A snapshot's objects in 24 bytes: an order-independent hash of every object and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fingerprint {
    hash: u128,
    objects: usize,
}

/// What an owner has in a snapshot: its objects and the part keys that lead to it.
#[derive(Debug, Clone, Default)]
struct Owned {
    ids: Vec<Arc<ObjectId>>,
    parts: Vec<Arc<str>>,
}

/// The way back from a snapshot to an earlier one: each object that differs, with its earlier
/// attributes (`None`: it did not exist then). Far smaller than the earlier snapshot itself.
#[derive(Debug, Default)]
pub struct Undo(Vec<(Arc<ObjectId>, Option<Properties>)>);

impl Undo {
    /// One undo for several consecutive updates, given oldest first: the earliest value of
    /// each object wins.
    pub fn combined(undos: Vec<Undo>) -> Undo {
        let mut earliest: HashMap<Arc<ObjectId>, Option<Properties>> = HashMap::new();
        for Undo(changes) in undos.into_iter().rev() {
            earliest.extend(changes);
        }
        Undo(earliest.into_iter().collect())
    }
}

/// The role names of a snapshot, to tell whether an update renamed one.
pub struct RoleNames(BTreeMap<Arc<str>, String>);

impl RoleNames {
    /// Whether a role that is in both has another name in `now`.
    pub fn renamed_in(&self, now: &Snapshot) -> bool {
        self.0.iter().any(|(role, name)| now.roles.get(role).is_some_and(|n| n != name))
    }
}

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
    /// Everything: every part over the whole catalogs.
    full: std::sync::Mutex<Vec<Statement>>,
    full_texts: Vec<String>,
    /// Only the owners given (an oid array, `$1`), looked up by index, so that the cost follows
    /// the change, not the schema; a part with no owners to read does not run.
    scoped: std::sync::Mutex<Planned>,
    scoped_texts: Vec<String>,
    /// The formats every read prints in (`SET LOCAL`s).
    formats: String,
}

/// How the reads print values and names: column defaults and check constraints are printed in
/// the session's `TimeZone`, `DateStyle`, `bytea_output` and the rest
/// (`execute::printing_settings`), which a migration may change (`ALTER DATABASE ... SET
/// timezone`): each read sets those of the run's first session.
#[derive(Debug, Clone)]
pub struct Formats(String);

impl Formats {
    /// From `printing_settings`.
    pub fn new(settings: &[String]) -> Formats {
        Formats(settings.iter().map(|set| format!("; SET LOCAL {set}")).collect())
    }
}

/// The scoped parts, prepared when the snapshot had `objects` objects. A generic plan is made
/// from the catalogs' size at the time: one made on a near-empty database scans catalogs that
/// have since grown (6 ms instead of 2 per read at a thousand migrations), so they are prepared
/// again each time the schema has doubled.
struct Planned {
    statements: Vec<Statement>,
    objects: usize,
}

impl Part {
    /// Whether its scoped text reads only the owners given in `$1` (the extras are read whole).
    fn takes_owners(self) -> bool {
        self != Part::Extras
    }

    /// What a scoped read of `scope` runs it with: `Some(None)` without owners (the extras),
    /// `Some(Some(oids))` for the owners of its kind, `None` when it has none to read.
    fn wanted(self, scope: &Scope) -> Option<Option<Vec<u32>>> {
        let set = match self {
            Part::Relations => &scope.relations,
            Part::Routines => &scope.routines,
            Part::Types => &scope.types,
            Part::Schemas => &scope.schemas,
            Part::Extras => return Some(None),
        };
        (!set.is_empty()).then(|| Some(set.iter().copied().collect()))
    }
}

/// The planner settings of a read of a few owners (the scoped catalog read, the collection of
/// what the event triggers saw): their plans are cached, made once on the small catalogs of an
/// empty database, where scanning a whole catalog looks cheaper than its index; with these the
/// indexes are the only plan, whatever the statistics say (and no JIT, which the costs of the
/// plans left out would start).
const INDEXES_ONLY: [(&str, &str); 4] = [
    ("enable_seqscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    ("jit", "off"),
];

/// The parts' texts, the whole catalogs' (`scoped` false) or the owners' in `$1`.
fn part_texts(function_body: &str, scoped: bool) -> Vec<String> {
    // Looked up through the catalogs' oid indexes (`= ANY`): joined to `unnest`, the generic
    // plan could hash the wanted oids and scan the whole of pg_class once per schema.
    let sources: [(&str, &str, &str); 4] = [
        (
            "{{relations}}",
            "pg_class c",
            "(SELECT * FROM pg_class WHERE oid = ANY($1::oid[])) c",
        ),
        ("{{routines}}", "pg_proc p", "(SELECT * FROM pg_proc WHERE oid = ANY($1::oid[])) p"),
        ("{{types}}", "pg_type t", "(SELECT * FROM pg_type WHERE oid = ANY($1::oid[])) t"),
        ("{{schemas}}", "true", "n.oid = ANY($1::oid[])"),
    ];
    PARTS
        .iter()
        .map(|(_, text)| {
            let mut text = text.replace("{{function_body}}", function_body);
            for (placeholder, piece) in SHARED {
                text = text.replace(placeholder, piece.trim_end());
            }
            for (placeholder, whole, owners) in sources {
                text = text.replace(placeholder, if scoped { owners } else { whole });
            }
            text
        })
        .collect()
}

/// Prepares each text, a scoped one that takes owners with its parameter typed; all sent
/// together (pipelined), not a round trip each.
async fn prepare_all(client: &Client, texts: &[String], scoped: bool) -> Result<Vec<Statement>, tokio_postgres::Error> {
    let types: &[Type] = &[Type::OID_ARRAY];
    futures_util::future::try_join_all(
        PARTS
            .iter()
            .zip(texts)
            .map(|((part, _), text)| client.prepare_typed(text, if scoped && part.takes_owners() { types } else { &[] })),
    )
    .await
}

impl Catalog {
    /// Prepares the catalog query for the server's version.
    pub async fn prepare(client: &Client, server_version_num: u32, formats: &Formats) -> Result<Catalog, tokio_postgres::Error> {
        let function_body = if server_version_num >= 140000 {
            "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END"
        } else {
            "p.prosrc"
        };
        let full_texts = part_texts(function_body, false);
        let scoped_texts = part_texts(function_body, true);
        let full = prepare_all(client, &full_texts, false).await?;
        let statements = prepare_all(client, &scoped_texts, true).await?;
        Ok(Catalog {
            full: std::sync::Mutex::new(full),
            full_texts,
            scoped: std::sync::Mutex::new(Planned { statements, objects: 0 }),
            scoped_texts,
            formats: formats.0.clone(),
        })
    }

    /// Prepares every part again: a migration's DISCARD ALL or DEALLOCATE takes dbgate's
    /// prepared statements away with its own.
    async fn prepare_again(&self, client: &Client) -> Result<(), tokio_postgres::Error> {
        let full = prepare_all(client, &self.full_texts, false).await?;
        let scoped = prepare_all(client, &self.scoped_texts, true).await?;
        *self.full.lock().unwrap_or_else(|e| e.into_inner()) = full;
        let mut planned = self.scoped.lock().unwrap_or_else(|e| e.into_inner());
        planned.statements = scoped;
        Ok(())
    }

    /// Reads the whole catalog.
    pub async fn snapshot(&self, client: &Client) -> Result<Snapshot, tokio_postgres::Error> {
        let mut snapshot = Snapshot::default();
        self.update(client, &mut snapshot, &Scope::full()).await?;
        Ok(snapshot)
    }

    /// The scoped parts, prepared again if the schema has doubled since they were planned.
    async fn scoped(&self, client: &Client, objects: usize) -> Result<Vec<Statement>, tokio_postgres::Error> {
        let planned = {
            let planned = self.scoped.lock().unwrap_or_else(|e| e.into_inner());
            (planned.statements.clone(), planned.objects)
        };
        if objects < 2 * planned.1.max(100) {
            return Ok(planned.0);
        }
        let statements = prepare_all(client, &self.scoped_texts, true).await?;
        *self.scoped.lock().unwrap_or_else(|e| e.into_inner()) = Planned {
            statements: statements.clone(),
            objects,
        };
        Ok(statements)
    }

    /// The rows of the parts `scope` needs (all of them over the whole catalogs, for a full
    /// scope), in a read-only transaction of their own; or, `nested` in a transaction still
    /// open (the lint's observed run), in a savepoint rolled back after it, which takes the
    /// settings back with it.
    async fn read(
        &self,
        client: &Client,
        snapshot: &Snapshot,
        scope: &Scope,
        nested: bool,
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        // Each part with its parameter (none over the whole catalogs, none for the extras).
        let queries: Vec<(Statement, Option<Vec<u32>>)> = if scope.full {
            let full = self.full.lock().unwrap_or_else(|e| e.into_inner()).clone();
            full.into_iter().map(|statement| (statement, None)).collect()
        } else {
            let scoped = self.scoped(client, snapshot.objects.len()).await?;
            PARTS
                .iter()
                .zip(scoped)
                .filter_map(|((part, _), statement)| Some((statement, part.wanted(scope)?)))
                .collect()
        };
        // A fixed search_path makes every name the query prints schema-qualified, whatever the
        // migrations did to the session's search_path. A generic plan: planning this query
        // costs more than running it on a small scope. A scoped read's plan by the indexes
        // only: the generic plan is made once, on the small catalogs of the run's start, which
        // made scanning all of pg_class (and pg_constraint, pg_trigger, ...) look cheaper, and
        // each read then cost more as the schema grew. All sent together (pipelined): one
        // round trip.
        let mut settings = format!(
            "SET LOCAL search_path TO pg_catalog; SET LOCAL plan_cache_mode = force_generic_plan{}",
            self.formats
        );
        if !scope.full {
            for (setting, value) in INDEXES_ONLY {
                settings.push_str(&format!("; SET LOCAL {setting} = {value}"));
            }
        }
        let (begin, end) = if nested {
            (
                format!("SAVEPOINT dbgate_catalog; {settings}"),
                "ROLLBACK TO SAVEPOINT dbgate_catalog; RELEASE SAVEPOINT dbgate_catalog",
            )
        } else {
            (format!("BEGIN READ ONLY; {settings}"), "COMMIT")
        };
        let parts = futures_util::future::join_all(queries.iter().map(|(statement, wanted)| async move {
            match wanted {
                Some(oids) => client.query(statement, &[oids]).await,
                None => client.query(statement, &[]).await,
            }
        }));
        let (begun, parts, committed) = futures_util::join!(client.batch_execute(&begin), parts, client.batch_execute(end));
        begun?;
        let mut rows = Vec::new();
        for part in parts {
            rows.extend(part?);
        }
        committed?;
        Ok(rows)
    }

    /// Reads the owners in `scope` again (everything, for a full scope) into `snapshot`, and
    /// returns the way back to what it was.
    pub async fn update(&self, client: &Client, snapshot: &mut Snapshot, scope: &Scope) -> Result<Undo, tokio_postgres::Error> {
        self.update_from(client, snapshot, scope, false).await
    }

    /// As `update`, inside a transaction still open (the lint's observed run).
    pub async fn update_in_transaction(
        &self,
        client: &Client,
        snapshot: &mut Snapshot,
        scope: &Scope,
    ) -> Result<Undo, tokio_postgres::Error> {
        self.update_from(client, snapshot, scope, true).await
    }

    async fn update_from(
        &self,
        client: &Client,
        snapshot: &mut Snapshot,
        scope: &Scope,
        nested: bool,
    ) -> Result<Undo, tokio_postgres::Error> {
        let rows = match self.read(client, snapshot, scope, nested).await {
            // The statement is gone (the session's prepared statements were deallocated): once
            // prepared again, the same read.
            Err(error) if error.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME) => {
                self.prepare_again(client).await?;
                self.read(client, snapshot, scope, nested).await?
            }
            read => read?,
        };
        // What the owners read again had, to share copies of and to undo to. A full read
        // replaces everything.
        let mut earlier: HashMap<Arc<ObjectId>, Option<Properties>> = HashMap::new();
        if scope.full {
            let before = std::mem::take(snapshot);
            earlier.extend(before.objects.into_iter().map(|(id, attributes)| (id, Some(attributes))));
        } else {
            for owner in scope.owners() {
                snapshot.remove_owner(&owner, &mut earlier);
            }
        }
        for row in rows {
            let (Some(kind), Some(name), Some(owner)) = (
                row.get::<_, Option<&str>>(0).and_then(ObjectKind::from_word),
                row.get::<_, Option<&str>>(1),
                row.get::<_, Option<&str>>(3),
            ) else {
                continue;
            };
            let id = ObjectId {
                kind,
                name: name.to_string(),
                schema: row.get::<_, Option<&str>>(5).map(str::to_string),
            };
            let text = row.get::<_, Option<&str>>(2).unwrap_or("{}");
            // Keep the copies already held when nothing changed: memory stays flat.
            let (id, attributes) = match earlier.get_key_value(&id) {
                Some((key, Some(same))) if &*same.0 == text => (key.clone(), same.clone()),
                Some((key, _)) => (key.clone(), Properties(Arc::from(text))),
                None => (Arc::new(id), Properties(Arc::from(text))),
            };
            let part: Option<&str> = row.get(4);
            let replaced = snapshot.insert(id.clone(), attributes, owner, part);
            earlier.entry(id).or_insert(replaced);
        }
        let undo = earlier
            .into_iter()
            .filter(|(id, attributes)| match (snapshot.objects.get(id), attributes) {
                (Some(now), Some(then)) => !now.same(then),
                (now, then) => now.is_some() != then.is_some(),
            })
            .collect();
        Ok(Undo(undo))
    }
}

fn object_hash(id: &ObjectId, attributes: &Properties) -> u128 {
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
    /// Adds an object; returns what it replaced (the same object named twice: should not happen).
    fn insert(&mut self, id: Arc<ObjectId>, attributes: Properties, owner: &str, part: Option<&str>) -> Option<Properties> {
        // One copy of each owner's key, however many objects it has.
        let owner: Owner = match self.owners.get_key_value(owner) {
            Some((key, _)) => key.clone(),
            None => Arc::from(owner),
        };
        self.fingerprint = self.fingerprint.wrapping_add(object_hash(&id, &attributes));
        let replaced = self.objects.insert(id.clone(), attributes);
        if let Some(old) = &replaced {
            // Keep the fingerprint honest.
            self.fingerprint = self.fingerprint.wrapping_sub(object_hash(&id, old));
        }
        let owned = self.owners.entry(owner.clone()).or_default();
        if let Some(part) = part {
            let part: Arc<str> = Arc::from(part);
            if id.kind == ObjectKind::Role {
                self.roles.insert(part.clone(), id.name.clone());
            }
            owned.parts.push(part.clone());
            self.parts.insert(part, owner);
        }
        owned.ids.push(id);
        replaced
    }

    #[cfg(test)]
    pub(crate) fn insert_for_test(&mut self, id: ObjectId, attributes: Attributes) {
        let text = serde_json::to_string(&attributes).expect("a map of strings");
        self.insert(Arc::new(id), Properties(Arc::from(text)), "x", None);
    }

    /// Takes an owner's objects out, noting in `earlier` what each was (the first time).
    fn remove_owner(&mut self, owner: &str, earlier: &mut HashMap<Arc<ObjectId>, Option<Properties>>) {
        let Some(owned) = self.owners.remove(owner) else { return };
        for id in owned.ids {
            if let Some(attributes) = self.objects.remove(&id) {
                self.fingerprint = self.fingerprint.wrapping_sub(object_hash(&id, &attributes));
                earlier.entry(id).or_insert(Some(attributes));
            }
        }
        for part in owned.parts {
            self.roles.remove(&part);
            self.parts.remove(&part);
        }
    }

    /// Whether the snapshot holds an object of this kind and name (whatever schema it records).
    pub fn holds(&self, kind: ObjectKind, name: &str) -> bool {
        let start = ObjectId {
            kind,
            name: name.to_string(),
            schema: None,
        };
        self.objects
            .range(Arc::new(start)..)
            .next()
            .is_some_and(|(id, _)| id.kind == kind && id.name == name)
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            hash: self.fingerprint,
            objects: self.objects.len(),
        }
    }

    /// The objects one update changed, as they were before it and as they are now: enough to
    /// put that update into words (`summarize`) without copying the whole snapshot. The objects
    /// it read again unchanged are left out.
    pub fn changed_by(&self, undo: &Undo) -> (Snapshot, Snapshot) {
        let (mut before, mut after) = (Snapshot::default(), Snapshot::default());
        for (id, was) in &undo.0 {
            let now = self.objects.get(id);
            if now == was.as_ref() {
                continue;
            }
            if let Some(was) = was {
                if !before.objects.contains_key(id) {
                    before.fingerprint = before.fingerprint.wrapping_add(object_hash(id, was));
                    before.objects.insert(id.clone(), was.clone());
                }
            }
            if let Some(now) = now {
                if !after.objects.contains_key(id) {
                    after.fingerprint = after.fingerprint.wrapping_add(object_hash(id, now));
                    after.objects.insert(id.clone(), now.clone());
                }
            }
        }
        (before, after)
    }

    /// The snapshot as it was before the updates that `undos` came from, newest first; as far
    /// as comparing goes (objects only). Copies the snapshot: for wording a difference.
    pub fn earlier(&self, undos: &[&Undo]) -> Snapshot {
        let mut earlier = Snapshot {
            objects: self.objects.clone(),
            fingerprint: self.fingerprint,
            ..Snapshot::default()
        };
        for Undo(changes) in undos {
            for (id, attributes) in changes {
                if let Some(now) = earlier.objects.remove(id) {
                    earlier.fingerprint = earlier.fingerprint.wrapping_sub(object_hash(id, &now));
                }
                if let Some(attributes) = attributes {
                    earlier.fingerprint = earlier.fingerprint.wrapping_add(object_hash(id, attributes));
                    earlier.objects.insert(id.clone(), attributes.clone());
                }
            }
        }
        earlier
    }

    /// Whether `owner` (`c123`...) is in the snapshot.
    pub fn has_owner(&self, owner: &str) -> bool {
        self.owners.contains_key(owner)
    }

    /// The owner of a part (`i123`, `k45`...), if the snapshot has it.
    pub fn owner_of_part(&self, part: &str) -> Option<Owner> {
        self.parts.get(part).cloned()
    }

    /// The roles' names now, to tell after an update whether one was renamed.
    pub fn role_names(&self) -> RoleNames {
        RoleNames(self.roles.clone())
    }

    /// What differs from `expected` in `self`, object by object.
    pub fn differences_from(&self, expected: &Snapshot) -> Vec<Difference> {
        if self.fingerprint() == expected.fingerprint() {
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
