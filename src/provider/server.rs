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
    THEN CASE WHEN f.setting IN ('', '\"\"') THEN '''''' ELSE f.setting END ELSE quote_literal(f.setting) END,
  'ALTER SYSTEM RESET ' || f.name, NULL
FROM pg_file_settings f WHERE f.sourcefile LIKE '%postgresql.auto.conf' AND f.setting IS NOT NULL";

/// Passwords, as a hash of what `pg_authid` holds (superusers only): a change is said, never
/// shown, and put back as the stored hash (PostgreSQL takes a SCRAM or MD5 hash as a password).
const PASSWORDS: &str = "
UNION ALL
SELECT 'attribute', 'role:' || a.oid || '|password', 'role ' || quote_ident(a.rolname), 'password',
  md5(coalesce(a.rolpassword, '')), ARRAY[a.rolname::text, 'password'],
  'ALTER ROLE ' || quote_ident(a.rolname) || ' PASSWORD ' || coalesce(quote_literal(a.rolpassword), 'NULL'), NULL, NULL
FROM pg_authid a WHERE a.oid = ANY ($1::bigint[]::oid[])";

/// A hash of the catalogs the query reads, as they are (no formatting, no joins): 0.2 ms where
/// the whole query takes 5, so that after a script that changed nothing cluster-wide (most) the
/// whole query is not run. `ALTER SYSTEM` settings: the file itself where the user may read it
/// (superusers), else what `pg_file_settings` lists.
const FINGERPRINT: &str = "
SELECT md5(concat_ws('|',
  (SELECT string_agg(d::text, ',' ORDER BY d.oid) FROM pg_database d),
  (SELECT string_agg(r::text, ',' ORDER BY r.oid) FROM pg_roles r),
  (SELECT string_agg(m::text, ',' ORDER BY m.roleid, m.member, m.grantor) FROM pg_auth_members m),
  (SELECT string_agg(s::text, ',' ORDER BY s.setdatabase, s.setrole) FROM pg_db_role_setting s),
  (SELECT string_agg(t::text, ',' ORDER BY t.oid) FROM pg_tablespace t),
  (SELECT string_agg(c::text, ',' ORDER BY c.classoid, c.objoid) FROM pg_shdescription c),
  (SELECT string_agg(p::text, ',' ORDER BY p.oid) FROM pg_parameter_acl p),
  (SELECT string_agg(slot_name::text, ',' ORDER BY slot_name) FROM pg_replication_slots)";

/// Between statements that may not run in one transaction, in one SQL column.
const NEXT: &str = "\n--dbgate-next\n";

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
    /// The names a statement that changes it spells, as they are.
    words: Vec<String>,
    /// Sets it back to this value (for a name, `%s` stands for the name it has now).
    restore: Option<String>,
    /// Removes it, when it was not there before.
    remove: Option<String>,
    /// Takes back only a grant or admin option given since.
    demote: Option<String>,
}

/// What is read, fixed by the first reading so that every later one compares with it.
#[derive(Debug, Clone)]
struct Scope {
    /// The roles there before the run: roles the migrations create go with the run.
    roles: Vec<u32>,
    /// dbgate's own databases, by name, and the prefix of the ones it makes during the run.
    own_databases: Vec<String>,
    own_prefix: String,
    /// The databases and tablespaces there before the run.
    databases: Vec<u32>,
    tablespaces: Vec<u32>,
    /// Whether `ALTER SYSTEM` settings, and passwords, can be read.
    system_settings: bool,
    passwords: bool,
    /// The baseline's session's printing settings, for every reader.
    printing: Vec<String>,
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
    /// The names a statement that made it spells, as they are: to find the statement.
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
                "SELECT (SELECT coalesce(array_agg(oid::bigint), '{}') FROM pg_roles WHERE rolname !~ '^pg_'),
                        (SELECT coalesce(array_agg(oid::bigint), '{}') FROM pg_database),
                        (SELECT coalesce(array_agg(oid::bigint), '{}') FROM pg_tablespace),
                        has_function_privilege('pg_show_all_file_settings()', 'EXECUTE'),
                        has_table_privilege('pg_authid', 'SELECT')",
                &[],
            )
            .await?;
        let oids = |column: usize| row.get::<_, Vec<i64>>(column).into_iter().map(|oid| oid as u32).collect();
        let scope = Scope {
            roles: oids(0),
            databases: oids(1),
            tablespaces: oids(2),
            own_databases,
            own_prefix: format!("dbgate_{}_{}", std::process::id(), super::run_id()),
            system_settings: row.get(3),
            passwords: row.get(4),
            printing: crate::execute::printing_settings(client).await?,
        };
        read(client, scope).await
    }

    /// Reads the server again, as the baseline was read.
    pub async fn read_again(&self, client: &Client) -> Result<ServerState, tokio_postgres::Error> {
        read(client, self.scope.clone()).await
    }

    /// A session that reads the server as the baseline was read, again and again: the query
    /// (a union of a dozen catalog reads, longer to plan than to run) prepared and planned once.
    /// It prints names and values as the baseline's session did, whatever a migration set on
    /// the role or database since (a session opened again after a rebuild takes those).
    pub async fn reader(&self, client: Client) -> Result<Reader, tokio_postgres::Error> {
        let printing: String = self.scope.printing.iter().map(|set| format!("; SET {set}")).collect();
        client
            .batch_execute(&format!("SET plan_cache_mode = force_generic_plan{printing}"))
            .await?;
        let statement = client.prepare(&query(&self.scope)).await?;
        let fingerprint = client.prepare(&fingerprint(&self.scope)).await?;
        Ok(Reader {
            client,
            statement,
            fingerprint,
            last: std::sync::Mutex::new(None),
        })
    }

    /// Reads the server again through `reader`; `None` when nothing it reads changed since the
    /// reader's last read.
    pub async fn read_if_changed(&self, reader: &Reader) -> Result<Option<ServerState>, tokio_postgres::Error> {
        let now: String = reader.client.query_one(&reader.fingerprint, &[]).await?.get(0);
        let last = reader.last.lock().unwrap_or_else(|e| e.into_inner()).replace(now.clone());
        if last.as_deref() == Some(now.as_str()) {
            return Ok(None);
        }
        let rows = reader.client.query(&reader.statement, &parameters(&self.scope).as_refs()).await?;
        Ok(Some(ServerState {
            scope: self.scope.clone(),
            items: items(&rows),
        }))
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
    ///
    /// On a shared server (`names`), a database, tablespace or replication slot made during the
    /// run is dropped only if the migrations name it: what someone else made meanwhile stays.
    pub async fn put_back(baseline: &ServerState, client: &Client, names: Option<&super::MigrationNames>) -> Vec<String> {
        let now = match baseline.read_again(client).await {
            Ok(now) => now,
            Err(e) => {
                return vec![format!(
                    "could not read the server to put back what the migrations changed outside their database: {}",
                    crate::execute::describe(&e)
                )]
            }
        };
        // SQL written from the server now names things as they are now: it runs before the
        // renames are undone; SQL written from before the run runs after.
        let mut renames = Vec::new();
        let mut now_named = Vec::new();
        let mut sets = Vec::new();
        // What the migrations made is dropped last: a database moved back out of a tablespace
        // they made, first.
        let mut drops = Vec::new();
        let mut lost = Vec::new();
        for change in now.changes_since(baseline) {
            let (was, is) = (baseline.items.get(&change.key), now.items.get(&change.key));
            match (was, is) {
                (Some(was), Some(is)) if was.kind == ItemKind::Name => {
                    if let Some(keyword) = &was.restore {
                        renames.push((change.sentence, keyword.clone(), is.value.clone(), was.value.clone()));
                    }
                }
                // A grant option or admin option given since: taken back alone.
                (Some(was), Some(is)) if was.value.is_empty() && is.demote.is_some() => {
                    now_named.push((change.sentence, is.demote.clone().unwrap_or_default()));
                }
                (Some(was), _) => match &was.restore {
                    Some(sql) => sets.push((change.sentence, sql.clone())),
                    None => lost.push(change.sentence),
                },
                (None, Some(is)) => match (&is.remove, is.kind) {
                    (Some(_), ItemKind::Exists) if names.is_some_and(|names| !is.words.first().is_some_and(|name| names.names(name))) => {
                        lost.push(format!(
                            "{} (no migration names it: made by dynamic SQL, or by someone else; left as it is)",
                            change.sentence
                        ));
                    }
                    (Some(sql), ItemKind::Exists) => drops.push((change.sentence, sql.clone())),
                    (Some(sql), _) => now_named.push((change.sentence, sql.clone())),
                    (None, _) => lost.push(change.sentence),
                },
                (None, None) => {}
            }
        }
        let reload = sets.iter().chain(&now_named).any(|(_, sql)| sql.starts_with("ALTER SYSTEM"));
        let mut warnings: Vec<String> = lost
            .into_iter()
            .map(|sentence| format!("cannot put back what a migration changed on the server: {sentence}"))
            .collect();
        for (sentence, sql) in now_named {
            run(client, &sentence, &sql, &mut warnings).await;
        }
        // Renames in two steps, through names of their own: two objects whose names were
        // swapped each get theirs back. A second step that fails (a new object took the name)
        // undoes the first: the object keeps the name the migration gave it, never a made-up one.
        let mut through = Vec::new();
        for (index, (sentence, keyword, now_name, old_name)) in renames.into_iter().enumerate() {
            let temporary = format!("\"dbgate_rename_{}_{index}\"", std::process::id());
            if run(
                client,
                &sentence,
                &format!("ALTER {keyword} {now_name} RENAME TO {temporary}"),
                &mut warnings,
            )
            .await
            {
                through.push((sentence, keyword, now_name, old_name, temporary));
            }
        }
        for (sentence, keyword, now_name, old_name, temporary) in through {
            if !run(
                client,
                &sentence,
                &format!("ALTER {keyword} {temporary} RENAME TO {old_name}"),
                &mut warnings,
            )
            .await
            {
                let _ = client
                    .batch_execute(&format!("ALTER {keyword} {temporary} RENAME TO {now_name}"))
                    .await;
            }
        }
        for (sentence, sql) in sets.into_iter().chain(drops) {
            run(client, &sentence, &sql, &mut warnings).await;
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

/// Runs one put-back's statements in turn; false, with a warning, at the first that fails.
async fn run(client: &Client, sentence: &str, sql: &str, warnings: &mut Vec<String>) -> bool {
    for statement in sql.split(NEXT) {
        if let Err(e) = client.batch_execute(statement).await {
            warnings.push(format!(
                "could not put back what a migration changed on the server ({sentence}): {}",
                crate::execute::describe(&e)
            ));
            return false;
        }
    }
    true
}

/// A session of dbgate's own with the server query and its fingerprint prepared.
pub struct Reader {
    client: Client,
    statement: tokio_postgres::Statement,
    fingerprint: tokio_postgres::Statement,
    /// The fingerprint of the last read.
    last: std::sync::Mutex<Option<String>>,
}

fn fingerprint(scope: &Scope) -> String {
    let mut query = FINGERPRINT.to_string();
    if scope.passwords {
        // A superuser: the passwords, and postgresql.auto.conf as it is (not parsed).
        query.push_str(",\n  (SELECT string_agg(coalesce(a.rolpassword, ''), ',' ORDER BY a.oid) FROM pg_authid a),");
        query.push_str("\n  pg_read_file('postgresql.auto.conf', 0, 10000000, true)");
    } else if scope.system_settings {
        query.push_str(",\n  (SELECT string_agg(f.name || '=' || f.setting, ',' ORDER BY f.seqno) FROM pg_file_settings f WHERE f.sourcefile LIKE '%auto.conf')");
    }
    query.push_str("))");
    query
}

impl Reader {
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn query(scope: &Scope) -> String {
    let mut query = QUERY.to_string();
    if scope.system_settings {
        query.push_str(SYSTEM_SETTINGS);
    }
    if scope.passwords {
        query.push_str(PASSWORDS);
    }
    query
}

/// The query's parameters: oids as bigint (the query casts them to oid).
struct Parameters {
    roles: Vec<i64>,
    own_databases: Vec<String>,
    own_prefix: String,
    databases: Vec<i64>,
    tablespaces: Vec<i64>,
}

impl Parameters {
    fn as_refs(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 5] {
        [
            &self.roles,
            &self.own_databases,
            &self.own_prefix,
            &self.databases,
            &self.tablespaces,
        ]
    }
}

fn parameters(scope: &Scope) -> Parameters {
    let oids = |list: &[u32]| list.iter().map(|&oid| i64::from(oid)).collect::<Vec<i64>>();
    Parameters {
        roles: oids(&scope.roles),
        own_databases: scope.own_databases.clone(),
        own_prefix: scope.own_prefix.clone(),
        databases: oids(&scope.databases),
        tablespaces: oids(&scope.tablespaces),
    }
}

async fn read(client: &Client, scope: Scope) -> Result<ServerState, tokio_postgres::Error> {
    let rows = client.query(&query(&scope), &parameters(&scope).as_refs()).await?;
    Ok(ServerState {
        items: items(&rows),
        scope,
    })
}

/// The rows as items. A row with a NULL where a value belongs (a catalog row of a kind not
/// foreseen) is left out, never a panic.
fn items(rows: &[tokio_postgres::Row]) -> BTreeMap<String, Item> {
    rows.iter()
        .filter_map(|row| {
            let text = |column: usize| row.try_get::<_, Option<String>>(column).ok().flatten();
            let kind = ItemKind::parse(&text(0)?)?;
            let words = row
                .try_get::<_, Option<Vec<Option<String>>>>(5)
                .ok()
                .flatten()
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            Some((
                text(1)?,
                Item {
                    kind,
                    object: text(2)?,
                    attribute: text(3)?,
                    value: text(4)?,
                    words,
                    restore: text(6),
                    remove: text(7),
                    demote: text(8),
                },
            ))
        })
        .collect()
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
    // Named as the migration now names it; a rename says the old name.
    let object = if is.kind == ItemKind::Name { &was.object } else { &is.object };
    let attribute = &is.attribute;
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
        ItemKind::Attribute if attribute == "password" => format!("{object}: password changed"),
        ItemKind::Exists | ItemKind::Attribute => format!("{object}: {attribute} {} (was {})", is.value, was.value),
    };
    let mut change = change(key, is, sentence, was.restore.is_some());
    // A statement that renamed it spells the old name too.
    if is.kind == ItemKind::Name {
        change.words.extend(was.words.iter().cloned());
    }
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
