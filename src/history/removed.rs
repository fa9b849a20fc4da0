//! Removed or renamed: a migration the base has that is gone now, or has a new name (the same
//! text under a new version). Production's bookkeeping table still lists it: sqlx refuses to
//! migrate ("migration {0} was previously applied but is missing in the resolved migrations"),
//! Flyway's validate fails ("Detected applied migration not resolved locally"), the Supabase CLI
//! refuses to push ("Remote migration versions not found in local migrations directory"),
//! golang-migrate fails when it was the database's current version ("no migration found for
//! version"), and a renamed one runs again under its new version wherever the old ran. Squashing
//! old migrations into a new baseline is deliberate: `[history] allow_removed`.

use std::collections::BTreeMap;

use super::{file_name, History, HistoryOptions};
use crate::discovery::finding::{Finding, FindingKind};
use crate::discovery::{Migration, Tool};

pub(super) fn judge(
    before: &[Migration],
    now: &BTreeMap<String, &Migration>,
    new: &[&Migration],
    tool: Tool,
    options: &HistoryOptions,
    history: &mut History,
) {
    let base = history.base.name.clone();
    // Flyway's R__ scripts have no version: one removed is not a migration production ran once.
    for gone in before
        .iter()
        .filter(|m| !m.version.is_repeatable() && !now.contains_key(&m.version.identity()))
    {
        let file = file_name(&gone.up.path);
        if gone.named_in(&options.allow_removed) {
            history
                .notes
                .push(format!("{file} is gone since {base}: allowed by [history] allow_removed"));
            continue;
        }
        let renamed = new.iter().find(|m| m.up.text() == gone.up.text());
        let finding = match renamed {
            Some(renamed) => {
                let new_file = file_name(&renamed.up.path);
                Finding::at_start(
                    FindingKind::RemovedMigration,
                    renamed.up.path.clone(),
                    format!(
                        "{new_file} is {file}, which {base} has, under a new name: wherever {file} ran, it runs again as a new migration, and {}; keep the old name",
                        missing(tool, &gone.version.text)
                    ),
                )
            }
            None => Finding::at_start(
                FindingKind::RemovedMigration,
                gone.up.path.clone(),
                format!(
                    "{file} is gone, but {base} has it and production ran it: {}; restore it, or, when squashing into a new baseline, name it in [history] allow_removed",
                    missing(tool, &gone.version.text)
                ),
            ),
        };
        history.findings.push(finding);
    }
}

/// What the tool does when an applied migration has no file.
fn missing(tool: Tool, version: &str) -> String {
    match tool {
        Tool::Sqlx => {
            format!("sqlx refuses to migrate (\"migration {version} was previously applied but is missing in the resolved migrations\")")
        }
        Tool::Flyway => format!("Flyway's validate fails (\"Detected applied migration not resolved locally: {version}\")"),
        Tool::Supabase => {
            "the Supabase CLI refuses to push (\"Remote migration versions not found in local migrations directory\")".to_string()
        }
        Tool::GolangMigrate => {
            format!("golang-migrate fails if it is the database's current version (\"no migration found for version {version}\")")
        }
        Tool::Diesel | Tool::Dbmate => format!("{} passes over it, and can no longer roll it back", tool.name()),
        Tool::None => "the runner's record of it has no file, which most runners refuse".to_string(),
    }
}
