//! `dbgate check`: discover, provision, run the checks, build one report, render it. Whatever
//! happens after provisioning (failure, error, Ctrl-C, SIGTERM), the provider tears down
//! before dbgate exits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::checks::expectations::Expectations;
use crate::checks::session::{Baseline, Session};
use crate::checks::{self, Options, Plan};
use crate::config::{CheckSettings, FailOn, Preset};
use crate::discovery::DatabaseTests;
use crate::discovery::{discover, discover_tests, read_setup, Discovery};
use crate::error::Error;
use crate::github;
use crate::provider::{url::UrlProvider, Database};
use crate::report::{self, Environment, Report, Verdict};
use crate::script::Script;

/// Everything a run checks, found before any server starts.
/// Whether history was compared, and if not, why (`None`: not asked for, `--base none`).
enum Compared {
    Yes(Box<crate::history::History>),
    No(Option<String>),
}

struct Work {
    discovery: Discovery,
    history: Compared,
    /// What the user should know about how the run was set up (--changed-only).
    notes: Vec<String>,
    tests: DatabaseTests,
    /// `[migrations] setup`: run once before the first migration, not checked.
    setup: Vec<Script>,
    supabase_preset: bool,
    expectations: Option<Expectations>,
    update_expectations: Option<PathBuf>,
    full_snapshots: bool,
    options: Options,
    /// `[snapshots]`, when dbgate.toml has it.
    snapshots: Option<checks::drift::SnapshotPlan>,
    /// `[types]`, when dbgate.toml has it.
    types: Option<checks::drift::TypesPlan>,
}

/// Runs the gate; returns the exit code (`--fail-on never` turns a failed gate into 0).
pub async fn check(settings: CheckSettings) -> Result<i32, Error> {
    let started = Instant::now();
    let mut discovery = discover(&settings.root, &settings.sources)?;
    // What this branch changes in the migrations its base has: read from git before any
    // server starts.
    let (wanted, history_options) = &settings.history;
    let history = match crate::history::compare(&settings.root, &discovery, &settings.sources, wanted, history_options) {
        Ok(crate::history::Outcome::Compared(history)) => {
            history.name_both_sides(&mut discovery.findings);
            discovery.findings.extend(history.findings.iter().cloned());
            Compared::Yes(history)
        }
        Ok(crate::history::Outcome::Skipped(why)) => Compared::No(Some(why)),
        Ok(crate::history::Outcome::Off) => Compared::No(None),
        Err(crate::history::base::BaseError::NotFound(why)) => return Err(Error::History(why)),
        // dbgate's own machinery: said, and the rest goes on.
        Err(crate::history::base::BaseError::Git(why)) => Compared::No(Some(format!("history not checked: {why}"))),
    };
    let tests = discover_tests(&settings.root, settings.test_dirs.as_deref(), settings.seed_files.as_deref())?;
    discovery.findings.extend(pinned_to_nothing(&discovery, &tests));
    let setup = read_setup(&settings.root, &settings.setup_files)?;
    let supabase_preset = match settings.preset {
        Some(preset) => preset == Preset::Supabase,
        None => discovery.migrations_dir.ends_with("supabase/migrations"),
    };
    let mut options = settings.options.clone();
    let mut notes = Vec::new();
    if settings.changed_only {
        match &history {
            Compared::Yes(history) => {
                let edited = history.verdicts.iter().filter(|v| v.kind == crate::history::HistoryKind::Edited);
                let mut prove: Vec<PathBuf> = history.new.clone();
                prove.extend(edited.map(|v| v.migration.clone()));
                notes.push(format!(
                    "--changed-only: the rollbacks of {} new or edited migration{} are proved; the others are replayed only",
                    prove.len(),
                    if prove.len() == 1 { "" } else { "s" }
                ));
                options.prove_only = Some(prove);
            }
            Compared::No(_) => notes
                .push("--changed-only needs a base to know what changed (--base, [history] base): every rollback is proved".to_string()),
        }
    }
    // The lint looks at what a pull request adds; with no base, at every migration.
    if let Compared::Yes(history) = &history {
        options.lint.only = Some(history.new.clone());
    }
    // The security advisors: on for a Supabase project, over the schemas its API exposes.
    options.lint.advisors = supabase_preset;
    if let Some(expect) = &settings.expectations {
        if let Some(exposed) = &expect.section.exposed_schemas {
            options.lint.exposed_schemas = exposed.clone();
        }
        options.lint.rls_expected = expect.section.rls_on_all_tables.as_ref().is_some_and(|on| *on.get_ref());
    }
    // Generated files are named from the repository root in reports.
    let from_root = |path: &std::path::Path| path.strip_prefix(&settings.root).unwrap_or(path).to_path_buf();
    let work = Arc::new(Work {
        discovery,
        history,
        tests,
        setup,
        supabase_preset,
        expectations: settings.expectations.clone(),
        update_expectations: settings.update_expectations.then(|| settings.config_path.clone()),
        full_snapshots: settings.full_snapshots,
        options,
        snapshots: settings.snapshots.checked.then(|| checks::drift::SnapshotPlan {
            root: settings.root.clone(),
            dir: from_root(&settings.snapshots.dir),
            every: settings.snapshots.every,
        }),
        types: settings.types.checked.then(|| checks::drift::TypesPlan {
            root: settings.root.clone(),
            output: from_root(&settings.types.output),
            schemas: settings.types.schemas.clone(),
            options: settings.types.options.clone(),
        }),
        notes,
    });
    let mut signals = super::signals::Signals::install()?;
    let url_roles = || UrlProvider::role_sources(&work.discovery, &work.setup, work.supabase_preset);
    let job_work = work.clone();
    let report = super::provision::with_database(&settings.provider, url_roles, &mut signals, move |database, about| {
        run_checks(database, about, job_work, started)
    })
    .await?;
    let console = report::console::render(&report, report::console::Style { color: settings.color });
    if settings.github {
        // The console holds text from the repo and the server, on lines of its own: in a
        // workflow, none of it may be read as a workflow command (`::add-mask::`, a forged
        // annotation). GitHub's stop-commands pauses them, with a token no text can guess.
        let token = stop_token();
        print!("::stop-commands::{token}\n{console}::{token}::\n");
    } else {
        print!("{console}");
    }
    let _ = std::io::stdout().flush();
    // What CI tools read names files from the repository root.
    let report = report.from_repository_root(&repository_prefix());
    if let Some(path) = &settings.junit {
        let xml = report::junit::render(&report).map_err(Error::Junit)?;
        write_file(path, &xml)?;
    }
    if let Some(path) = &settings.json {
        write_file(path, &report::json::render(&report))?;
    }
    if let Some(path) = &settings.sarif {
        write_file(path, &report::sarif::render(&report, |rule| work.options.lint.severity(rule)))?;
    }
    if settings.github {
        let context = github::Context::from_env(settings.github_token.clone(), None, None);
        super::publish::to_github(&report, &context, &settings).await;
    }
    Ok(match (report.verdict, settings.fail_on) {
        (Verdict::Failed, FailOn::Any) => crate::exit::GATE_FAILED,
        (Verdict::Incomplete, FailOn::Any) => crate::exit::ENVIRONMENT,
        _ => crate::exit::PASSED,
    })
}

/// A token for `::stop-commands::`, unguessable by the text it guards.
fn stop_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("dbgate-{:016x}", hasher.finish())
}

/// Where dbgate runs, relative to the repository root: under `GITHUB_WORKSPACE` (the checkout
/// GitHub's annotations and test reporters resolve paths in), else under git's top level; empty
/// when neither holds it.
fn repository_prefix() -> PathBuf {
    let Some(here) = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok()) else {
        return PathBuf::new();
    };
    let workspace = std::env::var_os("GITHUB_WORKSPACE").filter(|w| !w.is_empty());
    if let Some(root) = workspace.and_then(|w| Path::new(&w).canonicalize().ok()) {
        if let Ok(prefix) = here.strip_prefix(&root) {
            return prefix.to_path_buf();
        }
    }
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--show-prefix"])
        .stderr(std::process::Stdio::null())
        .output();
    match git {
        Ok(out) if out.status.success() => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().trim_end_matches('/')),
        _ => PathBuf::new(),
    }
}

async fn run_checks(
    database: Database,
    (provider, image, notes): (&'static str, Option<String>, Vec<String>),
    work: Arc<Work>,
    started: Instant,
) -> Result<Report, Error> {
    let baseline = Baseline {
        supabase_preset: work.supabase_preset,
        bookkeeping: work.discovery.tool.tool.bookkeeping(),
        setup: &work.setup,
        full_snapshots: work.full_snapshots,
        options: &work.options,
        replacements: database.replacements.clone(),
        role_words: database.role_words.clone(),
        maintenance: Some(database.maintenance.clone()),
        formats: Default::default(),
    };
    let session = Session::open(database.config.clone(), &baseline).await?;
    let server_version = session.server_version.clone();
    let plan = Plan {
        migrations: &work.discovery.migrations,
        tests: &work.tests,
        expectations: work.expectations.as_ref(),
        update_expectations: work.update_expectations.as_deref(),
        summarize: match &work.history {
            Compared::Yes(history) => &history.new,
            Compared::No(_) => &[],
        },
        snapshots: work.snapshots.as_ref(),
        types: work.types.as_ref(),
    };
    let mut outcome = checks::run(session, &baseline, &plan).await?;
    let history = match &work.history {
        Compared::Yes(history) => {
            let allowed = checks::history::attach(&mut outcome.migrations, &history.verdicts);
            outcome.notes.extend(allowed);
            outcome.notes.extend(history.notes.iter().cloned());
            Some(history.summary())
        }
        Compared::No(why) => {
            outcome.notes.extend(why.clone());
            None
        }
    };
    outcome.notes.extend(work.notes.iter().cloned());
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
        setup: work.setup.iter().map(|s| s.path.clone()).collect(),
        supabase_preset: work.supabase_preset,
        updated_expectations: work.update_expectations.as_deref(),
        history,
    });
    Ok(report)
}

fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The data tests pinned to a version no migration has, or several have: they would never
/// run, or run at the wrong one.
fn pinned_to_nothing(discovery: &Discovery, tests: &crate::discovery::DatabaseTests) -> Vec<crate::discovery::finding::Finding> {
    use crate::discovery::finding::{Finding, FindingKind};
    let mut findings = Vec::new();
    for test in &tests.pinned {
        let pinned: Vec<&crate::discovery::Migration> = discovery.migrations.iter().filter(|m| m.pinned_by(&test.version)).collect();
        let message = match pinned.as_slice() {
            [_] => continue,
            [] => format!(
                "this data test is pinned to migration {}, but no migration in {}/ has that version or file name, so it never runs: name a migration's version, or its file name without .sql",
                test.version,
                discovery.migrations_dir.display()
            ),
            several => format!(
                "this data test is pinned to {}, which {} migrations have ({}), so dbgate cannot tell which it tests and runs it at none: name one by its file name without .sql",
                test.version,
                several.len(),
                several.iter().map(|m| m.up.path.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        };
        findings.push(Finding::at_start(
            FindingKind::PinnedToNoMigration,
            test.script.path.clone(),
            message,
        ));
    }
    findings
}
