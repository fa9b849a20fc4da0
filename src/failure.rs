//! What is wrong and where: the vocabulary every layer reports in.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::object::ObjectId;

/// A place in a file, 1-based; the column counts characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One thing that is wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// One sentence.
    pub message: String,
    pub location: Option<Location>,
    /// Lines that help: SQLSTATE, detail, hint, the source line with a caret, long values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// For a schema difference, the difference itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Difference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>, location: Option<Location>) -> Failure {
        Failure {
            message: message.into(),
            location,
            details: Vec::new(),
            difference: None,
            sqlstate: None,
        }
    }

    /// `path:line:column: message`, the form editors and CI logs link.
    pub fn located_message(&self) -> String {
        match &self.location {
            Some(location) => format!("{location}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// How an object differs from what was expected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Difference {
    pub object: ObjectId,
    #[serde(flatten)]
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// There now, not expected.
    Added,
    /// Expected, not there.
    Removed,
    /// There, with one attribute different.
    Changed {
        attribute: String,
        expected: Option<String>,
        actual: Option<String>,
    },
}

/// A difference that changes no behaviour: said in one line, never failed on (unless
/// `[rollback] strict = true`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// One sentence.
    pub message: String,
    pub location: Option<Location>,
    /// The object it is about (a table for a column order, a function, a view...); none for a
    /// change outside the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    /// The differences it stands for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

impl Warning {
    /// `path:line:column: message`, the form editors and CI logs link.
    pub fn located_message(&self) -> String {
        match &self.location {
            Some(location) => format!("{location}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Why a difference changes no behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The same columns in another order (a column added back goes last).
    ColumnOrder,
    /// A function or procedure body that differs only in white space or comments.
    RoutineLayout,
    /// Definitions or defaults that differ only in a timestamp or date frozen when they were
    /// created (`'now'::timestamp`, `'today'::date`).
    FrozenTimestamp,
    /// A view's `SELECT *`, expanded in its tables' new column order.
    ExpandedStar,
    /// A change outside the database (a role that was there before, a server setting, another
    /// database) on a server that is dbgate's own: thrown away with it, but production keeps it.
    ServerChange,
    /// A rollback the base has, edited; or a migration edited only in white space where no
    /// checksum notices.
    Edited,
    /// A new migration older than the base's newest, which the tool applies anyway.
    OutOfOrder,
    /// A lint rule's finding at warning severity.
    Lint,
    /// A migration drops a column or table that holds data: no rollback can bring it back.
    DroppedData,
    /// A migration over the warning budget on volume (`--rows`).
    Slow,
}

impl WarningKind {
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::ColumnOrder => "column order",
            WarningKind::RoutineLayout => "routine layout",
            WarningKind::FrozenTimestamp => "frozen timestamp",
            WarningKind::ExpandedStar => "expanded SELECT *",
            WarningKind::ServerChange => "server change",
            WarningKind::Edited => "edited",
            WarningKind::OutOfOrder => "out of order",
            WarningKind::Lint => "lint",
            WarningKind::DroppedData => "dropped data",
            WarningKind::Slow => "slow",
        }
    }
}

/// A difference an ignore rule covers: not a failure, listed and counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ignored {
    #[serde(flatten)]
    pub difference: Difference,
    /// The pattern that covers it ("view:*").
    pub pattern: String,
    /// Where the pattern is written: dbgate.toml or the rollback's `-- dbgate:ignore` line.
    pub source: Location,
}
