//! The database the checks work in, made ready as the first migration expects it: the Supabase
//! preset, the setup files, the tracker of what each script touches, the session's limits. A
//! rebuild makes a fresh database ready the same way.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::role_settings::RoleSettings;
use super::Options;
use crate::catalog::{Catalog, Tracker};
use crate::execute::{connect, run_script, Target};
use crate::failure::Failure;
use crate::preset::PresetError;
use crate::provider::fresh::Replacements;
use crate::script::Script;

/// What every database the checks work in starts from.
pub struct Baseline<'a> {
    pub supabase_preset: bool,
    /// The migration tool's bookkeeping table, made as the tool makes it before the first
    /// migration (migrations may use it); part of the baseline, so never compared.
    pub bookkeeping: Option<&'static str>,
    /// `[migrations] setup`: run before the first migration, not checked.
    pub setup: &'a [Script],
    /// `--full-snapshots`: read the whole catalog after each script.
    pub full_snapshots: bool,
    pub options: &'a Options,
    /// The databases made in place of the first one, for the provider to drop.
    pub replacements: Replacements,
    /// On a shared server, the only roles a rebuild may drop (the words of the migrations).
    pub role_words: Option<std::sync::Arc<crate::provider::MigrationNames>>,
    /// Where a session of dbgate's own sits while it copies the checks' database for the lint;
    /// `None`: never copied.
    pub maintenance: Option<String>,
    /// How the catalog reads print values and names (`execute::printing_settings`: time zone,
    /// date style, `bytea_output`, `quote_all_identifiers`, ...): the first session's, for every
    /// read of the run. A session a migration's `ALTER DATABASE ... SET timezone` reaches must
    /// not print the same default another way.
    pub formats: std::sync::OnceLock<crate::catalog::Formats>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot connect to the throwaway database: {}", crate::execute::describe(.0))]
    Connect(#[source] tokio_postgres::Error),
    #[error(transparent)]
    Preset(PresetError),
    #[error("a setup file ([migrations] setup) failed: {}", .0.located_message())]
    Setup(Box<Failure>),
    #[error("cannot create the migration tool's bookkeeping table: {}", crate::execute::describe(.0))]
    Bookkeeping(#[source] tokio_postgres::Error),
    #[error("cannot set {setting} on the migrations' session: {}", crate::execute::describe(source))]
    Setting {
        setting: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// A connection to a database made ready for the checks, and what reads its catalog.
pub struct Session {
    pub client: Client,
    pub config: Target,
    pub catalog: Catalog,
    pub tracker: Tracker,
    pub server_version: String,
    /// The roles on the server before the database was made ready (before the preset and the
    /// setup files, which a rebuild runs again): what a rebuild keeps.
    pub roles_before: BTreeSet<u32>,
    /// The search path before the first migration: a new session starts with it.
    pub search_path: String,
    /// The settings the session started with from its role and database (`None`: unread).
    pub role_settings: Option<RoleSettings>,
}

impl Session {
    /// Connects to the database `config` names and makes it ready.
    pub async fn open(config: Target, baseline: &Baseline<'_>) -> Result<Session, SessionError> {
        let client = connect(&config).await.map_err(SessionError::Connect)?;
        Session::ready(client, config, baseline).await
    }

    /// A new session in a database copied from a ready one (`CREATE DATABASE ... TEMPLATE`): the
    /// preset, setup files, bookkeeping table and triggers came with the copy; what is the
    /// session's own (prepared reads, limits, the search path a new session starts with) is set
    /// as `ready` set it. `roles_before` and `search_path` are the ready session's.
    pub(super) async fn attach(
        client: Client,
        config: Target,
        baseline: &Baseline<'_>,
        roles_before: BTreeSet<u32>,
        search_path: String,
    ) -> Result<Session, tokio_postgres::Error> {
        let role_settings = RoleSettings::at_start(&client).await;
        let (server_version, catalog) = catalog_of(&client, baseline).await?;
        let tracker = if baseline.full_snapshots {
            Tracker::full_snapshots()
        } else {
            Tracker::attach(&client).await
        };
        for (_, set) in baseline.options.session_limits() {
            client.batch_execute(&set).await?;
        }
        client
            .query_one("SELECT set_config('search_path', $1, false)", &[&search_path])
            .await?;
        Ok(Session {
            client,
            config,
            catalog,
            tracker,
            server_version,
            roles_before,
            search_path,
            role_settings,
        })
    }

    /// Makes the database `client` is connected to ready.
    pub(super) async fn ready(client: Client, config: Target, baseline: &Baseline<'_>) -> Result<Session, SessionError> {
        // Before the preset and the setup files: what the session's RESET ALL goes back to.
        let role_settings = RoleSettings::at_start(&client).await;
        let roles_before = crate::provider::fresh::role_oids(&client).await.map_err(SessionError::Connect)?;
        let (server_version, catalog) = catalog_of(&client, baseline).await.map_err(SessionError::Connect)?;
        if baseline.supabase_preset {
            crate::preset::apply_supabase(&client).await.map_err(SessionError::Preset)?;
        }
        // The setup files, as the platform or the runner would have the database before the
        // first migration: part of the baseline, not checked.
        for script in baseline.setup {
            if let Err(error) = run_script(&client, script, baseline.options.migration_timeout).await {
                return Err(SessionError::Setup(Box::new(error.failure().clone())));
            }
        }
        // After the setup files, which may make the table their own way.
        if let Some(sql) = baseline.bookkeeping {
            client.batch_execute(sql).await.map_err(SessionError::Bookkeeping)?;
        }
        // After the preset: what it creates is the baseline, not the migrations' work.
        let tracker = if baseline.full_snapshots {
            Tracker::full_snapshots()
        } else {
            Tracker::install(&client).await
        };
        // The session's limits, as production would set them for its migrations.
        for (setting, set) in baseline.options.session_limits() {
            client
                .batch_execute(&set)
                .await
                .map_err(|source| SessionError::Setting { setting, source })?;
        }
        // The search path the preset and setup files left: what a new session starts with
        // there (Supabase sets it on its roles and database).
        let search_path = client
            .query_one("SHOW search_path", &[])
            .await
            .map_err(SessionError::Connect)?
            .get::<_, String>(0);
        Ok(Session {
            client,
            config,
            catalog,
            tracker,
            server_version,
            roles_before,
            search_path,
            role_settings,
        })
    }
}

/// The server's version, and the catalog's reads prepared for it, in the formats of the run's
/// first session.
async fn catalog_of(client: &Client, baseline: &Baseline<'_>) -> Result<(String, Catalog), tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
            &[],
        )
        .await?;
    let formats = match baseline.formats.get() {
        Some(formats) => formats,
        None => {
            let settings = crate::execute::printing_settings(client).await?;
            baseline.formats.get_or_init(|| crate::catalog::Formats::new(&settings))
        }
    };
    let catalog = Catalog::prepare(client, row.get::<_, i32>(1) as u32, formats).await?;
    Ok((row.get(0), catalog))
}
