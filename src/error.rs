//! The one error type at the edge, which knows its exit code.

use std::path::PathBuf;

use crate::checks::session::SessionError;
use crate::checks::CatalogError;
use crate::config::ConfigError;
use crate::discovery::DiscoveryError;
use crate::preset::PresetError;
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
    Preset(PresetError),
    #[error("a setup file ([migrations] setup) failed: {}", .0.located_message())]
    Setup(Box<crate::failure::Failure>),
    #[error("cannot create the migration tool's bookkeeping table: {}", crate::execute::describe(.0))]
    Bookkeeping(#[source] tokio_postgres::Error),
    #[error(transparent)]
    Docker(crate::provider::docker::DockerError),
    #[error("cannot set {setting} on the migrations' session: {}", crate::execute::describe(source))]
    SessionSetting {
        setting: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot connect to the throwaway database: {}", crate::execute::describe(.0))]
    Connect(#[source] tokio_postgres::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a dbgate JSON report: {source}", path.display())]
    NotAReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot render the JUnit report (a bug in dbgate; please report it): {0}")]
    Junit(#[source] quick_xml::Error),
    #[error("cannot comment on the pull request: {0}")]
    Comment(#[source] crate::github::CommentError),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("internal error (a bug in dbgate; please report it): {0}")]
    Internal(String),
    /// The base named with --base or [history] base is not there.
    #[error("{0}")]
    History(String),
    #[error("interrupted by {0}; everything dbgate started has been cleaned up")]
    Interrupted(&'static str),
    /// A migration failed where dbgate only replays them (`dbgate snapshot`): `dbgate check`
    /// says more.
    #[error("{}: the migrations must run for dbgate to read the schema they make (dbgate check says more)", .0.located_message())]
    MigrationFailed(Box<crate::failure::Failure>),
}

impl From<SessionError> for Error {
    fn from(error: SessionError) -> Error {
        match error {
            SessionError::Connect(source) => Error::Connect(source),
            SessionError::Preset(error) => Error::Preset(error),
            SessionError::Setup(failure) => Error::Setup(failure),
            SessionError::Setting { setting, source } => Error::SessionSetting { setting, source },
            SessionError::Bookkeeping(source) => Error::Bookkeeping(source),
        }
    }
}

impl Error {
    /// The exit code the README documents for this error: the user's input (2), or what dbgate
    /// runs on (3). Decided here, once.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Discovery(_)
            | Error::Config(_)
            | Error::Provider(ProviderError::BadUrl { .. })
            | Error::Provider(ProviderError::BadTls { .. })
            | Error::Catalog(CatalogError::Expectations(_))
            | Error::Write { .. }
            | Error::Read { .. }
            | Error::NotAReport { .. }
            | Error::History(_)
            | Error::Setup(_) => exit::INPUT,
            Error::Provider(_)
            | Error::Preset(_)
            | Error::Docker(_)
            | Error::SessionSetting { .. }
            | Error::Bookkeeping(_)
            | Error::Catalog(CatalogError::Database(_))
            | Error::Catalog(CatalogError::TestsSession(_))
            | Error::Connect(_)
            | Error::Junit(_)
            | Error::Signals(_)
            | Error::Internal(_)
            | Error::Comment(_) => exit::ENVIRONMENT,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::MigrationFailed(_) => exit::GATE_FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::expectations::ExpectationsError;

    fn io() -> std::io::Error {
        std::io::Error::other("no")
    }

    /// Each kind of error exits as the README's table says; the integration tests run most of
    /// them for real, these are the ones a test cannot provoke as root (an unwritable file).
    #[test]
    fn each_error_has_the_documented_exit_code() {
        let path = PathBuf::from("dbgate.toml");
        let write = ExpectationsError::Write {
            path: path.clone(),
            source: io(),
        };
        assert_eq!(Error::Catalog(CatalogError::Expectations(write)).exit_code(), exit::INPUT);
        assert_eq!(
            Error::Write {
                path: path.clone(),
                source: io()
            }
            .exit_code(),
            exit::INPUT
        );
        assert_eq!(Error::Read { path, source: io() }.exit_code(), exit::INPUT);
        assert_eq!(
            Error::Provider(ProviderError::Unavailable("x".into())).exit_code(),
            exit::ENVIRONMENT
        );
        assert_eq!(
            Error::Provider(ProviderError::Io {
                what: "x".into(),
                source: io()
            })
            .exit_code(),
            exit::ENVIRONMENT
        );
        assert_eq!(Error::Signals(io()).exit_code(), exit::ENVIRONMENT);
        assert_eq!(Error::Interrupted("SIGTERM").exit_code(), exit::INTERRUPTED);
    }
}
