//! Drift: files the repo commits that dbgate generates from the migrated schema (the schema
//! snapshots), regenerated in memory and compared with what is committed. A file that differs,
//! or is missing, fails at its first differing line, with the command that writes it again.

use std::path::{Path, PathBuf};

use super::{Suite, TestCaseResult};
use crate::catalog::Snapshot;
use crate::failure::{Failure, Location};
use crate::generate::snapshot;

/// `[snapshots]`: where the committed snapshots are, from the repository root.
#[derive(Debug, Clone)]
pub struct SnapshotPlan {
    pub root: PathBuf,
    /// Relative to `root`.
    pub dir: PathBuf,
    pub every: bool,
}

impl SnapshotPlan {
    /// The file and text of the snapshot after the migration `stem`, from `start` to `after`.
    pub fn expected(&self, stem: &str, start: &Snapshot, after: &Snapshot, login: &str) -> (PathBuf, String) {
        let path = snapshot::path(&self.dir, self.every, stem);
        (path, snapshot::render(start, after, &snapshot::title(stem), login))
    }

    /// The test case of one snapshot file: committed as the migrations make it, or not.
    pub fn compare(&self, path: &Path, expected: &str) -> TestCaseResult {
        let mut case = TestCaseResult::new(Suite::Generated, format!("snapshot {}", path.display()), path.to_path_buf());
        let fix = "run `dbgate snapshot --write` and commit the file";
        let at = |line: usize| {
            Some(Location {
                file: path.to_path_buf(),
                line,
                column: 1,
            })
        };
        match std::fs::read_to_string(self.root.join(path)) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => case.fail(Failure::new(
                format!(
                    "{} is missing: [snapshots] in dbgate.toml holds the repo to a snapshot of the schema; {fix}",
                    path.display()
                ),
                at(1),
            )),
            Err(error) => case.fail(Failure::new(format!("{} cannot be read ({error}): {fix}", path.display()), at(1))),
            // Line endings a checkout made (Windows' CRLF) and the last newline are not the
            // schema.
            Ok(committed) if same_text(&committed, expected) => {}
            Ok(committed) => {
                let (committed_lines, expected_lines): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), expected.lines().collect());
                let first = committed_lines
                    .iter()
                    .zip(&expected_lines)
                    .position(|(a, b)| a != b)
                    .unwrap_or(committed_lines.len().min(expected_lines.len()));
                let mut failure = Failure::new(
                    format!(
                        "{} is not the schema the migrations make (from line {}): {fix}",
                        path.display(),
                        first + 1
                    ),
                    at(first + 1),
                );
                let show = |lines: &[&str]| -> String {
                    let shown: Vec<String> = lines
                        .iter()
                        .enumerate()
                        .skip(first)
                        .take(3)
                        .map(|(i, l)| format!("  {:>4} | {l}", i + 1))
                        .collect();
                    if shown.is_empty() {
                        "  (the file ends here)".to_string()
                    } else {
                        shown.join("\n")
                    }
                };
                failure.details.push(format!("committed:\n{}", show(&committed_lines)));
                failure.details.push(format!("the migrations make:\n{}", show(&expected_lines)));
                case.fail(failure);
            }
        }
        case
    }

    /// The snapshot cases when the migrations did not all run.
    pub fn not_checked(&self, stems: &[&str], why: &str) -> Vec<TestCaseResult> {
        let stems: Vec<&str> = if self.every {
            stems.to_vec()
        } else {
            stems.last().copied().into_iter().collect()
        };
        stems
            .into_iter()
            .map(|stem| {
                let path = snapshot::path(&self.dir, self.every, stem);
                let mut case = TestCaseResult::new(Suite::Generated, format!("snapshot {}", path.display()), path);
                case.not_checked(why);
                case
            })
            .collect()
    }
}

/// The same text, whatever the line endings and the final newline.
fn same_text(committed: &str, expected: &str) -> bool {
    let normal = |text: &str| text.replace("\r\n", "\n").trim_end_matches('\n').to_string();
    normal(committed) == normal(expected)
}
