//! The command line, as clap reads it. Validation into settings happens in `config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::config::{ColorChoice, FailOn, ProviderKind};

#[derive(Debug, Parser)]
#[command(
    name = "dbgate",
    version,
    about = "A PostgreSQL migration gate: replays every migration and proves every rollback on a throwaway Postgres"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay every migration and prove every rollback on a throwaway database.
    Check(Box<CheckArgs>),
    /// List the migrations found, in the order they run, with their rollbacks and how each runs.
    List(ListArgs),
    /// Remove the containers and temporary clusters that killed runs left behind.
    Gc(GcArgs),
    /// Post (or update) dbgate's pull request comment from a saved JSON report, for workflows
    /// where the run that checks cannot write (pull requests from forks)
    Comment(CommentArgs),
    /// List the lint rules: id, what each finds, why, how to fix it, and its severity
    Rules,
    /// Replay the migrations on a throwaway database and print the schema they make as SQL (with --write, into [snapshots] dir)
    Snapshot(Box<GenerateArgs>),
    /// Replay the migrations on a throwaway database and print the TypeScript types Supabase's generator would write for the schema they make (with --write, into [types] output)
    Types(Box<GenerateArgs>),
}

/// `snapshot` and `types`: files generated from the migrated schema.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Write the files where dbgate.toml says ([snapshots] dir, default db/snapshots; [types] output, default database.types.ts) instead of printing them
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl GenerateArgs {
    /// The same settings as `check` with these, and no reports.
    pub fn as_check(&self) -> CheckArgs {
        CheckArgs {
            source: self.source.clone(),
            database: self.database.clone(),
            junit: None,
            json: None,
            sarif: None,
            rows: None,
            color: ColorChoice::Never,
            update_expectations: false,
            github: false,
            comment: false,
            github_token: None,
            full_snapshots: false,
            fail_on: FailOn::Any,
            base: Some("none".to_string()),
            changed_only: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The JSON report a `dbgate check --json` wrote
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The pull request number [default: from the event in GITHUB_EVENT_PATH]
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// owner/name [default: GITHUB_REPOSITORY]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Token that may comment [default: GITHUB_TOKEN]
    #[arg(long, value_name = "TOKEN", env = "GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Remove every container dbgate labelled, also those of runs still going or started on other machines
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Folder holding the migrations [default: the first of supabase/migrations, db/migrations, migrations]
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// Folder holding rollbacks kept apart from the migrations [default: rollback/ or rollbacks/ beside the migrations folder]
    #[arg(long, value_name = "DIR")]
    pub rollbacks: Option<PathBuf>,
    /// Configuration file [default: dbgate.toml, when present]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Write a JUnit XML report here
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report here
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the lint's findings here as SARIF 2.1.0, for GitHub code scanning
    #[arg(long, value_name = "PATH")]
    pub sarif: Option<PathBuf>,
    /// Generated rows per table in the copy where the lint and the data checks run [default: [data] rows, else 20]
    #[arg(long, value_name = "N")]
    pub rows: Option<u32>,
    /// Colour the console report
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Write the actual object counts into [expect] of dbgate.toml (keeping its comments) instead of failing on them
    #[arg(long)]
    pub update_expectations: bool,
    /// GitHub mode: annotations, job summary and step outputs [default: on when GITHUB_ACTIONS=true]
    #[arg(long)]
    pub github: bool,
    /// In GitHub mode, post or update dbgate's comment on the pull request
    #[arg(long)]
    pub comment: bool,
    /// Token for the pull request comment [default: GITHUB_TOKEN]
    #[arg(long, value_name = "TOKEN", env = "GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
    /// Read the whole catalog after every script instead of what the script touched (slower; for a doubt about a verdict)
    #[arg(long)]
    pub full_snapshots: bool,
    /// When a failed gate makes dbgate exit 1: always (any), or never (report only)
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
    /// The branch or commit this one merges into, for the history checks (edited, removed and out-of-order migrations); `none` turns them off [default: [history] base; in a pull request, its base branch; else origin/HEAD]
    #[arg(long, value_name = "REF", env = "DBGATE_BASE")]
    pub base: Option<String>,
    /// Replay every migration, but prove the rollbacks of the new and edited ones only (against the base), and run the reverse chain down to the base's last migration
    #[arg(long)]
    pub changed_only: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Where the throwaway database comes from, and how long a migration may run: `check`,
/// `snapshot` and `types` alike.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Where the throwaway database comes from [default: url when a database URL is given, else auto]
    #[arg(long, value_enum, env = "DBGATE_PROVIDER")]
    pub provider: Option<ProviderKind>,
    /// Image for the docker provider: postgres:<tag>, supabase/postgres:<tag>, or one with the same interface [default: postgres:18]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Address dbgate connects to for the container's server, when it is not the Docker host (jobs running inside a container)
    #[arg(long, value_name = "HOST")]
    pub db_host: Option<String>,
    /// How long a container's server may take to accept connections [default: 120]
    #[arg(long, value_name = "SECONDS")]
    pub startup_timeout: Option<u64>,
    /// Server for the url provider; dbgate creates, uses and drops its own database there
    #[arg(long, value_name = "URL", env = "DBGATE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder with the PostgreSQL server binaries (initdb, postgres) for the local provider
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
    /// Cancel a migration or rollback that runs longer than this [default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub migration_timeout: Option<u64>,
}
