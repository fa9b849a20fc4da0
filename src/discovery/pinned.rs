//! Data-migration tests pinned to a migration: files under `tests/data/<version>/`
//! (`before.sql`, `after.sql`, `after_rollback.sql`), or a file in a test folder whose first
//! line is `-- dbgate:before <version>`, `-- dbgate:after <version>` or
//! `-- dbgate:after-rollback <version>`. The checks run each at its moment of the forward
//! replay.

use serde::{Deserialize, Serialize};

use crate::script::Script;

/// Where the data tests pinned by folder live, from the repository root.
pub const DATA_DIR: &str = "tests/data";

/// When a pinned test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// Right before the migration's first run; what it does stays (rows in the old shape).
    Before,
    /// Right after the migration's first run; rolled back.
    After,
    /// Right after its rollback, in the round trip; rolled back.
    AfterRollback,
}

impl Moment {
    pub const ALL: [Moment; 3] = [Moment::Before, Moment::After, Moment::AfterRollback];

    /// The file name under `tests/data/<version>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Moment::Before => "before.sql",
            Moment::After => "after.sql",
            Moment::AfterRollback => "after_rollback.sql",
        }
    }

    /// The word of the first-line directive.
    fn directive(self) -> &'static str {
        match self {
            Moment::Before => "before",
            Moment::After => "after",
            Moment::AfterRollback => "after-rollback",
        }
    }

    /// How a test case's name says it: "before 004_x.sql", "after 004_x_rollback.sql".
    pub fn words(self) -> &'static str {
        match self {
            Moment::Before => "before",
            Moment::After | Moment::AfterRollback => "after",
        }
    }
}

/// A test pinned to the migration named `version` (a version, or a file stem).
#[derive(Debug, Clone)]
pub struct PinnedTest {
    pub version: String,
    pub moment: Moment,
    pub script: Script,
}

/// The moment and version a test file's first line pins it to; `Err` with the reason when the
/// line starts as a directive but cannot be read.
pub fn directive(text: &str) -> Option<Result<(Moment, String), String>> {
    let first = text.trim_start_matches('\u{feff}').lines().next()?.trim();
    let rest = first.strip_prefix("--")?.trim_start().strip_prefix("dbgate:")?;
    let (word, version) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let Some(moment) = Moment::ALL.into_iter().find(|m| m.directive() == word) else {
        // Another dbgate directive (`dbgate:irreversible`...): not a pin.
        return None;
    };
    let version = version.trim();
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Some(Err(format!(
            "`-- dbgate:{word}` takes one migration version (or file name without .sql), as in `-- dbgate:{word} 004`"
        )));
    }
    Some(Ok((moment, version.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_pins_a_test() {
        assert_eq!(directive("-- dbgate:before 004\nINSERT"), Some(Ok((Moment::Before, "004".into()))));
        assert_eq!(
            directive("--dbgate:after-rollback 20240101_x  \n"),
            Some(Ok((Moment::AfterRollback, "20240101_x".into())))
        );
        assert!(matches!(directive("-- dbgate:after\n"), Some(Err(_))));
        assert_eq!(directive("-- dbgate:irreversible\n"), None);
        assert_eq!(directive("SELECT 1;\n-- dbgate:before 004\n"), None);
    }
}
