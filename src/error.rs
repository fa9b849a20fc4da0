//! The one error type at the edge, which knows its exit code.

use std::path::PathBuf;

use crate::checks::CatalogError;
use crate::config::ConfigError;
use crate::discovery::DiscoveryError;
use crate::provider::ProviderError;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const PASSED: i32 = 0;
    pub const GATE_FAILED: i32 = 1;
    pub const INPUT: i32 = 2;
    pub const ENVIRONMENT: i32 = 3;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot connect to the throwaway database: {}", crate::execute::describe(.0))]
    Connect(tokio_postgres::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot comment on the pull request: {0}")]
    Comment(crate::github::CommentError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("internal error (a bug in dbgate; please report it): {0}")]
    Internal(String),
    #[error("interrupted by {0}; everything dbgate started has been cleaned up")]
    Interrupted(&'static str),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Discovery(_) | Error::Config(_) | Error::Write { .. } | Error::Read { .. } => exit::INPUT,
            Error::Provider(_) | Error::Catalog(_) | Error::Connect(_) | Error::Signals(_) | Error::Internal(_) | Error::Comment(_) => {
                exit::ENVIRONMENT
            }
            Error::Interrupted(_) => exit::INTERRUPTED,
        }
    }
}
