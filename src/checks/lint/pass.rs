//! The lint's pass over the migrations, in a database of its own: the ones before the first
//! linted are replayed unchecked; each linted one is observed (in a transaction rolled back,
//! with generated rows), then run for real. Whatever goes wrong here is the lint's own affair:
//! it never changes the replay's verdicts.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::observe::{self, Observed, Watcher};
use super::{advisors, allow, lint_check, rows, Allowed, LintFinding, Rule, Severity};
use crate::catalog::Snapshot;
use crate::checks::data::{self, check::Down};
use crate::checks::{Chain, CheckKind, CheckResult, MigrationResult, Status, Stop, Unrunnable};
use crate::discovery::Migration;
use crate::execute::{run_script, statements_of};
use crate::object::ObjectId;

/// How long the server has to answer before the lint makes its database.
const PROBE: Duration = Duration::from_secs(10);

/// Why the lint's database cannot go on as it is.
struct Stopped(String);

/// What the pull request's migrations linted so far made: to the ones after them, new, not
/// existing (production has never had them).
#[derive(Default)]
struct BranchMade {
    /// Relations, by name (a rebuild gives them new oids).
    relations: BTreeSet<String>,
    objects: BTreeSet<ObjectId>,
}

/// One migration linted.
struct Linted {
    /// The lint's check, when the lint is on.
    check: Option<CheckResult>,
    /// The round trip's data check, when it is on.
    data: Option<CheckResult>,
    /// The volume check and the migration's time on the rows, with `--rows`.
    volume: Option<(CheckResult, Option<crate::checks::data::volume::Volume>)>,
    findings: Vec<LintFinding>,
    /// The tables the generator left empty, in words.
    left_empty: Vec<String>,
    /// Why the lint's database does not hold the schema after this migration.
    diverged: Option<String>,
}

/// The sequences' positions: a rolled-back run does not take back what it drew from them, and
/// the real run after it must draw what the replay drew.
const SEQUENCES: &str = "SELECT s.seqrelid, pg_sequence_last_value(s.seqrelid), s.seqstart FROM pg_sequence s";
const PUT_SEQUENCES_BACK: &str = "SELECT setval(b.oid, coalesce(b.last, b.start), b.last IS NOT NULL)
  FROM unnest($1::oid[], $2::int8[], $3::int8[]) AS b(oid, last, start)
  WHERE pg_sequence_last_value(b.oid) IS DISTINCT FROM b.last";

impl Chain<'_> {
    /// Lints the migrations the options name, each in its result.
    pub(in crate::checks) async fn lint(&mut self, results: &mut [MigrationResult], forward: Option<&Stop>) {
        if !self.lint_ran {
            // At the end nothing is left to go back to: the pass does not give up.
            let _ = self.lint_pass(results, forward, false).await;
        }
    }

    /// The lint's pass. `mid_chain`: from the copy, in the middle of the reverse chain, where
    /// no rebuild may drop the roles the checks' database still holds: when the copy cannot be
    /// used or the lint's database goes another way than the replay's, it gives up (why), and
    /// the caller throws away what it found.
    pub(in crate::checks) async fn lint_pass(
        &mut self,
        results: &mut [MigrationResult],
        forward: Option<&Stop>,
        mid_chain: bool,
    ) -> Result<(), String> {
        let options = &self.options.lint;
        let linted: Vec<usize> = (0..self.migrations.len())
            .filter(|i| self.options.in_copy(&self.migrations[*i]))
            .collect();
        let (Some(&first), Some(&last)) = (linted.first(), linted.last()) else {
            return Ok(());
        };
        let kinds = self.options.copy_kinds();
        // Who speaks in the notes: the lint, or the data check alone.
        let who = if options.enabled { "lint" } else { "data" };
        let not_checked = |results: &mut [MigrationResult], why: String| {
            for index in &linted {
                for kind in &kinds {
                    results[*index].checks.push(CheckResult::not_checked(*kind, why.clone()));
                }
            }
        };
        // A server that went away, or whose state dbgate could not rebuild, is not one to make
        // another database on (a stopped postmaster takes a connection and never answers).
        if let Some(stop @ (Stop::ConnectionLost(_) | Stop::RebuildFailed(_))) = forward {
            if mid_chain {
                return Err(stop.to_string());
            }
            not_checked(results, stop.to_string());
            return Ok(());
        }
        if let Err(why) = self.probe().await {
            if mid_chain {
                return Err(why);
            }
            not_checked(results, why);
            return Ok(());
        }
        let started = Instant::now();
        // Where the lint's database came from, in words for the note.
        let replayed = (first > 0).then(|| {
            format!(
                "the {first} earlier migration{} replayed there first",
                if first == 1 { "" } else { "s" }
            )
        });
        let (copied, origin) = match self.take_lint_copy(mid_chain).await {
            Some((Ok(copied), made_in)) => (
                Ok(copied),
                Some(format!(
                    "a copy of the checks' database before {}, made in {made_in} ms",
                    migrations_file(&self.migrations[first])
                )),
            ),
            Some((Err(why), _)) if mid_chain => return Err(format!("the copy could not be used ({why})")),
            // dbgate's own machinery: said, and the lint replays instead.
            Some((Err(why), _)) => {
                self.notes.push(format!(
                    "{who}: the copy of the checks' database could not be used ({why}): the earlier migrations were replayed instead"
                ));
                (self.rebuild_state(first).await, replayed)
            }
            None if mid_chain => return Err("no copy was kept".to_string()),
            None => (self.rebuild_state(first).await, replayed),
        };
        let mut snapshot = match copied {
            Ok(snapshot) => snapshot,
            Err(why) => {
                not_checked(results, format!("dbgate could not make the lint's database: {why}"));
                return Ok(());
            }
        };
        // Why the lint cannot go on, and how its later checks count: not checked after a
        // migration that failed (as the replay's), skipped when only the lint's own database
        // could not follow.
        let mut gone: Option<(String, Status)> = None;
        let mut left_empty: Vec<String> = Vec::new();
        let mut rebuilt = 0;
        // With no base every migration is judged as deployed alone; with one, the branch's new
        // migrations are deployed together.
        let mut made = options.only.is_some().then(BranchMade::default);
        let mut advisors = self.start_advisors().await;
        let migrations = self.migrations;
        for (index, migration) in migrations.iter().enumerate().take(last + 1).skip(first) {
            let lint = linted.contains(&index);
            if let Some((why, status)) = &gone {
                if lint {
                    for kind in &kinds {
                        let mut check = CheckResult::skipped(*kind, why.clone());
                        check.status = *status;
                        results[index].checks.push(check);
                    }
                }
                continue;
            }
            let replay_passed = results[index]
                .checks
                .iter()
                .any(|c| c.kind == CheckKind::Replay && c.status == Status::Passed);
            let rollback_failed = results[index].checks.iter().any(|c| {
                matches!(c.kind, CheckKind::Rollback | CheckKind::RollbackChain)
                    && c.status == Status::Failed
                    && c.failures.iter().all(|f| f.difference.is_none())
            });
            let diverged = if lint {
                match self
                    .lint_one(
                        migration,
                        &mut snapshot,
                        Replayed {
                            passed: replay_passed,
                            rollback_failed,
                        },
                        made.as_mut(),
                        advisors.as_mut(),
                    )
                    .await
                {
                    Ok(linted) => {
                        results[index].checks.extend(linted.check);
                        results[index].checks.extend(linted.data);
                        if let Some((check, volume)) = linted.volume {
                            results[index].checks.push(check);
                            results[index].volume = volume;
                        }
                        results[index].lint = linted.findings;
                        left_empty.extend(linted.left_empty);
                        linted.diverged
                    }
                    Err(Stopped(why)) => {
                        for kind in &kinds {
                            results[index].checks.push(CheckResult::skipped(*kind, why.clone()));
                        }
                        Some(why)
                    }
                }
            } else {
                let replayed = self.lint_replay(migration, &mut snapshot).await.err().map(|Stopped(why)| why);
                // What an older migration made true is not a newer one's doing.
                if let Some(known) = advisors.as_mut() {
                    known.refresh(self.client()).await;
                }
                replayed
            };
            let Some(why) = diverged else { continue };
            if !replay_passed {
                // The replay stopped here too: nothing after it runs, there or here.
                gone = Some((
                    format!("{} failed, so later migrations cannot run", migration.up.path.display()),
                    Status::NotChecked,
                ));
                continue;
            }
            // The lint's database went another way than the replay's (a migration whose
            // result depends on when it runs): the schema after this migration is rebuilt from
            // scratch, as the replay made it, and the lint goes on from there.
            if mid_chain {
                return Err(why);
            }
            match self.rebuild_state(index + 1).await {
                Ok(fresh) => {
                    snapshot = fresh;
                    rebuilt += 1;
                    self.notes.push(format!("{who}: {why}; the lint's database was rebuilt to go on"));
                    if let Some(known) = advisors.as_mut() {
                        known.refresh(self.client()).await;
                    }
                }
                Err(error) => {
                    let why = format!("{why}, and the lint's database could not be rebuilt ({error})");
                    self.warnings
                        .push(format!("{who}: {why}: the later migrations are not checked there"));
                    gone = Some((why, Status::Skipped));
                }
            }
        }
        left_empty.dedup();
        for table in left_empty {
            self.notes.push(format!("{who}: {table}"));
        }
        self.notes.push(format!(
            "{who}: {} migration{} observed in a database of their own in {} ms{}",
            linted.len(),
            if linted.len() == 1 { "" } else { "s" },
            started.elapsed().as_millis(),
            match (origin, rebuilt) {
                (None, 0) => String::new(),
                (origin, rebuilt) => {
                    let rebuilds = (rebuilt > 0).then(|| format!("{rebuilt} rebuild{}", if rebuilt == 1 { "" } else { "s" }));
                    format!(" ({})", origin.into_iter().chain(rebuilds).collect::<Vec<_>>().join("; "))
                }
            }
        ));
        Ok(())
    }

    /// Whether the server answers, on a session of its own with a deadline: the chain's own
    /// session may be gone with a database a failed rebuild left.
    async fn probe(&self) -> Result<(), String> {
        let probe = async {
            let client = crate::execute::connect_own(&self.session.config).await?;
            client.simple_query("SELECT 1").await.map(|_| ())
        };
        match tokio::time::timeout(PROBE, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!(
                "the server did not answer before the lint: {}",
                crate::execute::describe(&error)
            )),
            Err(_) => Err(format!("the server did not answer before the lint, within {} s", PROBE.as_secs())),
        }
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
                "the lint's replay of {} failed where the replay's passed: {}",
                migration.up.path.display(),
                error.failure().located_message()
            )));
        }
        self.lint_read(snapshot).await.map(|_| ())
    }

    /// Brings the lint's snapshot up to date after a script's real run; the objects it made.
    async fn lint_read(&self, snapshot: &mut Snapshot) -> Result<Vec<ObjectId>, Stopped> {
        let session = &self.session;
        let read = async {
            let scope = session.tracker.scope(&session.client, snapshot, None).await?;
            session.catalog.update(&session.client, snapshot, &scope).await
        }
        .await;
        match read {
            Ok(undo) => {
                let (before, after) = snapshot.changed_by(&undo);
                Ok(after
                    .objects
                    .keys()
                    .filter(|id| !before.objects.contains_key(*id))
                    .map(|id| (**id).clone())
                    .collect())
            }
            Err(_) => {
                *snapshot = session.catalog.snapshot(&session.client).await.map_err(|e| {
                    Stopped(format!(
                        "dbgate could not read the lint database's catalog: {}",
                        crate::execute::describe(&e)
                    ))
                })?;
                Ok(Vec::new())
            }
        }
    }

    /// Observes one migration, then runs it for real.
    async fn lint_one(
        &self,
        migration: &Migration,
        snapshot: &mut Snapshot,
        replayed: Replayed,
        mut made: Option<&mut BranchMade>,
        advisors: Option<&mut advisors::Known>,
    ) -> Result<Linted, Stopped> {
        let options = &self.options.lint;
        let replay_passed = replayed.passed;
        let linting = options.lints(migration);
        let comparing = self.options.data.check_rollbacks;
        let started = Instant::now();
        let script = &migration.up;
        let Ok(statements) = statements_of(script) else {
            // The replay's failure says where; nothing here runs.
            return Err(Stopped(format!("{} cannot be read (the replay says where)", script.path.display())));
        };
        let client = self.client();
        let lost = |what: &str, e: &tokio_postgres::Error| Stopped(format!("the lint's database {what}: {}", crate::execute::describe(e)));
        let nodes = observe::parse(script, statements);
        let reach = observe::reach(&nodes);
        // Every existing relation: a lock on one the statements do not name (the parent of a
        // partition, a table a foreign key points to, a view's tables) still counts.
        let mut existing = observe::existing(client).await.map_err(|e| lost("could not be read", &e))?;
        if let Some(made) = &made {
            existing.retain(|_, relation| !made.relations.contains(&relation.name));
        }
        let there_before: BTreeSet<String> = existing.values().map(|r| r.name.clone()).collect();
        let oids: Vec<u32> = existing.keys().copied().collect();
        let baseline = observe::within_reach(&existing, reach.as_deref());
        let (allows, allow_failures) = allow::read(script, statements);
        let advising = advisors.is_some();
        let linked = observe::links_tables(&nodes);
        let made_here = observe::tables_made(&nodes);
        let read: Vec<bool> = nodes
            .iter()
            .map(|node| observe::read_after(node.as_ref(), advising, &made_here, linked))
            .collect();
        // With no catalog read to make, the observed run needs no copy of the schema.
        let scratch = || {
            if read.iter().any(|r| *r) {
                snapshot.clone()
            } else {
                Snapshot::default()
            }
        };
        let watcher = Watcher {
            client,
            baseline: &baseline,
            catalog: &self.session.catalog,
            tracker: &self.session.tracker,
            timeout: self.options.migration_timeout,
        };
        // Observed in a transaction dbgate rolls back when it runs in one as the tool runs it
        // (its own savepoints included); a file with its own BEGIN and COMMIT, or one that
        // cannot run in a transaction, is observed in its one real run.
        let in_transaction = runs_in_our_transaction(script, statements);
        let mut filled: Vec<rows::Filled> = Vec::new();
        let mut data = None;
        let mut volume = None;
        let mut round_trip_lost = false;
        // In a transaction: the schema before it stays in `snapshot`, the observed run works on
        // a copy. In place: the run is the real one, and the copy keeps the schema before it.
        let (observed, kept_before) = if in_transaction {
            let down = self.round_trip_down(migration);
            let names: Vec<(Option<String>, String)> = if comparing {
                let mut both = nodes.clone();
                if let Down::Runs(down, statements) = &down {
                    both.extend(observe::parse(down, statements));
                }
                crate::checks::data::tables_named(&both)
            } else {
                nodes.iter().flatten().flat_map(observe::named_tables).collect()
            };
            // Only rows drawn (the generator's, or the migration's own INSERTs, or code) move
            // sequences.
            let draws = !names.is_empty()
                || reach.is_none()
                // The round trip runs the rollback too, which may draw.
                || (comparing && matches!(down, Down::Runs(..)))
                || nodes.iter().flatten().any(|n| {
                    matches!(
                        n,
                        pg_query::NodeEnum::InsertStmt(_) | pg_query::NodeEnum::MergeStmt(_) | pg_query::NodeEnum::CopyStmt(_)
                    )
                });
            let positions = if draws {
                client.query(SEQUENCES, &[]).await.map_err(|e| lost("could not be read", &e))?
            } else {
                Vec::new()
            };
            client.batch_execute("BEGIN").await.map_err(|e| lost("did not answer", &e))?;
            let fill_started = Instant::now();
            let filling = async {
                let tables = rows::tables_to_fill(client, &names).await?;
                let done = rows::fill(client, &tables, self.options.data.rows).await?;
                Ok::<_, tokio_postgres::Error>((tables, done))
            };
            let mut before_data = None;
            let mut names_existing = false;
            match filling.await {
                Ok((tables, done)) => {
                    filled = done;
                    names_existing = !tables.is_empty();
                    if comparing {
                        before_data = read_data(client, &tables).await;
                    }
                }
                // The generator's own failure: observed without rows.
                Err(_) => {
                    let _ = client.batch_execute("ROLLBACK; BEGIN").await;
                }
            }
            let fill_ms = crate::checks::millis(fill_started.elapsed());
            let mut observed = watcher.in_transaction(script, statements, &oids, &read, &mut scratch()).await;
            if self.options.data.volume {
                volume = Some(self.volume_check(script, statements, &observed, &filled, fill_ms, &existing, replay_passed));
            }
            if comparing && !observed.lost {
                // Without a rollback to run, the check has something to say only of the data
                // the migration drops.
                let by_design = matches!(down, Down::Not(_, true));
                data = match (&before_data, &observed.failed) {
                    (_, Some(_)) | (None, None) if by_design => None,
                    (_, Some(failed)) if replay_passed => Some(CheckResult::skipped(
                        CheckKind::Data,
                        format!(
                            "{} fails on tables with rows at line {}: {}",
                            script.path.display(),
                            script.location(statements[failed.statement].range.start).line,
                            failed.message
                        ),
                    )),
                    (_, Some(_)) => Some(CheckResult::not_checked(
                        CheckKind::Data,
                        format!("{} failed", script.path.display()),
                    )),
                    (None, None) => Some(CheckResult::skipped(
                        CheckKind::Data,
                        "dbgate could not read the data of the tables it names",
                    )),
                    (Some(before), None) => {
                        let said = |rule| linting && options.severity(rule) != Severity::Off;
                        // Read in the migration's transaction, which sees what it set.
                        let role_settings = match &self.session.role_settings {
                            Some(start) => start.differences(client, None).await,
                            None => Vec::new(),
                        };
                        let replayed = data::check::Replayed {
                            rollback_failed: replayed.rollback_failed,
                            invocation: self.invocation_sql(),
                            role_settings,
                            drops_said_by_lint: (said(Rule::DropTable), said(Rule::DropColumn)),
                            names_existing,
                        };
                        let timeout = self.options.migration_timeout;
                        data::check::round_trip(client, migration, before, down, replayed, timeout).await
                    }
                };
            }
            // The rollback, run on the rows, may have ended the session (the data check says
            // so): the lint's database is rebuilt after this migration.
            round_trip_lost = !observed.lost && client.is_closed();
            if !observed.lost && !round_trip_lost {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            // A statement that failed on the rows: the rest is observed again without them, so
            // that every rule still sees every statement.
            let on_rows = filled.iter().any(|f| f.rows > 0);
            if let (Some(failed), false, true) = (&observed.failed, observed.lost, on_rows) {
                let failed = failed.clone();
                client.batch_execute("BEGIN").await.map_err(|e| lost("did not answer", &e))?;
                let again = watcher.in_transaction(script, statements, &oids, &read, &mut scratch()).await;
                if !again.lost {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                observed = Observed {
                    seen: again.seen,
                    failed: Some(failed),
                    failed_without_rows: again.failed.is_some(),
                    lost: again.lost,
                };
            }
            if draws {
                self.put_sequences_back(&positions).await;
            }
            (observed, None)
        } else {
            if self.options.data.volume {
                volume = Some((
                    CheckResult::skipped(
                        CheckKind::Volume,
                        "the migration does not run in a transaction: dbgate observes it in its one real run, without generated rows",
                    ),
                    None,
                ));
            }
            if comparing && !matches!(self.round_trip_down(migration), Down::Not(_, true)) {
                data = Some(CheckResult::skipped(
                    CheckKind::Data,
                    "the migration does not run in a transaction, so dbgate cannot make its round trip on rows and roll it back",
                ));
            }
            let before = snapshot.clone();
            (watcher.in_place(script, statements, &oids, snapshot).await, Some(before))
        };
        if observed.lost {
            return Err(Stopped(format!(
                "the lint's session was lost while observing {}",
                script.path.display()
            )));
        }
        let left_empty: Vec<(String, String)> = filled
            .iter()
            .filter_map(|f| f.left_empty.as_ref().map(|why| (f.table.clone(), why.clone())))
            .collect();
        let no_objects = BTreeSet::new();
        let mut findings = Vec::new();
        let mut used = vec![false; allows.len()];
        let mut judge = |view: &observe::Migration, seen: &[observe::Seen], advisors_only: bool| {
            for rule in Rule::ALL {
                let severity = options.severity(rule);
                if severity == Severity::Off || (rule.advisor_query().is_some() != advisors_only) {
                    continue;
                }
                for hit in rule.check(view, seen) {
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
        };
        // The rules on what was observed, against the schema before the migration.
        {
            let view = observe::Migration {
                script,
                statements,
                nodes,
                existing,
                before: kept_before.as_ref().unwrap_or(snapshot),
                branch_made: made.as_ref().map_or(&no_objects, |m| &m.objects),
                in_transaction,
                with_rows: in_transaction && filled.iter().any(|f| f.rows > 0),
                filled: filled.iter().filter(|f| f.rows > 0).map(|f| f.table.clone()).collect(),
                left_empty: left_empty.clone(),
                failed: observed.failed.clone(),
                failed_without_rows: observed.failed_without_rows,
                replay_passed,
                lock_timeout_configured: self.options.lock_timeout.is_some(),
                advisories: Vec::new(),
            };
            if linting {
                judge(&view, &observed.seen, false);
            }
        }
        // The real run: the next migration starts from the schema this one leaves.
        let mut diverged = None;
        let mut made_now = Vec::new();
        if round_trip_lost {
            diverged = Some(format!(
                "the rollback of {} ended the lint's session in its round trip on rows (the data check says where)",
                script.path.display()
            ));
        } else if in_transaction {
            match run_script(client, script, self.options.migration_timeout).await {
                Err(error) if replay_passed => {
                    diverged = Some(format!(
                        "the lint's run of {} failed where the replay's passed: {}",
                        script.path.display(),
                        error.failure().located_message()
                    ))
                }
                Err(_) => diverged = Some(format!("{} failed", script.path.display())),
                Ok(_) => match self.lint_read(snapshot).await {
                    Ok(objects) => made_now = objects,
                    Err(Stopped(why)) => diverged = Some(why),
                },
            }
        } else if let Some(failed) = &observed.failed {
            // Its one run was the real one: the lint's database stops where it failed.
            diverged = Some(format!("the lint's run of {} failed: {}", script.path.display(), failed.message));
        } else if let Some(before) = &kept_before {
            made_now = snapshot
                .objects
                .keys()
                .filter(|id| !before.objects.contains_key(*id))
                .map(|id| (**id).clone())
                .collect();
        }
        // The advisors: what the schema now breaks that it did not before this migration.
        if let (None, Some(known), true) = (&diverged, advisors, linting) {
            let advisories = self.advise(known, &observed.seen).await;
            if !advisories.is_empty() {
                let view = observe::Migration {
                    script,
                    statements,
                    nodes: Vec::new(),
                    existing: Default::default(),
                    before: snapshot,
                    branch_made: &no_objects,
                    in_transaction,
                    with_rows: false,
                    filled: Vec::new(),
                    left_empty: Vec::new(),
                    failed: None,
                    failed_without_rows: false,
                    replay_passed,
                    lock_timeout_configured: self.options.lock_timeout.is_some(),
                    advisories,
                };
                judge(&view, &observed.seen, true);
            }
        }
        if let Some(made) = made.as_mut() {
            made.objects.extend(made_now);
            if let Ok(now) = observe::existing(client).await {
                made.relations
                    .extend(now.into_values().map(|r| r.name).filter(|name| !there_before.contains(name)));
            }
        }
        findings.sort_by_key(|f| (f.location.line, f.location.column, f.rule));
        let mut check = lint_check(&findings, allow_failures, &allows, &used, started, options.only.is_some());
        if let (Some(failed), false, Status::Passed) = (&observed.failed, replay_passed, check.status) {
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
            check: linting.then_some(check),
            data,
            volume,
            findings,
            left_empty: left_empty
                .into_iter()
                .map(|(table, why)| format!("{table} was left empty in the copy for {}: {why}", script.path.display()))
                .collect(),
            diverged,
        })
    }

    /// Puts the sequences back where they were before the observed run.
    async fn put_sequences_back(&self, positions: &[tokio_postgres::Row]) {
        let oids: Vec<u32> = positions.iter().map(|r| r.get(0)).collect();
        let last: Vec<Option<i64>> = positions.iter().map(|r| r.get(1)).collect();
        let start: Vec<i64> = positions.iter().map(|r| r.get(2)).collect();
        // A sequence the run dropped or renamed is back with the rollback; one it made is gone.
        let _ = self.client().query(PUT_SEQUENCES_BACK, &[&oids, &last, &start]).await;
    }
}

fn migrations_file(migration: &Migration) -> String {
    migration.up.path.display().to_string()
}

/// What the replay said of the migration.
struct Replayed {
    passed: bool,
    /// Its rollback failed with an error (not a difference).
    rollback_failed: bool,
}

/// Whether a script runs in a transaction dbgate can open and roll back around it: its tool
/// runs it in one, and it has no BEGIN or COMMIT of its own.
fn runs_in_our_transaction(script: &crate::script::Script, statements: &[crate::script::Statement]) -> bool {
    let run_mode = script.run_mode(statements);
    let one_query = matches!(run_mode, crate::script::RunMode::OneQuery(_));
    run_mode.in_transaction()
        && !statements
            .iter()
            .any(|s| s.kind == crate::script::StatementKind::TransactionBoundary)
        && !(one_query && statements.iter().any(|s| s.kind.controls_transaction()))
        && script.refusal(statements).is_none()
}

/// The data of `tables`, read in a savepoint (a read that fails must not end the transaction
/// the migration is observed in); `None` when it cannot be read.
async fn read_data(client: &tokio_postgres::Client, tables: &[u32]) -> Option<data::columns::Before> {
    client.batch_execute("SAVEPOINT dbgate_data").await.ok()?;
    match data::columns::Before::read(client, tables).await {
        Ok(before) => {
            client.batch_execute("RELEASE SAVEPOINT dbgate_data").await.ok()?;
            Some(before)
        }
        Err(_) => {
            let _ = client
                .batch_execute("ROLLBACK TO SAVEPOINT dbgate_data; RELEASE SAVEPOINT dbgate_data")
                .await;
            None
        }
    }
}

impl Chain<'_> {
    /// The volume check of a migration observed in a transaction, on the rows `filled`.
    #[allow(clippy::too_many_arguments)]
    fn volume_check(
        &self,
        script: &crate::script::Script,
        statements: &[crate::script::Statement],
        observed: &Observed,
        filled: &[rows::Filled],
        fill_ms: u64,
        existing: &std::collections::BTreeMap<u32, observe::Relation>,
        replay_passed: bool,
    ) -> (CheckResult, Option<data::volume::Volume>) {
        if let Some(failed) = &observed.failed {
            let line = script.location(statements[failed.statement].range.start).line;
            return (
                if replay_passed {
                    CheckResult::skipped(
                        CheckKind::Volume,
                        format!("it fails on tables with rows at line {line}: {}", failed.message),
                    )
                } else {
                    CheckResult::not_checked(CheckKind::Volume, format!("{} failed", script.path.display()))
                },
                None,
            );
        }
        // A table rewritten moves its rows: as many as it was given.
        let rows_of = |oid: &u32| {
            let name = &existing.get(oid)?.name;
            filled.iter().find(|f| &f.table == name).map(|f| f.rows).filter(|rows| *rows > 0)
        };
        let timed: Vec<data::volume::Timed> = observed
            .seen
            .iter()
            .map(|seen| data::volume::Timed {
                statement: seen.statement,
                took: seen.took,
                rows: seen.rows.or_else(|| seen.rewritten.iter().filter_map(rows_of).max()),
            })
            .collect();
        let volume = data::volume::Volume {
            rows_per_table: self.options.data.rows,
            tables: filled.iter().filter(|f| f.rows > 0).map(|f| f.table.clone()).collect(),
            duration_ms: 0,
            fill_ms,
            moved: Vec::new(),
        };
        let (check, volume) = data::volume::check(self.options, script, statements, &timed, volume);
        (check, Some(volume))
    }

    /// The migration's rollback, as its round trip in the copy runs it (or why it does not).
    fn round_trip_down<'m>(&self, migration: &'m Migration) -> Down<'m> {
        let Some(down) = &migration.down else {
            return Down::Not("no rollback".to_string(), true);
        };
        if down.not_utf8 {
            return Down::Not(format!("{} is not valid UTF-8", down.path.display()), true);
        }
        if let Some(unrunnable) = Unrunnable::of(migration, self.options) {
            return Down::Not(unrunnable.reason().to_string(), true);
        }
        match statements_of(down) {
            Ok(statements) if runs_in_our_transaction(down, statements) => Down::Runs(down, statements),
            Ok(_) => Down::Not(
                format!(
                    "{} does not run in a transaction, so dbgate cannot make the round trip on rows and roll it back",
                    down.path.display()
                ),
                false,
            ),
            Err(_) => Down::Not(
                format!("{} cannot be read (the rollback check says where)", down.path.display()),
                false,
            ),
        }
    }
}
