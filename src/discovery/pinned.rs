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
/// line is a `dbgate:` directive that cannot be read (a misspelt pin would otherwise run as an
/// ordinary test, at the wrong moment). Read as people write it: any case, a space after the
/// colon, `after_rollback` as the file name spells it.
pub fn directive(text: &str) -> Option<Result<(Moment, String), String>> {
    let first = text.trim_start_matches('\u{feff}').lines().next()?.trim();
    let rest = first.strip_prefix("--")?.trim_start();
    if !rest.get(..7)?.eq_ignore_ascii_case("dbgate:") {
        return None;
    }
    let rest = rest[7..].trim_start();
    let (word, version) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let spelled = word.to_ascii_lowercase().replace('_', "-");
    let Some(moment) = Moment::ALL.into_iter().find(|m| m.directive() == spelled) else {
        return Some(Err(format!(
            "`-- dbgate:{word}` on a test file's first line is not a pin dbgate knows: `-- dbgate:before <version>`, `-- dbgate:after <version>` or `-- dbgate:after-rollback <version>`"
        )));
    };
    let version = version.trim();
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Some(Err(format!(
            "`-- dbgate:{word}` takes one migration version (or file name without .sql), as in `-- dbgate:{} 004`",
            moment.directive()
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
        // As people write it; a word dbgate does not know is an error, not an ordinary test.
        assert_eq!(directive("-- DBGATE: After 2\n"), Some(Ok((Moment::After, "2".into()))));
        assert_eq!(
            directive("-- dbgate:after_rollback 2\n"),
            Some(Ok((Moment::AfterRollback, "2".into())))
        );
        assert!(matches!(directive("-- dbgate:aftr 2\n"), Some(Err(_))));
        assert_eq!(directive("-- nothing to do with dbgate\n"), None);
        assert_eq!(directive("-- été\n"), None);
        assert_eq!(directive("SELECT 1;\n-- dbgate:before 004\n"), None);
    }
}
