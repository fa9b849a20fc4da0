//! Why the forward chain stopped, worded in one place: every later migration is skipped with it,
//! and the reverse chain and the tests say it again.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A migration failed: the ones after it need what it would have made.
    Failed(PathBuf),
    /// The server closed the connection while a script ran (`again`: the migration's second run).
    ConnectionLost { file: PathBuf, again: bool },
    /// A rollback failed outside a transaction, leaving the schema between the two.
    PartWay(PathBuf),
    /// A migration could not be run again after its rollback.
    CannotRunAgain(PathBuf),
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
            Stop::PartWay(file) => write!(f, "{} failed part way, leaving the schema in between", file.display()),
            Stop::CannotRunAgain(file) => write!(
                f,
                "{} could not be run again after its rollback, so the chain cannot go on",
                file.display()
            ),
        }
    }
}
