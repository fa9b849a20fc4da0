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
