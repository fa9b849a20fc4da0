//! `dbgate snapshot`: replays the migrations on a throwaway database (any provider), unchecked,
//! and prints the schema they make as SQL, or writes it into `[snapshots] dir` (`--write`): the
//! schema after the last migration, or after each one with `[snapshots] every = true`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::checks::session::{Baseline, Session};
use crate::config::{CheckSettings, Preset};
use crate::discovery::{discover, read_setup, Discovery};
use crate::error::Error;
use crate::execute::run_script;
use crate::generate::snapshot;
use crate::provider::url::UrlProvider;
use crate::script::Script;

struct Work {
    discovery: Discovery,
    setup: Vec<Script>,
    supabase_preset: bool,
    settings: CheckSettings,
}

/// Runs the command; returns the exit code.
pub async fn snapshot(settings: CheckSettings, write: bool) -> Result<i32, Error> {
    let discovery = discover(&settings.root, &settings.sources)?;
    let setup = read_setup(&settings.root, &settings.setup_files)?;
    let supabase_preset = match settings.preset {
        Some(preset) => preset == Preset::Supabase,
        None => discovery.migrations_dir.ends_with("supabase/migrations"),
    };
    let work = Arc::new(Work {
        discovery,
        setup,
        supabase_preset,
        settings,
    });
    let mut signals = super::signals::Signals::install()?;
    let url_roles = || UrlProvider::role_sources(&work.discovery, &work.setup, work.supabase_preset);
    let job_work = work.clone();
    let files = super::provision::with_database(&work.settings.provider, url_roles, &mut signals, move |database, _| {
        render(database, job_work)
    })
    .await?;
    for (path, text) in files {
        if write {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, &text).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            println!("wrote {}", path.strip_prefix(&work.settings.root).unwrap_or(&path).display());
        } else {
            print!("{text}");
        }
    }
    Ok(crate::exit::PASSED)
}

/// The snapshot files, replayed on `database`.
async fn render(database: crate::provider::Database, work: Arc<Work>) -> Result<Vec<(PathBuf, String)>, Error> {
    let settings = &work.settings;
    let baseline = Baseline {
        supabase_preset: work.supabase_preset,
        bookkeeping: work.discovery.tool.tool.bookkeeping(),
        setup: &work.setup,
        full_snapshots: true,
        options: &settings.options,
        replacements: database.replacements.clone(),
        role_words: database.role_words.clone(),
    };
    let session = Session::open(database.config.clone(), &baseline).await?;
    let client = &session.client;
    let login: String = client
        .query_one("SELECT session_user::text", &[])
        .await
        .map_err(Error::Connect)?
        .get(0);
    let read = || async { session.catalog.snapshot(client).await.map_err(|e| Error::Catalog(e.into())) };
    let start = read().await?;
    let (dir, every) = (&settings.snapshots.dir, settings.snapshots.every);
    let mut files = Vec::new();
    let migrations = &work.discovery.migrations;
    for (index, migration) in migrations.iter().enumerate() {
        if let Err(error) = run_script(client, &migration.up, settings.options.migration_timeout).await {
            return Err(Error::MigrationFailed(Box::new(error.failure().clone())));
        }
        if every || index + 1 == migrations.len() {
            let after = read().await?;
            let text = snapshot::render(&start, &after, &snapshot::title(&migration.stem), &login);
            files.push((snapshot::path(dir, every, &migration.stem), text));
        }
    }
    Ok(files)
}
