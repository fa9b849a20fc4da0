//! The lint: what each new migration (with no base, each migration) locks, rewrites, scans and
//! breaks, observed on a real PostgreSQL instead of guessed from its text.
//!
//! It runs after the other checks, in a database of its own (the replay's verdicts never depend
//! on it): the migrations before the first one linted are replayed unchecked, then each linted
//! migration runs twice. First observed, statement by statement, in a transaction dbgate rolls
//! back, after a few generated rows were put in the tables it names (so that what fails or
//! rewrites only on a table with rows is seen); then for real, so that the next one starts from
//! the schema it left. A migration that cannot run in a transaction (CREATE INDEX CONCURRENTLY,
//! its own BEGIN and COMMIT) is observed in its one real run, without rows.

pub mod advisors;
pub mod allow;
pub mod observe;
pub mod rows;
pub mod rules;
mod tree;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use rules::{Category, Rule, Severity};

use super::{Chain, CheckKind, CheckResult, MigrationResult, Status};
use crate::catalog::Snapshot;
use crate::discovery::Migration;
use crate::execute::{run_script, statements_of};
use crate::failure::{Failure, Location, Warning, WarningKind};
use crate::object::ObjectId;

/// `[lint]` of dbgate.toml, and which migrations the run lints.
#[derive(Debug, Clone)]
pub struct LintOptions {
    pub enabled: bool,
    /// Generated rows per table the migration touches.
    pub rows: u32,
    /// Severities dbgate.toml sets, by rule.
    pub configured: BTreeMap<Rule, Severity>,
    /// The migrations a pull request adds, by file: the ones linted. `None` (no base): all.
    pub only: Option<Vec<PathBuf>>,
    /// The schemas the API exposes (`[expect] exposed_schemas`), which the security advisors
    /// look at.
    pub exposed_schemas: Vec<String>,
    /// The security advisors are on unless dbgate.toml sets them (the Supabase preset).
    pub advisors: bool,
    /// `[expect] rls_on_all_tables = true` reports a table with RLS off: the advisor does not
    /// report it again.
    pub rls_expected: bool,
}

impl Default for LintOptions {
    fn default() -> LintOptions {
        LintOptions {
            enabled: true,
            rows: DEFAULT_ROWS,
            configured: BTreeMap::new(),
            only: None,
            exposed_schemas: vec!["public".to_string()],
            advisors: false,
            rls_expected: false,
        }
    }
}

pub const DEFAULT_ROWS: u32 = 20;

impl LintOptions {
    /// The rule's severity: as dbgate.toml sets it; else its default for a pull request's new
    /// migrations, and a warning at most with no base (a mature repo's years-old DROP COLUMN
    /// must not fail a local run).
    pub fn severity(&self, rule: Rule) -> Severity {
        if rule == Rule::RlsDisabled && self.rls_expected {
            return Severity::Off;
        }
        if rule.category() == Category::Security && !self.advisors && !self.configured.contains_key(&rule) {
            return Severity::Off;
        }
        if let Some(severity) = self.configured.get(&rule) {
            return *severity;
        }
        match &self.only {
            Some(_) => rule.default_severity(),
            None => rule.default_severity().min(Severity::Warning),
        }
    }

    fn lints(&self, migration: &Migration) -> bool {
        self.enabled && self.only.as_ref().is_none_or(|files| files.contains(&migration.up.path))
    }
}

/// One finding of one rule at one statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LintFinding {
    pub rule: Rule,
    /// `error` or `warning` (a rule set `off` finds nothing).
    pub severity: Severity,
    /// One sentence, naming the object.
    pub message: String,
    /// The statement's place.
    pub location: Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    /// A `-- dbgate:allow` comment allows it: it fails nothing, and the report shows why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Allowed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Allowed {
    pub reason: String,
    /// The comment's place.
    pub location: Location,
}

impl LintFinding {
    /// As a failure of the lint check: the rule's id first, then why and how to fix it.
    pub fn failure(&self) -> Failure {
        let words = self.rule.words();
        let mut failure = Failure::new(format!("{}: {}", self.rule.id(), self.message), Some(self.location.clone()));
        failure.details.push(format!("why: {}", words.why));
        failure.details.push(format!("fix: {}", words.fix));
        failure
    }

    fn warning(&self) -> Warning {
        Warning {
            kind: WarningKind::Lint,
            message: format!("{}: {}", self.rule.id(), self.message),
            location: Some(self.location.clone()),
            object: self.object.clone(),
            differences: Vec::new(),
        }
    }
}

/// How long the server has to answer before the lint makes its database.
const PROBE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the lint's own database stopped following the migrations.
struct Stopped(String);

/// What the pull request's migrations linted so far made: to the ones after them, new, not
/// existing (production has never had them).
#[derive(Default)]
struct BranchMade {
    relations: std::collections::BTreeSet<u32>,
    objects: std::collections::BTreeSet<ObjectId>,
}

impl Chain<'_> {
    /// Lints the migrations the options name, each in its result.
    pub(super) async fn lint(&mut self, results: &mut [MigrationResult], forward: Option<&super::Stop>) {
        let options = &self.options.lint;
        let linted: Vec<usize> = (0..self.migrations.len()).filter(|i| options.lints(&self.migrations[*i])).collect();
        let (Some(&first), Some(&last)) = (linted.first(), linted.last()) else {
            return;
        };
        let not_checked = |results: &mut [MigrationResult], why: String| {
            for index in &linted {
                results[*index].checks.push(CheckResult::not_checked(CheckKind::Lint, why.clone()));
            }
        };
        // A server that went away, or whose state dbgate could not rebuild, is not one to make
        // another database on (a stopped postmaster takes a connection and never answers).
        if let Some(stop @ (super::Stop::ConnectionLost(_) | super::Stop::RebuildFailed(_))) = forward {
            return not_checked(results, stop.to_string());
        }
        // The chain's own session may be gone with the database a failed rebuild left; a new
        // one, with a deadline, says whether the server answers.
        let probe = async {
            let client = crate::execute::connect_own(&self.session.config).await?;
            client.simple_query("SELECT 1").await.map(|_| ())
        };
        match tokio::time::timeout(PROBE, probe).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return not_checked(
                    results,
                    format!("the server did not answer before the lint: {}", crate::execute::describe(&error)),
                )
            }
            Err(_) => {
                return not_checked(
                    results,
                    format!("the server did not answer before the lint, within {} s", PROBE.as_secs()),
                )
            }
        }
        let started = Instant::now();
        let mut snapshot = match self.rebuild_state(first).await {
            Ok(snapshot) => snapshot,
            Err(why) => return not_checked(results, format!("dbgate could not make the lint's database: {why}")),
        };
        let mut stopped: Option<Stopped> = None;
        let mut left_empty: Vec<String> = Vec::new();
        // With no base every migration is judged as deployed alone; with one, the branch's new
        // migrations are deployed together.
        let mut made = options.only.is_some().then(BranchMade::default);
        let mut advisors = self.start_advisors().await;
        let migrations = self.migrations;
        for (index, migration) in migrations.iter().enumerate().take(last + 1).skip(first) {
            let lint = linted.contains(&index);
            if let Some(Stopped(why)) = &stopped {
                if lint {
                    results[index].checks.push(CheckResult::not_checked(CheckKind::Lint, why.clone()));
                }
                continue;
            }
            if !lint {
                if let Err(why) = self.lint_replay(migration, &mut snapshot).await {
                    stopped = Some(why);
                }
                // What an older migration made true is not a newer one's doing.
                if let Some(known) = advisors.as_mut() {
                    known.said = advisors::read(self.client(), &known.rules, &known.exposed)
                        .await
                        .unwrap_or_default();
                }
                continue;
            }
            let replay_passed = results[index]
                .checks
                .iter()
                .any(|c| c.kind == CheckKind::Replay && c.status == Status::Passed);
            match self
                .lint_one(migration, &mut snapshot, replay_passed, made.as_mut(), advisors.as_mut())
                .await
            {
                Ok(linted) => {
                    results[index].checks.push(linted.check);
                    results[index].lint = linted.findings;
                    left_empty.extend(linted.left_empty);
                    stopped = linted.stop.map(Stopped);
                }
                Err(Stopped(why)) => {
                    results[index].checks.push(CheckResult::not_checked(CheckKind::Lint, why.clone()));
                    stopped = Some(Stopped(why));
                }
            }
        }
        left_empty.dedup();
        for table in left_empty {
            self.notes.push(format!("lint: {table}"));
        }
        self.notes.push(format!(
            "lint: {} migration{} observed in a database of their own in {} ms",
            linted.len(),
            if linted.len() == 1 { "" } else { "s" },
            started.elapsed().as_millis()
        ));
    }

    /// The advisors enabled, and what they say before the first migration linted; `None` when
    /// none is enabled or they cannot be read (said in a note).
    async fn start_advisors(&mut self) -> Option<advisors::Known> {
        let options = &self.options.lint;
        let rules: Vec<Rule> = Rule::ALL
            .into_iter()
            .filter(|r| r.advisor_query().is_some() && options.severity(*r) != Severity::Off)
            .collect();
        if rules.is_empty() {
            return None;
        }
        let exposed = options.exposed_schemas.clone();
        match advisors::read(self.client(), &rules, &exposed).await {
            Ok(said) => Some(advisors::Known { rules, exposed, said }),
            Err(error) => {
                self.notes.push(format!(
                    "lint: the security advisors could not read the catalog ({}): not checked",
                    crate::execute::describe(&error)
                ));
                None
            }
        }
    }

    /// What the advisors say now that they did not before, placed at the statements that made
    /// the objects.
    async fn advise(&self, known: &mut advisors::Known, seen: &[observe::Seen]) -> Vec<advisors::Advisory> {
        let Ok(now) = advisors::read(self.client(), &known.rules, &known.exposed).await else {
            return Vec::new();
        };
        let new: Vec<advisors::Advisory> = now
            .difference(&known.said)
            .map(|advised| advisors::Advisory {
                statement: advisors::place(&advised.object, seen),
                advised: advised.clone(),
            })
            .collect();
        known.said = now;
        new
    }

    /// Runs a migration that is not linted in the lint's database, unchecked.
    async fn lint_replay(&self, migration: &Migration, snapshot: &mut Snapshot) -> Result<(), Stopped> {
        if let Err(error) = run_script(self.client(), &migration.up, self.options.migration_timeout).await {
            return Err(Stopped(format!(
                "the lint's replay of {} failed: {}",
                migration.up.path.display(),
                error.failure().located_message()
            )));
        }
        self.lint_read(snapshot).await
    }

    /// Brings the lint's snapshot up to date after a script's real run.
    async fn lint_read(&self, snapshot: &mut Snapshot) -> Result<(), Stopped> {
        let session = &self.session;
        let read = async {
            let scope = session.tracker.scope(&session.client, snapshot, None).await?;
            session.catalog.update(&session.client, snapshot, &scope).await
        }
        .await;
        if read.is_err() {
            *snapshot = session.catalog.snapshot(&session.client).await.map_err(|e| {
                Stopped(format!(
                    "dbgate could not read the lint database's catalog: {}",
                    crate::execute::describe(&e)
                ))
            })?;
        }
        Ok(())
    }

    /// Observes one migration, then runs it for real.
    async fn lint_one(
        &self,
        migration: &Migration,
        snapshot: &mut Snapshot,
        replay_passed: bool,
        mut made: Option<&mut BranchMade>,
        mut advisors: Option<&mut advisors::Known>,
    ) -> Result<Linted, Stopped> {
        let options = &self.options.lint;
        let started = Instant::now();
        let script = &migration.up;
        let Ok(statements) = statements_of(script) else {
            // The replay's failure says where; nothing here runs.
            return Err(Stopped(format!("{} cannot be read (the replay says where)", script.path.display())));
        };
        let client = self.client();
        let lost = |what: &str, e: &tokio_postgres::Error| Stopped(format!("the lint's database {what}: {}", crate::execute::describe(e)));
        let mut existing = observe::existing(client).await.map_err(|e| lost("could not be read", &e))?;
        let there_before: std::collections::BTreeSet<u32> = existing.keys().copied().collect();
        if let Some(made) = &made {
            existing.retain(|oid, _| !made.relations.contains(oid));
        }
        let oids: Vec<u32> = existing.keys().copied().collect();
        let no_objects = std::collections::BTreeSet::new();
        let nodes = observe::parse(script, statements);
        let (allows, failures) = allow::read(script, statements);
        let before = snapshot.clone();
        let watcher = observe::Watcher {
            client,
            catalog: &self.session.catalog,
            tracker: &self.session.tracker,
            timeout: self.options.migration_timeout,
        };
        let run_mode = script.run_mode(statements);
        let in_transaction =
            run_mode.in_transaction() && !statements.iter().any(|s| s.kind.controls_transaction()) && script.refusal(statements).is_none();
        let mut filled: Vec<rows::Filled> = Vec::new();
        let observed = if in_transaction {
            client.batch_execute("BEGIN").await.map_err(|e| lost("did not answer", &e))?;
            let names: Vec<(Option<String>, String)> = nodes.iter().flatten().flat_map(observe::named_tables).collect();
            let filling = async {
                let tables = rows::tables_to_fill(client, &names).await?;
                rows::fill(client, &tables, options.rows).await
            };
            match filling.await {
                Ok(done) => filled = done,
                Err(_) => {
                    // The generator's own failure: observed without rows, and said.
                    let _ = client.batch_execute("ROLLBACK; BEGIN").await;
                }
            }
            let observed = watcher.in_transaction(script, statements, &oids, snapshot).await;
            if !observed.lost {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            *snapshot = before.clone();
            observed
        } else {
            watcher.in_place(script, statements, &oids, snapshot).await
        };
        if observed.lost {
            return Err(Stopped(format!(
                "the lint's session was lost while observing {}",
                script.path.display()
            )));
        }
        let with_rows = in_transaction && filled.iter().any(|f| f.rows > 0);
        let left_empty: Vec<String> = filled
            .iter()
            .filter_map(|f| f.left_empty.as_ref().map(|why| (f.table.clone(), why.clone())))
            .map(|(table, why)| format!("{table} was left empty in the copy for {}: {why}", script.path.display()))
            .collect();
        // The real run: the next migration starts from the schema this one leaves.
        let mut stop = None;
        if in_transaction {
            if let Err(error) = run_script(client, script, self.options.migration_timeout).await {
                stop = Some(format!(
                    "the lint's replay of {} failed: {}",
                    script.path.display(),
                    error.failure().located_message()
                ));
            } else if let Err(Stopped(why)) = self.lint_read(snapshot).await {
                stop = Some(why);
            }
        } else if let Some(failed) = &observed.failed {
            // Its one run was the real one: the lint's database stops where it failed.
            stop = Some(format!("the lint's run of {} failed: {}", script.path.display(), failed.message));
        }
        if let Some(made) = made.as_mut() {
            let added = snapshot.objects.keys().filter(|id| !before.objects.contains_key(*id));
            made.objects.extend(added.map(|id| (**id).clone()));
            if let Ok(now) = observe::existing(client).await {
                made.relations.extend(now.keys().filter(|oid| !there_before.contains(oid)));
            }
        }
        // The advisors: what the schema now breaks that it did not before this migration.
        let advisories = match (stop.is_none(), advisors.as_mut()) {
            (true, Some(known)) => self.advise(known, &observed.seen).await,
            _ => Vec::new(),
        };
        let seen_failure = observed.failed.clone();
        let view = observe::Migration {
            script,
            statements,
            nodes,
            existing,
            before: &before,
            branch_made: made.as_ref().map_or(&no_objects, |m| &m.objects),
            in_transaction,
            with_rows,
            filled: filled.iter().filter(|f| f.rows > 0).map(|f| f.table.clone()).collect(),
            left_empty: filled
                .iter()
                .filter_map(|f| f.left_empty.as_ref().map(|why| (f.table.clone(), why.clone())))
                .collect(),
            failed: observed.failed,
            replay_passed,
            lock_timeout_configured: self.options.lock_timeout.is_some(),
            advisories,
        };
        let mut findings = Vec::new();
        let mut used = vec![false; allows.len()];
        for rule in Rule::ALL {
            let severity = options.severity(rule);
            if severity == Severity::Off {
                continue;
            }
            for hit in rule.check(&view, &observed.seen) {
                let allowed = allows
                    .iter()
                    .position(|a| a.rule == rule && a.statement == Some(hit.statement))
                    .map(|at| {
                        used[at] = true;
                        Allowed {
                            reason: allows[at].reason.clone(),
                            location: allows[at].location.clone(),
                        }
                    });
                findings.push(LintFinding {
                    rule,
                    severity,
                    message: hit.message,
                    location: view.location(hit.statement),
                    object: hit.object,
                    allowed,
                });
            }
        }
        findings.sort_by_key(|f| (f.location.line, f.location.column, f.rule));
        let mut check = lint_check(&findings, failures, &allows, &used, started);
        if let (Some(failed), false, Status::Passed) = (&seen_failure, replay_passed, check.status) {
            // It fails without any rows (the replay says why): what comes after the failing
            // statement was never seen.
            let line = script.location(statements[failed.statement].range.start).line;
            let warnings = std::mem::take(&mut check.warnings);
            check = CheckResult::not_checked(
                CheckKind::Lint,
                format!("it fails at line {line}, as the replay says: the statements after it were not observed"),
            );
            check.warnings = warnings;
        }
        Ok(Linted {
            check,
            findings,
            left_empty,
            stop,
        })
    }
}

/// One migration linted.
struct Linted {
    check: CheckResult,
    findings: Vec<LintFinding>,
    /// The tables the generator left empty, in words.
    left_empty: Vec<String>,
    /// Why the lint's database cannot follow the migrations after this one.
    stop: Option<String>,
}

/// The migration's lint check: failed by an error finding not allowed (or an allow comment that
/// cannot be read), with the warnings; an allow comment that allowed nothing is a warning.
fn lint_check(
    findings: &[LintFinding],
    mut failures: Vec<Failure>,
    allows: &[allow::Allow],
    used: &[bool],
    started: Instant,
) -> CheckResult {
    let open = findings.iter().filter(|f| f.allowed.is_none());
    failures.extend(open.clone().filter(|f| f.severity == Severity::Error).map(LintFinding::failure));
    let mut warnings: Vec<Warning> = open.filter(|f| f.severity == Severity::Warning).map(LintFinding::warning).collect();
    for (allow, used) in allows.iter().zip(used) {
        if !used {
            warnings.push(Warning {
                kind: WarningKind::Lint,
                message: format!(
                    "-- dbgate:allow {} allows nothing here: the rule found nothing at this statement",
                    allow.rule.id()
                ),
                location: Some(allow.location.clone()),
                object: None,
                differences: Vec::new(),
            });
        }
    }
    let duration = super::millis(started.elapsed());
    let mut check = if failures.is_empty() {
        CheckResult::passed(CheckKind::Lint, duration)
    } else {
        CheckResult::failed(CheckKind::Lint, duration, None, failures)
    };
    check.warnings = warnings;
    check
}
