//! Why the forward chain stopped, worded in one place: every later migration is not checked
//! with it, and the reverse chain and the tests say it again.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A migration failed: the ones after it need what it would have made.
    Failed(PathBuf),
    /// The server closed the connection while a script ran (`again`: the migration's second run).
    ConnectionLost { file: PathBuf, again: bool },
    /// The state the next check needs could not be rebuilt (the reason, in words).
    RebuildFailed(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Failed(file) => write!(f, "{} failed, so later migrations cannot run", file.display()),
            Stop::ConnectionLost { file, again } => write!(
                f,
                "the connection to the server was lost while running {}{}",
                file.display(),
                if *again { " again" } else { "" }
            ),
            Stop::RebuildFailed(why) => f.write_str(why),
        }
    }
}
