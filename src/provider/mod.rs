//! Providers: where the throwaway database comes from. Each one provisions a database that
//! dbgate owns for the run and tears it down afterwards, whatever happened.

pub mod local;
pub mod url;

use std::future::Future;

/// A database dbgate may do anything to, for the length of one run.
#[derive(Debug, Clone)]
pub struct Database {
    pub config: tokio_postgres::Config,
    /// Where it lives, in words: "temporary cluster from /usr/lib/postgresql/15/bin".
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No server could be found or started; the message says what was tried and how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// The server was reached but refused something dbgate needs.
    #[error("{0}")]
    Refused(String),
}

pub trait Provider {
    /// The provider's name as the CLI spells it.
    fn name(&self) -> &'static str;

    /// Starts or reaches a server and creates the throwaway database. On error, whatever was
    /// made so far is already cleaned up (or will be by `teardown`).
    fn provision(&mut self) -> impl Future<Output = Result<Database, ProviderError>>;

    /// Removes everything `provision` made. Runs after success, failure and interruption;
    /// calling it twice is harmless. Returns what could not be cleaned, as warnings.
    fn teardown(&mut self) -> impl Future<Output = Vec<String>>;
}
