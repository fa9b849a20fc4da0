//! Watching a migration run, statement by statement: after each one, the locks its transaction
//! holds on relations that existed before the migration (`pg_locks` of its own backend), the
//! tables and indexes it rewrote (`pg_class.relfilenode` changed), the tables it scanned whole
//! (`pg_stat_xact_user_tables.seq_scan` grew), the `lock_timeout` in force, and what it did to
//! the schema (the catalog difference the checks compute). What the rules read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pg_query::NodeEnum;
use tokio_postgres::Client;

use crate::catalog::{Catalog, SchemaChange, Snapshot, Tracker};
use crate::execute::run_statements;
use crate::script::{Script, Statement, StatementKind};

/// A relation that existed before the migration.
#[derive(Debug, Clone)]
pub struct Relation {
    /// As the catalog names it: `public.users`.
    pub name: String,
    /// Its schema and name as they are (unquoted), to match a statement's names.
    pub schema: String,
    pub relname: String,
    pub kind: RelationKind,
    /// For an index: its table.
    pub table: Option<u32>,
    /// For a partition: its partitioned table.
    pub parent: Option<u32>,
    /// A partitioned table (its rows are in its partitions).
    pub partitioned: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    Index,
    MaterializedView,
}

impl RelationKind {
    pub fn word(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::Index => "index",
            RelationKind::MaterializedView => "materialized view",
        }
    }
}

/// The statement that failed in the observed run.
#[derive(Debug, Clone)]
pub struct Failed {
    pub statement: usize,
    pub message: String,
    pub sqlstate: Option<String>,
}

/// A migration as the rules see it.
pub struct Migration<'a> {
    pub script: &'a Script,
    pub statements: &'a [Statement],
    /// Each statement's parse tree (none when the grammar did not read it).
    pub nodes: Vec<Option<NodeEnum>>,
    /// The relations that existed before the migration, by oid.
    pub existing: BTreeMap<u32, Relation>,
    /// The schema before the migration.
    pub before: &'a Snapshot,
    /// Objects an earlier migration of the same pull request made: production has never had
    /// them, so nothing running uses them and their tables are empty.
    pub branch_made: &'a std::collections::BTreeSet<crate::object::ObjectId>,
    /// Whether all its statements ran in one transaction (dbgate's, rolled back).
    pub in_transaction: bool,
    /// Whether its tables held generated rows while it ran.
    pub with_rows: bool,
    /// The tables the generator put rows in.
    pub filled: Vec<String>,
    /// The tables the generator could not fill, with why.
    pub left_empty: Vec<(String, String)>,
    /// The statement that failed in the observed run, if one did.
    pub failed: Option<Failed>,
    /// It failed again without the rows: the rows are not why.
    pub failed_without_rows: bool,
    /// The replay ran it without a failure (a failure here is then the rows' doing).
    pub replay_passed: bool,
    /// `[migrations] lock_timeout`: production's migrations run with one.
    pub lock_timeout_configured: bool,
    /// What the security advisors say this migration made true.
    pub advisories: Vec<super::advisors::Advisory>,
}

impl Migration<'_> {
    pub fn node(&self, statement: usize) -> Option<&NodeEnum> {
        self.nodes.get(statement)?.as_ref()
    }

    /// A table (or partitioned table) that existed before the migration.
    pub fn existing_table(&self, oid: u32) -> Option<&Relation> {
        self.existing.get(&oid).filter(|r| r.kind == RelationKind::Table)
    }

    /// The existing relation of `kind` a statement names: of those with its name (and schema,
    /// when written), the one the statement locked, else the only one.
    pub fn existing_named(&self, seen: &Seen, range: &pg_query::protobuf::RangeVar, kind: RelationKind) -> Option<(u32, &Relation)> {
        let matching: Vec<(u32, &Relation)> = self
            .existing
            .iter()
            .filter(|(_, r)| r.kind == kind && r.relname == range.relname && (range.schemaname.is_empty() || r.schema == range.schemaname))
            .map(|(oid, r)| (*oid, r))
            .collect();
        let locked = matching.iter().find(|(oid, _)| seen.locks.iter().any(|(locked, _)| locked == oid));
        match (locked, matching.as_slice()) {
            (Some(found), _) => Some(*found),
            (None, [only]) => Some(*only),
            _ => None,
        }
    }

    /// The relation and the partitioned tables above it, nearest first.
    pub fn and_ancestors(&self, oid: u32) -> Vec<u32> {
        let mut chain = vec![oid];
        while let Some(parent) = chain.last().and_then(|o| self.existing.get(o)).and_then(|r| r.parent) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
        }
        chain
    }

    /// Whether a change to a part of a partition only follows the same change to its
    /// partitioned table in the same statement (a column dropped from all partitions at once).
    pub fn follows_parent(&self, change: &crate::catalog::SchemaChange, changes: &[crate::catalog::SchemaChange]) -> bool {
        let Some((table, part)) = change.object.name.rsplit_once('.') else {
            return false;
        };
        let Some(parent) = self
            .existing
            .values()
            .find(|r| r.name == table)
            .and_then(|r| r.parent)
            .and_then(|p| self.existing.get(&p))
        else {
            return false;
        };
        let parents = format!("{}.{part}", parent.name);
        changes
            .iter()
            .any(|c| c.kind == change.kind && c.object.kind == change.object.kind && c.object.name == parents)
    }

    /// The location of a statement in its file.
    pub fn location(&self, statement: usize) -> crate::failure::Location {
        self.script.location(self.statements[statement].range.start)
    }

    /// The statement's text, trimmed to its first line for a message.
    pub fn first_line(&self, statement: usize) -> String {
        let text = &self.script.source[self.statements[statement].range.clone()];
        let line = text.lines().next().unwrap_or_default().trim();
        if line.chars().count() > 80 {
            format!("{}...", line.chars().take(77).collect::<String>())
        } else {
            line.to_string()
        }
    }

    /// Whether the object existed before the migration.
    pub fn existed(&self, object: &crate::object::ObjectId) -> bool {
        self.before.objects.contains_key(object) && !self.branch_made.contains(object)
    }

    /// Whether the object existed before the migration, under the name it had then: an earlier
    /// statement may have renamed it, or its table (`RENAME TO staging; DROP COLUMN c`).
    pub fn existed_at(&self, object: &crate::object::ObjectId, seen: &[Seen], statement: usize) -> bool {
        let mut name = object.name.clone();
        for s in seen.iter().rev().filter(|s| s.statement < statement) {
            for change in s.changes().iter().filter(|c| c.kind == crate::catalog::SchemaChangeKind::Renames) {
                let Some(from) = &change.renamed_from else { continue };
                if change.object.name == name {
                    name = from.name.clone();
                } else if let Some(rest) = name.strip_prefix(&format!("{}.", change.object.name)) {
                    name = format!("{}.{rest}", from.name);
                }
            }
        }
        let then = crate::object::ObjectId { name, ..object.clone() };
        self.existed(&then)
    }
}

/// What one statement was seen to do.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub statement: usize,
    /// Statements with the same number ran in one transaction.
    pub transaction: usize,
    /// Whether its locks could be read (a statement that runs outside any transaction
    /// releases them before dbgate can look).
    pub locks_seen: bool,
    /// Locks taken by this statement on relations that existed before the migration: (oid, mode).
    pub locks: Vec<(u32, String)>,
    /// Existing relations it rewrote.
    pub rewritten: Vec<u32>,
    /// Existing relations it locked that are gone after it: dropped, or rebuilt under a new
    /// oid (an index an ALTER COLUMN ... TYPE builds again).
    pub gone: Vec<u32>,
    /// Existing tables it read whole.
    pub scanned: Vec<u32>,
    /// The session's lock_timeout when it ran ("0": none).
    pub lock_timeout: String,
    /// What it did to the schema; `None` when that could not be read.
    pub changes: Option<Vec<SchemaChange>>,
    /// How long it ran (dbgate's reads around it left out).
    pub took: std::time::Duration,
    /// The rows it inserted, updated, deleted, copied or selected into a table, by its command
    /// tag; `None` for none.
    pub rows: Option<u64>,
}

impl Seen {
    /// The existing relations it took ACCESS EXCLUSIVE on.
    pub fn access_exclusive(&self) -> impl Iterator<Item = u32> + '_ {
        self.locks
            .iter()
            .filter(|(_, mode)| mode == "AccessExclusiveLock")
            .map(|(oid, _)| *oid)
    }

    pub fn changes(&self) -> &[SchemaChange] {
        self.changes.as_deref().unwrap_or_default()
    }
}

/// Of `existing`, the relations named `names` (in any schema), with their indexes and
/// partitions at any depth; every one when `names` is `None`.
pub fn within_reach(existing: &BTreeMap<u32, Relation>, names: Option<&[String]>) -> Vec<u32> {
    let Some(names) = names else {
        return existing.keys().copied().collect();
    };
    let mut wanted: BTreeSet<u32> = existing
        .iter()
        .filter(|(_, r)| names.contains(&r.relname))
        .flat_map(|(oid, r)| [Some(*oid), r.table].into_iter().flatten())
        .collect();
    loop {
        let more: Vec<u32> = existing
            .iter()
            .filter(|(oid, r)| !wanted.contains(oid) && r.parent.or(r.table).is_some_and(|up| wanted.contains(&up)))
            .map(|(oid, _)| *oid)
            .collect();
        if more.is_empty() {
            break;
        }
        wanted.extend(more);
    }
    wanted.into_iter().collect()
}

/// The relations in the users' schemas, by oid.
pub async fn existing(client: &Client) -> Result<BTreeMap<u32, Relation>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT c.oid::bigint, c.relkind::text, format('%I.%I', n.nspname, c.relname), i.indrelid::bigint,
                    n.nspname::text, c.relname::text,
                    (SELECT h.inhparent::bigint FROM pg_inherits h WHERE h.inhrelid = c.oid AND c.relispartition)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_index i ON i.indexrelid = c.oid
             WHERE c.relkind IN ('r', 'p', 'i', 'I', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbgate_internal')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let kind = match row.get::<_, &str>(1) {
                "r" | "p" => RelationKind::Table,
                "m" => RelationKind::MaterializedView,
                _ => RelationKind::Index,
            };
            let relation = Relation {
                name: row.get(2),
                kind,
                table: row.get::<_, Option<i64>>(3).map(|oid| oid as u32),
                schema: row.get(4),
                relname: row.get(5),
                parent: row.get::<_, Option<i64>>(6).map(|oid| oid as u32),
                partitioned: row.get::<_, &str>(1) == "p",
            };
            (row.get::<_, i64>(0) as u32, relation)
        })
        .collect())
}

/// One look at the session's locks, and at the files and scans of what it has locked.
#[derive(Debug, Default, Clone)]
struct Look {
    locks: BTreeSet<(u32, String)>,
    files: BTreeMap<u32, String>,
    scans: BTreeMap<u32, i64>,
    /// Locked relations that are gone but whose file another relation took over (an index an
    /// ALTER TABLE made again over the same storage): nothing was built.
    kept: BTreeSet<u32>,
    lock_timeout: String,
}

impl Look {
    /// Takes in what `other` saw of files and scans, keeping the rest; a relation it saw gone
    /// is forgotten.
    fn learn(&mut self, other: &Look) {
        self.files.extend(other.files.iter().map(|(oid, file)| (*oid, file.clone())));
        self.scans.extend(other.scans.iter().map(|(oid, n)| (*oid, *n)));
        for (oid, _) in &other.locks {
            if !other.files.contains_key(oid) {
                self.files.remove(oid);
            }
        }
    }
}

/// The locks of the session's own backend on existing relations and, for those alone, their
/// files and whole-table scans in this transaction: a relation no lock is held on was neither
/// rewritten nor scanned. (`pg_stat_get_xact_numscans` is what `pg_stat_xact_user_tables`
/// shows, without computing it for every table.)
const LOOK: &str = "WITH mine AS (
  SELECT l.relation, l.mode FROM pg_locks l
  WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation' AND l.relation >= 16384
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT 'lock', relation::bigint, mode FROM mine
UNION ALL SELECT 'file', c.oid::bigint, c.relfilenode::text FROM pg_class c WHERE c.oid IN (SELECT relation FROM mine)
UNION ALL SELECT 'scan', r.oid::bigint, pg_stat_get_xact_numscans(r.oid)::text FROM (SELECT DISTINCT relation AS oid FROM mine) r
UNION ALL SELECT 'setting', 0, current_setting('lock_timeout')";

/// The files and scans of every existing relation: what the looks compare with, taken once.
const EVERYTHING: &str = "SELECT 'file', c.oid::bigint, c.relfilenode::text FROM pg_class c WHERE c.oid = ANY($1)
UNION ALL SELECT 'scan', c.oid::bigint, pg_stat_get_xact_numscans(c.oid)::text FROM pg_class c WHERE c.oid = ANY($1)
UNION ALL SELECT 'setting', 0, current_setting('lock_timeout')";

/// Of relations gone, those whose file (as last known) another relation now has.
const KEPT: &str = "SELECT k.o::bigint FROM unnest($1::oid[], $2::oid[]) AS k(o, f)
  WHERE k.f <> 0 AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relfilenode = k.f)";

/// One look, of the existing relations `oids` (sorted) alone; the baseline (`EVERYTHING`) of
/// `baseline` alone. The looks after a statement send nothing that grows with the schema: the
/// session's locks say which relations to look at.
async fn look(client: &Client, query: &str, oids: &[u32], baseline: &[u32]) -> Result<Look, tokio_postgres::Error> {
    let mut look = Look::default();
    let rows = if query == LOOK {
        client.query(query, &[]).await?
    } else {
        client.query(query, &[&baseline]).await?
    };
    for row in rows {
        let (what, oid, value) = (row.get::<_, &str>(0), row.get::<_, i64>(1) as u32, row.get::<_, String>(2));
        if what != "setting" && oids.binary_search(&oid).is_err() {
            continue;
        }
        match what {
            "lock" => {
                look.locks.insert((oid, value));
            }
            "file" => {
                look.files.insert(oid, value);
            }
            "scan" => {
                look.scans.insert(oid, value.parse().unwrap_or(0));
            }
            _ => look.lock_timeout = value,
        }
    }
    Ok(look)
}

/// The relations a look found locked and gone whose file lives on in another (an index an
/// ALTER TABLE made again over the same storage): none was built.
async fn kept(client: &Client, after: &mut Look, known: &Look) -> Result<(), tokio_postgres::Error> {
    let gone: Vec<u32> = after
        .locks
        .iter()
        .map(|(oid, _)| *oid)
        .filter(|oid| !after.files.contains_key(oid) && known.files.contains_key(oid))
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    let files: Vec<u32> = gone
        .iter()
        .map(|oid| known.files.get(oid).and_then(|f| f.parse().ok()).unwrap_or(0))
        .collect();
    for row in client.query(KEPT, &[&gone, &files]).await? {
        after.kept.insert(row.get::<_, i64>(0) as u32);
    }
    Ok(())
}

/// What one statement did, between the look before it (its locks and lock_timeout), what was
/// known of files and scans, and the look after it.
fn seen_between(statement: usize, transaction: usize, before: &Look, known: &Look, after: &Look, locks_seen: bool) -> Seen {
    Seen {
        statement,
        transaction,
        locks_seen,
        locks: after.locks.difference(&before.locks).cloned().collect(),
        rewritten: after
            .files
            .iter()
            .filter(|(oid, file)| known.files.get(oid).is_some_and(|was| was != *file))
            .map(|(oid, _)| *oid)
            .collect(),
        scanned: after
            .scans
            .iter()
            .filter(|(oid, n)| **n > known.scans.get(oid).copied().unwrap_or(0))
            .map(|(oid, _)| *oid)
            .collect(),
        gone: after
            .locks
            .iter()
            .map(|(oid, _)| *oid)
            .filter(|oid| !after.files.contains_key(oid) && known.files.contains_key(oid) && !after.kept.contains(oid))
            .collect::<BTreeSet<u32>>()
            .into_iter()
            .collect(),
        lock_timeout: before.lock_timeout.clone(),
        changes: None,
        took: std::time::Duration::ZERO,
        rows: None,
    }
}

/// The rows a statement's command tag counts (`UPDATE 20`), when any.
fn affected(answer: &[tokio_postgres::SimpleQueryMessage]) -> Option<u64> {
    answer.iter().rev().find_map(|message| match message {
        tokio_postgres::SimpleQueryMessage::CommandComplete(rows) if *rows > 0 => Some(*rows),
        _ => None,
    })
}

/// The lint's own database: its session and what reads its catalog.
pub struct Watcher<'a> {
    pub client: &'a Client,
    /// The relations whose files and scans are read before the first statement: those the
    /// statements can reach (`reach`); a lock on another existing relation still counts.
    pub baseline: &'a [u32],
    pub catalog: &'a Catalog,
    pub tracker: &'a Tracker,
    pub timeout: Duration,
}

/// How an observed run ended.
pub struct Observed {
    pub seen: Vec<Seen>,
    pub failed: Option<Failed>,
    /// Observed again without rows, it failed too.
    pub failed_without_rows: bool,
    /// The connection is gone.
    pub lost: bool,
}

impl Observed {
    fn new() -> Observed {
        Observed {
            seen: Vec::new(),
            failed: None,
            failed_without_rows: false,
            lost: false,
        }
    }
}

/// Whether what a statement did to the schema is worth a catalog read right after it: it may
/// drop, rename or change what exists (or run code that may), or, for the advisors' places,
/// make anything. A statement that only makes things is read with the next one that is read.
pub fn read_after(node: Option<&NodeEnum>, advisors: bool, made: &BTreeSet<String>, linked: bool) -> bool {
    match node {
        // An ALTER of a table this migration made (CREATE TABLE) changes nothing that existed,
        // unless the migration attached an existing table to it (a partition, an inheritance
        // child). A table renamed to a new name is not one it made.
        Some(NodeEnum::AlterTableStmt(stmt)) if !advisors && !linked => {
            stmt.relation.as_ref().is_none_or(|range| !made.contains(&range.relname))
        }
        Some(
            NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::MergeStmt(_)
            | NodeEnum::CopyStmt(_)
            | NodeEnum::VariableSetStmt(_)
            | NodeEnum::VariableShowStmt(_)
            | NodeEnum::TransactionStmt(_)
            | NodeEnum::LockStmt(_)
            | NodeEnum::VacuumStmt(_)
            | NodeEnum::ClusterStmt(_)
            | NodeEnum::ReindexStmt(_)
            | NodeEnum::CommentStmt(_)
            | NodeEnum::NotifyStmt(_),
        ) => false,
        Some(
            NodeEnum::CreateStmt(_)
            | NodeEnum::IndexStmt(_)
            | NodeEnum::ViewStmt(_)
            | NodeEnum::CreateFunctionStmt(_)
            | NodeEnum::CreatePolicyStmt(_)
            | NodeEnum::CreateTrigStmt(_)
            | NodeEnum::CreateSeqStmt(_)
            | NodeEnum::CreateEnumStmt(_)
            | NodeEnum::CompositeTypeStmt(_)
            | NodeEnum::CreateDomainStmt(_)
            | NodeEnum::CreateSchemaStmt(_)
            | NodeEnum::CreateExtensionStmt(_)
            | NodeEnum::GrantStmt(_),
        ) => advisors,
        _ => true,
    }
}

impl Watcher<'_> {
    /// Runs the statements inside the transaction the caller opened, looking after each one;
    /// `snapshot` follows the schema, read after the statements `read` marks. Stops at the
    /// first statement that fails (the transaction is aborted); the caller rolls back.
    pub async fn in_transaction(
        &self,
        script: &Script,
        statements: &[Statement],
        oids: &[u32],
        read: &[bool],
        snapshot: &mut Snapshot,
    ) -> Observed {
        let mut observed = Observed::new();
        let Ok(mut known) = self.guarded(EVERYTHING, oids, None).await else {
            return observed;
        };
        let mut before = Look {
            lock_timeout: known.lock_timeout.clone(),
            ..Look::default()
        };
        for (index, statement) in statements.iter().enumerate() {
            let (mut rows, started) = (None, std::time::Instant::now());
            let ran = run_statements(self.client, script, std::slice::from_ref(statement), self.timeout, |_, answer| {
                rows = affected(&answer)
            });
            if let Err(error) = ran.await {
                observed.lost = matches!(error, crate::execute::ScriptError::ConnectionLost(_));
                observed.failed = Some(failed(index, error.failure()));
                return observed;
            }
            let took = started.elapsed();
            let mut changes = None;
            let wanted = read.get(index).copied().unwrap_or(true).then_some((&mut *snapshot, &mut changes));
            match self.guarded(LOOK, oids, wanted).await {
                Ok(mut after) => {
                    if kept(self.client, &mut after, &known).await.is_err() {
                        observed.lost = self.client.is_closed();
                    }
                    let mut seen = seen_between(index, 0, &before, &known, &after, true);
                    seen.changes = changes;
                    seen.took = took;
                    seen.rows = rows;
                    observed.seen.push(seen);
                    known.learn(&after);
                    before = after;
                }
                Err(()) => observed.seen.push(Seen {
                    statement: index,
                    lock_timeout: before.lock_timeout.clone(),
                    took,
                    rows,
                    ..Seen::default()
                }),
            }
        }
        observed
    }

    /// Runs the statements of a migration that runs outside a transaction, in place: each in a
    /// transaction of dbgate's, where the statement may run in one, so that its locks can be
    /// read before they are released; the file's own BEGIN ... COMMIT as written.
    pub async fn in_place(&self, script: &Script, statements: &[Statement], oids: &[u32], snapshot: &mut Snapshot) -> Observed {
        let mut observed = Observed::new();
        let Ok(mut known) = self.plain_look(EVERYTHING, oids).await else {
            return observed;
        };
        let mut before = Look {
            lock_timeout: known.lock_timeout.clone(),
            ..Look::default()
        };
        let mut in_block = false;
        let mut transaction = 0;
        for (index, statement) in statements.iter().enumerate() {
            let text = script.source[statement.range.clone()].trim_start().to_ascii_uppercase();
            let can_wrap = !matches!(statement.kind, StatementKind::NoTransaction(_)) && !statement.kind.controls_transaction();
            let wrap = !in_block && can_wrap;
            if statement.kind == StatementKind::TransactionBoundary {
                let starts = ["BEGIN", "START"].iter().any(|w| text.starts_with(w));
                in_block = starts;
                transaction += 1;
            }
            if wrap {
                transaction += 1;
                if self.client.batch_execute("BEGIN").await.is_err() {
                    observed.lost = true;
                    return observed;
                }
                // A transaction of its own counts its scans from nothing.
                known.scans.clear();
            }
            let (mut rows, started) = (None, std::time::Instant::now());
            let ran = run_statements(self.client, script, std::slice::from_ref(statement), self.timeout, |_, answer| {
                rows = affected(&answer)
            });
            if let Err(error) = ran.await {
                observed.lost = matches!(error, crate::execute::ScriptError::ConnectionLost(_));
                observed.failed = Some(failed(index, error.failure()));
                if wrap || in_block {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                }
                return observed;
            }
            let took = started.elapsed();
            let locks_seen = wrap || in_block;
            let mut seen = if in_block {
                // Inside the file's own transaction: read in a savepoint, never committing it.
                let mut changes = None;
                let mut after = self
                    .guarded(LOOK, oids, Some((&mut *snapshot, &mut changes)))
                    .await
                    .unwrap_or_else(|()| before.clone());
                let _ = kept(self.client, &mut after, &known).await;
                let mut seen = seen_between(index, transaction, &before, &known, &after, locks_seen);
                seen.changes = changes;
                known.learn(&after);
                before = after;
                seen
            } else {
                // A statement that holds no lock dbgate can see (it ran outside any
                // transaction): every file is looked at, for a VACUUM FULL, say.
                let query = if wrap { LOOK } else { EVERYTHING };
                let mut after = self.plain_look(query, oids).await.unwrap_or_else(|()| before.clone());
                let _ = kept(self.client, &mut after, &known).await;
                let mut seen = seen_between(index, transaction, &before, &known, &after, locks_seen);
                if !wrap {
                    seen.scanned.clear();
                }
                if wrap && self.client.batch_execute("COMMIT").await.is_err() {
                    observed.lost = true;
                    return observed;
                }
                seen.changes = self.changes(snapshot).await.ok();
                known.learn(&after);
                // Outside a transaction the locks are gone after each statement.
                before = Look {
                    locks: BTreeSet::new(),
                    ..after
                };
                seen
            };
            seen.statement = index;
            seen.took = took;
            seen.rows = rows;
            observed.seen.push(seen);
        }
        observed
    }

    /// A look, and the schema's changes, inside a savepoint: a read a migration's role may not
    /// make (`SET ROLE` to one without rights) must not abort the migration's transaction.
    async fn guarded(
        &self,
        query: &str,
        oids: &[u32],
        changes: Option<(&mut Snapshot, &mut Option<Vec<SchemaChange>>)>,
    ) -> Result<Look, ()> {
        let Some(changes) = changes else {
            // The look alone: the three sent together, one round trip.
            let (begun, looked, released) = futures_util::join!(
                self.client.batch_execute("SAVEPOINT dbgate_lint"),
                look(self.client, query, oids, self.baseline),
                self.client.batch_execute("RELEASE SAVEPOINT dbgate_lint")
            );
            begun.map_err(|_| ())?;
            if looked.is_err() || released.is_err() {
                let _ = self
                    .client
                    .batch_execute("ROLLBACK TO SAVEPOINT dbgate_lint; RELEASE SAVEPOINT dbgate_lint")
                    .await;
            }
            return looked.map_err(|_| ());
        };
        let changes = Some(changes);
        self.client.batch_execute("SAVEPOINT dbgate_lint").await.map_err(|_| ())?;
        let looked = look(self.client, query, oids, self.baseline).await;
        let mut read_ok = true;
        if let (Ok(_), Some((snapshot, slot))) = (&looked, changes) {
            match self.changes_in_transaction(snapshot).await {
                Ok(found) => *slot = Some(found),
                Err(_) => read_ok = false,
            }
        }
        let end = if looked.is_ok() && read_ok {
            "RELEASE SAVEPOINT dbgate_lint"
        } else {
            "ROLLBACK TO SAVEPOINT dbgate_lint; RELEASE SAVEPOINT dbgate_lint"
        };
        self.client.batch_execute(end).await.map_err(|_| ())?;
        looked.map_err(|_| ())
    }

    async fn plain_look(&self, query: &str, oids: &[u32]) -> Result<Look, ()> {
        look(self.client, query, oids, self.baseline).await.map_err(|_| ())
    }

    async fn changes_in_transaction(&self, snapshot: &mut Snapshot) -> Result<Vec<SchemaChange>, tokio_postgres::Error> {
        let scope = self.tracker.scope_in_transaction(self.client, snapshot).await?;
        let undo = self.catalog.update_in_transaction(self.client, snapshot, &scope).await?;
        let (before, after) = snapshot.changed_by(&undo);
        Ok(crate::catalog::summarize(&before, &after))
    }

    /// What the last statement did to the schema, outside a transaction.
    pub async fn changes(&self, snapshot: &mut Snapshot) -> Result<Vec<SchemaChange>, tokio_postgres::Error> {
        let scope = self.tracker.scope(self.client, snapshot, None).await?;
        let undo = self.catalog.update(self.client, snapshot, &scope).await?;
        let (before, after) = snapshot.changed_by(&undo);
        Ok(crate::catalog::summarize(&before, &after))
    }
}

fn failed(statement: usize, failure: &crate::failure::Failure) -> Failed {
    Failed {
        statement,
        message: failure.message.clone(),
        sqlstate: failure.sqlstate.clone(),
    }
}

/// The tables a statement names where their rows change what it does (`schema.table` as
/// written, unquoted parts), from its parse tree: the ones the row generator fills. An ALTER
/// TABLE (and the tables its new foreign keys point to), an index build, a statement that reads
/// or moves rows. Not a CREATE TABLE's foreign key targets, a DROP, a view, a policy, a grant:
/// rows change nothing there.
pub fn named_tables(node: &NodeEnum) -> Vec<(Option<String>, String)> {
    let rows_matter = matches!(
        node,
        NodeEnum::AlterTableStmt(_)
            | NodeEnum::IndexStmt(_)
            | NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::MergeStmt(_)
            | NodeEnum::SelectStmt(_)
            | NodeEnum::CreateTableAsStmt(_)
            | NodeEnum::CopyStmt(_)
            | NodeEnum::ClusterStmt(_)
            | NodeEnum::VacuumStmt(_)
    );
    if !rows_matter {
        return Vec::new();
    }
    let mut names = Vec::new();
    for (child, _, _, _) in node.nodes() {
        if let pg_query::NodeRef::RangeVar(range) = child {
            let schema = (!range.schemaname.is_empty()).then(|| range.schemaname.clone());
            let name = (schema, range.relname.clone());
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The tables a migration makes (CREATE TABLE, CREATE TABLE AS), by name.
pub fn tables_made(nodes: &[Option<NodeEnum>]) -> BTreeSet<String> {
    nodes
        .iter()
        .flatten()
        .filter_map(|node| match node {
            NodeEnum::CreateStmt(s) => s.relation.as_ref().map(|r| r.relname.clone()),
            NodeEnum::CreateTableAsStmt(s) => s.into.as_ref()?.rel.as_ref().map(|r| r.relname.clone()),
            _ => None,
        })
        .collect()
}

/// Whether a migration attaches tables to others (ATTACH PARTITION, INHERIT): an ALTER of a
/// table it made then reaches the tables it attached.
pub fn links_tables(nodes: &[Option<NodeEnum>]) -> bool {
    use pg_query::protobuf::AlterTableType;
    nodes.iter().flatten().any(|node| {
        super::tree::alter_table(node).is_some_and(|(_, cmds)| {
            cmds.iter()
                .any(|c| super::tree::is(c, AlterTableType::AtAttachPartition) || super::tree::is(c, AlterTableType::AtAddInherit))
        })
    })
}

/// The names of the relations a migration's statements can lock, rewrite or scan: those they
/// name (their indexes and partitions come with them); `None` (all) when a statement may reach
/// further: code, a statement the grammar did not read, a change to a type that columns use, a
/// DROP ... CASCADE.
pub fn reach(nodes: &[Option<NodeEnum>]) -> Option<Vec<String>> {
    let anywhere = nodes.iter().any(|node| match node {
        None => true,
        Some(NodeEnum::DoStmt(_) | NodeEnum::CallStmt(_) | NodeEnum::SelectStmt(_)) => true,
        Some(NodeEnum::AlterEnumStmt(_) | NodeEnum::AlterDomainStmt(_) | NodeEnum::CompositeTypeStmt(_)) => true,
        Some(NodeEnum::AlterTableStmt(stmt)) => stmt.objtype == pg_query::protobuf::ObjectType::ObjectType as i32,
        Some(NodeEnum::DropStmt(stmt)) => {
            stmt.behavior == pg_query::protobuf::DropBehavior::DropCascade as i32
                || stmt.remove_type != pg_query::protobuf::ObjectType::ObjectTable as i32
                    && stmt.remove_type != pg_query::protobuf::ObjectType::ObjectIndex as i32
                    && stmt.remove_type != pg_query::protobuf::ObjectType::ObjectView as i32
        }
        _ => false,
    });
    if anywhere {
        return None;
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for node in nodes.iter().flatten() {
        match relations_named(node) {
            Some(found) => names.extend(found),
            None => return None,
        }
    }
    Some(names.into_iter().collect())
}

/// The relations a statement names, read from its parse tree: libpg_query walks the trees of
/// some kinds of statement for us (`nodes`), the others are read here; `None` for a kind whose
/// relations dbgate does not read (it may lock anything).
fn relations_named(node: &NodeEnum) -> Option<Vec<String>> {
    let range = |r: &Option<pg_query::protobuf::RangeVar>| r.iter().map(|r| r.relname.clone()).collect::<Vec<_>>();
    let strings = |list: &[pg_query::Node]| {
        let mut out = Vec::new();
        for item in list {
            match item.node.as_ref() {
                Some(NodeEnum::List(inner)) => out.extend(inner.items.iter().filter_map(|i| match i.node.as_ref() {
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })),
                Some(NodeEnum::String(s)) => out.push(s.sval.clone()),
                _ => {}
            }
        }
        out
    };
    Some(match node {
        NodeEnum::AlterTableStmt(_)
        | NodeEnum::CopyStmt(_)
        | NodeEnum::CreateStmt(_)
        | NodeEnum::CreateTableAsStmt(_)
        | NodeEnum::CreateTrigStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::GrantStmt(_)
        | NodeEnum::IndexStmt(_)
        | NodeEnum::InsertStmt(_)
        | NodeEnum::LockStmt(_)
        | NodeEnum::RefreshMatViewStmt(_)
        | NodeEnum::RuleStmt(_)
        | NodeEnum::TruncateStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::VacuumStmt(_)
        | NodeEnum::ViewStmt(_) => node
            .nodes()
            .into_iter()
            .filter_map(|(child, _, _, _)| match child {
                pg_query::NodeRef::RangeVar(r) => Some(r.relname.clone()),
                _ => None,
            })
            .collect(),
        NodeEnum::ReindexStmt(s) => {
            let mut names = range(&s.relation);
            names.push(s.name.clone());
            names
        }
        NodeEnum::RenameStmt(s) => range(&s.relation),
        NodeEnum::ClusterStmt(s) => range(&s.relation),
        NodeEnum::CreatePolicyStmt(s) => range(&s.table),
        NodeEnum::AlterPolicyStmt(s) => range(&s.table),
        NodeEnum::DropStmt(s) => strings(&s.objects),
        NodeEnum::CommentStmt(_)
        | NodeEnum::CreateFunctionStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::CreateDomainStmt(_)
        | NodeEnum::CreateSchemaStmt(_)
        | NodeEnum::CreateExtensionStmt(_)
        | NodeEnum::CreateSeqStmt(_)
        | NodeEnum::CreateRoleStmt(_)
        | NodeEnum::AlterRoleStmt(_)
        | NodeEnum::GrantRoleStmt(_)
        | NodeEnum::AlterDefaultPrivilegesStmt(_)
        | NodeEnum::VariableSetStmt(_)
        | NodeEnum::VariableShowStmt(_)
        | NodeEnum::TransactionStmt(_)
        | NodeEnum::NotifyStmt(_)
        | NodeEnum::DefineStmt(_) => Vec::new(),
        _ => return None,
    })
}

/// The parse tree of each statement (none for one the grammar does not read, or too long to).
pub fn parse(script: &Script, statements: &[Statement]) -> Vec<Option<NodeEnum>> {
    statements
        .iter()
        .map(|statement| {
            let text = &script.source[statement.range.clone()];
            if text.len() > 1 << 20 {
                return None;
            }
            let parsed = pg_query::parse(text, pg_query::ParserOptions::DEFAULT).ok()?;
            parsed.protobuf.stmts.first()?.stmt.as_ref()?.node.clone()
        })
        .collect()
}
