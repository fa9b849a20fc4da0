//! `dbgate snapshot`: replays the migrations on a throwaway database (any provider), unchecked,
//! and prints the schema they make as SQL, or writes it into `[snapshots] dir` (`--write`): the
//! schema after the last migration, or after each one with `[snapshots] every = true`.

use std::path::PathBuf;
use std::sync::Arc;

use super::replay::{write_or_print, Work};
use crate::config::CheckSettings;
use crate::error::Error;
use crate::generate::snapshot;

/// Runs the command; returns the exit code.
pub async fn snapshot(settings: CheckSettings, write: bool) -> Result<i32, Error> {
    let work = Arc::new(Work::read(settings)?);
    let mut signals = super::signals::Signals::install()?;
    let job_work = work.clone();
    let files = super::provision::with_database(
        &work.settings.provider,
        || work.url_roles(),
        &mut signals,
        move |database, _| render(database, job_work),
    )
    .await?;
    write_or_print(&files, write, &work.settings.root)?;
    Ok(crate::exit::PASSED)
}

/// The snapshot files, replayed on `database`.
async fn render(database: crate::provider::Database, work: Arc<Work>) -> Result<Vec<(PathBuf, String)>, Error> {
    let session = work.open(&database).await?;
    let client = &session.client;
    let login: String = client
        .query_one("SELECT session_user::text", &[])
        .await
        .map_err(Error::Connect)?
        .get(0);
    let read = || async { session.catalog.snapshot(client).await.map_err(|e| Error::Catalog(e.into())) };
    let start = read().await?;
    let (dir, every) = (&work.settings.snapshots.dir, work.settings.snapshots.every);
    let mut files = Vec::new();
    let migrations = &work.discovery.migrations;
    for (index, migration) in migrations.iter().enumerate() {
        work.migrate(&session, index).await?;
        if every || index + 1 == migrations.len() {
            let after = read().await?;
            let text = snapshot::render(&start, &after, &snapshot::title(&migration.stem), &login);
            files.push((snapshot::path(dir, every, &migration.stem), text));
        }
    }
    Ok(files)
}
