//! What a script touched, as event triggers in the throwaway database record it: the owners of
//! every object a DDL command created or altered, and of the objects that depend on those (their
//! text may name what was renamed), the objects dropped, and the GRANTs (which name no object:
//! their catalog rows are found by the transaction that rewrote them).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio_postgres::Client;

use super::{Scope, Snapshot};
use crate::script::{GrantTargets, Script, StatementKind};

/// Installed once in the throwaway database, in a schema the snapshot leaves out. Needs a
/// superuser; without one, every snapshot reads the whole catalog.
const INSTALL: &str = r#"
CREATE SCHEMA dbgate_internal;
-- The triggers only write down what changed (they run on every DDL command: they must be
-- cheap); owners and dependents are worked out afterwards, in one query per script.
CREATE UNLOGGED TABLE dbgate_internal.touched (classid oid, objid oid, kind text, xid bigint);

-- SECURITY DEFINER: a migration that runs as another role (SET ROLE) still has its commands
-- written down; ENABLE ALWAYS: also under session_replication_role = replica.
CREATE FUNCTION dbgate_internal.on_ddl() RETURNS event_trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbgate_internal.touched
  SELECT classid, objid, upper(object_type), CASE WHEN coalesce(classid, 0) = 0 THEN txid_current() % 4294967296 END
  FROM pg_event_trigger_ddl_commands();
END
$$;

CREATE FUNCTION dbgate_internal.on_drop() RETURNS event_trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbgate_internal.touched SELECT classid, objid, 'DROP', NULL FROM pg_event_trigger_dropped_objects();
END
$$;

-- What the triggers wrote down, as owners, dropped objects and GRANTs; emptied as it is read.
-- A dropped object's catalog is printed as a name (`pg_class`), unquoted whatever a migration
-- set (`quote_all_identifiers`).
-- An object's owner: a relation for its indexes, constraints, triggers, policies, rules and
-- column defaults; a composite type for its relation. Written out rather than as a function
-- per object: a SQL function with subqueries is not inlined, and setting it up for each of a
-- script's hundred or so objects cost more than the rest of the query.
CREATE FUNCTION dbgate_internal.collect() RETURNS TABLE (touched_what text, touched_value text, touched_xid text)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET quote_all_identifiers = off {{indexes_only}} AS $$
BEGIN
  RETURN QUERY
  WITH t AS (DELETE FROM dbgate_internal.touched RETURNING classid, objid, kind, xid),
  touched AS (SELECT classid, objid FROM t WHERE kind <> 'DROP' AND coalesce(classid, 0) <> 0
  UNION SELECT d.classid, d.objid FROM t JOIN pg_depend d ON d.refclassid = t.classid AND d.refobjid = t.objid
  WHERE t.kind <> 'DROP' AND coalesce(t.classid, 0) <> 0)
  SELECT 'drop', classid::regclass::text || ':' || objid, NULL FROM t WHERE kind = 'DROP'
  UNION ALL SELECT 'grant', kind, xid::text FROM t WHERE coalesce(classid, 0) = 0
  UNION SELECT 'owner', CASE o.classid
  WHEN 'pg_class'::regclass THEN coalesce(
  (SELECT 'c' || indrelid FROM pg_index WHERE indexrelid = o.objid),
  (SELECT 't' || reltype FROM pg_class WHERE oid = o.objid AND relkind = 'c'),
  'c' || o.objid)
  WHEN 'pg_proc'::regclass THEN 'p' || o.objid
  WHEN 'pg_type'::regclass THEN 't' || o.objid
  WHEN 'pg_namespace'::regclass THEN 'n' || o.objid
  WHEN 'pg_constraint'::regclass THEN (SELECT CASE WHEN conrelid <> 0 THEN 'c' || conrelid ELSE 't' || contypid END FROM pg_constraint WHERE oid = o.objid)
  WHEN 'pg_trigger'::regclass THEN (SELECT 'c' || tgrelid FROM pg_trigger WHERE oid = o.objid)
  WHEN 'pg_policy'::regclass THEN (SELECT 'c' || polrelid FROM pg_policy WHERE oid = o.objid)
  WHEN 'pg_rewrite'::regclass THEN (SELECT 'c' || ev_class FROM pg_rewrite WHERE oid = o.objid)
  WHEN 'pg_attrdef'::regclass THEN (SELECT 'c' || adrelid FROM pg_attrdef WHERE oid = o.objid)
  END, NULL FROM touched o;
END
$$;

CREATE EVENT TRIGGER dbgate_ddl ON ddl_command_end EXECUTE FUNCTION dbgate_internal.on_ddl();
CREATE EVENT TRIGGER dbgate_drop ON sql_drop EXECUTE FUNCTION dbgate_internal.on_drop();
ALTER EVENT TRIGGER dbgate_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER dbgate_drop ENABLE ALWAYS;
"#;

/// What the triggers wrote down, as owners, dropped objects and GRANTs; emptied as it is read.
/// The query is a function of the tracker's (installed with the triggers), for the plan's sake:
/// a prepared statement's generic plan is made once, on the empty database the run starts
/// with, and kept; there a hash join over all of pg_depend looked cheaper than its index, and
/// a script's read then cost more as the schema grew (0.47 ms a script at a thousand small
/// tables, against 0.06 ms by the index). The function is made with the settings that leave
/// the indexes the only plan (`INDEXES_ONLY`).
const COLLECT: &str = "SELECT touched_what, touched_value, touched_xid FROM dbgate_internal.collect()";

/// `INSTALL` with the collection's planner settings.
fn install_sql() -> String {
    let settings: Vec<String> = super::INDEXES_ONLY
        .iter()
        .map(|(setting, value)| format!("SET {setting} = {value}"))
        .collect();
    INSTALL.replace("{{indexes_only}}", &settings.join(" "))
}

/// Whether the triggers are still there: a migration may have dropped them with everything it owns.
const INSTALLED: &str = "SELECT 1 FROM pg_event_trigger WHERE evtname = 'dbgate_ddl' AND evtenabled <> 'D'";

/// The grant targets, resolved as the migration's session resolves names, one row each (NULL
/// for one that does not resolve). A routine named without arguments (`"f"`; a signature always
/// ends in `)`) is read by `to_regproc`: before PostgreSQL 16, `to_regprocedure` raises an
/// error on a name without parentheses.
const RESOLVE: &str = "SELECT 'c' || to_regclass(t)::oid FROM unnest($1::text[]) t \
    UNION ALL SELECT 'p' || CASE WHEN right(t, 1) = ')' THEN to_regprocedure(t)::oid ELSE to_regproc(t)::oid END FROM unnest($2::text[]) t \
    UNION ALL SELECT 'n' || to_regnamespace(t)::oid FROM unnest($3::text[]) t \
    UNION ALL SELECT 't' || to_regtype(t)::oid FROM unnest($4::text[]) t";

/// Tracks what scripts touch, or, when it cannot, asks for full snapshots.
pub struct Tracker {
    /// The prepared queries, when the triggers are installed (prepared again when a migration's
    /// DISCARD ALL or DEALLOCATE ALL took them).
    queries: Option<std::sync::Mutex<Queries>>,
    /// Set when a migration took the triggers away (`DROP OWNED`, say): full snapshots from then on.
    lost: AtomicBool,
    /// How many times the triggers' table was read (and emptied).
    collected: AtomicU32,
}

#[derive(Clone)]
struct Queries {
    /// Whether the triggers are still there.
    installed: tokio_postgres::Statement,
    collect: tokio_postgres::Statement,
    resolve: tokio_postgres::Statement,
}

/// Emptying the triggers' table leaves dead rows that every later read scans again, which made
/// each read slower as the gate went on (2 ms to 8 ms over a few hundred scripts); a VACUUM this
/// often keeps it small.
const VACUUM_EVERY: u32 = 32;

impl Tracker {
    /// Reads the whole catalog every time.
    pub fn full_snapshots() -> Tracker {
        Tracker {
            queries: None,
            lost: AtomicBool::new(false),
            collected: AtomicU32::new(0),
        }
    }

    /// Installs the event triggers; without the rights to, falls back to full snapshots.
    pub async fn install(client: &Client) -> Tracker {
        let installed = async {
            client.batch_execute("BEGIN").await?;
            client.batch_execute(&install_sql()).await?;
            client.batch_execute("COMMIT").await
        }
        .await;
        if installed.is_err() {
            let _ = client.batch_execute("ROLLBACK").await;
            return Tracker::full_snapshots();
        }
        match Queries::prepare(client).await {
            Ok(queries) => Tracker {
                queries: Some(std::sync::Mutex::new(queries)),
                lost: AtomicBool::new(false),
                collected: AtomicU32::new(0),
            },
            Err(_) => Tracker::full_snapshots(),
        }
    }

    /// Takes up the triggers a copied database already holds (the template had them); without
    /// them, full snapshots.
    pub async fn attach(client: &Client) -> Tracker {
        let installed = client.query_opt(INSTALLED, &[]).await.ok().flatten().is_some();
        match Queries::prepare(client).await {
            Ok(queries) if installed => Tracker {
                queries: Some(std::sync::Mutex::new(queries)),
                lost: AtomicBool::new(false),
                collected: AtomicU32::new(0),
            },
            _ => Tracker::full_snapshots(),
        }
    }

    /// The queries as last prepared.
    fn queries(&self) -> Option<Queries> {
        let queries = self.queries.as_ref()?;
        Some(queries.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Prepares the queries again: a migration's DISCARD ALL or DEALLOCATE ALL took them.
    async fn prepare_again(&self, client: &Client) -> Result<Queries, tokio_postgres::Error> {
        let queries = Queries::prepare(client).await?;
        if let Some(slot) = &self.queries {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = queries.clone();
        }
        Ok(queries)
    }

    /// Full snapshots from now on (the incremental path failed; the reason is the caller's).
    pub fn give_up(&self) {
        self.lost.store(true, Ordering::Relaxed);
    }

    /// What to read again after `script` ran, relative to the snapshot taken before it.
    pub async fn scope(&self, client: &Client, before: &Snapshot, script: Option<&Script>) -> Result<Scope, tokio_postgres::Error> {
        self.scope_of(client, before, script, true).await
    }

    /// As `scope`, between two statements of a transaction still open (the lint's observed
    /// run): no VACUUM of the triggers' table, which cannot run in one.
    pub async fn scope_in_transaction(&self, client: &Client, before: &Snapshot) -> Result<Scope, tokio_postgres::Error> {
        self.scope_of(client, before, None, false).await
    }

    async fn scope_of(
        &self,
        client: &Client,
        before: &Snapshot,
        script: Option<&Script>,
        vacuum: bool,
    ) -> Result<Scope, tokio_postgres::Error> {
        let Some(mut queries) = self.queries().filter(|_| !self.lost.load(Ordering::Relaxed)) else {
            return Ok(Scope::full());
        };
        // Triggers still there? A migration may have dropped them with everything it owns.
        // Both sent together (pipelined): one round trip.
        let (mut installed, mut collected) =
            futures_util::join!(client.query_opt(&queries.installed, &[]), client.query(&queries.collect, &[]));
        if statement_lost(&installed) || statement_lost(&collected) {
            queries = self.prepare_again(client).await?;
            (installed, collected) = futures_util::join!(client.query_opt(&queries.installed, &[]), client.query(&queries.collect, &[]));
        }
        let rows = match (installed?.is_some(), collected) {
            (true, Ok(rows)) => rows,
            _ => {
                self.lost.store(true, Ordering::Relaxed);
                return Ok(Scope::full());
            }
        };
        if self.collected.fetch_add(1, Ordering::Relaxed) % VACUUM_EVERY == VACUUM_EVERY - 1 && vacuum {
            // Not worth failing the gate over: the next read is only slower.
            let _ = client.batch_execute("VACUUM dbgate_internal.touched").await;
        }
        // A statement the grammar cannot read may have done anything the event triggers do not
        // see (a GRANT, say): read the whole catalog once.
        if script.is_some_and(Script::has_unparsed) {
            return Ok(Scope::full());
        }
        let mut scope = Scope::default();
        let mut grant_xid: Option<u64> = None;
        let mut granted: Vec<String> = Vec::new();
        for row in rows {
            let (Some(what), Some(value)) = (row.get::<_, Option<&str>>(0), row.get::<_, Option<&str>>(1)) else {
                continue;
            };
            match what {
                // The owner of something a command created or altered, or of a dependent.
                "owner" => {
                    scope.add(value);
                }
                // "pg_class:123": what was dropped is gone from the catalog; the snapshot knows it.
                "drop" => {
                    if let Some(owner) = dropped_owner(value, before) {
                        scope.add(&owner);
                    }
                }
                // A GRANT on that kind of object (no object named), in transaction xid or later.
                _ => {
                    granted.push(value.to_string());
                    if let Some(xid) = row.get::<_, Option<&str>>(2).and_then(|x| x.parse::<u64>().ok()) {
                        grant_xid = Some(grant_xid.map_or(xid, |x| x.min(xid)));
                    }
                }
            }
        }
        // The objects GRANT/REVOKE statements name, resolved as the migration's session resolves
        // them; a GRANT that cannot be read so (ALL TABLES IN SCHEMA, one inside a DO block)
        // makes dbgate look for the catalog rows it rewrote.
        granted.retain(|kind| !DEFAULT_PRIVILEGE_KINDS.contains(&kind.as_str()));
        if !granted.is_empty() {
            if let Some(targets) = script.and_then(|s| grant_targets(s, granted.len())) {
                let resolved = client
                    .query(
                        &queries.resolve,
                        &[&targets.relations, &targets.routines, &targets.schemas, &targets.types],
                    )
                    .await;
                match resolved {
                    // Every name found. One that is not (dropped later in the script; a
                    // procedure's signature written with its OUT arguments, which GRANT takes
                    // and to_regprocedure does not) sends dbgate to the rewritten catalog rows.
                    Ok(rows) => {
                        let owners: Option<Vec<&str>> = rows.iter().map(|row| row.get::<_, Option<&str>>(0)).collect();
                        if let Some(owners) = owners {
                            for owner in owners {
                                scope.add(owner);
                            }
                            granted.clear();
                        }
                    }
                    // An argument type that no longer exists: PostgreSQL 15 raises rather than
                    // answer NULL.
                    Err(error) if !client.is_closed() && error.as_db_error().is_some() => {}
                    Err(error) => return Err(error),
                }
            }
        }
        if let (Some(xid), false) = (grant_xid, granted.is_empty()) {
            let mut catalogs = Vec::new();
            for kind in &granted {
                match kind.as_str() {
                    "TABLE" | "SEQUENCE" | "COLUMN" => catalogs.extend([
                        "SELECT 'c' || oid FROM pg_class WHERE xmin::text::bigint >= $1",
                        "SELECT 'c' || attrelid FROM pg_attribute WHERE xmin::text::bigint >= $1",
                    ]),
                    "FUNCTION" | "PROCEDURE" | "ROUTINE" => catalogs.push("SELECT 'p' || oid FROM pg_proc WHERE xmin::text::bigint >= $1"),
                    "SCHEMA" => catalogs.push("SELECT 'n' || oid FROM pg_namespace WHERE xmin::text::bigint >= $1"),
                    "TYPE" | "DOMAIN" => catalogs.push("SELECT 't' || oid FROM pg_type WHERE xmin::text::bigint >= $1"),
                    // Default privileges and the rest are re-read every time, or not tracked.
                    _ => {}
                }
            }
            catalogs.sort();
            catalogs.dedup();
            if !catalogs.is_empty() {
                let query = catalogs.join(" UNION ");
                for row in client.query(query.as_str(), &[&(xid as i64)]).await? {
                    scope.add(row.get::<_, &str>(0));
                }
            }
        }
        Ok(scope)
    }
}

impl Queries {
    async fn prepare(client: &Client) -> Result<Queries, tokio_postgres::Error> {
        Ok(Queries {
            installed: client.prepare(INSTALLED).await?,
            collect: client.prepare(COLLECT).await?,
            resolve: client.prepare(RESOLVE).await?,
        })
    }
}

/// Whether a query failed because its prepared statement is gone (SQLSTATE 26000).
fn statement_lost<T>(result: &Result<T, tokio_postgres::Error>) -> bool {
    matches!(result, Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME))
}

/// Event trigger object types of ALTER DEFAULT PRIVILEGES: default privileges are re-read
/// every time.
const DEFAULT_PRIVILEGE_KINDS: [&str; 6] = ["TABLES", "SEQUENCES", "FUNCTIONS", "ROUTINES", "TYPES", "SCHEMAS"];

/// The objects the script's GRANT/REVOKE ... ON ... statements name, as the parser reads them,
/// when every one of the `expected` grants the event triggers saw can be read that way: not one
/// on ALL TABLES IN SCHEMA, nor one run inside a DO block or a function, nor a name without a
/// schema in a script that may change its `search_path` (the name is resolved after the script,
/// and meant what it meant at the GRANT).
fn grant_targets(script: &Script, expected: usize) -> Option<GrantTargets> {
    let statements = script.statements().ok()?;
    let search_path_may_change = statements.iter().any(|s| s.may_change_search_path);
    let mut targets = GrantTargets::default();
    let mut found = 0;
    for statement in statements {
        if let StatementKind::Grant(named) = &statement.kind {
            let named = named.as_ref()?;
            if named.unqualified && search_path_may_change {
                return None;
            }
            found += 1;
            targets.relations.extend(named.relations.iter().cloned());
            targets.routines.extend(named.routines.iter().cloned());
            targets.schemas.extend(named.schemas.iter().cloned());
            targets.types.extend(named.types.iter().cloned());
        }
    }
    (found >= expected).then_some(targets)
}

/// The owner a dropped object was tracked under, from the snapshot taken before it went.
fn dropped_owner(dropped: &str, before: &Snapshot) -> Option<String> {
    let (catalog, oid) = dropped.rsplit_once(':')?;
    let owner = |key: String| before.has_owner(&key).then_some(key);
    let part = |key: String| before.owner_of_part(&key).map(|o| o.to_string());
    match catalog {
        "pg_class" => owner(format!("c{oid}")).or_else(|| part(format!("i{oid}"))),
        "pg_proc" => owner(format!("p{oid}")),
        "pg_type" => owner(format!("t{oid}")),
        "pg_namespace" => owner(format!("n{oid}")),
        "pg_constraint" => part(format!("k{oid}")),
        "pg_trigger" => part(format!("g{oid}")),
        "pg_policy" => part(format!("o{oid}")),
        "pg_rewrite" => part(format!("w{oid}")),
        "pg_attrdef" => part(format!("a{oid}")),
        // What the snapshot does not track: its disappearance changes nothing it shows.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(sql: &str) -> Script {
        Script::new("m.sql".into(), sql.into(), 0..sql.len())
    }

    #[test]
    fn grant_statements_name_their_objects() {
        let targets = grant_targets(&script("GRANT SELECT, INSERT ON bench.t1, \"Odd, Name\" TO app;\nREVOKE EXECUTE ON FUNCTION f(int, text), g() FROM PUBLIC;\nGRANT USAGE ON SCHEMA app TO x;\nGRANT admin TO bob;"), 3).unwrap();
        assert_eq!(targets.relations, vec!["\"bench\".\"t1\"", "\"Odd, Name\""]);
        assert_eq!(targets.routines, vec!["\"f\"(\"pg_catalog\".\"int4\", \"text\")", "\"g\"()"]);
        assert_eq!(targets.schemas, vec!["\"app\""]);
        // ALL TABLES IN SCHEMA, or fewer statements than grants seen (one in a DO block): scan.
        assert!(grant_targets(&script("GRANT SELECT ON ALL TABLES IN SCHEMA app TO x;"), 1).is_none());
        assert!(grant_targets(&script("DO $$ BEGIN GRANT SELECT ON t TO x; END $$;"), 1).is_none());
        // A name without a schema, in a script that may change its search_path: scan.
        assert!(grant_targets(&script("SET LOCAL search_path = app; GRANT SELECT ON t TO x;"), 1).is_none());
        assert!(grant_targets(
            &script("GRANT SELECT ON t TO x; SELECT set_config('search_path', 'app', false);"),
            1
        )
        .is_none());
        assert!(grant_targets(&script("SET search_path = app; GRANT SELECT ON app.t TO x;"), 1).is_some());
        assert!(grant_targets(&script("GRANT SELECT ON t TO x;"), 1).is_some());
    }
}
