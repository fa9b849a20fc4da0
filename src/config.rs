//! Configuration: the command line and `dbgate.toml`, validated once into settings the rest of
//! dbgate reads. The command line wins over the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::checks::expectations::{ExpectSection, Expectations};
use std::sync::Arc;

use crate::checks::Options;
use crate::cli::{CheckArgs, SourceArgs};
use crate::discovery::{Order, Sources, Tool};

pub const CONFIG_FILE: &str = "dbgate.toml";
const DEFAULT_MIGRATION_TIMEOUT: u64 = 300;
const DEFAULT_STARTUP_TIMEOUT: u64 = 120;
/// The longest any wait may be set to: a day. A migration gate that waits longer is stuck, and
/// larger values overflow the clock's arithmetic.
const MAX_SECONDS: u64 = 86_400;

/// A whole number of seconds from the command line or dbgate.toml, checked once: at least 1, at
/// most a day.
fn seconds(value: u64, what: &str) -> Result<Duration, String> {
    if (1..=MAX_SECONDS).contains(&value) {
        Ok(Duration::from_secs(value))
    } else {
        Err(format!("{what} must be between 1 and {MAX_SECONDS} seconds (a day), not {value}"))
    }
}

/// A duration from the command line (`flag`) or else from dbgate.toml (`key`, at its line), or
/// the default; an error names where the value was written.
fn duration_setting(
    flag: (Option<u64>, &str),
    key: (Option<&toml::Spanned<u64>>, &str),
    default: u64,
    (path, text): (&Path, &str),
) -> Result<Duration, ConfigError> {
    match (flag.0, key.0) {
        (Some(value), _) => seconds(value, flag.1).map_err(ConfigError::Usage),
        (None, Some(value)) => seconds(*value.get_ref(), key.1).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "line {}, {message}",
                crate::script::position_at(text, value.span().start.min(text.len())).line
            ),
        }),
        (None, None) => seconds(default, key.1).map_err(ConfigError::Usage),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

/// `dbgate.toml`. Unknown keys are errors, so that a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    migrations: MigrationsSection,
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    seed: SeedSection,
    #[serde(default)]
    tests: TestsSection,
    #[serde(default)]
    rollback: RollbackSection,
    #[serde(default)]
    history: HistorySection,
    /// `[lint]`: `enabled`, `rows`, and a severity per rule id; read by `lint_options`, which
    /// names the line of a key or value it cannot take.
    #[serde(default)]
    lint: std::collections::BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>>,
    expect: Option<ExpectSection>,
    #[serde(default)]
    data: DataSection,
    /// `[snapshots]`: the schema as SQL, committed and held to the migrations.
    snapshots: Option<SnapshotsSection>,
    /// `[types]`: TypeScript types, committed and held to the migrations.
    types: Option<TypesSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypesSection {
    output: Option<PathBuf>,
    schemas: Option<Vec<String>>,
    one_to_one: Option<bool>,
    postgrest_version: Option<String>,
}

/// Where the TypeScript types go, for which schemas, and how they are written.
#[derive(Debug, Clone)]
pub struct TypesSettings {
    pub output: PathBuf,
    pub schemas: Vec<String>,
    pub options: crate::generate::types::Options,
    /// `[types]` is in dbgate.toml: the gate holds the committed file to the migrations.
    pub checked: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotsSection {
    dir: Option<PathBuf>,
    #[serde(default)]
    every: bool,
}

/// Where the schema snapshots go, and whether there is one per migration.
#[derive(Debug, Clone)]
pub struct SnapshotSettings {
    pub dir: PathBuf,
    pub every: bool,
    /// `[snapshots]` is in dbgate.toml: the gate holds the committed files to the migrations.
    pub checked: bool,
}

/// The snapshots' folder when dbgate.toml names none (not supabase/schemas: the Supabase
/// CLI's own declarative-schema input).
pub const DEFAULT_SNAPSHOT_DIR: &str = "db/snapshots";

/// `[data]`: the data checks in the lint's copy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSection {
    /// Generated rows per table (`--rows` wins).
    rows: Option<toml::Spanned<i64>>,
    /// Each round trip compares the data as well as the schema.
    check_rollbacks: Option<bool>,
}

/// `[lint]`, checked: each key known, each value of its kind.
fn lint_options(
    section: &std::collections::BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>>,
    (path, text): (&Path, &str),
) -> Result<(crate::checks::lint::LintOptions, Option<(i64, usize)>), ConfigError> {
    use crate::checks::lint::{LintOptions, Rule, Severity};
    let mut options = LintOptions::default();
    // `[lint] rows`, the older place of `[data] rows`: the value and its line.
    let mut rows = None;
    for (key, value) in section {
        let line = crate::script::position_at(text, key.span().start.min(text.len())).line;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {line}, [lint] {}: {message}", key.get_ref()),
        };
        match (key.get_ref().as_str(), value.get_ref()) {
            ("enabled", toml::Value::Boolean(on)) => options.enabled = *on,
            ("enabled", _) => return Err(invalid("must be true or false".to_string())),
            ("rows", toml::Value::Integer(n)) => rows = Some((*n, line)),
            ("rows", _) => return Err(invalid(rows_range())),
            (id, value) => {
                let Some(rule) = Rule::from_id(id) else {
                    return Err(invalid(
                        "no rule of dbgate's has this id (`dbgate rules` lists them; the other keys are enabled and rows)".to_string(),
                    ));
                };
                let severity = value
                    .as_str()
                    .and_then(Severity::parse)
                    .ok_or_else(|| invalid(format!("must be \"error\", \"warning\" or \"off\", not {value}")))?;
                options.configured.insert(rule, severity);
            }
        }
    }
    Ok((options, rows))
}

fn rows_range() -> String {
    format!("must be a whole number from 0 to {}", crate::checks::data::MAX_ROWS)
}

/// `[data]` (and `[lint] rows`, its older spelling), with `--rows` over both.
fn data_options(
    section: &DataSection,
    lint_rows: Option<(i64, usize)>,
    cli_rows: Option<u32>,
    (path, text): (&Path, &str),
) -> Result<crate::checks::data::DataOptions, ConfigError> {
    let mut options = crate::checks::data::DataOptions::default();
    if let Some(on) = section.check_rollbacks {
        options.check_rollbacks = on;
    }
    let data_rows = section.rows.as_ref().map(|rows| {
        let line = crate::script::position_at(text, rows.span().start.min(text.len())).line;
        (*rows.get_ref(), line, "[data]")
    });
    if let (Some(_), Some((_, line))) = (&data_rows, lint_rows) {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {line}, [lint] rows: the rows are set in [data] rows (this is its older place); set them there only"),
        });
    }
    let written = data_rows.or(lint_rows.map(|(rows, line)| (rows, line, "[lint]")));
    if let Some((rows, line, section)) = written {
        if !(0..=i64::from(crate::checks::data::MAX_ROWS)).contains(&rows) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("line {line}, {section} rows: {}", rows_range()),
            });
        }
        options.rows = rows as u32;
        options.volume = true;
    }
    if let Some(rows) = cli_rows {
        if rows > crate::checks::data::MAX_ROWS {
            return Err(ConfigError::Usage(format!("--rows {}", rows_range())));
        }
        options.rows = rows;
        options.volume = true;
    }
    Ok(options)
}

/// `[history]`: what this branch may change in the migrations its base already has.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistorySection {
    /// The branch or commit to compare with ("origin/main").
    base: Option<String>,
    /// Migrations (version or file stem) whose edit is a deliberate fix.
    #[serde(default)]
    allow_edits: Vec<String>,
    /// Migrations (version or file stem) that may be gone (squashed into a baseline).
    #[serde(default)]
    allow_removed: Vec<String>,
    /// What a new migration older than the base's newest is: allow, warn or fail.
    out_of_order: Option<crate::history::OutOfOrderRule>,
}

/// `[rollback]`: how rollbacks that do nothing are judged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackSection {
    /// A rollback with no statements fails the gate instead of being a warning.
    #[serde(default)]
    strict: bool,
    /// Migrations whose rollback is declared irreversible, by version or file stem.
    #[serde(default)]
    irreversible: Vec<String>,
    /// Differences not to fail on, as `kind:name` patterns ("view:*").
    #[serde(default)]
    ignore: Vec<toml::Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedSection {
    files: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestsSection {
    dirs: Option<Vec<PathBuf>>,
}

// The settings' own choices; the command line offers them as they are (clap's ValueEnum).

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 when anything failed
    Any,
    /// Report only: exit 0 even when the gate failed
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// docker when a Docker daemon answers and the image can be had, else local
    Auto,
    /// A throwaway container through testcontainers
    Docker,
    /// A temporary cluster from the PostgreSQL server binaries on this machine
    Local,
    /// A fresh database on an existing server (--database-url)
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
/// What the database is prepared with before the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Supabase,
    None,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationsSection {
    dir: Option<PathBuf>,
    rollbacks: Option<PathBuf>,
    /// `version` (as the layout's tool compares versions) or `name` (whole file names).
    #[serde(default)]
    order: Order,
    /// The migration tool, when the repo does not say: how each file runs.
    tool: Option<Tool>,
    /// SQL run once before the first migration, not checked (a runner's own table, what the
    /// platform provides).
    setup: Option<Vec<PathBuf>>,
    timeout_seconds: Option<toml::Spanned<u64>>,
    /// PostgreSQL's statement_timeout for the migrations' session, e.g. "30s".
    statement_timeout: Option<toml::Spanned<String>>,
    /// PostgreSQL's lock_timeout, e.g. "5s".
    lock_timeout: Option<toml::Spanned<String>>,
    /// A migration slower than this is a warning.
    warn_seconds: Option<toml::Spanned<f64>>,
    /// A migration slower than this fails the gate.
    fail_seconds: Option<toml::Spanned<f64>>,
}

/// A PostgreSQL duration: a number with an optional unit (ms, s, min, h, d).
fn is_duration(text: &str) -> bool {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    let unit = text[digits.len()..].trim();
    !digits.is_empty() && digits.parse::<f64>().is_ok() && ["", "ms", "s", "min", "h", "d"].contains(&unit)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    provider: Option<ProviderKind>,
    url: Option<String>,
    pg_bin: Option<PathBuf>,
    image: Option<String>,
    db_host: Option<String>,
    startup_timeout_seconds: Option<toml::Spanned<u64>>,
    preset: Option<Preset>,
}

#[derive(Debug, Clone)]
pub enum ProviderChoice {
    Auto { docker: DockerSettings, pg_bin: Option<PathBuf> },
    Docker(DockerSettings),
    Local { pg_bin: Option<PathBuf> },
    Url { url: String },
}

#[derive(Debug, Clone)]
pub struct DockerSettings {
    pub image: String,
    pub db_host: Option<String>,
    pub startup_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub root: PathBuf,
    pub sources: Sources,
    /// The configuration file, present or not (`--update-expectations` writes there).
    pub config_path: PathBuf,
    /// `None`: the Supabase preset when the migrations are in supabase/migrations.
    pub preset: Option<Preset>,
    pub test_dirs: Option<Vec<PathBuf>>,
    pub seed_files: Option<Vec<PathBuf>>,
    /// `[migrations] setup`: run once before the first migration, not checked.
    pub setup_files: Vec<PathBuf>,
    pub expectations: Option<Expectations>,
    pub update_expectations: bool,
    pub provider: ProviderChoice,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub color: bool,
    /// GitHub mode: `--github`, or running in GitHub Actions.
    pub github: bool,
    pub comment: bool,
    pub github_token: Option<String>,
    pub fail_on: FailOn,
    /// Read the whole catalog after every script, not only what the script touched.
    pub full_snapshots: bool,
    /// How the checks run the migrations: their timeout, budgets and session limits.
    pub options: Options,
    /// Which base to compare with, and what `[history]` allows.
    pub history: (crate::history::Wanted, crate::history::HistoryOptions),
    /// `--changed-only`: prove only the new and edited migrations' rollbacks.
    pub changed_only: bool,
    /// `[snapshots]`, or where `dbgate snapshot` writes without it.
    pub snapshots: SnapshotSettings,
    /// `[types]`, or where `dbgate types` writes without it.
    pub types: TypesSettings,
}

/// The repo root, the sources and the parsed config file.
struct Loaded {
    root: PathBuf,
    sources: Sources,
    file: ConfigFile,
    path: PathBuf,
    text: Arc<str>,
    /// The folder paths in the file are relative to.
    base: PathBuf,
}

fn load(args: &SourceArgs) -> Result<Loaded, ConfigError> {
    let root = PathBuf::new();
    let (path, required) = match &args.config {
        Some(path) => (path.clone(), true),
        None => (root.join(CONFIG_FILE), false),
    };
    // Something there that is not a file (a named pipe would block the read forever, a
    // directory would be taken for no file at all): an error, not a silent default.
    let exists = std::fs::symlink_metadata(&path).is_ok();
    if exists && !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        return Err(ConfigError::Invalid {
            path: path.clone(),
            message: "not a regular file (a named pipe, socket, directory or broken link): dbgate reads its configuration from a file"
                .to_string(),
        });
    }
    let text: Arc<str> = if required || path.is_file() {
        std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?
            .into()
    } else {
        "".into()
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.clone(),
        message: e.to_string().trim_end().to_string(),
    })?;
    // Paths in the file are relative to the file's folder.
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let sources = Sources {
        migrations: args
            .migrations
            .clone()
            .or_else(|| file.migrations.dir.as_ref().map(|d| base.join(d))),
        rollbacks: args
            .rollbacks
            .clone()
            .or_else(|| file.migrations.rollbacks.as_ref().map(|d| base.join(d))),
        order: file.migrations.order,
        tool: file.migrations.tool,
    };
    Ok(Loaded {
        root,
        sources,
        file,
        path,
        text,
        base,
    })
}

pub fn sources(args: &SourceArgs) -> Result<(PathBuf, Sources), ConfigError> {
    let loaded = load(args)?;
    Ok((loaded.root, loaded.sources))
}

pub fn check_settings(args: &CheckArgs) -> Result<CheckSettings, ConfigError> {
    let Loaded {
        root,
        sources,
        file,
        path,
        text,
        base,
    } = load(&args.source)?;
    let relative = |paths: Option<Vec<PathBuf>>| paths.map(|paths| paths.into_iter().map(|p| base.join(p)).collect::<Vec<_>>());
    let expectations = file.expect.map(|section| Expectations {
        section,
        path: path.clone(),
        source: text.clone(),
    });
    let url = args.database.database_url.clone().or(file.database.url);
    let kind =
        args.database
            .provider
            .or(file.database.provider)
            .unwrap_or(if url.is_some() { ProviderKind::Url } else { ProviderKind::Auto });
    let pg_bin = args.database.pg_bin.clone().or(file.database.pg_bin);
    let startup_timeout = duration_setting(
        (args.database.startup_timeout, "--startup-timeout"),
        (file.database.startup_timeout_seconds.as_ref(), "[database] startup_timeout_seconds"),
        DEFAULT_STARTUP_TIMEOUT,
        (&path, &text),
    )?;
    let docker = DockerSettings {
        image: args
            .database
            .image
            .clone()
            .or(file.database.image)
            .unwrap_or_else(|| crate::provider::docker::DEFAULT_IMAGE.to_string()),
        db_host: args.database.db_host.clone().or(file.database.db_host),
        startup_timeout,
    };
    let provider = match kind {
        ProviderKind::Auto => ProviderChoice::Auto { docker, pg_bin },
        ProviderKind::Docker => ProviderChoice::Docker(docker),
        ProviderKind::Local => ProviderChoice::Local { pg_bin },
        ProviderKind::Url => ProviderChoice::Url {
            url: url.ok_or_else(|| {
                ConfigError::Usage(
                    "--provider url needs --database-url URL (or DBGATE_DATABASE_URL, or [database] url in dbgate.toml)".into(),
                )
            })?,
        },
    };
    let timeout = duration_setting(
        (args.database.migration_timeout, "--migration-timeout"),
        (file.migrations.timeout_seconds.as_ref(), "[migrations] timeout_seconds"),
        DEFAULT_MIGRATION_TIMEOUT,
        (&path, &text),
    )?;
    let lint_lint = lint_options(&file.lint, (&path, &text))?;
    let mut options = Options {
        migration_timeout: timeout,
        warn_after: None,
        fail_after: None,
        statement_timeout: None,
        lock_timeout: None,
        strict_rollbacks: file.rollback.strict,
        irreversible: file.rollback.irreversible.clone(),
        ignore: Vec::new(),
        // Set once history knows the new and edited migrations.
        prove_only: None,
        lint: lint_lint.0,
        data: data_options(&file.data, lint_lint.1, args.rows, (&path, &text))?,
    };
    for value in &file.rollback.ignore {
        let at = crate::script::position_at(&text, value.span().start.min(text.len()));
        let pattern = crate::object::ObjectPattern::parse(value.get_ref()).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: format!("line {}, [rollback] ignore: {e}", at.line),
        })?;
        options.ignore.push(crate::object::IgnoreRule {
            pattern,
            source: crate::failure::Location {
                file: path.clone(),
                line: at.line,
                column: at.column,
            },
        });
    }
    for (key, value, slot) in [
        (
            "statement_timeout",
            &file.migrations.statement_timeout,
            &mut options.statement_timeout,
        ),
        ("lock_timeout", &file.migrations.lock_timeout, &mut options.lock_timeout),
    ] {
        if let Some(value) = value {
            if !is_duration(value.get_ref()) {
                let at = crate::script::position_at(&text, value.span().start.min(text.len()));
                return Err(ConfigError::Invalid {
                    path: path.clone(),
                    message: format!(
                        "line {}, [migrations] {key} = {:?}: not a duration (like \"30s\", \"500ms\", \"2min\")",
                        at.line,
                        value.get_ref()
                    ),
                });
            }
            *slot = Some(value.get_ref().trim().to_string());
        }
    }
    // A budget may be a fraction of a second (a team whose migrations take milliseconds).
    for (key, value, slot) in [
        ("warn_seconds", &file.migrations.warn_seconds, &mut options.warn_after),
        ("fail_seconds", &file.migrations.fail_seconds, &mut options.fail_after),
    ] {
        if let Some(value) = value {
            let seconds = *value.get_ref();
            if !(seconds > 0.0 && seconds <= MAX_SECONDS as f64) {
                let at = crate::script::position_at(&text, value.span().start.min(text.len()));
                // 1e300 as written, not as its 301 digits.
                let shown = if seconds.abs() >= 1e9 {
                    format!("{seconds:e}")
                } else {
                    seconds.to_string()
                };
                return Err(ConfigError::Invalid {
                    path: path.clone(),
                    message: format!(
                        "line {}, [migrations] {key} must be a positive number of seconds, at most {MAX_SECONDS} (a day), not {shown}",
                        at.line
                    ),
                });
            }
            *slot = Some(Duration::from_secs_f64(seconds));
        }
    }
    if let (Some(warn), Some(fail)) = (options.warn_after, options.fail_after) {
        if warn >= fail {
            return Err(ConfigError::Invalid {
                path: path.clone(),
                message: format!(
                    "[migrations] warn_seconds ({}) must be less than fail_seconds ({}): a migration fails before it could warn",
                    warn.as_secs_f64(),
                    fail.as_secs_f64()
                ),
            });
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            use std::io::IsTerminal;
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    Ok(CheckSettings {
        root,
        sources,
        config_path: path.clone(),
        preset: file.database.preset,
        test_dirs: relative(file.tests.dirs),
        seed_files: relative(file.seed.files),
        setup_files: relative(file.migrations.setup).unwrap_or_default(),
        expectations,
        update_expectations: args.update_expectations,
        provider,
        junit: args.junit.clone(),
        json: args.json.clone(),
        sarif: args.sarif.clone(),
        color,
        github: args.github || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        changed_only: args.changed_only,
        history: (
            crate::history::Wanted {
                configured: args.base.clone().or(file.history.base.clone()),
                // Set by GitHub in pull_request events only.
                pull_request_base: std::env::var("GITHUB_BASE_REF").ok().filter(|b| !b.is_empty()),
            },
            crate::history::HistoryOptions {
                allow_edits: file.history.allow_edits.clone(),
                allow_removed: file.history.allow_removed.clone(),
                out_of_order: file.history.out_of_order,
            },
        ),
        comment: args.comment,
        github_token: args.github_token.clone(),
        fail_on: args.fail_on,
        full_snapshots: args.full_snapshots,
        options,
        snapshots: SnapshotSettings {
            dir: base.join(
                file.snapshots
                    .as_ref()
                    .and_then(|s| s.dir.clone())
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_SNAPSHOT_DIR)),
            ),
            every: file.snapshots.as_ref().is_some_and(|s| s.every),
            checked: file.snapshots.is_some(),
        },
        types: types_settings(file.types, &base, &path)?,
    })
}

/// `[types]`, with the Supabase CLI's defaults: schema `public`, `isOneToOne` in relationships.
fn types_settings(section: Option<TypesSection>, base: &Path, config_path: &Path) -> Result<TypesSettings, ConfigError> {
    let checked = section.is_some();
    let section = section.unwrap_or_default();
    let invalid = |message: String| ConfigError::Invalid {
        path: config_path.to_path_buf(),
        message,
    };
    let schemas = section.schemas.unwrap_or_else(|| vec!["public".to_string()]);
    if schemas.is_empty() || schemas.iter().any(|s| s.is_empty()) {
        return Err(invalid(
            "[types] schemas must name at least one schema, and no empty name".to_string(),
        ));
    }
    let named = section
        .output
        .unwrap_or_else(|| PathBuf::from(crate::generate::types::DEFAULT_OUTPUT));
    let output = base.join(&named);
    // Said before the migrations run, not when the file cannot be written after them.
    if named.file_name().is_none() || named.to_string_lossy().ends_with('/') || output.is_dir() {
        return Err(invalid(format!(
            "[types] output must name a file, not {:?}",
            named.display().to_string()
        )));
    }
    Ok(TypesSettings {
        output,
        schemas,
        options: crate::generate::types::Options {
            one_to_one: section.one_to_one.unwrap_or(true),
            postgrest_version: section.postgrest_version,
        },
        checked,
    })
}
