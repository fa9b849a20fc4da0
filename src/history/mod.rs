//! History: what this branch changes in the migrations a base (the branch it merges into)
//! already has. A migration production already ran and that is edited, removed or renamed, or a
//! new one older than the base's newest, breaks or misleads the team's tool in production; each
//! rule (edited.rs, removed.rs, out_of_order.rs) judges one of these as the repo's tool would.
//! The base's migrations are read from git and discovered as the working tree's are, with the
//! same folders and tool.

pub mod base;
mod edited;
pub mod git;
mod out_of_order;
mod removed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::discovery::finding::Finding;
use crate::discovery::{discover, Discovery, Migration, Sources, Tool};
use crate::failure::Location;

pub use base::{Base, Wanted};

/// What `[history]` asks.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Migrations (by version or file stem) whose edit is a deliberate fix.
    pub allow_edits: Vec<String>,
    /// Migrations (by version or file stem) that may be gone (squashed into a baseline).
    pub allow_removed: Vec<String>,
    /// Overrides what the tool does with a new migration older than the base's newest.
    pub out_of_order: Option<OutOfOrderRule>,
}

/// `[history] out_of_order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutOfOrderRule {
    Allow,
    Warn,
    Fail,
}

/// The kinds of history verdict a migration can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    /// It is on the base and differs now (its rollback too).
    Edited,
    /// It is new, and sorts before the base's newest.
    OutOfOrder,
}

/// How a verdict weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    Fails,
    Warns,
    /// Allowed by dbgate.toml: said, not failed.
    Allowed,
}

/// One history verdict on a migration of the working tree.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub kind: HistoryKind,
    pub judgement: Judgement,
    /// The migration's file, which the verdict belongs to.
    pub migration: PathBuf,
    /// One sentence.
    pub message: String,
    pub location: Location,
    /// More lines: the diff, what the tool does.
    pub details: Vec<String>,
}

/// What history found, against which base.
#[derive(Debug, Clone)]
pub struct History {
    pub base: Base,
    /// The migrations on this branch that the base does not have.
    pub new: Vec<PathBuf>,
    pub verdicts: Vec<Verdict>,
    /// Migrations of the base that are gone: defects of the repo.
    pub findings: Vec<Finding>,
    /// What was allowed or passed over, in words.
    pub notes: Vec<String>,
    /// For a version the base has that a new migration takes too: (the new file, the sentence
    /// that names both sides), for the duplicate-version finding.
    pub renumber: Vec<(PathBuf, String)>,
}

impl History {
    /// Adds to each duplicate-version finding which file the base has and which is new.
    pub fn name_both_sides(&self, findings: &mut [Finding]) {
        for finding in findings
            .iter_mut()
            .filter(|f| f.kind == crate::discovery::finding::FindingKind::DuplicateVersion)
        {
            for (new, sentence) in &self.renumber {
                if finding.files.contains(new) {
                    finding.message.push_str("; ");
                    finding.message.push_str(sentence);
                    finding.location.file = new.clone();
                }
            }
        }
    }
}

/// What the reports say of the comparison: the base, and the migrations this branch adds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HistorySummary {
    #[serde(flatten)]
    pub base: Base,
    pub new_migrations: Vec<PathBuf>,
}

impl History {
    pub fn summary(&self) -> HistorySummary {
        HistorySummary {
            base: self.base.clone(),
            new_migrations: self.new.clone(),
        }
    }
}

/// Whether history was compared, and if not, why.
#[derive(Debug, Clone)]
pub enum Outcome {
    Compared(Box<History>),
    Skipped(String),
    /// `--base none`: not asked for.
    Off,
}

/// Reads the base's migrations and judges what changed. `root` is where dbgate runs.
pub fn compare(
    root: &Path,
    head: &Discovery,
    sources: &Sources,
    wanted: &Wanted,
    options: &HistoryOptions,
) -> Result<Outcome, base::BaseError> {
    if wanted.configured.as_deref() == Some("none") {
        return Ok(Outcome::Off);
    }
    let Some(repository) = git::Repository::of(root) else {
        return Ok(Outcome::Skipped(
            "history not checked: not a git repository (or git is not installed)".to_string(),
        ));
    };
    let base = match base::resolve(&repository, wanted)? {
        base::Resolved::Base(base) => base,
        base::Resolved::Skipped(why) => return Ok(Outcome::Skipped(why)),
    };
    let before = migrations_at(&repository, &base.commit, root, head, sources)?;
    // The base branch as it is now: a branch behind it must still see a migration main added
    // since as newer than its own new one (out of order once merged).
    let at_tip = match &base.tip {
        Some(tip) => Some(migrations_at(&repository, tip, root, head, sources)?),
        None => None,
    };
    let mut notes = Vec::new();
    if before.is_empty() && !head.migrations.is_empty() {
        notes.push(format!(
            "{} has no migrations in {}: every migration is new (a migrations folder moved since is not followed)",
            base.name,
            relative(root, &head.migrations_dir).display()
        ));
    }
    let tool = head.tool.tool;
    // Each migration of the base paired with the working tree's: the same file, else the only
    // one with its version (two with one version are the duplicate-version finding's, and a
    // new one that takes a base migration's version is not that migration edited).
    let mut by_version: BTreeMap<String, Vec<&Migration>> = BTreeMap::new();
    for migration in &head.migrations {
        by_version.entry(migration.version.identity()).or_default().push(migration);
    }
    let pair = |was: &Migration| -> Option<&Migration> {
        let same_version = by_version.get(&was.version.identity())?;
        match same_version.iter().find(|m| m.up.path == was.up.path) {
            Some(same_file) => Some(same_file),
            None if same_version.len() == 1 => Some(same_version[0]),
            None => None,
        }
    };
    let pairs: Vec<(&Migration, &Migration)> = before.iter().filter_map(|was| Some((was, pair(was)?))).collect();
    let paired: Vec<&Path> = pairs.iter().map(|(_, now)| now.up.path.as_path()).collect();
    let now: BTreeMap<String, &Migration> = head.migrations.iter().map(|m| (m.version.identity(), m)).collect();
    let new: Vec<&Migration> = head.migrations.iter().filter(|m| !paired.contains(&m.up.path.as_path())).collect();
    let mut history = History {
        new: new.iter().map(|m| m.up.path.clone()).collect(),
        verdicts: Vec::new(),
        findings: Vec::new(),
        notes,
        renumber: Vec::new(),
        base,
    };
    for (was, now) in &pairs {
        for other in by_version[&now.version.identity()].iter().filter(|m| m.up.path != now.up.path) {
            history.renumber.push((
                other.up.path.clone(),
                format!(
                    "{} is new since {}; {} is on {}: give the new one a version after every migration {} has",
                    file_name(&other.up.path),
                    history.base.name,
                    file_name(&was.up.path),
                    history.base.name,
                    history.base.name
                ),
            ));
        }
    }
    for (was, now) in &pairs {
        edited::judge(was, now, tool, options, &mut history);
    }
    removed::judge(&before, &now, &new, tool, options, &mut history);
    out_of_order::judge(at_tip.as_deref().unwrap_or(&before), &new, tool, options, &mut history);
    Ok(Outcome::Compared(Box::new(history)))
}

/// A folder of files kept in memory (tmpfs), on Linux.
const IN_MEMORY: &str = "/dev/shm";

/// The base's files, written under a new temporary folder in `dir` (the usual one: `None`).
fn write_base(files: &[(PathBuf, Vec<u8>)], dir: Option<&Path>) -> Result<tempfile::TempDir, base::BaseError> {
    let made = match dir {
        Some(dir) if dir.is_dir() => tempfile::TempDir::with_prefix_in("dbgate-base-", dir),
        Some(dir) => return Err(base::BaseError::Git(format!("no folder {}", dir.display()))),
        None => tempfile::TempDir::with_prefix("dbgate-base-"),
    };
    let scratch = made.map_err(|e| base::BaseError::Git(format!("cannot make a folder for the base's migrations: {e}")))?;
    for (path, content) in files {
        let target = scratch.path().join(path);
        if let Some(parent) = target.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&target, content).map_err(|e| base::BaseError::Git(format!("cannot write the base's {}: {e}", path.display())))?;
    }
    Ok(scratch)
}

/// The migrations at `commit`, discovered as the working tree's are (the same folders, order and
/// tool), named as in the working tree; none when the folder is not there.
fn migrations_at(
    repository: &git::Repository,
    commit: &str,
    root: &Path,
    head: &Discovery,
    sources: &Sources,
) -> Result<Vec<Migration>, base::BaseError> {
    let mut folders: Vec<&Path> = vec![relative(root, &head.migrations_dir)];
    if let Some(dir) = &head.rollbacks_dir {
        folders.push(relative(root, dir));
    }
    let files = repository
        .files_at(commit, &folders)
        .map_err(|e| base::BaseError::Git(format!("cannot read the base's migrations: {e}")))?;
    // In memory where the system has a folder for it: a thousand small files took a second to
    // create on a disk whose temporary folder had seen many files come and go (PostgreSQL's,
    // the tests'), 40 ms there. Its size may be small (64 MB in a container): anything that
    // cannot be written there is written to the usual temporary folder instead.
    let scratch = match write_base(&files, Some(Path::new(IN_MEMORY))) {
        Ok(scratch) => scratch,
        Err(_) => write_base(&files, None)?,
    };
    let base_sources = Sources {
        migrations: Some(relative(root, &head.migrations_dir).to_path_buf()),
        rollbacks: head.rollbacks_dir.as_ref().map(|d| relative(root, d).to_path_buf()),
        order: sources.order,
        tool: Some(head.tool.tool),
    };
    if !scratch.path().join(relative(root, &head.migrations_dir)).is_dir() {
        return Ok(Vec::new());
    }
    Ok(discover(scratch.path(), &base_sources)
        .map(|d| d.migrations)
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            rebase(&mut m, scratch.path(), root);
            m
        })
        .collect())
}

/// `path` (under `root`) relative to `root`.
fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// A migration discovered under `from` named as if under `to`.
fn rebase(migration: &mut Migration, from: &Path, to: &Path) {
    let moved = |p: &mut PathBuf| {
        if let Ok(rest) = p.strip_prefix(from) {
            *p = to.join(rest);
        }
    };
    moved(&mut migration.up.path);
    if let Some(down) = migration.down.as_mut() {
        moved(&mut down.path);
    }
}

/// The file name a sentence uses.
fn file_name(path: &Path) -> String {
    path.display().to_string()
}

/// Whether the tool records a checksum of each applied file and refuses to go on when one
/// changed (sqlx: every byte; Flyway: each line, without line endings, blank lines or a BOM).
fn checksums(tool: Tool) -> bool {
    matches!(tool, Tool::Sqlx | Tool::Flyway)
}
