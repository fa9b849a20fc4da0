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
mod pass;
pub mod rows;
pub mod rules;
mod tree;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use rules::{Category, Rule, Severity};

use super::{CheckKind, CheckResult};
use crate::discovery::Migration;
use crate::failure::{Failure, Location, Warning, WarningKind};
use crate::object::ObjectId;

/// `[lint]` of dbgate.toml, and which migrations the run lints.
#[derive(Debug, Clone)]
pub struct LintOptions {
    pub enabled: bool,
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
            configured: BTreeMap::new(),
            only: None,
            exposed_schemas: vec!["public".to_string()],
            advisors: false,
            rls_expected: false,
        }
    }
}

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
        self.enabled && self.in_scope(migration)
    }

    /// Whether `migration` is one the lint's copy looks at: new in the pull request, or any
    /// with no base.
    pub(crate) fn in_scope(&self, migration: &Migration) -> bool {
        self.only.as_ref().is_none_or(|files| files.contains(&migration.up.path))
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

/// The migration's lint check: failed by an error finding not allowed, with the warnings; an
/// allow comment that allowed nothing is a warning.
fn lint_check(
    findings: &[LintFinding],
    allow_failures: Vec<Failure>,
    allows: &[allow::Allow],
    used: &[bool],
    started: Instant,
    with_base: bool,
) -> CheckResult {
    let open = findings.iter().filter(|f| f.allowed.is_none());
    let mut failures: Vec<Failure> = open
        .clone()
        .filter(|f| f.severity == Severity::Error)
        .map(LintFinding::failure)
        .collect();
    let mut warnings: Vec<Warning> = open.filter(|f| f.severity == Severity::Warning).map(LintFinding::warning).collect();
    // An allow comment dbgate cannot read fails the lint where its findings can be errors (with
    // a base); with no base it is a warning like them.
    if with_base {
        failures.splice(0..0, allow_failures);
    } else {
        warnings.extend(allow_failures.into_iter().map(|failure| Warning {
            kind: WarningKind::Lint,
            message: failure.message,
            location: failure.location,
            object: None,
            differences: Vec::new(),
        }));
    }
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
