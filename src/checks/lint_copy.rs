//! The lint's database, kept as a copy. With a base, the lint and the data check look only at
//! the branch's new migrations, on the schema the older ones make; replaying those again costs
//! about what the replay did (10 s of a 25 s run on a thousand small migrations). The forward
//! chain has that schema in hand when it reaches the first new migration: there the checks'
//! database is copied (`CREATE DATABASE ... TEMPLATE`: about a second for a thousand tables on
//! this project's CI machine, against five of replay), and the lint starts from the copy.
//!
//! A copy shares the cluster's roles: its owners and grants keep a role from being dropped.
//! So the lint runs in the middle of the reverse chain, once the new migrations' rollbacks have
//! run, and the copy is dropped (with the roles the lint's runs made) before the older
//! rollbacks run, which may drop the roles the older migrations made. Where the roles then are
//! not the copy's, a migration changed the server, or a new script names a database (the copy
//! cannot take the checks' database's name there), the copy is dropped then and the lint
//! replays at the end, as without one. Only the scripts that run while the copy is there may
//! not drop a role: the new migrations, their rollbacks and the tests. A rebuild (which drops the roles the migrations and the preset
//! made) drops the copy first. Settings of the database itself (`ALTER DATABASE ... SET`) do not
//! follow a copy: with any, no copy either. Copying closes the migrations' session, which opens
//! again as a new one: the branch's migrations start in a new invocation of the tool, as a
//! deploy runs them; without a copy the session is reset as for one.

use std::collections::BTreeSet;

use super::session::Session;
use super::{CatalogError, Chain, MigrationResult, Plan, Stop};
use crate::catalog::Snapshot;
use crate::execute::{connect, connect_own, describe, Target};
use crate::provider::fresh::{copy_database, drop_roles, RoleRule};
use crate::script::{quote_ident, Script};

/// That the lint's copy may be made at the first migration it runs checked (the pull
/// request's first new one).
pub(super) struct CopyPoint {
    /// That migration's index.
    at: usize,
}

/// The copy, once made.
pub(super) struct KeptCopy {
    /// The database's name.
    name: String,
    /// The roles when it was made: the lint's database drops the others, and so does the
    /// cluster after the lint.
    roles: BTreeSet<u32>,
    /// The index of the first migration the lint runs checked.
    at: usize,
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

    /// The older migrations' rollbacks run after the lint, with the copy gone: they may drop
    /// roles. The scripts that run while it is there may not.
    async fn may_copy_at(&self, at: usize, plan: &Plan<'_>) -> Result<CopyPoint, String> {
        let tests = &plan.tests;
        let later = self.migrations[at..]
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
            .chain(tests.pinned.iter().map(|t| &t.script))
            .chain(&tests.seeds)
            .chain(&tests.files);
        if let Some(script) = later.into_iter().find(|s| drops_a_role(s)) {
            return Err(format!(
                "{} drops a role, which a copy's grants could keep from being dropped",
                script.path.display()
            ));
        }
        Ok(CopyPoint { at })
    }

    /// At the first migration the lint runs checked: copies the checks' database for it, and
    /// opens the migrations' session again; or, when it may not, resets the session as a new
    /// invocation. Whatever keeps the copy from being made is said in a note. Returns why the
    /// chain cannot go on: a session dbgate ended that it could not open again.
    pub(super) async fn keep_lint_copy(&mut self, point: &Result<CopyPoint, String>) -> Option<String> {
        let why =
            match point {
                Ok(point) => match self.copy_for_lint(point).await {
                    Ok(()) => return None,
                    Err(Uncopied::Session(why)) => why,
                    Err(Uncopied::Closed(why)) => {
                        self.notes
                            .push(format!("the lint's database is a replay of the earlier migrations: {why}"));
                        return self.reopen().await.err().map(|e| {
                            format!("dbgate could not open the migrations' session again after ending it to copy its database: {e}")
                        });
                    }
                },
                Err(why) => why.clone(),
            };
        self.notes
            .push(format!("the lint's database is a replay of the earlier migrations: {why}"));
        self.new_invocation().await;
        None
    }

    async fn copy_for_lint(&mut self, point: &CopyPoint) -> Result<(), Uncopied> {
        let maintenance = self.maintenance().ok_or(Uncopied::Session("no database to copy from".into()))?;
        // The lint puts the server back as it was before the first migration: a replay makes
        // what the earlier ones changed there again, a copy would not.
        if let Some(watch) = &self.server {
            if watch.found_any().await || watch.has_stopped().await {
                return Err(Uncopied::Session(
                    "an earlier migration changed the server outside its database (or the server could not be watched), which a copy would not make again".into(),
                ));
            }
        }
        let row = self
            .client()
            .query_one(
                "SELECT pg_backend_pid(), \
                   EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
                           WHERE d.datname = current_database()) \
                   OR EXISTS (SELECT FROM pg_database d WHERE d.datname = current_database() \
                              AND (d.datacl IS NOT NULL OR d.datdba <> (SELECT oid FROM pg_roles WHERE rolname = session_user) \
                                   OR d.datconnlimit <> -1))",
                &[],
            )
            .await
            .map_err(|e| Uncopied::Session(describe(&e)))?;
        let (pid, settings): (i32, bool) = (row.get(0), row.get(1));
        if settings {
            return Err(Uncopied::Session(
                "the database has settings, privileges, an owner or a connection limit of its own (ALTER DATABASE, GRANT ... ON DATABASE), which a copy does not take".into(),
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
            return Err(Uncopied::Session(format!(
                "the migrations' session was not idle (its state: {})",
                state.as_deref().unwrap_or("unknown")
            )));
        }
        let roles = crate::provider::fresh::role_oids(&admin)
            .await
            .map_err(|e| Uncopied::Session(describe(&e)))?;
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
        // Kept at once: a rebuild drops it, whatever happens next.
        if let Ok(name) = &copied {
            self.lint_copy = Some(KeptCopy {
                name: name.clone(),
                roles,
                at: point.at,
                made_in: started.elapsed().as_millis(),
            });
        }
        self.reopen().await.map_err(|e| Uncopied::Closed(e.to_string()))?;
        // The session is open again: a copy that failed leaves it as a new one.
        copied.map(|_| ()).map_err(|e| Uncopied::Session(e.to_string()))
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
    /// `keep_checks` (the lint in the middle of the reverse chain): the checks' database stays,
    /// its session parked, and the copy is opened under its own name.
    pub(super) async fn take_lint_copy(&mut self, keep_checks: bool) -> Option<(Result<Snapshot, String>, u128)> {
        let kept = self.lint_copy.take()?;
        let made_in = kept.made_in;
        Some((self.open_copy(kept, keep_checks).await, made_in))
    }

    async fn open_copy(&mut self, kept: KeptCopy, keep_checks: bool) -> Result<Snapshot, String> {
        let opened = self.switch_to_copy(&kept, keep_checks).await;
        if opened.is_err() {
            // Whatever it holds would keep the replay that follows from dropping its roles.
            let _ = self.drop_database(&kept.name).await;
        }
        opened
    }

    /// The copy in place of the checks' database. On a shared server the copy is opened and read
    /// before the checks' database is dropped, so that a failure leaves the checks' database for
    /// the replay that follows; on dbgate's own cluster the copy takes the old one's name (a
    /// migration may name it), which needs nobody in it: the old one goes first, and a
    /// failure after the rename leaves a database of that name, which the replay replaces.
    async fn switch_to_copy(&mut self, kept: &KeptCopy, keep_checks: bool) -> Result<Snapshot, String> {
        self.put_server_back().await;
        let maintenance = self.maintenance().ok_or("no database to work from")?;
        let old = database_of(&self.session.config);
        let rename = self.baseline.role_words.is_none() && !keep_checks;
        let mut config = self.session.config.clone();
        if rename {
            let admin = connect_own(&maintenance).await.map_err(|e| describe(&e))?;
            let renamed = format!("ALTER DATABASE {} RENAME TO {}", quote_ident(&kept.name), quote_ident(&old));
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&old)))
                .await
                .map_err(|e| format!("cannot drop the checks' database: {}", describe(&e)))?;
            admin
                .batch_execute(&renamed)
                .await
                .map_err(|e| format!("cannot rename the lint's copy: {}", describe(&e)))?;
        } else {
            config.config.dbname(&kept.name);
        }
        let client = connect(&config).await.map_err(|e| describe(&e))?;
        let role_words = self.baseline.role_words.clone();
        let may_drop = move |role: &str| role_words.as_ref().is_none_or(|names| names.names(role));
        let rule = RoleRule {
            roles_before: &kept.roles,
            may_drop: &may_drop,
        };
        drop_roles(&client, &rule).await.map_err(|e| e.to_string())?;
        let (roles_before, search_path) = (self.session.roles_before.clone(), self.session.search_path.clone());
        let session = Session::attach(client, config, self.baseline, roles_before, search_path)
            .await
            .map_err(|e| describe(&e))?;
        if self.gave_up_incremental() {
            session.tracker.give_up();
        }
        session
            .tracker
            .scope(&session.client, &Snapshot::default(), None)
            .await
            .map_err(|e| describe(&e))?;
        let snapshot = session.catalog.snapshot(&session.client).await.map_err(|e| describe(&e))?;
        if !rename && !keep_checks {
            // Read: the checks' database can go (the provider drops it at the end otherwise).
            let _ = self.drop_database(&old).await;
        }
        let checks = std::mem::replace(&mut self.session, session);
        if keep_checks {
            self.parked = Some(checks);
        }
        Ok(snapshot)
    }

    /// Drops the copy before a rebuild: its grants would keep the rebuild from dropping the
    /// roles it makes again. The lint then replays.
    pub(super) async fn discard_lint_copy(&mut self) {
        self.drop_lint_copy("a rebuild", "the rebuild").await;
    }

    async fn drop_lint_copy(&mut self, before: &str, then: &str) {
        let Some(kept) = self.lint_copy.take() else { return };
        if let Err(why) = self.drop_database(&kept.name).await {
            self.warnings.push(format!(
                "dbgate could not drop the lint's copy of the checks' database before {before} ({why}): {then} may fail to drop a role it holds"
            ));
        }
    }

    /// Before the reverse chain runs the rollback of a migration older than the new ones: the
    /// lint, from the copy, while the roles are the ones the copy was made with (the lint works
    /// in the copy alone: the checks' schema may be anywhere); then the copy goes, with the
    /// roles the lint's runs made, and the server is put back. Where a new rollback is still to
    /// run, the roles are others, a migration changed the server, a new script names a
    /// database, or the lint's database went another way than the replay's (which only a
    /// replay from scratch, at the end, can follow), the copy goes and the lint replays at the
    /// end.
    ///
    /// `state` is the checks' schema now (`None` when the chain is astray and rebuilds it
    /// anyway), `new_rollbacks_left` whether the reverse chain still has new migrations'
    /// rollbacks to run after this. Returns whether the lint left the roles
    /// the checks see otherwise than they were (a new migration's `ALTER ROLE` or membership
    /// grant on an older migration's role, which the lint's runs make and never undo): then the
    /// checks' schema is rebuilt before the older rollbacks run.
    pub(super) async fn lint_before_older_rollbacks(
        &mut self,
        results: &mut [MigrationResult],
        forward: Option<&Stop>,
        state: Option<&Snapshot>,
        new_rollbacks_left: bool,
    ) -> bool {
        let Some((roles, at)) = self.lint_copy.as_ref().map(|k| (k.roles.clone(), k.at)) else {
            return false;
        };
        let changed_server = match &self.server {
            Some(watch) => watch.found_any().await || watch.has_stopped().await,
            None => false,
        };
        // In the middle of the chain the copy cannot take the checks' database's name: a new
        // script that names a database (`ALTER DATABASE postgres`, `GRANT ... ON DATABASE`)
        // would act on the checks' own.
        let names_a_database = self.migrations[at..]
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
            .find(|script| names_database(script));
        let why_not = if new_rollbacks_left {
            Some("the reverse chain came to older rollbacks before the new migrations' were all run".to_string())
        } else if changed_server {
            Some("a migration changed the server outside its database, or the server could not be watched".to_string())
        } else if let Some(script) = names_a_database {
            Some(format!(
                "{} names a database, which in the middle of the reverse chain would be the checks' own",
                script.path.display()
            ))
        } else {
            match crate::provider::fresh::role_oids(self.client()).await {
                Ok(now) if now == roles => None,
                Ok(_) => Some("the roles were not the ones it was made with once the new migrations were rolled back".to_string()),
                Err(error) => Some(describe(&error)),
            }
        };
        if let Some(why) = why_not {
            self.notes.push(format!(
                "the lint's database is a replay of the earlier migrations: its copy was dropped before the older rollbacks ran, for {why}"
            ));
            self.drop_lint_copy("the older rollbacks", "one").await;
            return false;
        }
        let (notes, warnings) = (self.notes.len(), self.warnings.len());
        let mut trial = results.to_vec();
        match self.lint_pass(&mut trial, forward, true).await {
            Ok(()) => {
                results.clone_from_slice(&trial);
                self.lint_ran = true;
            }
            Err(why) => {
                self.notes.truncate(notes);
                self.warnings.truncate(warnings);
                self.notes.push(format!(
                    "the lint's database is a replay of the earlier migrations, at the end: from the copy, {why}"
                ));
            }
        }
        self.close_lint_database(&roles).await;
        // Whatever path the pass took, the copy is gone before the older rollbacks run.
        self.drop_lint_copy("the older rollbacks", "one").await;
        match state {
            Some(state) => self.lint_left_changes(state).await,
            None => false,
        }
    }

    /// Whether the roles the checks see (read with every script) are not what they were
    /// before the lint, or cannot be read: said in a note.
    async fn lint_left_changes(&mut self, state: &Snapshot) -> bool {
        if self.client().is_closed() {
            // Parked for the lint's time: a server or pooler may have closed it.
            if let Err(error) = self.reopen().await {
                self.warnings.push(format!(
                    "the checks' session closed while the lint ran and could not be opened again: {error}"
                ));
                return true;
            }
        }
        let mut now = state.clone();
        let read = self
            .session
            .catalog
            .update(&self.session.client, &mut now, &crate::catalog::Scope::default())
            .await;
        let why = match read {
            Ok(_) if now.fingerprint() == state.fingerprint() => return false,
            Ok(_) => "the lint's runs of the new migrations changed roles the older migrations made".to_string(),
            Err(error) => format!("the roles could not be read after the lint ({})", describe(&error)),
        };
        self.notes
            .push(format!("{why}: the schema is rebuilt before the older rollbacks run"));
        true
    }

    /// The checks' session back in place of the lint's, the lint's database dropped, the roles
    /// its runs made dropped, and the server put back: as the reverse chain left them.
    async fn close_lint_database(&mut self, roles: &BTreeSet<u32>) {
        if let Some(checks) = self.parked.take() {
            let lint = std::mem::replace(&mut self.session, checks);
            let name = database_of(&lint.config);
            drop(lint);
            if let Err(why) = self.drop_database(&name).await {
                self.warnings.push(format!(
                    "dbgate could not drop the lint's database before the older rollbacks ({why}): one may fail to drop a role it holds"
                ));
            }
        }
        let role_words = self.baseline.role_words.clone();
        let may_drop = move |role: &str| role_words.as_ref().is_none_or(|names| names.names(role));
        let rule = RoleRule {
            roles_before: roles,
            may_drop: &may_drop,
        };
        let dropped = match connect_own(&self.session.config).await {
            Ok(admin) => drop_roles(&admin, &rule).await.map_err(|e| e.to_string()),
            Err(error) => Err(describe(&error)),
        };
        if let Err(why) = dropped {
            self.warnings.push(format!(
                "dbgate could not drop the roles the lint's runs made before the older rollbacks ({why}): the rollbacks are checked with them there"
            ));
        }
        self.put_server_back().await;
    }

    async fn drop_database(&self, name: &str) -> Result<(), String> {
        let maintenance = self.maintenance().ok_or("no database to work from")?;
        let admin = connect_own(&maintenance).await.map_err(|e| describe(&e))?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name)))
            .await
            .map_err(|e| describe(&e))
    }

    /// The target of a session of dbgate's own outside the checks' database.
    fn maintenance(&self) -> Option<Target> {
        let name = self.baseline.maintenance.as_ref()?;
        let mut target = self.session.config.clone();
        target.config.dbname(name);
        Some(target)
    }
}

impl KeptCopy {
    /// The index of the first migration the lint runs checked.
    pub(super) fn at(&self) -> usize {
        self.at
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

/// Whether a script names a database (the word `database`, in any case, comments included: a
/// false alarm only costs the copy).
fn names_database(script: &Script) -> bool {
    words(script.text()).any(|word| word.eq_ignore_ascii_case("database"))
}

/// Whether a script may drop a role (`DROP ROLE`, `DROP USER`, `DROP GROUP`, in any case,
/// comments included: a false alarm only costs the copy).
fn drops_a_role(script: &Script) -> bool {
    names_drop_role(script.text()) || names_drop_role(&without_comments(script.text()))
}

fn names_drop_role(text: &str) -> bool {
    let words: Vec<String> = words(text).map(str::to_ascii_lowercase).collect();
    words
        .windows(2)
        .any(|pair| pair[0] == "drop" && matches!(pair[1].as_str(), "role" | "user" | "group"))
}

/// The words of a text, as SQL spells names and keywords (quotes not followed).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
}

/// The text with its comments (`--` to the end of the line, `/* */`) made spaces: `DROP /* x */
/// ROLE` still names DROP ROLE. Quotes are not followed: a false alarm only costs the copy.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['-', '/']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("--") {
            rest = tail.find('\n').map_or("", |end| &tail[end..]);
            out.push(' ');
        } else if tail.starts_with("/*") {
            rest = tail.find("*/").map_or("", |end| &tail[end + 2..]);
            out.push(' ');
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{names_drop_role, without_comments};

    #[test]
    fn drop_role_is_found_across_comments_and_not_in_other_words() {
        assert!(names_drop_role("DROP ROLE app;"));
        assert!(names_drop_role("drop user app;"));
        assert!(names_drop_role(&without_comments("DROP -- why\nROLE app;")));
        assert!(names_drop_role(&without_comments("DROP /* why */ GROUP app;")));
        assert!(!names_drop_role("DROP TABLE role_grants; CREATE ROLE app;"));
        assert!(!names_drop_role("ALTER TABLE t DROP COLUMN user_id;"));
    }
}
