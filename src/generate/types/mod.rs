//! `dbgate types`: TypeScript types for the migrated schema in the shape Supabase's generator
//! (`supabase gen types typescript`, supabase/postgres-meta) writes, so that a file either tool
//! wrote diffs clean, made without a Supabase stack or Node.

mod collate;
mod doc;
pub mod read;
mod ts;
pub mod typescript;
mod view_keys;

pub use typescript::Options;

/// Where `dbgate types --write` puts the file when dbgate.toml names none: where Supabase's
/// guides put it.
pub const DEFAULT_OUTPUT: &str = "database.types.ts";

/// The types file for `schemas` of the database `target` names.
pub async fn generate(target: &crate::execute::Target, schemas: &[String], options: &Options) -> Result<String, tokio_postgres::Error> {
    // A connection of its own, as the generator reads: what the migrations' session set
    // (`search_path`, `quote_all_identifiers`) changes how types are spelt, and so which
    // functions are computed fields; settings a migration gave the database or role apply.
    let client = crate::execute::connect(target).await?;
    let metadata = read::read(&client, schemas).await?;
    Ok(typescript::render(&metadata, options))
}
