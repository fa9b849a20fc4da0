//! Defects of the repo itself, found before anything runs: a rollback no migration owns, two
//! migrations with one version, a file that is not UTF-8. Each fails the gate (it breaks or
//! misleads the team's tool in production) but does not stop dbgate from checking the rest.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::failure::{Failure, Location};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A rollback whose name and version match no migration: its tool never runs it.
    OrphanRollback,
    /// Two migrations or more with one version, under version order.
    DuplicateVersion,
    /// Two rollbacks or more for one migration.
    DuplicateRollback,
    /// A file that is not UTF-8.
    NotUtf8,
    /// A rollback's `-- dbgate:ignore` line whose pattern dbgate cannot read.
    IgnorePattern,
    /// Something in the migrations folder that is not a regular file (a named pipe...).
    NotAFile,
    /// A migration the base branch has that is gone or renamed.
    RemovedMigration,
    /// A data test pinned to a version no migration has.
    PinnedToNoMigration,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::OrphanRollback => "rollback without a migration",
            FindingKind::DuplicateVersion => "duplicate version",
            FindingKind::DuplicateRollback => "more than one rollback",
            FindingKind::NotUtf8 => "not UTF-8",
            FindingKind::IgnorePattern => "bad ignore pattern",
            FindingKind::NotAFile => "not a regular file",
            FindingKind::RemovedMigration => "migration removed or renamed",
            FindingKind::PinnedToNoMigration => "data test pinned to no migration",
        }
    }
}

/// One defect of the repo: what, where, and what to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// What is wrong and how to fix it, in a sentence or two.
    pub message: String,
    /// The file at fault (of several, the one to change), and where in it.
    pub location: Location,
    /// Every file involved, when several are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<PathBuf>,
}

impl Finding {
    /// As a failure at its place, for the renderers.
    pub fn failure(&self) -> Failure {
        Failure::new(self.message.clone(), Some(self.location.clone()))
    }

    pub fn at_start(kind: FindingKind, file: PathBuf, message: String) -> Finding {
        Finding {
            kind,
            message,
            location: Location { file, line: 1, column: 1 },
            files: Vec::new(),
        }
    }
}
