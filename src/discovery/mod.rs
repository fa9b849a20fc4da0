//! Discovery: finds a repo's migrations and their rollbacks, in the layouts the common migration
//! tools use, and orders them as those tools do.

pub mod finding;
mod ignore;
pub mod pinned;
pub mod rls_matrix;
pub mod tool;

pub use finding::{Finding, FindingKind};
pub use tool::{Assumed, Tool};

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use walkdir::WalkDir;

use crate::script::Script;

/// Folders searched for migrations, in order, when none is given.
pub const MIGRATION_DIRS: [&str; 3] = ["supabase/migrations", "db/migrations", "migrations"];

#[derive(Debug, thiserror::Error)]
#[error("{}", render_problems(.problems))]
pub struct DiscoveryError {
    pub problems: Vec<String>,
}

fn render_problems(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        many => format!(
            "{} problems with the migrations:\n{}",
            many.len(),
            many.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// The layout a migration was written in, named after the tools that use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `<version>_<name>.up.sql` + `.down.sql` (golang-migrate, sqlx)
    UpDown,
    /// `<version>_<name>.sql`, with `_rollback.sql`/`.down.sql` beside it or a rollback folder
    Plain,
    /// `<version>_<name>/up.sql` + `down.sql`
    Diesel,
    /// one file with `-- migrate:up` / `-- migrate:down`
    Dbmate,
    /// `V<version>__<name>.sql` + `U<version>__<name>.sql`, and `R__<name>.sql`
    Flyway,
}

impl Layout {
    pub fn describe(self) -> &'static str {
        match self {
            Layout::UpDown => "up/down files",
            Layout::Plain => "plain",
            Layout::Diesel => "diesel folder",
            Layout::Dbmate => "dbmate sections",
            Layout::Flyway => "flyway",
        }
    }

    /// How the layout's tool orders its migrations, as `dbgate list` says it.
    pub fn order(self) -> &'static str {
        match self {
            Layout::UpDown | Layout::Plain => "versions as numbers (2 < 10, 001 = 1)",
            Layout::Flyway => "versions as numbers, part by part (1.2 < 1.10), repeatable R__ after all",
            Layout::Diesel => "diesel's: folder names up to the first _, dashes removed, as text",
            Layout::Dbmate => "dbmate's: whole file names, as text (10_b.sql before 9_a.sql)",
        }
    }
}

/// How the migrations are put in order (`[migrations] order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// By version, as the layout's tool compares versions; a version may not repeat.
    #[default]
    Version,
    /// By whole file name (a diesel folder's name), as text, as some teams' runners order
    /// them; a version may repeat.
    Name,
}

/// A migration version, compared as its tool compares it: numerically, part by part
/// (`1.2 < 1.10`, `2 < 10`, `001 == 1`); Flyway's repeatable migrations come after all others.
#[derive(Debug, Clone)]
pub struct Version {
    /// As written in the file name.
    pub text: String,
    key: VersionKey,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum VersionKey {
    Numbered(Vec<Number>),
    /// Compared as text, character by character (diesel).
    Text(String),
    /// By whole file name, as text (dbmate, the Supabase CLI, `order = "name"`); the version is
    /// the leading digits, as text.
    FileName(String),
    Repeatable(String),
}

/// A number of any length, compared by value (timestamps overflow nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Number(String);

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}
impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    /// A version made of digits separated by `.`, `_` or `-` (`20240101120000`, `1.2.10`,
    /// `2024-01-15-093000`). Diesel's dashes are part of one timestamp; dots and underscores
    /// separate Flyway's parts.
    fn parse(text: &str) -> Option<Version> {
        if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let mut parts = Vec::new();
        for part in text.split(['.', '_']) {
            let digits: String = part.chars().filter(|c| *c != '-').collect();
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let trimmed = digits.trim_start_matches('0');
            parts.push(Number(if trimmed.is_empty() { "0".into() } else { trimmed.into() }));
        }
        // Flyway: 1.0 is 1.
        while parts.len() > 1 && parts.last().is_some_and(|p| p.0 == "0") {
            parts.pop();
        }
        Some(Version {
            text: text.to_string(),
            key: VersionKey::Numbered(parts),
        })
    }

    /// diesel's version of a migration folder: the name up to its first `_`, dashes removed,
    /// compared as a string (migrations_internals' `version_from_string` and its derived
    /// `Ord`): `2025-11-19-091444-0000` (`202511190914440000`) runs before `2026-05-27-120000`,
    /// though it is the larger number.
    fn diesel(folder: &str) -> Version {
        let text = folder.split('_').next().unwrap_or(folder);
        Version {
            text: text.to_string(),
            key: VersionKey::Text(text.replace('-', "")),
        }
    }

    /// dbmate's order: its migrations sort by whole file name, as strings (dbmate's db.go:
    /// `sort.Slice(..., migrations[i].FileName < migrations[j].FileName)`), so `10_b.sql` runs
    /// before `9_a.sql`.
    fn file_name(version: &str, file_name: &str) -> Version {
        Version {
            text: version.to_string(),
            key: VersionKey::FileName(file_name.to_string()),
        }
    }

    /// What makes two versions one to their tool (the key of its bookkeeping table): the
    /// number for numeric versions (`001` is `1`), the text where the tool keeps text.
    pub fn identity(&self) -> String {
        match &self.key {
            VersionKey::Numbered(parts) => parts.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join("."),
            VersionKey::Text(text) => text.clone(),
            VersionKey::FileName(_) => self.text.clone(),
            VersionKey::Repeatable(name) => format!("R__{name}"),
        }
    }

    /// A Flyway `R__` script: run again whenever it changes, never in version order.
    pub fn is_repeatable(&self) -> bool {
        matches!(self.key, VersionKey::Repeatable(_))
    }

    fn repeatable(name: &str) -> Version {
        Version {
            text: "R".to_string(),
            key: VersionKey::Repeatable(name.to_string()),
        }
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Version {}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    pub name: String,
    /// The file name without its extension and up/down suffix (`0001_users` for
    /// `0001_users.up.sql`; a diesel folder's name): what pairs a rollback with its migration
    /// and what dbgate.toml may name it by.
    pub stem: String,
    pub layout: Layout,
    pub up: Script,
    pub down: Option<Script>,
}

impl Migration {
    /// The file a user knows the migration by.
    pub fn file(&self) -> &Path {
        &self.up.path
    }

    /// Whether a data test pinned to `name` is pinned to this migration: by its version (`1`
    /// is `001`), or its stem (`004_users`; a diesel folder's name). Not by the file's stem,
    /// which is `up` for every diesel migration.
    pub fn pinned_by(&self, name: &str) -> bool {
        // diesel compares its versions with the dashes taken out (2024-01-02-000000 is
        // 20240102000000).
        let number = |s: &str| s.replace('-', "").parse::<u128>().ok();
        name == self.version.text || name == self.stem || number(name).is_some_and(|n| number(&self.version.text) == Some(n))
    }

    /// Whether one of `names` (a list in dbgate.toml) names this migration: by version, by
    /// its stem, or by its file's stem.
    pub fn named_in(&self, names: &[String]) -> bool {
        let file_stem = self.up.path.file_stem().map(|s| s.to_string_lossy());
        names
            .iter()
            .any(|n| *n == self.version.text || *n == self.stem || file_stem.as_deref() == Some(n.as_str()))
    }
}

#[derive(Debug)]
pub struct Discovery {
    pub migrations_dir: PathBuf,
    pub rollbacks_dir: Option<PathBuf>,
    pub migrations: Vec<Migration>,
    pub order: Order,
    /// The migration tool assumed, and why.
    pub tool: Assumed,
    /// Defects of the repo: each fails the gate; the rest is still checked.
    pub findings: Vec<Finding>,
    /// Files passed over, with why.
    pub warnings: Vec<String>,
}

/// Where to look; `None` means the defaults below `root`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub migrations: Option<PathBuf>,
    pub rollbacks: Option<PathBuf>,
    pub order: Order,
    /// `[migrations] tool`; `None`: what the repo says.
    pub tool: Option<Tool>,
}

pub fn discover(root: &Path, sources: &Sources) -> Result<Discovery, DiscoveryError> {
    let problem = |p: String| DiscoveryError { problems: vec![p] };
    let migrations_dir = match &sources.migrations {
        Some(dir) => {
            let dir = root.join(dir);
            if !dir.is_dir() {
                return Err(problem(format!(
                    "the migrations folder {} does not exist",
                    display(root, &dir).display()
                )));
            }
            dir
        }
        None => MIGRATION_DIRS.iter().map(|d| root.join(d)).find(|d| d.is_dir()).ok_or_else(|| {
            problem(format!(
                "no migrations folder in {}: looked for {}; name one with --migrations DIR",
                if root.as_os_str().is_empty() { Path::new(".") } else { root }.display(),
                MIGRATION_DIRS.join(", ")
            ))
        })?,
    };
    let rollbacks_dir = match &sources.rollbacks {
        Some(dir) => {
            let dir = root.join(dir);
            if !dir.is_dir() {
                return Err(problem(format!(
                    "the rollback folder {} does not exist",
                    display(root, &dir).display()
                )));
            }
            Some(dir)
        }
        None => {
            let parent = migrations_dir.parent().unwrap_or(root);
            ["rollback", "rollbacks"].iter().map(|d| parent.join(d)).find(|d| d.is_dir())
        }
    };

    let mut found = Found::new(root);
    found.migrations = true;
    found.scan_migrations(&migrations_dir, rollbacks_dir.as_deref());
    if let Some(dir) = &rollbacks_dir {
        found.scan_rollback_folder(dir);
    }
    let Found {
        ups: mut migrations,
        downs,
        mut problems,
        mut findings,
        mut warnings,
        ..
    } = found;

    let assumed = tool::assume(root, &migrations_dir, &migrations, sources.tool);
    for migration in &mut migrations {
        if by_file_name(sources.order, assumed.tool, migration.layout) {
            migration.version = Version::file_name(&migration.version.text, &sort_name(migration));
        }
    }
    // Equal versions in file name order, so that a repo with duplicates is still checked.
    migrations.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.up.path.cmp(&b.up.path)));
    if sources.order == Order::Version {
        let mut by_identity: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, migration) in migrations.iter().enumerate() {
            by_identity.entry(migration.version.identity()).or_default().push(index);
        }
        // In the order the migrations run.
        let mut duplicates: Vec<&Vec<usize>> = by_identity.values().filter(|same| same.len() > 1).collect();
        duplicates.sort();
        for same in duplicates {
            let same: Vec<&Migration> = same.iter().map(|&i| &migrations[i]).collect();
            findings.push(duplicate_version(&same));
        }
    }
    pair_rollbacks(&mut migrations, downs, sources.order, &mut findings, &mut warnings);
    tool::apply(assumed.tool, root, &mut migrations);
    ignore::read_rules(&mut migrations, &mut findings);

    if problems.is_empty() && migrations.is_empty() {
        problems.push(format!(
            "the migrations folder {} holds no migrations (no .sql files with a version in their name)",
            display(root, &migrations_dir).display()
        ));
        problems.extend(findings.iter().map(|f| format!("{}: {}", f.location, f.message)));
    }
    if !problems.is_empty() {
        return Err(DiscoveryError { problems });
    }
    Ok(Discovery {
        migrations_dir: display(root, &migrations_dir),
        rollbacks_dir: rollbacks_dir.map(|d| display(root, &d)),
        migrations,
        order: sources.order,
        tool: assumed,
        findings,
        warnings,
    })
}

/// Whether a migration is ordered by its whole file name: under `order = "name"`, and as the
/// Supabase CLI lists its migrations (fs.ReadDir, versions kept as text).
fn by_file_name(order: Order, tool: Tool, layout: Layout) -> bool {
    order == Order::Name || (tool == Tool::Supabase && layout == Layout::Plain)
}

impl Discovery {
    /// The rule `migration` is ordered by, as `dbgate list` says it.
    pub fn order_rule(&self, migration: &Migration) -> &'static str {
        match self.order {
            Order::Name => "whole file names, as text; a version may repeat ([migrations] order = \"name\")",
            Order::Version if by_file_name(self.order, self.tool.tool, migration.layout) => {
                "the Supabase CLI's: whole file names, as text (10_b.sql before 9_a.sql)"
            }
            Order::Version => migration.layout.order(),
        }
    }
}

/// The name `order = "name"` sorts a migration by: its file's name, or its diesel folder's.
fn sort_name(migration: &Migration) -> String {
    let path = match migration.layout {
        Layout::Diesel => migration.up.path.parent().unwrap_or(&migration.up.path),
        _ => &migration.up.path,
    };
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

fn duplicate_version(same: &[&Migration]) -> Finding {
    let files: Vec<PathBuf> = same.iter().map(|m| m.up.path.clone()).collect();
    let listed: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut finding = Finding::at_start(
        FindingKind::DuplicateVersion,
        files[1].clone(),
        format!(
            "version {} is used by {}: the migration tools refuse to load them (golang-migrate, Flyway), fail on the second (sqlx, Supabase) or run only one (diesel, dbmate); give each its own version, or, if your runner orders by whole file name, set `order = \"name\"` under [migrations] in dbgate.toml (dbgate checks them in file name order)",
            same[0].version,
            listed.join(" and ")
        ),
    );
    finding.files = files;
    finding
}

/// Gives each rollback to its migration: the one with its stem (`0001_users` for
/// `0001_users.down.sql`), else, under version order, the one migration with its version, as
/// the tools pair them. A rollback that finds none is never run by its tool: a finding.
fn pair_rollbacks(migrations: &mut [Migration], downs: Vec<Down>, order: Order, findings: &mut Vec<Finding>, warnings: &mut Vec<String>) {
    let by_stem: HashMap<String, usize> = migrations.iter().enumerate().map(|(i, m)| (m.stem.clone(), i)).collect();
    for down in downs {
        // Where versions are text to the tool, `0001` is not `1`.
        let identity = down.version.identity();
        let same_version = |m: &Migration| match m.version.key {
            VersionKey::FileName(_) => m.version.text == down.version.text,
            _ => m.version.identity() == identity,
        };
        // Only looked for when the name finds no migration (most rollbacks are found by name).
        let with_version: Vec<usize> = match by_stem.get(&down.stem) {
            Some(_) => Vec::new(),
            None => (0..migrations.len()).filter(|&i| same_version(&migrations[i])).collect(),
        };
        // By version: as the tools pair them, under version order; under name order only a
        // rollback named by its version alone (`0001_rollback.sql`), when one migration has it.
        let by_version = order == Order::Version || !down.named;
        let owner = match (by_stem.get(&down.stem), with_version.as_slice()) {
            (Some(&i), _) => Some(i),
            (None, [i]) if by_version => Some(*i),
            _ => None,
        };
        let Some(i) = owner else {
            let why = match with_version.as_slice() {
                [] | [_] => format!(
                    "none is named {}{}",
                    down.stem,
                    if by_version {
                        format!(" or has version {}", down.version)
                    } else {
                        String::new()
                    }
                ),
                several => format!(
                    "none is named {}, and version {} belongs to {} migrations ({})",
                    down.stem,
                    down.version,
                    several.len(),
                    several
                        .iter()
                        .map(|&i| migrations[i].up.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            findings.push(Finding::at_start(
                FindingKind::OrphanRollback,
                down.script.path.clone(),
                format!(
                    "{} matches no migration ({why}): its tool never runs it; rename it after the migration it undoes, or remove it",
                    down.script.path.display()
                ),
            ));
            continue;
        };
        let migration = &mut migrations[i];
        if let Some(first) = &migration.down {
            let mut finding = Finding::at_start(
                FindingKind::DuplicateRollback,
                down.script.path.clone(),
                format!(
                    "{} has more than one rollback ({} and {}): keep one; dbgate checks the first",
                    migration.up.path.display(),
                    first.path.display(),
                    down.script.path.display()
                ),
            );
            finding.files = vec![first.path.clone(), down.script.path.clone()];
            findings.push(finding);
            continue;
        }
        if down.named && down.stem != migration.stem {
            warnings.push(format!(
                "{} is the rollback of {} by its version, but its name differs (a typo?)",
                down.script.path.display(),
                migration.up.path.display()
            ));
        }
        migration.down = Some(down.script);
    }
}

/// A path as shown to the user: relative to the repo root when below it, and as UTF-8 (a name
/// that is not has U+FFFD in place of its other bytes; `read` warns of it).
fn display(root: &Path, path: &Path) -> PathBuf {
    let shown = path.strip_prefix(root).unwrap_or(path);
    match shown.to_str() {
        Some(_) => shown.to_path_buf(),
        None => PathBuf::from(shown.to_string_lossy().into_owned()),
    }
}

struct Found<'a> {
    root: &'a Path,
    ups: Vec<Migration>,
    downs: Vec<Down>,
    problems: Vec<String>,
    findings: Vec<Finding>,
    warnings: Vec<String>,
    /// Files that began with a UTF-8 byte-order mark (stripped from their text).
    with_bom: std::collections::HashSet<PathBuf>,
    /// Reading migrations: a file that is not UTF-8 is a finding, not an error.
    migrations: bool,
    /// Migration files that are not UTF-8 (their text read with replacement characters).
    not_utf8: std::collections::HashSet<PathBuf>,
}

impl<'a> Found<'a> {
    fn new(root: &'a Path) -> Found<'a> {
        Found {
            root,
            ups: Vec::new(),
            downs: Vec::new(),
            problems: Vec::new(),
            findings: Vec::new(),
            warnings: Vec::new(),
            with_bom: Default::default(),
            migrations: false,
            not_utf8: Default::default(),
        }
    }
}

/// A rollback in a file of its own, before it is paired with its migration.
struct Down {
    version: Version,
    /// Its file name without the extension and the down suffix (`0001_users`).
    stem: String,
    /// Whether the stem names something beyond the version (`0001_users`, not `0001`).
    named: bool,
    script: Script,
}

/// What a file name says about the file.
enum Role {
    Up {
        version: Version,
        name: String,
        layout: Layout,
        stem: String,
    },
    Down {
        version: Version,
        stem: String,
    },
}

impl Found<'_> {
    fn scan_migrations(&mut self, dir: &Path, rollbacks_dir: Option<&Path>) {
        for entry in sorted_entries(dir, &mut self.problems) {
            let path = entry.path();
            if entry.file_type().is_dir() {
                if Some(path) == rollbacks_dir {
                    continue;
                }
                if path.join("up.sql").is_file() {
                    self.add_diesel(path);
                } else {
                    self.warn(path, "a folder without up.sql");
                }
                continue;
            }
            if !is_sql(path) {
                continue;
            }
            let file_name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
            let Some(role) = paired(path, &file_name).or_else(|| classify(&file_name)) else {
                self.warn(
                    path,
                    "its name has no version (expected <version>_<name>.sql or V<version>__<name>.sql)",
                );
                continue;
            };
            let Some(source) = self.read(path) else { continue };
            match role {
                Role::Up {
                    version,
                    name,
                    layout,
                    stem,
                } => {
                    if layout == Layout::Plain && has_dbmate_marker(&source) {
                        self.add_dbmate(path, source, version, name);
                    } else {
                        let up = self.script(path, source);
                        self.ups.push(Migration {
                            version,
                            name,
                            stem,
                            layout,
                            up,
                            down: None,
                        });
                    }
                }
                Role::Down { version, stem } => {
                    let script = self.script(path, source);
                    self.add_down(version, stem, script);
                }
            }
        }
    }

    fn scan_rollback_folder(&mut self, dir: &Path) {
        for entry in sorted_entries(dir, &mut self.problems) {
            let path = entry.path();
            if !entry.file_type().is_file() || !is_sql(path) {
                continue;
            }
            let stem = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let stem = ["_rollback", ".down", ".rollback", ".up"]
                .iter()
                .find_map(|s| stem.strip_suffix(s))
                .unwrap_or(&stem);
            let Some((version, _)) = split_version(stem) else {
                self.warn(
                    path,
                    "its name has no version (expected <version>_rollback.sql or <version>_<name>.sql)",
                );
                continue;
            };
            let Some(source) = self.read(path) else { continue };
            let script = self.script(path, source);
            self.add_down(version, stem.to_string(), script);
        }
    }

    fn add_diesel(&mut self, dir: &Path) {
        let dir_name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
        let Some((_, name)) = split_version(&dir_name) else {
            self.warn(dir, "its name has no version (expected <version>_<name>/up.sql)");
            return;
        };
        let version = Version::diesel(&dir_name);
        let Some(up_source) = self.read(&dir.join("up.sql")) else { return };
        let mut up = self.script(&dir.join("up.sql"), up_source);
        // diesel: `run_in_transaction = false` in metadata.toml
        // diesel runs up.sql and down.sql in a transaction unless metadata.toml says otherwise
        // (tool.rs); sqlx's directive means nothing to it.
        up.transaction_directive = None;
        if let Ok(metadata) = std::fs::read_to_string(dir.join("metadata.toml")) {
            if metadata.lines().any(|l| l.replace(' ', "") == "run_in_transaction=false") {
                up.transaction_directive = Some("run_in_transaction = false");
            }
        }
        let down = if dir.join("down.sql").is_file() {
            self.read(&dir.join("down.sql"))
                .map(|s| self.script(&dir.join("down.sql"), s))
                .map(|mut d| {
                    d.transaction_directive = up.transaction_directive;
                    d
                })
        } else {
            None
        };
        self.ups.push(Migration {
            version,
            name,
            stem: dir_name,
            layout: Layout::Diesel,
            up,
            down,
        });
    }

    fn add_dbmate(&mut self, path: &Path, source: Arc<str>, version: Version, name: String) {
        let shown = display(self.root, path);
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let version = Version::file_name(&version.text, &file_name);
        // Each `-- migrate:up|down [options]` line opens a section that runs to the next marker.
        let mut markers = Vec::new();
        let mut offset = 0;
        for line in source.split_inclusive('\n') {
            let trimmed = line.trim();
            for (marker, is_up) in [("-- migrate:up", true), ("-- migrate:down", false)] {
                if let Some(options) = trimmed.strip_prefix(marker) {
                    markers.push((is_up, offset, offset + line.len(), options.contains("transaction:false")));
                }
            }
            offset += line.len();
        }
        let mut up = None;
        let mut down = None;
        for (index, &(is_up, _, body_start, no_transaction)) in markers.iter().enumerate() {
            let body_end = markers.get(index + 1).map_or(source.len(), |next| next.1);
            let mut script = Script::new(shown.clone(), source.clone(), body_start..body_end);
            script.not_utf8 = self.not_utf8.contains(path);
            // dbmate runs each section in a transaction unless its marker says transaction:false.
            script.transaction_directive = no_transaction.then_some("transaction:false");
            *(if is_up { &mut up } else { &mut down }) = Some(script);
        }
        let Some(up) = up else {
            self.problems
                .push(format!("{} has `-- migrate:down` but no `-- migrate:up` section", shown.display()));
            return;
        };
        // dbmate writes an empty down section by default: dbmate runs it (nothing) and marks the
        // migration rolled back; the checks report it as a rollback with no statements.
        let stem = file_name.strip_suffix(".sql").unwrap_or(&file_name).to_string();
        self.ups.push(Migration {
            version,
            name,
            stem,
            layout: Layout::Dbmate,
            up,
            down,
        });
    }

    fn add_down(&mut self, version: Version, stem: String, script: Script) {
        self.downs.push(Down {
            named: stem != version.text,
            version,
            stem,
            script,
        });
    }

    fn script(&self, path: &Path, source: Arc<str>) -> Script {
        let body = 0..source.len();
        let mut script = Script::new(display(self.root, path), source, body);
        script.not_utf8 = self.not_utf8.contains(path);
        // sqlx: the file's text starts with `-- no-transaction`, byte for byte (sqlx-core's
        // migrate source: `sql.starts_with("-- no-transaction")`): a byte-order mark, a blank
        // line or a space before it turns it off.
        if !self.with_bom.contains(path) && script.text().starts_with("-- no-transaction") {
            script.transaction_directive = Some("-- no-transaction");
        }
        script
    }

    fn read(&mut self, path: &Path) -> Option<Arc<str>> {
        let shown = display(self.root, path);
        if path.to_str().is_none() {
            self.warnings.push(format!(
                "the name of {} is not UTF-8: the reports show it with U+FFFD in place of the bytes that are not",
                shown.display()
            ));
        }
        // Only regular files (and links to them): reading a named pipe waits for a writer forever.
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            let what = format!(
                "{} is not a regular file (a named pipe, socket, device, link to a folder, or a broken or looping link): dbgate reads only files; remove it or move it out of the folder",
                shown.display()
            );
            if self.migrations {
                self.findings.push(Finding::at_start(FindingKind::NotAFile, shown, what));
            } else {
                self.problems.push(what);
            }
            return None;
        }
        match std::fs::read(path) {
            Err(e) => {
                self.problems.push(format!("cannot read {}: {e}", shown.display()));
                None
            }
            // A UTF-8 byte-order mark is not part of the SQL: psql and Flyway skip it, and
            // columns on the first line are counted without it.
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => match text.strip_prefix('\u{feff}') {
                    Some(stripped) => {
                        self.with_bom.insert(path.to_path_buf());
                        Some(stripped.into())
                    }
                    None => Some(text.into()),
                },
                Err(e) => {
                    let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    let valid = std::str::from_utf8(valid).unwrap_or_default();
                    let valid = valid.strip_prefix('\u{feff}').unwrap_or(valid);
                    let at = crate::script::position_at(valid, valid.len());
                    let location = crate::failure::Location {
                        file: shown.clone(),
                        line: at.line,
                        column: at.column,
                    };
                    if !self.migrations {
                        self.problems.push(format!("{location}: not valid UTF-8 (save the file as UTF-8)"));
                        return None;
                    }
                    // A migration's: a defect of the repo. It stays in its place, never run, so
                    // that its rollback is still its own and what depends on it is not blamed.
                    self.findings.push(Finding {
                        kind: FindingKind::NotUtf8,
                        message: format!(
                            "{} is not valid UTF-8 from here: the migration tools read or send text as UTF-8 and fail on it; save it as UTF-8",
                            shown.display()
                        ),
                        location,
                        files: Vec::new(),
                    });
                    self.not_utf8.insert(path.to_path_buf());
                    Some(String::from_utf8_lossy(e.as_bytes()).into())
                }
            },
        }
    }

    fn warn(&mut self, path: &Path, why: &str) {
        self.warnings.push(format!("skipped {}: {why}", display(self.root, path).display()));
    }
}

fn sorted_entries(dir: &Path, problems: &mut Vec<String>) -> Vec<walkdir::DirEntry> {
    let mut entries = Vec::new();
    for entry in WalkDir::new(dir).min_depth(1).max_depth(1).sort_by_file_name() {
        match entry {
            Ok(entry) => entries.push(entry),
            Err(e) => problems.push(format!("cannot read {}: {e}", dir.display())),
        }
    }
    entries
}

fn is_sql(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

fn has_dbmate_marker(source: &str) -> bool {
    source.lines().any(|l| l.trim_start().starts_with("-- migrate:up"))
}

/// `<version>_<name>` or `<version>`.
fn split_version(stem: &str) -> Option<(Version, String)> {
    let end = stem
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))))
        .map_or(stem.len(), |(i, _)| i);
    let (version, rest) = stem.split_at(end);
    let name = match rest {
        "" => "",
        rest => rest.strip_prefix('_')?,
    };
    Some((Version::parse(version)?, name.to_string()))
}

/// `<v>_<name>_up.sql` beside `<v>_<name>_down.sql`: a pair, as some teams' runners name them.
/// Only when both exist, so that `0010_shut_down.sql` alone stays a migration.
fn paired(path: &Path, file_name: &str) -> Option<Role> {
    for (suffix, sibling, is_up) in [("_up.sql", "_down.sql", true), ("_down.sql", "_up.sql", false)] {
        let Some(base) = file_name.strip_suffix(suffix) else { continue };
        if !path.with_file_name(format!("{base}{sibling}")).is_file() {
            return None;
        }
        let (version, name) = split_version(base)?;
        let stem = base.to_string();
        return Some(if is_up {
            Role::Up {
                version,
                name,
                layout: Layout::UpDown,
                stem,
            }
        } else {
            Role::Down { version, stem }
        });
    }
    None
}

fn classify(file_name: &str) -> Option<Role> {
    let stem = &file_name[..file_name.len() - 4];
    // Flyway: V1.2__name, U1.2__name, R__name
    if let Some(name) = stem.strip_prefix("R__") {
        return Some(Role::Up {
            version: Version::repeatable(name),
            name: name.to_string(),
            layout: Layout::Flyway,
            stem: stem.to_string(),
        });
    }
    // Flyway's undo `U1__x` pairs with `V1__x`: the stem leaves the prefix out.
    for (prefix, is_up) in [('V', true), ('U', false)] {
        if let Some((version, name)) = stem.strip_prefix(prefix).and_then(|rest| rest.split_once("__")) {
            if let Some(version) = Version::parse(version) {
                let stem = stem[1..].to_string();
                return Some(if is_up {
                    Role::Up {
                        version,
                        name: name.to_string(),
                        layout: Layout::Flyway,
                        stem,
                    }
                } else {
                    Role::Down { version, stem }
                });
            }
        }
    }
    if let Some(base) = stem.strip_suffix(".up") {
        let (version, name) = split_version(base)?;
        return Some(Role::Up {
            version,
            name,
            layout: Layout::UpDown,
            stem: base.to_string(),
        });
    }
    if let Some(base) = [".down", "_rollback", ".rollback"].iter().find_map(|s| stem.strip_suffix(s)) {
        let (version, _) = split_version(base)?;
        return Some(Role::Down {
            version,
            stem: base.to_string(),
        });
    }
    let (version, name) = split_version(stem)?;
    Some(Role::Up {
        version,
        name,
        layout: Layout::Plain,
        stem: stem.to_string(),
    })
}

/// Folders searched for database tests, all that exist, when none are configured.
pub const TEST_DIRS: [&str; 3] = ["smoke", "supabase/tests", "tests/database"];
/// Seed files loaded before the tests, all that exist, when none are configured.
pub const SEED_FILES: [&str; 2] = ["seed.sql", "supabase/seed.sql"];

/// What a configured path must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    File,
    Folder,
}

/// The configured paths (each must exist and be what `expect` says: `what` names it in the
/// error), or the defaults that exist. A file that is there but is not a regular file (a named
/// pipe, a link to a folder) is kept, for reading it says so; a default that is a folder where a
/// file is expected is not the repo's seed file and is left alone.
fn configured_or_default(
    root: &Path,
    configured: Option<&[PathBuf]>,
    defaults: &[&str],
    expect: Expect,
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<PathBuf> {
    let is = |path: &Path| match expect {
        Expect::File => path.is_file(),
        Expect::Folder => path.is_dir(),
    };
    match configured {
        Some(paths) => {
            let mut kept = Vec::new();
            for path in paths {
                let full = root.join(path);
                let shown = path.display();
                match std::fs::symlink_metadata(&full) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(format!("the {what} {shown} does not exist")),
                    Err(e) => problems.push(format!("cannot read the {what} {shown}: {e}")),
                    Ok(_) if is(&full) => kept.push(full),
                    Ok(_) if expect == Expect::File && !full.is_dir() => kept.push(full),
                    Ok(_) => problems.push(format!(
                        "the {what} {shown} is not a {}",
                        if expect == Expect::File { "file" } else { "folder" }
                    )),
                }
            }
            kept
        }
        None => defaults
            .iter()
            .map(|d| root.join(d))
            .filter(|p| match expect {
                // A seed.sql that is there but is not a regular file is the repo's: reading it says so.
                Expect::File => std::fs::symlink_metadata(p).is_ok() && !p.is_dir(),
                Expect::Folder => p.is_dir(),
            })
            .collect(),
    }
}

/// What the repo asks to run.
#[derive(Debug, Default)]
pub struct DatabaseTests {
    pub seeds: Vec<Script>,
    pub files: Vec<Script>,
    pub matrices: Vec<rls_matrix::Matrix>,
    /// Tests pinned to a migration, run in the forward replay.
    pub pinned: Vec<pinned::PinnedTest>,
}

impl DatabaseTests {
    /// Whether there is nothing to run on the migrated schema (pinned tests run before it).
    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty() && self.files.is_empty() && self.matrices.is_empty()
    }
}

/// The setup files (`[migrations] setup`), read; each must exist.
pub fn read_setup(root: &Path, paths: &[PathBuf]) -> Result<Vec<Script>, DiscoveryError> {
    let mut found = Found::new(root);
    let mut scripts = Vec::new();
    for path in configured_or_default(root, Some(paths), &[], Expect::File, "setup file", &mut found.problems) {
        if let Some(source) = found.read(&path) {
            scripts.push(found.script(&path, source));
        }
    }
    if found.problems.is_empty() {
        Ok(scripts)
    } else {
        Err(DiscoveryError { problems: found.problems })
    }
}

/// Finds the seed files, the SQL and pgTAP test files (`*.sql`) and the RLS matrices
/// (`*.rls.toml`) in the test folders.
pub fn discover_tests(root: &Path, dirs: Option<&[PathBuf]>, seeds: Option<&[PathBuf]>) -> Result<DatabaseTests, DiscoveryError> {
    let mut found = Found::new(root);
    let mut tests = DatabaseTests::default();
    let seed_paths = configured_or_default(root, seeds, &SEED_FILES, Expect::File, "seed file", &mut found.problems);
    for path in seed_paths {
        if let Some(source) = found.read(&path) {
            tests.seeds.push(found.script(&path, source));
        }
    }
    let data_dir = root.join(pinned::DATA_DIR);
    if data_dir.is_dir() {
        tests.pinned = pinned_by_folder(&data_dir, &mut found);
    }
    let dirs = configured_or_default(root, dirs, &TEST_DIRS, Expect::Folder, "test folder", &mut found.problems);
    for dir in dirs {
        // A test folder holding tests/data: its files are the pinned tests above.
        let walk = WalkDir::new(&dir).sort_by_file_name().into_iter();
        for entry in walk.filter_entry(|e| e.path() != data_dir) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    found.problems.push(format!("cannot read {}: {e}", dir.display()));
                    continue;
                }
            };
            let path = entry.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            // Folders are walked; anything else named as a test (a link to a file, a named
            // pipe) is read, and reading says when it is not a regular file.
            if entry.file_type().is_dir() {
                continue;
            }
            if name.ends_with(".rls.toml") {
                if let Some(source) = found.read(path) {
                    match rls_matrix::Matrix::parse(display(root, path), source) {
                        Ok(matrix) => tests.matrices.push(matrix),
                        Err(problem) => found.problems.push(problem.to_string()),
                    }
                }
            } else if is_sql(path) {
                if let Some(source) = found.read(path) {
                    match pinned::directive(&source) {
                        None => tests.files.push(found.script(path, source)),
                        Some(Ok((moment, version))) => {
                            let script = found.script(path, source);
                            tests.pinned.push(pinned::PinnedTest { version, moment, script });
                        }
                        Some(Err(why)) => found.problems.push(format!("{}:1:1: {why}", display(root, path).display())),
                    }
                }
            }
        }
    }
    if found.problems.is_empty() {
        Ok(tests)
    } else {
        Err(DiscoveryError { problems: found.problems })
    }
}

/// The tests under `tests/data/<version>/`: `before.sql`, `after.sql` and `after_rollback.sql`
/// in each folder; any other file there is a problem (a misspelt name would never run).
fn pinned_by_folder(data_dir: &Path, found: &mut Found) -> Vec<pinned::PinnedTest> {
    let mut tests = Vec::new();
    let entries = match std::fs::read_dir(data_dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.problems.push(format!("cannot read {}: {e}", data_dir.display()));
            return tests;
        }
    };
    let mut folders: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    folders.sort();
    for folder in folders {
        let shown = display(found.root, &folder);
        if !folder.is_dir() {
            found.problems.push(format!(
                "{}: {} holds one folder per migration version (tests/data/<version>/before.sql, after.sql, after_rollback.sql)",
                shown.display(),
                pinned::DATA_DIR
            ));
            continue;
        }
        let version = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for entry in WalkDir::new(&folder).min_depth(1).sort_by_file_name() {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy();
            let Some(moment) = pinned::Moment::ALL.into_iter().find(|m| m.file_name() == name) else {
                found.problems.push(format!(
                    "{}: a data test's folder holds only before.sql, after.sql and after_rollback.sql",
                    display(found.root, entry.path()).display()
                ));
                continue;
            };
            if let Some(source) = found.read(entry.path()) {
                let script = found.script(entry.path(), source);
                tests.push(pinned::PinnedTest {
                    version: version.clone(),
                    moment,
                    script,
                });
            }
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn diesel_versions_order_as_diesel_orders_them() {
        let d = Version::diesel;
        // As strings, dashes removed: not as numbers.
        assert!(d("2025-11-19-091444-0000_a") < d("2026-05-27-120000_b"));
        assert!(d("2024-01-15-093000_x") < d("2024-02-01-080000_y"));
        assert_eq!(d("2024-01-15-093000_x"), d("20240115093000_y"));
        assert_eq!(d("2024-01-15-093000_create_teams").text, "2024-01-15-093000");
    }

    #[test]
    fn dbmate_migrations_order_by_file_name() {
        let f = Version::file_name;
        assert!(f("10", "10_b.sql") < f("9", "9_a.sql"));
        assert!(f("20240101000000", "20240101000000_a.sql") < f("20240102000000", "20240102000000_b.sql"));
    }

    #[test]
    fn versions_order_numerically_part_by_part() {
        assert!(v("2") < v("10"));
        assert!(v("1.2") < v("1.10"));
        assert!(v("1.1") < v("1.2"));
        assert_eq!(v("001"), v("1"));
        assert_eq!(v("1.0"), v("1"));
        assert!(v("20240101120000") < v("20240101120001"));
        assert!(v("2024-01-15-093000") < v("2024-02-01-000000"));
        assert!(v("99999999999999999999999") < Version::repeatable("a"));
    }

    #[test]
    fn each_tool_s_version_identity_is_its_bookkeeping_key() {
        // golang-migrate and sqlx parse the number: 001 is 1 (a duplicate).
        assert_eq!(v("001").identity(), v("1").identity());
        // Flyway: trailing zero parts do not count (1.0 is 1), 1.10 is not 1.1.
        assert_eq!(v("1.0").identity(), v("1").identity());
        assert_ne!(v("1.10").identity(), v("1.1").identity());
        // dbmate and the Supabase CLI keep the digits as text: 001 is not 1.
        let f = Version::file_name;
        assert_ne!(f("001", "001_a.sql").identity(), f("1", "1_b.sql").identity());
        assert_eq!(
            f("20240101", "20240101_a.sql").identity(),
            f("20240101", "20240101_b.sql").identity()
        );
        // diesel: dashes removed.
        assert_eq!(Version::diesel("2024-01-01_a").identity(), Version::diesel("20240101_b").identity());
    }

    #[test]
    fn file_names_say_what_a_file_is() {
        assert!(matches!(classify("001_init.sql"), Some(Role::Up { layout: Layout::Plain, .. })));
        assert!(matches!(
            classify("001_init.up.sql"),
            Some(Role::Up {
                layout: Layout::UpDown,
                ..
            })
        ));
        assert!(matches!(classify("001_init.down.sql"), Some(Role::Down { .. })));
        assert!(matches!(classify("001_init_rollback.sql"), Some(Role::Down { .. })));
        assert!(matches!(classify("001_rollback.sql"), Some(Role::Down { .. })));
        assert!(matches!(
            classify("V1.2__init.sql"),
            Some(Role::Up {
                layout: Layout::Flyway,
                ..
            })
        ));
        assert!(matches!(classify("U1_2__init.sql"), Some(Role::Down { .. })));
        assert!(classify("seed.sql").is_none());
        assert!(classify("001-init.sql").is_none());
    }
}
