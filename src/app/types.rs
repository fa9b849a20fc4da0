//! `dbgate types`: replays the migrations on a throwaway database (any provider), unchecked,
//! and prints the TypeScript types Supabase's generator would write for the schema they make,
//! or writes them to `[types] output` (`--write`).

use std::sync::Arc;

use super::replay::{write_or_print, Work};
use crate::config::CheckSettings;
use crate::error::Error;
use crate::generate::types;

/// Runs the command; returns the exit code.
pub async fn types(settings: CheckSettings, write: bool) -> Result<i32, Error> {
    let work = Arc::new(Work::read(settings)?);
    let mut signals = super::signals::Signals::install()?;
    let job_work = work.clone();
    let text = super::provision::with_database(
        &work.settings.provider,
        || work.url_roles(),
        &mut signals,
        move |database, _| render(database, job_work),
    )
    .await?;
    write_or_print(&[(work.settings.types.output.clone(), text)], write, &work.settings.root)?;
    Ok(crate::exit::PASSED)
}

async fn render(database: crate::provider::Database, work: Arc<Work>) -> Result<String, Error> {
    let session = work.open(&database).await?;
    for index in 0..work.discovery.migrations.len() {
        work.migrate(&session, index).await?;
    }
    let settings = &work.settings.types;
    types::generate(&session.config, &settings.schemas, &settings.options)
        .await
        .map_err(|e| Error::Catalog(e.into()))
}
