//! Providers: where the throwaway database comes from. Each one provisions a database that
//! dbgate owns for the run and tears it down afterwards, whatever happened.

pub mod auto;
pub mod docker;
pub mod docker_cache;
pub mod fresh;
pub mod local;
pub mod server;
pub mod tls;
pub mod url;

use std::future::Future;

/// A database dbgate may do anything to, for the length of one run.
#[derive(Debug, Clone)]
pub struct Database {
    pub config: crate::execute::Target,
    /// Where it lives, in words: "temporary cluster from /usr/lib/postgresql/15/bin".
    pub description: String,
    /// The databases the checks made in its place; the provider drops them with it.
    pub replacements: fresh::Replacements,
    /// On a shared server (the url provider), what the migrations name: the only roles and
    /// databases dbgate may drop. `None`: the cluster is the run's own.
    pub role_words: Option<std::sync::Arc<MigrationNames>>,
    /// A database a session of dbgate's own may sit in while it copies the checks' database
    /// (no session may be in the one copied): template1 on the run's own cluster; on a shared
    /// server the one the URL names (template1 is not dbgate's to hold a session in: it would
    /// block others' CREATE DATABASE).
    pub maintenance: String,
}

/// The names the migrations, rollbacks and setup files spell: on a shared server, a role or
/// database made during the run is dropped only if they name it, so that what someone else
/// makes meanwhile is never touched.
#[derive(Debug, Default)]
pub struct MigrationNames {
    /// Every word, lowercased (an unquoted name).
    words: std::collections::BTreeSet<String>,
    /// The texts, for a quoted name ("App Writer").
    texts: String,
}

impl MigrationNames {
    pub fn new(texts: impl IntoIterator<Item = String>) -> MigrationNames {
        let texts: String = texts.into_iter().collect::<Vec<_>>().join("\n");
        let words = texts
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .map(str::to_lowercase)
            .collect();
        MigrationNames { words, texts }
    }

    /// Whether they spell `name`, unquoted (any case) or quoted (exactly).
    pub fn names(&self, name: &str) -> bool {
        self.words.contains(&name.to_lowercase()) || self.texts.contains(&crate::script::quote_ident(name))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No server could be found or started; the message says what was tried and how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// A file or process dbgate needs for the server could not be made.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The server was reached but refused something dbgate needs.
    #[error("{what}: {}", crate::execute::describe(source))]
    Refused {
        what: String,
        #[source]
        source: tokio_postgres::Error,
    },
    /// `--database-url` (or DBGATE_DATABASE_URL) is not a connection URL: the user's input.
    #[error("--database-url is not a PostgreSQL connection URL: {source}")]
    BadUrl {
        #[source]
        source: tokio_postgres::Error,
    },
    /// The URL's (or PGSSLMODE's, PGSSLROOTCERT's) TLS settings cannot be used: the user's input.
    #[error("--database-url's TLS settings: {source}")]
    BadTls {
        #[source]
        source: tls::TlsError,
    },
    /// No Docker daemon answers.
    #[error("{0}")]
    NoDocker(String),
    /// The image is neither on this machine nor pullable.
    #[error("{0}")]
    ImageUnavailable(String),
}

pub trait Provider {
    /// The provider's name as the CLI spells it (for `auto`, the one it chose).
    fn name(&self) -> &'static str;

    /// The container image the server runs from, if any.
    fn image(&self) -> Option<String> {
        None
    }

    /// What the user should know about how the provider was chosen or set up.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Starts or reaches a server and creates the throwaway database. On error, whatever was
    /// made so far is already cleaned up (or will be by `teardown`).
    fn provision(&mut self) -> impl Future<Output = Result<Database, ProviderError>>;

    /// Removes everything `provision` made. Runs after success, failure and interruption;
    /// calling it twice is harmless. Returns what could not be cleaned, as warnings.
    fn teardown(&mut self) -> impl Future<Output = Vec<String>>;
}

/// A random number, for names and passwords that must not collide between runs.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// This run's id, in the labels and names of what it creates.
pub fn run_id() -> &'static str {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(|| format!("{:012x}", random_u64() & 0xffff_ffff_ffff))
}

pub fn host_name() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `pid` is a running dbgate (not a process that reused the number).
pub fn dbgate_is_running(pid: i32) -> bool {
    let alive = matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    );
    alive && std::fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |comm| comm.trim().starts_with("dbgate"))
}

/// What `dbgate gc` removed, and what it left with why.
#[derive(Debug, Default)]
pub struct Collected {
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}
