//! The settings a new session takes from its login role and its database (`ALTER ROLE ... SET`,
//! `ALTER DATABASE ... SET`, `ALTER ROLE ALL SET`). PostgreSQL applies them when a session
//! starts, and `RESET ALL` goes back to the values the session started with: a migration's
//! `ALTER ROLE CURRENT_USER SET app.mode = 'strict'` reaches the tool's next invocation (a new
//! connection) but not a session that is only reset. dbgate's new invocations are resets, so
//! the settings that changed since its session started are set again after the reset. They are
//! read again only when the server watch saw the server change (its fingerprint covers
//! `pg_db_role_setting`), or every time without one.

use std::collections::BTreeMap;

use tokio_postgres::Client;

/// Each setting of the login role and the current database, with its precedence: PostgreSQL
/// takes a setting for the database and role together over one for the role, over one for the
/// database, over one for every role (`ALTER ROLE ALL`).
const ROWS: &str = "SELECT (d.setdatabase <> 0)::int + 2 * (d.setrole <> 0)::int AS rank, u.setting, u.n \
    FROM pg_catalog.pg_db_role_setting d CROSS JOIN LATERAL pg_catalog.unnest(d.setconfig) WITH ORDINALITY AS u(setting, n) \
    WHERE d.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) \
    AND d.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user))";

/// The settings a session started with, and what differs from them as last read.
pub struct RoleSettings {
    values: BTreeMap<String, String>,
    /// The differences last read, with the server watch's count of changes then.
    known: std::sync::Mutex<Option<Known>>,
}

/// A setting by name, with its value.
pub(crate) type Setting = (String, String);

struct Known {
    changes: u64,
    differences: Vec<Setting>,
}

impl RoleSettings {
    /// Reads them on a session that has just started (before it set or ran anything), which
    /// is what its `RESET ALL` goes back to. `None` where the catalog cannot be read.
    pub(super) async fn at_start(client: &Client) -> Option<RoleSettings> {
        Some(RoleSettings {
            values: read(client).await?,
            known: Default::default(),
        })
    }

    /// Each setting a new session would take now with another value than this one started
    /// with (none where they cannot be read). `changes`: the server watch's count of changes,
    /// the same as at the last read when nothing changed since (`None`: no watch to tell).
    pub(crate) async fn differences(&self, client: &Client, changes: Option<u64>) -> Vec<Setting> {
        {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(known) = known.as_ref().filter(|known| Some(known.changes) == changes) {
                return known.differences.clone();
            }
        }
        // Unread (the session refused the read): nothing set, nothing kept.
        let Some(now) = read(client).await else {
            return Vec::new();
        };
        let differences: Vec<Setting> = now
            .into_iter()
            .filter(|(name, value)| self.values.get(name) != Some(value) && !NOT_TAKEN.contains(&name.as_str()))
            .collect();
        // Kept only where a count can tell it is still true: a read without one (no watch, a
        // session of its own) would take the place of one that can be used again.
        if let Some(changes) = changes {
            *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(Known {
                changes,
                differences: differences.clone(),
            });
        }
        differences
    }

    /// Forgets the differences last read: the session ran scripts the server watch did not
    /// read after (ups replayed to reach a state), so its count cannot tell.
    pub(super) fn forget(&self) {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// After a reset: sets each of `differences`; returns those that could not be, each with why.
/// One the session may not set is left out: a setting PostgreSQL takes only at a session's
/// start (`log_connections`, say), one that needs a superuser when the login is not one, and
/// one the client set when it connected. A
/// value a new session would refuse (a text search configuration that does not exist) fails
/// alone, as a new session ignores it with a warning. `in_transaction` (the data check's):
/// each in a savepoint, so that a failure leaves the transaction usable. A setting removed since
/// the session started (`ALTER ROLE ... RESET`) keeps its start value: a session cannot unset it.
pub(crate) async fn set(client: &Client, differences: &[Setting], in_transaction: bool) -> Vec<(Setting, String)> {
    let mut unset = Vec::new();
    for (name, value) in differences {
        if in_transaction && client.batch_execute("SAVEPOINT dbgate_setting").await.is_err() {
            unset.push(((name.clone(), value.clone()), "the session did not take a savepoint".to_string()));
            continue;
        }
        let set = client.execute(SET, &[name, value]).await;
        if in_transaction {
            let end = if set.is_ok() {
                "RELEASE SAVEPOINT dbgate_setting"
            } else {
                "ROLLBACK TO SAVEPOINT dbgate_setting; RELEASE SAVEPOINT dbgate_setting"
            };
            let _ = client.batch_execute(end).await;
        }
        if let Err(error) = set {
            unset.push(((name.clone(), value.clone()), crate::execute::describe(&error)));
        }
    }
    unset
}

/// Not taken from the role or database: `quote_all_identifiers` changes only how names print
/// (it is pg_dump's option), no migration's behaviour, and dbgate's own queries on the session
/// read names printed bare.
const NOT_TAKEN: [&str; 1] = ["quote_all_identifiers"];

/// The setting, where the session may set it now (a custom one, `app.mode`, always), and
/// where the client did not set it when it connected (`application_name`, a URL's `options`):
/// a new connection keeps the client's value over the role's.
const SET: &str = "SELECT pg_catalog.set_config($1, $2, false) \
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_settings p WHERE pg_catalog.lower(p.name) = $1 \
    AND (p.source = 'client' OR NOT (p.context = 'user' OR (p.context = 'superuser' \
    AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)))))";

/// The settings a new session would take now, by name.
async fn read(client: &Client) -> Option<BTreeMap<String, String>> {
    let rows = client.query(ROWS, &[]).await.ok()?;
    Some(resolved(&ranked(&rows)))
}

/// The rows by precedence, then in their order in their list: (rank, position, setting).
fn ranked(rows: &[tokio_postgres::Row]) -> Vec<(i32, i64, &str)> {
    let mut ranked: Vec<(i32, i64, &str)> = rows.iter().map(|r| (r.get(0), r.get(2), r.get(1))).collect();
    ranked.sort();
    ranked
}

/// Each setting's value as a new session takes it: the last by precedence wins. Names as
/// PostgreSQL compares them (without case).
fn resolved(ranked: &[(i32, i64, &str)]) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for (_, _, setting) in ranked {
        if let Some((name, value)) = setting.split_once('=') {
            values.insert(name.to_lowercase(), value.to_string());
        }
    }
    values
}
