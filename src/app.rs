//! The commands: discover, provision, run the checks, build one report, render it. Whatever
//! happens after provisioning (failure, error, Ctrl-C, SIGTERM), the provider tears down
//! before dbgate exits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::catalog::{Catalog, Tracker};
use crate::checks::expectations::Expectations;
use crate::checks::{self, Options, Plan};
use crate::cli::FailOn;
use crate::cli::ListArgs;
use crate::config::{self, CheckSettings, DockerSettings, Preset, ProviderChoice};
use crate::discovery::DatabaseTests;
use crate::discovery::{discover, discover_tests, Discovery};
use crate::error::Error;
use crate::execute::connect;
use crate::github;
use crate::provider::auto::AutoProvider;
use crate::provider::docker::{self, DockerProvider};
use crate::provider::{local, local::LocalProvider, url::UrlProvider, Database, Provider};
use crate::report::{self, Environment, Report, Verdict};

/// Everything a run checks, found before any server starts.
struct Work {
    discovery: Discovery,
    tests: DatabaseTests,
    supabase_preset: bool,
    expectations: Option<Expectations>,
    update_expectations: Option<PathBuf>,
    migration_timeout: Duration,
    full_snapshots: bool,
    budgets: crate::config::Budgets,
}

/// Runs the gate; returns the exit code (`--fail-on never` turns a failed gate into 0).
pub async fn check(settings: CheckSettings) -> Result<i32, Error> {
    let started = Instant::now();
    let discovery = discover(&settings.root, &settings.sources)?;
    let tests = discover_tests(&settings.root, settings.test_dirs.as_deref(), settings.seed_files.as_deref())?;
    let supabase_preset = match settings.preset {
        Some(preset) => preset == Preset::Supabase,
        None => discovery.migrations_dir.ends_with("supabase/migrations"),
    };
    let work = Arc::new(Work {
        discovery,
        tests,
        supabase_preset,
        expectations: settings.expectations.clone(),
        update_expectations: settings.update_expectations.then(|| settings.config_path.clone()),
        migration_timeout: settings.migration_timeout,
        full_snapshots: settings.full_snapshots,
        budgets: settings.budgets.clone(),
    });
    let mut signals = Signals::install()?;
    let report = match &settings.provider {
        ProviderChoice::Local { pg_bin } => run_with(LocalProvider::new(pg_bin.clone()), &work, &mut signals, started).await?,
        ProviderChoice::Docker(docker) => run_with(docker_provider(docker), &work, &mut signals, started).await?,
        ProviderChoice::Auto { docker, pg_bin } => {
            let auto = AutoProvider::new(docker_provider(docker), LocalProvider::new(pg_bin.clone()));
            run_with(auto, &work, &mut signals, started).await?
        }
        ProviderChoice::Url { url } => {
            // The roles a run may create and so must drop: those the migrations name, and the preset's.
            let mut texts: Vec<String> = work
                .discovery
                .migrations
                .iter()
                .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
                .map(|s| s.text().to_string())
                .collect();
            if work.supabase_preset {
                texts.push(crate::preset::SUPABASE_ROLES.join(" "));
            }
            run_with(UrlProvider::new(url.clone(), texts), &work, &mut signals, started).await?
        }
    };
    print!(
        "{}",
        report::console::render(&report, report::console::Style { color: settings.color })
    );
    let _ = std::io::stdout().flush();
    if let Some(path) = &settings.junit {
        let xml = report::junit::render(&report).map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_file(path, &xml)?;
    }
    if let Some(path) = &settings.json {
        write_file(path, &report::json::render(&report))?;
    }
    if settings.github {
        let context = github::Context::from_env(settings.github_token.clone(), None, None);
        publish_to_github(&report, &context, &settings).await;
    }
    Ok(match (report.verdict, settings.fail_on) {
        (Verdict::Failed, FailOn::Any) => crate::exit::GATE_FAILED,
        _ => crate::exit::PASSED,
    })
}

/// Annotations on stdout, the job summary, the step outputs and, when asked, the PR comment.
/// Nothing here fails the gate: what cannot be written is a warning.
async fn publish_to_github(report: &Report, context: &github::Context, settings: &CheckSettings) {
    print!("{}", report::github::annotations(report));
    let append = |path: &Path, text: &str| -> Result<(), std::io::Error> {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(text.as_bytes())
    };
    if let Some(path) = &context.step_summary {
        if let Err(e) = append(path, &report::markdown::job_summary(report)) {
            println!("::warning title=dbgate::cannot write the job summary to {}: {e}", path.display());
        }
    }
    if let Some(path) = &context.output {
        if let Err(e) = append(
            path,
            &report::github::outputs(report, settings.junit.as_deref(), settings.json.as_deref()),
        ) {
            println!("::warning title=dbgate::cannot write the step outputs to {}: {e}", path.display());
        }
    }
    if settings.comment {
        match github::upsert_comment(context, &report::markdown::comment(report)).await {
            Ok(github::Posted::Created(url)) => println!("dbgate: commented on the pull request: {url}"),
            Ok(github::Posted::Updated(url)) => println!("dbgate: updated its pull request comment: {url}"),
            Err(e) => println!("::warning title=dbgate comment::{e}"),
        }
    }
}

/// `dbgate comment --from report.json`: the sticky comment from a saved report.
pub async fn comment(args: &crate::cli::CommentArgs) -> Result<String, Error> {
    let text = std::fs::read_to_string(&args.from).map_err(|source| Error::Read {
        path: args.from.clone(),
        source,
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|e| Error::Read {
        path: args.from.clone(),
        source: std::io::Error::other(format!("not a dbgate JSON report: {e}")),
    })?;
    let context = github::Context::from_env(args.github_token.clone(), args.pr, args.repo.clone());
    match github::upsert_comment(&context, &report::markdown::comment(&report)).await {
        Ok(github::Posted::Created(url)) => Ok(format!("commented on the pull request: {url}\n")),
        Ok(github::Posted::Updated(url)) => Ok(format!("updated the pull request comment: {url}\n")),
        Err(e) => Err(Error::Comment(e)),
    }
}

fn docker_provider(settings: &DockerSettings) -> DockerProvider {
    DockerProvider::new(settings.image.clone(), settings.db_host.clone(), settings.startup_timeout)
}

async fn run_with<P: Provider>(mut provider: P, work: &Arc<Work>, signals: &mut Signals, started: Instant) -> Result<Report, Error> {
    let provisioned = tokio::select! {
        signal = signals.recv() => Err(Error::Interrupted(signal)),
        database = provider.provision() => database.map_err(Error::from),
    };
    // The checks run in a task of their own, so that a panic in them is caught here and the
    // provider still tears down.
    let outcome = match provisioned {
        Err(error) => Err(error),
        Ok(database) => {
            let about = (provider.name(), provider.image(), provider.notes());
            let task = tokio::spawn(run_checks(database, about, work.clone(), started));
            let abort = task.abort_handle();
            tokio::select! {
                signal = signals.recv() => {
                    abort.abort();
                    Err(Error::Interrupted(signal))
                }
                joined = task => joined.unwrap_or_else(|e| Err(Error::Internal(e.to_string()))),
            }
        }
    };
    for warning in provider.teardown().await {
        eprintln!("dbgate: warning: {warning}");
    }
    outcome
}

async fn run_checks(
    database: Database,
    (provider, image, notes): (&'static str, Option<String>, Vec<String>),
    work: Arc<Work>,
    started: Instant,
) -> Result<Report, Error> {
    let client = connect(&database.config).await.map_err(Error::Connect)?;
    let version_row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
            &[],
        )
        .await
        .map_err(Error::Connect)?;
    let server_version: String = version_row.get(0);
    let catalog = Catalog::prepare(&client, version_row.get::<_, i32>(1) as u32)
        .await
        .map_err(Error::Connect)?;
    if work.supabase_preset {
        crate::preset::apply_supabase(&client)
            .await
            .map_err(|e| Error::Provider(crate::provider::ProviderError::Refused(e)))?;
    }
    let plan = Plan {
        migrations: &work.discovery.migrations,
        tests: &work.tests,
        expectations: work.expectations.as_ref(),
        update_expectations: work.update_expectations.as_deref(),
    };
    // After the preset: what it creates is the baseline, not the migrations' work.
    let tracker = if work.full_snapshots {
        Tracker::full_snapshots()
    } else {
        Tracker::install(&client).await
    };
    // The session's limits, as production would set them for its migrations.
    for (setting, value) in [
        ("statement_timeout", &work.budgets.statement_timeout),
        ("lock_timeout", &work.budgets.lock_timeout),
    ] {
        if let Some(value) = value {
            client
                .batch_execute(&format!("SET {setting} = '{}'", value.replace('\'', "''")))
                .await
                .map_err(|e| {
                    Error::Provider(crate::provider::ProviderError::Refused(format!(
                        "cannot set {setting}: {}",
                        crate::execute::describe(&e)
                    )))
                })?;
        }
    }
    let options = Options {
        migration_timeout: work.migration_timeout,
        warn_after: work.budgets.warn_after,
        fail_after: work.budgets.fail_after,
    };
    let outcome = checks::run(&client, &catalog, &tracker, &plan, &options).await?;
    let environment = Environment {
        provider: provider.to_string(),
        image,
        server: database.description.clone(),
        server_version,
    };
    let report = Report::new(report::Run {
        environment,
        discovery: &work.discovery,
        outcome,
        started,
        provider_warnings: notes,
        supabase_preset: work.supabase_preset,
        updated_expectations: work.update_expectations.as_deref(),
    });
    Ok(report)
}

fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Ctrl-C and SIGTERM, caught so that cleanup runs before exit.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> Result<Signals, Error> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(Error::Signals)?,
            terminate: signal(SignalKind::terminate()).map_err(Error::Signals)?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C (SIGINT)",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// `dbgate list`: what was found and how each migration will run; no database.
pub fn list(args: &ListArgs) -> Result<String, Error> {
    let (root, sources) = config::sources(&args.source)?;
    let discovery = discover(&root, &sources)?;
    let mut out = String::new();
    out.push_str(&format!("migrations: {}\n", discovery.migrations_dir.display()));
    if let Some(dir) = &discovery.rollbacks_dir {
        out.push_str(&format!("rollbacks:  {}\n", dir.display()));
    }
    for warning in &discovery.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out.push('\n');
    for (index, migration) in discovery.migrations.iter().enumerate() {
        out.push_str(&format!(
            "{:>4}. {} {}  [{}]\n",
            index + 1,
            migration.version,
            migration.name,
            migration.layout.describe()
        ));
        out.push_str(&format!(
            "        up:       {}  {}\n",
            migration.up.path.display(),
            how_it_runs(&migration.up)
        ));
        match &migration.down {
            Some(down) => {
                let section = if down.path == migration.up.path {
                    format!(", the down section from line {}", down.position(down.body().start).line)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "        rollback: {}{section}  {}\n",
                    down.path.display(),
                    how_it_runs(down)
                ))
            }
            None => out.push_str("        rollback: none\n"),
        }
    }
    let with_rollback = discovery.migrations.iter().filter(|m| m.down.is_some()).count();
    out.push_str(&format!(
        "\n{} migrations, {} with a rollback\n",
        discovery.migrations.len(),
        with_rollback
    ));
    Ok(out)
}

fn how_it_runs(script: &crate::script::Script) -> String {
    match script.statements() {
        Ok(statements) => format!("(runs {})", script.run_mode(statements).describe()),
        Err(crate::script::SyntaxError::MetaCommand { command, offset }) => {
            format!(
                "(cannot run: psql meta-command `{command}` at line {})",
                script.position(*offset).line
            )
        }
        Err(crate::script::SyntaxError::Scan { message, offset }) => {
            format!("(cannot run: {message} at line {})", script.position(*offset).line)
        }
    }
}

/// `dbgate gc`: removes what killed runs left behind: containers (by label) and temporary
/// clusters (by the pid that made them). Returns what it did, and whether Docker could be asked.
pub async fn gc(args: &crate::cli::GcArgs) -> Result<String, Error> {
    let mut out = String::new();
    let clusters = local::collect_garbage();
    let containers = match docker::daemon_answers().await {
        Ok(()) => docker::collect_garbage(args.all)
            .await
            .map_err(|e| Error::Provider(crate::provider::ProviderError::NoDocker(e)))?,
        Err(why) => {
            out.push_str(&format!("containers: not checked, no Docker daemon answers ({why})\n"));
            Default::default()
        }
    };
    for removed in clusters.removed.iter().chain(&containers.removed) {
        out.push_str(&format!("removed {removed}\n"));
    }
    for kept in clusters.kept.iter().chain(&containers.kept) {
        out.push_str(&format!("kept {kept}\n"));
    }
    let removed = clusters.removed.len() + containers.removed.len();
    out.push_str(&format!("{removed} removed\n"));
    Ok(out)
}
