//! What dbgate generates from the migrated schema for a repo to commit: a plain-SQL snapshot of
//! the schema (`dbgate snapshot`). The gate regenerates it in memory and fails when the
//! committed file has drifted.

pub mod snapshot;
pub mod types;
