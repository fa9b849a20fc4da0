//! Drift: files the repo commits that dbgate generates from the migrated schema (the schema
//! snapshots, the TypeScript types), regenerated in memory and compared with what is committed.
//! A file that differs, or is missing, fails at its first differing line, with the command that
//! writes it again.

use std::path::{Path, PathBuf};

use super::{Suite, TestCaseResult};
use crate::catalog::Snapshot;
use crate::failure::{Failure, Location};
use crate::generate::{snapshot, types};

/// What a generated file is, for its case name and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    Snapshot,
    Types,
}

impl Artifact {
    /// The case name's first word: `snapshot db/snapshots/schema.sql`, `types database.types.ts`.
    fn word(self) -> &'static str {
        match self {
            Artifact::Snapshot => "snapshot",
            Artifact::Types => "types",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Artifact::Snapshot => "run `dbgate snapshot --write` and commit the file",
            Artifact::Types => "run `dbgate types --write` and commit the file",
        }
    }

    fn why_required(self) -> &'static str {
        match self {
            Artifact::Snapshot => "[snapshots] in dbgate.toml holds the repo to a snapshot of the schema",
            Artifact::Types => "[types] in dbgate.toml holds the repo to TypeScript types of the schema",
        }
    }

    fn stale(self) -> &'static str {
        match self {
            Artifact::Snapshot => "is not the schema the migrations make",
            Artifact::Types => "is not the types Supabase's generator writes for the schema the migrations make",
        }
    }

    fn case(self, path: &Path) -> TestCaseResult {
        TestCaseResult::new(Suite::Generated, format!("{} {}", self.word(), path.display()), path.to_path_buf())
    }

    /// The test case of one generated file (`path` from `root`): committed as the migrations
    /// make it, or not.
    pub fn compare(self, root: &Path, path: &Path, expected: &str) -> TestCaseResult {
        let mut case = self.case(path);
        let fix = self.fix();
        let at = |line: usize| {
            Some(Location {
                file: path.to_path_buf(),
                line,
                column: 1,
            })
        };
        match std::fs::read_to_string(root.join(path)) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => case.fail(Failure::new(
                format!("{} is missing: {}; {fix}", path.display(), self.why_required()),
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
                    format!("{} {} (from line {}): {fix}", path.display(), self.stale(), first + 1),
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

    /// The case of a file that could not be regenerated.
    pub fn not_checked(self, path: &Path, why: &str) -> TestCaseResult {
        let mut case = self.case(path);
        case.not_checked(why);
        case
    }
}

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
        Artifact::Snapshot.compare(&self.root, path, expected)
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
            .map(|stem| Artifact::Snapshot.not_checked(&snapshot::path(&self.dir, self.every, stem), why))
            .collect()
    }
}

/// `[types]`: the committed TypeScript types, from the repository root.
#[derive(Debug, Clone)]
pub struct TypesPlan {
    pub root: PathBuf,
    /// Relative to `root`.
    pub output: PathBuf,
    pub schemas: Vec<String>,
    pub options: types::Options,
}

impl TypesPlan {
    /// The types case, generated on the migrated database `target` names. dbgate
    /// failing to read its catalog is not the repo's fault: the case is not checked, and says why.
    pub async fn check(&self, target: &crate::execute::Target) -> TestCaseResult {
        match types::generate(target, &self.schemas, &self.options).await {
            Ok(text) => Artifact::Types.compare(&self.root, &self.output, &text),
            Err(error) => self.not_checked(&format!(
                "dbgate could not read the catalog to generate the types ({})",
                crate::execute::describe(&error)
            )),
        }
    }

    pub fn not_checked(&self, why: &str) -> TestCaseResult {
        Artifact::Types.not_checked(&self.output, why)
    }
}

/// The same text, whatever the line endings and the final newline.
fn same_text(committed: &str, expected: &str) -> bool {
    let normal = |text: &str| text.replace("\r\n", "\n").trim_end_matches('\n').to_string();
    normal(committed) == normal(expected)
}
