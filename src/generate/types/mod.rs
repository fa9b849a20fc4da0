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

/// The types file for `schemas` of the database `client` is connected to.
pub async fn generate(client: &tokio_postgres::Client, schemas: &[String], options: &Options) -> Result<String, tokio_postgres::Error> {
    // Read as a new connection would (the generator's own): a search_path a migration set in
    // this session would change how argument types are spelt, and so which functions are
    // computed fields. Read only, and rolled back whatever happens.
    client.batch_execute("BEGIN READ ONLY; SET LOCAL search_path TO DEFAULT").await?;
    let metadata = read::read(client, schemas).await;
    client.batch_execute("ROLLBACK").await?;
    Ok(typescript::render(&metadata?, options))
}
