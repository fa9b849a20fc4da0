//! The server check: a migration leaves the server outside its database as it was. A migration
//! with enough rights can create a database, `ALTER SYSTEM`, alter a role that was there
//! before, or grant on another database; production keeps all of it. On a shared server (the
//! url provider) that is a failure of the migration that did it, and dbgate puts back what it
//! can at the end; on dbgate's own server (docker, local) it is a warning, for the server is
//! thrown away but production's is not.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tokio::sync::Mutex;

use super::{CheckKind, CheckResult, MigrationResult};
use crate::execute::{connect_own, describe, within, Target, WaitError};
use crate::failure::{Failure, Location, Warning, WarningKind};
use crate::provider::server::{Reader, ServerChange, ServerState};
use crate::script::Script;

/// Watches the server from a connection of its own: a migration's session may have switched
/// role, left a transaction open or a short statement_timeout.
pub(super) struct ServerWatch {
    baseline: ServerState,
    shared: bool,
    /// How long a read may wait.
    limit: std::time::Duration,
    reader: Mutex<Option<Reader>>,
    /// The changes said so far, by item: a change made again (the migration run again after
    /// its rollback) is said once.
    said: Mutex<BTreeSet<String>>,
    /// Each change, with the script that made it and where.
    found: Mutex<Vec<Found>>,
    /// Why the watch stopped, said once.
    stopped: Mutex<Option<String>>,
    /// How many reads found the server changed since the one before.
    changes: std::sync::atomic::AtomicU64,
}

struct Found {
    script: PathBuf,
    location: Location,
    change: ServerChange,
}

impl ServerWatch {
    /// Reads the server before the first migration; why not, when it cannot.
    pub async fn start(config: &Target, shared: bool, limit: std::time::Duration) -> Result<ServerWatch, String> {
        let client = connect_own(config).await.map_err(|e| describe(&e))?;
        let own = vec![config.config.get_dbname().unwrap_or("postgres").to_string()];
        let baseline = within(&client, limit, ServerState::baseline(&client, own.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let reader = baseline.reader(client).await.map_err(|e| describe(&e))?;
        Ok(ServerWatch {
            baseline,
            shared,
            limit,
            reader: Mutex::new(Some(reader)),
            said: Mutex::default(),
            found: Mutex::default(),
            stopped: Mutex::default(),
            changes: Default::default(),
        })
    }

    /// How many times a read found the server changed; the same number: nothing cluster-wide
    /// changed in between (a role's or database's settings among it). `None` once the watch
    /// stopped: it can no longer tell.
    pub async fn changes(&self) -> Option<u64> {
        if self.has_stopped().await {
            return None;
        }
        Some(self.changes.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Reads the server after `script` and keeps what it changed that was not said yet.
    /// `config` is the database the checks work in now (a rebuild replaces it).
    pub async fn after(&self, script: &Script, config: &Target) {
        if self.stopped.lock().await.is_some() {
            return;
        }
        let now = match self.read(config).await {
            // Nothing cluster-wide changed since the last read: nothing new to say.
            Ok(None) => return,
            Ok(Some(now)) => {
                self.changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                now
            }
            Err(why) => {
                *self.stopped.lock().await = Some(format!(
                    "dbgate stopped watching the server outside the database after {} ({why}): changes there by it and later migrations are not checked",
                    script.path.display()
                ));
                return;
            }
        };
        let mut said = self.said.lock().await;
        let mut found = self.found.lock().await;
        for change in now.changes_since(&self.baseline) {
            // Each change once; the same item changed again to another value is a new change.
            if said.insert(change.sentence.clone()) {
                found.push(Found {
                    script: script.path.clone(),
                    location: locate(script, &change.words),
                    change,
                });
            }
        }
    }

    /// The state now, on the watch's connection, made again if a rebuild closed it.
    /// A migration may leave a transaction open that holds a lock on a shared catalog: the read
    /// waits at most the migrations' timeout.
    async fn read(&self, config: &Target) -> Result<Option<ServerState>, String> {
        let mut reader = self.reader.lock().await;
        if let Some(open) = reader.as_ref().filter(|r| !r.client().is_closed()) {
            match within(open.client(), self.limit, self.baseline.read_if_changed(open)).await {
                Ok(now) => return Ok(now),
                Err(WaitError::Database(_)) => {}
                Err(waited) => return Err(waited.to_string()),
            }
        }
        let fresh = self.fresh_reader(config).await?;
        let now = within(fresh.client(), self.limit, self.baseline.read_if_changed(&fresh))
            .await
            .map_err(|e| e.to_string())?;
        *reader = Some(fresh);
        Ok(now)
    }

    /// A session of the watch's own in the database `config` names (a rebuild closed the last).
    async fn fresh_reader(&self, config: &Target) -> Result<Reader, String> {
        let client = connect_own(config).await.map_err(|e| describe(&e))?;
        self.baseline.reader(client).await.map_err(|e| describe(&e))
    }

    /// Whether a script changed the server outside its database so far.
    pub async fn found_any(&self) -> bool {
        !self.found.lock().await.is_empty()
    }

    /// Whether the watch stopped: what scripts changed since is not known.
    pub async fn has_stopped(&self) -> bool {
        self.stopped.lock().await.is_some()
    }

    /// Closes the watch's session, which the next read opens again: a database with a session
    /// in it cannot be copied.
    pub async fn close_reader(&self) {
        self.reader.lock().await.take();
    }

    /// Puts the server back as it was before the first migration (before a rebuild replays
    /// them again), from the watch's own connection (the migrations' session may be in any
    /// state), within the migrations' timeout. Returns what could not be, in words.
    pub async fn put_back(&self, config: &Target, names: Option<&crate::provider::MigrationNames>) -> Vec<String> {
        let mut reader = self.reader.lock().await;
        if reader.as_ref().is_none_or(|r| r.client().is_closed()) {
            match self.fresh_reader(config).await {
                Ok(fresh) => *reader = Some(fresh),
                Err(why) => return vec![format!("could not put the server back before a rebuild: {why}")],
            }
        }
        let Some(client) = reader.as_ref().map(Reader::client) else {
            return Vec::new();
        };
        match tokio::time::timeout(self.limit, ServerState::put_back(&self.baseline, client, names)).await {
            Ok(lost) => lost,
            Err(_) => vec![format!(
                "could not put the server back before a rebuild within {} s",
                self.limit.as_secs()
            )],
        }
    }

    /// A server check for each migration whose scripts changed the server, and why the watch
    /// stopped, if it did.
    pub async fn finish(self, results: &mut [MigrationResult]) -> Option<String> {
        let mut found = self.found.into_inner();
        // In the order of the files' lines, as the statements made them.
        found.sort_by(|a, b| (&a.script, a.location.line).cmp(&(&b.script, b.location.line)));
        for result in results.iter_mut() {
            let own: Vec<&Found> = found
                .iter()
                .filter(|f| f.script == result.file || result.rollback.as_ref() == Some(&f.script))
                .collect();
            if !own.is_empty() {
                result.checks.push(check(&own, self.shared));
            }
        }
        self.stopped.into_inner()
    }
}

fn check(found: &[&Found], shared: bool) -> CheckResult {
    let name = |f: &Found| f.script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let what = |f: &Found| format!("changed the server outside its database: {}", f.change.sentence);
    if !shared {
        let mut passed = CheckResult::passed(CheckKind::Server, 0);
        passed.warnings = found
            .iter()
            .map(|f| Warning {
                kind: WarningKind::ServerChange,
                message: format!(
                    "{} (dbgate's own server, thrown away; production's would keep it, and on a shared server this fails)",
                    what(f)
                ),
                location: Some(f.location.clone()),
                object: None,
                differences: Vec::new(),
            })
            .collect();
        return passed;
    }
    let failures = found
        .iter()
        .map(|f| {
            let mut failure = Failure::new(what(f), Some(f.location.clone()));
            failure.details.push(if f.change.restorable {
                "dbgate puts it back at the end of the run".to_string()
            } else {
                "dbgate cannot put this back: set it back by hand".to_string()
            });
            failure.details.push(if f.change.on_an_existing_database() {
                // On a shared server dbgate's database has a name of its own: a migration that
                // names the one it runs in production (postgres, say) names another one here.
                "if the migration names the database it runs in, name it as current_database() (in a DO block), or run dbgate with the docker or local provider, whose database is named postgres".to_string()
            } else {
                "a migration should change only its own database: do this in the server's or platform's configuration, or by an administrator".to_string()
            });
            failure
        })
        .collect();
    let files: BTreeSet<String> = found.iter().map(|f| name(f)).collect();
    let files: Vec<String> = files.into_iter().collect();
    CheckResult::failed(
        CheckKind::Server,
        0,
        Some(format!(
            "{} changed the server outside its database; production's server would keep it",
            files.join(" and ")
        )),
        failures,
    )
}

/// The statement of `script` that spells every one of `words` (else the first that spells one
/// of them, tried in order; else the script's start): where the change was made.
fn locate(script: &Script, words: &[String]) -> Location {
    let start = script.body().start;
    let Ok(statements) = script.statements() else {
        return script.location(start);
    };
    let all: Vec<&str> = words.iter().map(String::as_str).collect();
    // Then each word alone, in order: a role named as CURRENT_USER spells only the setting.
    let mut wanted: Vec<&[&str]> = vec![&all];
    wanted.extend(all.chunks(1));
    script.location(script.statement_spelling(statements, &wanted, false).unwrap_or(start))
}
