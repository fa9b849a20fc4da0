//! What is cluster-wide on a server: the databases, the roles that were there before the run,
//! their memberships and settings, `ALTER SYSTEM` settings, tablespaces and privileges on
//! parameters. A migration with enough rights changes these outside its own database, and
//! production would keep what it changed. Read once before the first migration, read again
//! after each script to name what it changed, and put back at the end on a shared server.

use std::collections::BTreeMap;

use tokio_postgres::Client;

const QUERY: &str = include_str!("server.sql");

/// `ALTER SYSTEM` settings: in `pg_file_settings`, which only a superuser or a member of
/// pg_read_all_settings may read; PostgreSQL lists what `postgresql.auto.conf` holds now.
const SYSTEM_SETTINGS: &str = "
UNION ALL
SELECT 'setting', 'system|' || f.name, 'ALTER SYSTEM', f.name, f.setting, ARRAY['system', f.name],
  'ALTER SYSTEM SET ' || f.name || ' TO ' ||
    CASE WHEN f.name IN ('search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries')
    THEN f.setting ELSE quote_literal(f.setting) END,
  'ALTER SYSTEM RESET ' || f.name
FROM pg_file_settings f WHERE f.sourcefile LIKE '%postgresql.auto.conf' AND f.setting IS NOT NULL";

/// What kind of item a row is, which decides how a change to it is said and put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    /// The object itself: a database, a role, a tablespace.
    Exists,
    /// Its name: the key stays with the object when it is renamed.
    Name,
    Attribute,
    Privilege,
    Membership,
    Setting,
}

impl ItemKind {
    fn parse(word: &str) -> Option<ItemKind> {
        Some(match word {
            "exists" => ItemKind::Exists,
            "name" => ItemKind::Name,
            "attribute" => ItemKind::Attribute,
            "privilege" => ItemKind::Privilege,
            "membership" => ItemKind::Membership,
            "setting" => ItemKind::Setting,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    kind: ItemKind,
    /// In words: "database analytics", "role app", "ALTER SYSTEM".
    object: String,
    attribute: String,
    value: String,
    /// The names a statement that changes it spells, lowercased.
    words: Vec<String>,
    /// Sets it back to this value (for a name, `%s` stands for the name it has now).
    restore: Option<String>,
    /// Removes it, when it was not there before.
    remove: Option<String>,
}

/// What is read, fixed by the first reading so that every later one compares with it.
#[derive(Debug, Clone)]
struct Scope {
    /// The roles there before the run: roles the migrations create go with the run.
    roles: Vec<u32>,
    /// dbgate's own databases, by name, and the prefix of the ones it makes during the run.
    own_databases: Vec<String>,
    own_prefix: String,
    /// Whether `ALTER SYSTEM` settings can be read.
    system_settings: bool,
}

/// The server's cluster-wide state at one moment.
#[derive(Debug, Clone)]
pub struct ServerState {
    scope: Scope,
    items: BTreeMap<String, Item>,
}

/// One thing a script changed outside its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChange {
    /// Which item, to say each change once.
    pub key: String,
    /// "ALTER SYSTEM: set work_mem = 64MB (was not set)".
    pub sentence: String,
    /// The names a statement that made it spells, lowercased: to find the statement.
    pub words: Vec<String>,
    /// Whether dbgate can set it back.
    pub restorable: bool,
    /// Whether the object itself is new.
    created: bool,
}

impl ServerChange {
    /// Whether it changed a database that was there before (not the one the migrations run
    /// in: a migration that names its production database by name names another one here).
    pub fn on_an_existing_database(&self) -> bool {
        self.key.starts_with("database:") && !self.created
    }
}

impl ServerState {
    /// Reads the server now, as the state later readings compare with. `own_databases` are
    /// dbgate's (the one it works in); the databases it makes during the run are left out too.
    pub async fn baseline(client: &Client, own_databases: Vec<String>) -> Result<ServerState, tokio_postgres::Error> {
        let row = client
            .query_one(
                "SELECT coalesce(array_agg(oid::bigint), '{}'), has_function_privilege('pg_show_all_file_settings()', 'EXECUTE')
                 FROM pg_roles WHERE rolname !~ '^pg_'",
                &[],
            )
            .await?;
        let roles: Vec<i64> = row.get(0);
        let scope = Scope {
            roles: roles.into_iter().map(|oid| oid as u32).collect(),
            own_databases,
            own_prefix: format!("dbgate_{}_{}", std::process::id(), super::run_id()),
            system_settings: row.get(1),
        };
        read(client, scope).await
    }

    /// Reads the server again, as the baseline was read.
    pub async fn read_again(&self, client: &Client) -> Result<ServerState, tokio_postgres::Error> {
        read(client, self.scope.clone()).await
    }

    /// What changed since `baseline`, each change once: an object created or dropped is one
    /// change, not one per attribute.
    pub fn changes_since(&self, baseline: &ServerState) -> Vec<ServerChange> {
        let whole = |key: &str, state: &ServerState, other: &ServerState| {
            let object = key.split('|').next().unwrap_or(key);
            state.items.get(object).is_some_and(|i| i.kind == ItemKind::Exists) && !other.items.contains_key(object)
        };
        let mut changes = Vec::new();
        for (key, now) in &self.items {
            match baseline.items.get(key) {
                Some(was) if was.value == now.value => {}
                Some(was) => changes.push(changed(key, was, now)),
                None if now.kind != ItemKind::Exists && whole(key, self, baseline) => {}
                None => changes.push(added(key, now)),
            }
        }
        for (key, was) in &baseline.items {
            if !self.items.contains_key(key) && (was.kind == ItemKind::Exists || !whole(key, baseline, self)) {
                changes.push(removed(key, was));
            }
        }
        changes
    }

    /// Sets the server back to `baseline` where it can: renames undone, attributes, settings,
    /// privileges and memberships set back, databases and tablespaces made since dropped.
    /// Returns what could not be put back, in words. A dropped database or role cannot come back.
    pub async fn put_back(baseline: &ServerState, client: &Client) -> Vec<String> {
        let now = match baseline.read_again(client).await {
            Ok(now) => now,
            Err(e) => {
                return vec![format!(
                    "could not read the server to put back what the migrations changed outside their database: {}",
                    crate::execute::describe(&e)
                )]
            }
        };
        let mut renames = Vec::new();
        let mut sets = Vec::new();
        let mut drops = Vec::new();
        let mut lost = Vec::new();
        for change in now.changes_since(baseline) {
            let (was, is) = (baseline.items.get(&change.key), now.items.get(&change.key));
            match (was, is) {
                (Some(was), Some(is)) if was.kind == ItemKind::Name => {
                    if let Some(template) = &was.restore {
                        renames.push((change.sentence, template.replacen("%s", &is.value, 1)));
                    }
                }
                (Some(was), _) => match &was.restore {
                    Some(sql) => sets.push((change.sentence, sql.clone())),
                    None => lost.push(change.sentence),
                },
                (None, Some(is)) => match (&is.remove, is.kind) {
                    (Some(sql), ItemKind::Exists) => drops.push((change.sentence, sql.clone())),
                    (Some(sql), _) => sets.push((change.sentence, sql.clone())),
                    (None, _) => lost.push(change.sentence),
                },
                (None, None) => {}
            }
        }
        let reload = sets.iter().any(|(_, sql)| sql.starts_with("ALTER SYSTEM"));
        let mut warnings: Vec<String> = lost
            .into_iter()
            .map(|sentence| format!("cannot put back what a migration changed on the server: {sentence}"))
            .collect();
        for (sentence, sql) in renames.into_iter().chain(sets).chain(drops) {
            if let Err(e) = client.batch_execute(&sql).await {
                warnings.push(format!(
                    "could not put back what a migration changed on the server ({sentence}): {}",
                    crate::execute::describe(&e)
                ));
            }
        }
        if reload {
            if let Err(e) = client.batch_execute("SELECT pg_reload_conf()").await {
                warnings.push(format!(
                    "could not reload the server's configuration after putting back its ALTER SYSTEM settings: {}",
                    crate::execute::describe(&e)
                ));
            }
        }
        warnings
    }
}

async fn read(client: &Client, scope: Scope) -> Result<ServerState, tokio_postgres::Error> {
    let query = if scope.system_settings {
        format!("{QUERY}{SYSTEM_SETTINGS}")
    } else {
        QUERY.to_string()
    };
    // As bigint: the query casts them to oid.
    let roles: Vec<i64> = scope.roles.iter().map(|&oid| i64::from(oid)).collect();
    let rows = client.query(&query, &[&roles, &scope.own_databases, &scope.own_prefix]).await?;
    let items = rows
        .iter()
        .filter_map(|row| {
            let kind = ItemKind::parse(row.get::<_, &str>(0))?;
            let words: Vec<String> = row.get::<_, Vec<String>>(5).into_iter().map(|w| w.to_lowercase()).collect();
            Some((
                row.get::<_, String>(1),
                Item {
                    kind,
                    object: row.get(2),
                    attribute: row.get(3),
                    value: row.get(4),
                    words,
                    restore: row.get(6),
                    remove: row.get(7),
                },
            ))
        })
        .collect();
    Ok(ServerState { scope, items })
}

fn change(key: &str, item: &Item, sentence: String, restorable: bool) -> ServerChange {
    ServerChange {
        key: key.to_string(),
        sentence,
        words: item.words.clone(),
        restorable,
        created: false,
    }
}

fn added(key: &str, is: &Item) -> ServerChange {
    let (object, attribute, value) = (&is.object, &is.attribute, with_space(&is.value));
    let sentence = match is.kind {
        ItemKind::Exists => format!("created {object}"),
        ItemKind::Privilege => format!("{object}: granted {attribute}{value}"),
        ItemKind::Membership => format!("{object}: made a member of {attribute}{value}"),
        ItemKind::Setting => format!("{object}: set {attribute} = {} (was not set)", is.value),
        ItemKind::Name | ItemKind::Attribute => format!("{object}: {attribute} {} (was not set)", is.value),
    };
    let mut change = change(key, is, sentence, is.remove.is_some());
    change.created = is.kind == ItemKind::Exists;
    change
}

fn removed(key: &str, was: &Item) -> ServerChange {
    let (object, attribute) = (&was.object, &was.attribute);
    let sentence = match was.kind {
        ItemKind::Exists => format!("dropped {object}"),
        ItemKind::Privilege => format!("{object}: revoked {attribute}"),
        ItemKind::Membership => format!("{object}: no longer a member of {attribute}"),
        ItemKind::Setting => format!("{object}: reset {attribute} (was {})", was.value),
        ItemKind::Name | ItemKind::Attribute => format!("{object}: {attribute} unset (was {})", was.value),
    };
    change(key, was, sentence, was.restore.is_some())
}

fn changed(key: &str, was: &Item, is: &Item) -> ServerChange {
    let (object, attribute) = (&was.object, &was.attribute);
    let sentence = match is.kind {
        ItemKind::Name => format!("{object}: renamed to {}", is.value),
        ItemKind::Setting => format!("{object}: set {attribute} = {} (was {})", is.value, was.value),
        ItemKind::Privilege => format!(
            "{object}: {attribute} {} (was {})",
            or_without(&is.value, "grant option"),
            or_without(&was.value, "grant option")
        ),
        ItemKind::Membership => format!(
            "{object}: member of {attribute} {} (was {})",
            or_without(&is.value, "admin option"),
            or_without(&was.value, "admin option")
        ),
        ItemKind::Exists | ItemKind::Attribute => format!("{object}: {attribute} {} (was {})", is.value, was.value),
    };
    let mut change = change(key, is, sentence, was.restore.is_some());
    // A statement that renamed it spells the old name.
    change.words.extend(was.words.iter().cloned());
    change
}

fn with_space(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" {value}")
    }
}

fn or_without(value: &str, option: &str) -> String {
    if value.is_empty() {
        format!("without {option}")
    } else {
        value.to_string()
    }
}
