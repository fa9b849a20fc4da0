//! Why the forward chain stopped, worded in one place: every later migration is not checked
//! with it, and the reverse chain and the tests say it again.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A migration failed: the ones after it need what it would have made.
    Failed(PathBuf),
    /// The server closed the connection while a migration ran.
    ConnectionLost(PathBuf),
    /// The state the next check needs could not be rebuilt (the reason, in words).
    RebuildFailed(String),
    /// A migration is not UTF-8: its tool fails on it, and the ones after it need it.
    NotUtf8(PathBuf),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Failed(file) => write!(f, "{} failed, so later migrations cannot run", file.display()),
            Stop::ConnectionLost(file) => write!(f, "the connection to the server was lost while running {}", file.display()),
            Stop::RebuildFailed(why) => f.write_str(why),
            Stop::NotUtf8(file) => write!(f, "{} is not valid UTF-8, so it and later migrations cannot run", file.display()),
        }
    }
}
