//! The lint's database, kept as a copy. With a base, the lint and the data check look only at
//! the branch's new migrations, on the schema the older ones make; replaying those again costs
//! about what the replay did (10 s of a 25 s run on a thousand small migrations). The forward
//! chain has that schema in hand when it reaches the first new migration: there the checks'
//! database is copied (`CREATE DATABASE ... TEMPLATE`, a fraction of a second), and the lint
//! starts from the copy.
//!
//! A copy shares the cluster's roles: its owners and grants keep a role from being dropped. So
//! it is made only when the roles then are the ones the chain started with, and no script run
//! after it drops a role (a migration's up or rollback, a test); a rebuild (which drops the
//! roles the migrations and the preset made) drops the copy first, and the lint replays as
//! before. Settings of the database itself (`ALTER DATABASE ... SET`) do not follow a copy:
//! with any, no copy either. Copying closes the migrations' session, which opens again as a
//! new one: the branch's migrations start in a new invocation of the tool, as a deploy runs
//! them; without a copy the session is reset as for one.

use std::collections::BTreeSet;

use super::session::Session;
use super::{CatalogError, Chain, Plan};
use crate::catalog::Snapshot;
use crate::execute::{connect, connect_own, describe, Target};
use crate::provider::fresh::{copy_database, drop_roles, RoleRule};
use crate::script::{quote_ident, Script};

/// That the lint's copy may be made at the first migration it runs checked (the pull
/// request's first new one), and the roles then.
pub(super) struct CopyPoint {
    /// The roles when the chain started (after the preset and the setup files).
    roles: BTreeSet<u32>,
}

/// The copy, once made.
pub(super) struct KeptCopy {
    /// The database's name.
    name: String,
    /// The roles when it was made: the lint's database drops the others.
    roles: BTreeSet<u32>,
    /// How long the copy took.
    made_in: u128,
}

impl Chain<'_> {
    /// Where the forward chain copies its database for the lint; `None` when the lint has no
    /// earlier migrations to start from, why not when it may not.
    pub(super) async fn copy_point(&self, plan: &Plan<'_>) -> Option<Result<CopyPoint, String>> {
        self.baseline.maintenance.as_ref()?;
        let at = self.migrations.iter().position(|m| self.options.in_copy(m))?;
        // With no new migration before it there is nothing to save: the lint starts empty.
        if at == 0 {
            return None;
        }
        Some(self.may_copy_at(at, plan).await)
    }

    async fn may_copy_at(&self, at: usize, plan: &Plan<'_>) -> Result<CopyPoint, String> {
        let tests = &plan.tests;
        let later = self.migrations[at..]
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
            .chain(self.migrations[..at].iter().filter_map(|m| m.down.as_ref()))
            .chain(tests.pinned.iter().map(|t| &t.script))
            .chain(&tests.seeds)
            .chain(&tests.files);
        if let Some(script) = later.into_iter().find(|s| drops_a_role(s)) {
            return Err(format!(
                "{} drops a role, which a copy's grants could keep from being dropped",
                script.path.display()
            ));
        }
        let roles = crate::provider::fresh::role_oids(self.client()).await.map_err(|e| describe(&e))?;
        Ok(CopyPoint { roles })
    }

    /// At the first migration the lint runs checked: copies the checks' database for it, and
    /// opens the migrations' session again; or, when it may not, resets the session as a new
    /// invocation. Whatever keeps the copy from being made is said in a note.
    pub(super) async fn keep_lint_copy(&mut self, point: &Result<CopyPoint, String>) -> Result<(), CatalogError> {
        let point = match point {
            Ok(point) => point,
            Err(why) => {
                self.notes
                    .push(format!("the lint's database is a replay of the earlier migrations: {why}"));
                self.new_invocation().await;
                return Ok(());
            }
        };
        match self.copy_for_lint(point).await {
            Ok(kept) => {
                self.lint_copy = Some(kept);
                Ok(())
            }
            Err(Uncopied::Session(why)) => {
                self.notes
                    .push(format!("the lint's database is a replay of the earlier migrations: {why}"));
                self.new_invocation().await;
                Ok(())
            }
            Err(Uncopied::Closed(why)) => {
                self.notes
                    .push(format!("the lint's database is a replay of the earlier migrations: {why}"));
                self.reopen().await
            }
        }
    }

    async fn copy_for_lint(&mut self, point: &CopyPoint) -> Result<KeptCopy, Uncopied> {
        let maintenance = self.maintenance().ok_or(Uncopied::Session("no database to copy from".into()))?;
        let row = self
            .client()
            .query_one(
                "SELECT pg_backend_pid(), \
                   EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
                           WHERE d.datname = current_database())",
                &[],
            )
            .await
            .map_err(|e| Uncopied::Session(describe(&e)))?;
        let (pid, settings): (i32, bool) = (row.get(0), row.get(1));
        if settings {
            return Err(Uncopied::Session(
                "the database has settings of its own (ALTER DATABASE ... SET), which a copy does not take".into(),
            ));
        }
        let admin = connect_own(&maintenance)
            .await
            .map_err(|e| Uncopied::Session(format!("cannot connect to {}: {}", database_of(&maintenance), describe(&e))))?;
        let state: Option<String> = admin
            .query_opt("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .map_err(|e| Uncopied::Session(describe(&e)))?
            .and_then(|row| row.get(0));
        if state.as_deref() != Some("idle") {
            return Err(Uncopied::Session("an earlier migration left its transaction open".into()));
        }
        let roles = crate::provider::fresh::role_oids(&admin)
            .await
            .map_err(|e| Uncopied::Session(describe(&e)))?;
        if roles != point.roles {
            return Err(Uncopied::Session(
                "the earlier migrations made or dropped roles, which a copy's grants would hold on to".into(),
            ));
        }
        // Nobody may be in the database copied: the watch's session goes (its next read opens
        // another), and the migrations' own is ended from outside, waiting for it to be gone.
        if let Some(watch) = &self.server {
            watch.close_reader().await;
        }
        let ended = admin
            .query_one("SELECT pg_terminate_backend($1, 5000)", &[&pid])
            .await
            .map_err(|e| Uncopied::Session(format!("cannot end the migrations' session: {}", describe(&e))))?;
        if !ended.get::<_, bool>(0) {
            return Err(Uncopied::Closed("the migrations' session did not end".into()));
        }
        let source = database_of(&self.session.config);
        let started = std::time::Instant::now();
        let copied = copy_database(&admin, &source, &self.baseline.replacements).await;
        drop(admin);
        self.reopen().await.map_err(|e| Uncopied::Closed(e.to_string()))?;
        // The session is open again: a copy that failed leaves it as a new one.
        let name = copied.map_err(|e| Uncopied::Session(e.to_string()))?;
        Ok(KeptCopy {
            name,
            roles: point.roles.clone(),
            made_in: started.elapsed().as_millis(),
        })
    }

    /// A new session for the migrations in the database they work in.
    async fn reopen(&mut self) -> Result<(), CatalogError> {
        let config = self.session.config.clone();
        let client = connect(&config).await?;
        let roles_before = self.session.roles_before.clone();
        let search_path = self.session.search_path.clone();
        self.session = Session::attach(client, config, self.baseline, roles_before, search_path).await?;
        if self.gave_up_incremental() {
            self.session.tracker.give_up();
        }
        Ok(())
    }

    /// The lint's database from the copy, when one was kept: the checks' database is dropped,
    /// the copy takes its place, and the roles made since it was copied go; with how long the
    /// copy took. `None`: no copy.
    pub(super) async fn take_lint_copy(&mut self) -> Option<(Result<Snapshot, String>, u128)> {
        let kept = self.lint_copy.take()?;
        let made_in = kept.made_in;
        Some((self.open_copy(kept).await, made_in))
    }

    async fn open_copy(&mut self, kept: KeptCopy) -> Result<Snapshot, String> {
        self.put_server_back().await;
        let maintenance = self.maintenance().ok_or("no database to work from")?;
        let admin = connect_own(&maintenance).await.map_err(|e| describe(&e))?;
        let old = database_of(&self.session.config);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&old)))
            .await
            .map_err(|e| format!("cannot drop the database {old}: {}", describe(&e)))?;
        let mut config = self.session.config.clone();
        if self.baseline.role_words.is_none() {
            // On the run's own cluster the database keeps its name (a migration may name it).
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&kept.name),
                    quote_ident(&old)
                ))
                .await
                .map_err(|e| format!("cannot rename the lint's copy: {}", describe(&e)))?;
        } else {
            config.config.dbname(&kept.name);
        }
        drop(admin);
        let client = connect(&config).await.map_err(|e| describe(&e))?;
        let role_words = self.baseline.role_words.clone();
        let may_drop = move |role: &str| role_words.as_ref().is_none_or(|names| names.names(role));
        let rule = RoleRule {
            roles_before: &kept.roles,
            may_drop: &may_drop,
        };
        drop_roles(&client, &rule).await.map_err(|e| e.to_string())?;
        let (roles_before, search_path) = (self.session.roles_before.clone(), self.session.search_path.clone());
        self.session = Session::attach(client, config, self.baseline, roles_before, search_path)
            .await
            .map_err(|e| describe(&e))?;
        if self.gave_up_incremental() {
            self.session.tracker.give_up();
        }
        self.full_snapshot().await.map_err(|e| e.to_string())
    }

    /// Drops the copy before a rebuild: its grants would keep the rebuild from dropping the
    /// roles it makes again. The lint then replays.
    pub(super) async fn discard_lint_copy(&mut self) {
        let Some(kept) = self.lint_copy.take() else { return };
        let Some(maintenance) = self.maintenance() else { return };
        // One the provider drops at the end anyway.
        if let Ok(admin) = connect_own(&maintenance).await {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&kept.name)))
                .await;
        }
    }

    /// The target of a session of dbgate's own outside the checks' database.
    fn maintenance(&self) -> Option<Target> {
        let name = self.baseline.maintenance.as_ref()?;
        let mut target = self.session.config.clone();
        target.config.dbname(name);
        Some(target)
    }
}

/// Why no copy was made: with the migrations' session open (as it was, or opened again), or
/// closed.
enum Uncopied {
    Session(String),
    Closed(String),
}

fn database_of(target: &Target) -> String {
    target.config.get_dbname().unwrap_or("postgres").to_string()
}

/// Whether a script may drop a role (`DROP ROLE`, `DROP USER`, `DROP GROUP`, in any case,
/// comments included: a false alarm only costs the copy).
fn drops_a_role(script: &Script) -> bool {
    let words: Vec<String> = script
        .text()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words
        .windows(2)
        .any(|pair| pair[0] == "drop" && matches!(pair[1].as_str(), "role" | "user" | "group"))
}
