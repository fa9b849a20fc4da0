//! Volume: with `--rows N` (or `[data] rows`), each migration the lint's copy looks at is timed
//! on N generated rows in each table it names, in its observed run (each statement's own time;
//! dbgate's reads between them left out), held to the budgets (`warn_seconds`, `fail_seconds`),
//! and its statements that move rows are reported in rows per second.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::{millis, CheckKind, CheckResult, Options};
use crate::failure::{Failure, Location, Warning, WarningKind};
use crate::script::{Script, Statement};

/// A migration timed on volume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    /// Generated rows put in each table it names.
    pub rows_per_table: u32,
    /// The tables that got them.
    pub tables: Vec<String>,
    /// The migration's statements' own time on them.
    pub duration_ms: u64,
    /// How long putting the rows in took.
    pub fill_ms: u64,
    /// Its statements that moved rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<MovedRows>,
}

/// A statement that inserted, updated, deleted or copied rows, or rewrote a table that holds
/// them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MovedRows {
    pub location: Location,
    /// Its first line.
    pub statement: String,
    pub rows: u64,
    pub duration_ms: u64,
    pub rows_per_second: u64,
}

/// One statement as the volume check reads it.
pub struct Timed {
    pub statement: usize,
    pub took: Duration,
    /// The rows its command tag counts, or of the tables it rewrote.
    pub rows: Option<u64>,
}

/// The volume check of a migration whose statements ran as `timed`, on `volume`'s rows.
pub fn check(options: &Options, script: &Script, statements: &[Statement], timed: &[Timed], mut volume: Volume) -> (CheckResult, Volume) {
    let total: Duration = timed.iter().map(|t| t.took).sum();
    volume.duration_ms = millis(total);
    let first_line = |index: usize| {
        let text = &script.source[statements[index].range.clone()];
        let line = text.lines().next().unwrap_or_default().trim();
        if line.chars().count() > 60 {
            format!("{}...", line.chars().take(57).collect::<String>())
        } else {
            line.to_string()
        }
    };
    let at = |index: usize| script.location(statements[index].range.start);
    volume.moved = timed
        .iter()
        .filter_map(|t| {
            let rows = t.rows?;
            let seconds = t.took.as_secs_f64().max(0.000_001);
            Some(MovedRows {
                location: at(t.statement),
                statement: first_line(t.statement),
                rows,
                duration_ms: millis(t.took),
                rows_per_second: (rows as f64 / seconds).round() as u64,
            })
        })
        .collect();
    let took = format!(
        "{} took {} on {} generated rows per table",
        crate::checks::file_name(script),
        seconds(total),
        volume.rows_per_table
    );
    // Where the time went: the slowest statement.
    let slowest = timed
        .iter()
        .max_by_key(|t| t.took)
        .map_or(script.location(script.body().start), |t| at(t.statement));
    let check = match (options.fail_after, options.warn_after) {
        (Some(limit), _) if total > limit => {
            let failure = Failure::new(
                format!("{took}, over its {} budget ([migrations] fail_seconds)", seconds(limit)),
                Some(slowest),
            );
            let headline = format!(
                "{} is over its time budget on {} generated rows per table",
                crate::checks::file_name(script),
                volume.rows_per_table
            );
            CheckResult::failed(CheckKind::Volume, millis(total), Some(headline), vec![failure])
        }
        (_, Some(limit)) if total > limit => {
            let mut check = CheckResult::passed(CheckKind::Volume, millis(total));
            check.warnings.push(Warning {
                kind: WarningKind::Slow,
                message: format!("{took}, over the {} warning threshold ([migrations] warn_seconds)", seconds(limit)),
                location: Some(slowest),
                object: None,
                differences: Vec::new(),
            });
            check
        }
        _ => CheckResult::passed(CheckKind::Volume, millis(total)),
    };
    (check, volume)
}

/// A duration as a sentence gives it: two decimals under ten seconds (a budget of 0.02 s is
/// not "0.0 s"), one above.
fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}
