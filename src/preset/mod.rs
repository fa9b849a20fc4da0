//! Presets: what a platform's migrations expect of the database before the first one runs,
//! created on a plain PostgreSQL (and left alone where the image already has it).

use tokio_postgres::Client;

const SUPABASE: &str = include_str!("supabase.sql");

/// The roles the Supabase preset may create: cluster-wide, so the url provider drops them at
/// the end when they were not there before.
pub const SUPABASE_ROLES: [&str; 5] = ["anon", "authenticated", "service_role", "authenticator", "postgres"];

/// The Supabase preset could not prepare the database.
#[derive(Debug, thiserror::Error)]
#[error(
    "the Supabase preset could not prepare the database: {}; the preset needs a superuser (or preset = \"none\" in dbgate.toml)",
    crate::execute::describe(.0)
)]
pub struct PresetError(#[source] pub tokio_postgres::Error);

/// Prepares the database for Supabase migrations.
pub async fn apply_supabase(client: &Client) -> Result<(), PresetError> {
    client.batch_execute(SUPABASE).await.map_err(PresetError)
}
