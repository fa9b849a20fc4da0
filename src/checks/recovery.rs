//! Recovery: after a failure leaves the schema anywhere but "after migration i" (a rollback that
//! failed part way, an up that cannot run again, a rollback chain broken), the checks rebuild
//! that state and go on, so that one run reports every defect. A rebuild is a fresh database,
//! made ready as the first one was, with the first i migrations replayed, unchecked.
//! BENCHMARKS.md measures this against copying a kept database with CREATE DATABASE ... TEMPLATE.

use std::time::Instant;

use super::session::Session;
use super::Chain;
use crate::catalog::{Fingerprint, Snapshot};
use crate::execute::run_script;
use crate::provider::fresh::{replace_database, RoleRule};

/// Where the database the checks work in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    /// The first n migrations ran, as the forward chain ran them.
    After(usize),
    /// Somewhere no migration left it: a failure stopped between two states.
    Astray,
}

impl Chain<'_> {
    /// Rebuilds the schema after the first `n` migrations in a fresh database and reads it.
    /// `expected` is what the forward chain saw there; a rebuild that differs is said, not
    /// failed (a migration that reads the clock, say). Returns why it could not, in words.
    pub(super) async fn rebuild(&mut self, n: usize, expected: Option<Fingerprint>) -> Result<Snapshot, String> {
        let state = match n {
            0 => "before the first migration".to_string(),
            n => format!("after {}", self.migrations[n - 1].up.path.display()),
        };
        let started = Instant::now();
        let snapshot = self
            .rebuild_state(n)
            .await
            .map_err(|why| format!("dbgate could not rebuild the schema {state} to go on checking: {why}"))?;
        self.notes.push(format!(
            "rebuilt the schema {state} in a fresh database ({n} migration{} replayed, unchecked, in {} ms) to go on checking",
            if n == 1 { "" } else { "s" },
            started.elapsed().as_millis()
        ));
        if expected.is_some_and(|expected| expected != snapshot.fingerprint()) {
            self.warnings.push(format!(
                "the schema rebuilt {state} differs from the one the first run gave there (a migration whose result depends on when it runs, or on something outside the database that dbgate could not put back before the rebuild, such as a role that existed before and was dropped)"
            ));
        }
        Ok(snapshot)
    }

    pub(super) async fn rebuild_state(&mut self, n: usize) -> Result<Snapshot, String> {
        // The lint's copy would keep the roles a rebuild makes again from being dropped.
        self.discard_lint_copy().await;
        self.put_server_back().await;
        let role_words = self.baseline.role_words.clone();
        let may_drop = move |role: &str| role_words.as_ref().is_none_or(|names| names.names(role));
        let rule = RoleRule {
            roles_before: &self.roles_before,
            may_drop: &may_drop,
        };
        let (client, config) = replace_database(
            &self.session.config,
            &rule,
            &self.baseline.replacements,
            self.baseline.role_words.is_none(),
        )
        .await
        .map_err(|e| e.to_string())?;
        // The old database is gone: whatever happens next, a later rebuild starts from the new.
        self.session.config = config.clone();
        self.session = Session::ready(client, config, self.baseline).await.map_err(|e| e.to_string())?;
        if self.gave_up_incremental() {
            self.session.tracker.give_up();
        }
        for migration in &self.migrations[..n] {
            // The rows a data test put in before it, as the forward chain had them.
            self.replay_pinned_before(migration).await;
            if let Err(error) = run_script(&self.session.client, &migration.up, self.options.migration_timeout).await {
                return Err(format!(
                    "replaying {} failed: {}",
                    migration.up.path.display(),
                    error.failure().located_message()
                ));
            }
        }
        self.full_snapshot().await.map_err(|e| e.to_string())
    }

    /// The migrations replay on the server as it was before the first (a database one of them
    /// created would make them fail again; a role made NOLOGIN could not connect). First of
    /// all: a role the migrations made may own a database they made.
    pub(super) async fn put_server_back(&mut self) {
        if let Some(watch) = &self.server {
            for lost in watch.put_back(&self.session.config, self.baseline.role_words.as_deref()).await {
                if !self.warnings.contains(&lost) {
                    self.warnings.push(lost);
                }
            }
        }
    }
}
