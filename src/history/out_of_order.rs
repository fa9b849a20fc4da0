//! Out of order: a new migration that sorts before the newest one the base has (a branch
//! merged after a newer one). What the tool does with it decides the verdict: golang-migrate
//! keeps one version and only runs higher ones, so it never runs this one (migrate.go: readUp
//! from the current version); Flyway ignores it and its validate fails unless `outOfOrder`
//! ("Detected resolved migration not applied to database"); the Supabase CLI refuses to push
//! without `--include-all` ("Found local migration files to be inserted before the last
//! migration on remote database."). sqlx, diesel and dbmate apply it, out of order (dbmate
//! refuses with `--strict`): a warning, for the order differs from every fresh database's.
//! `[history] out_of_order` overrides.

use super::{file_name, History, HistoryKind, HistoryOptions, Judgement, OutOfOrderRule, Verdict};
use crate::discovery::{Migration, Tool};

pub(super) fn judge(before: &[Migration], new: &[&Migration], tool: Tool, options: &HistoryOptions, history: &mut History) {
    let Some(newest) = before
        .iter()
        .filter(|m| !m.version.is_repeatable())
        .max_by(|a, b| a.version.cmp(&b.version))
    else {
        return;
    };
    let base = history.base.name.clone();
    for migration in new.iter().filter(|m| !m.version.is_repeatable() && m.version < newest.version) {
        let (by_tool, what) = behaviour(tool);
        let judgement = match options.out_of_order {
            Some(OutOfOrderRule::Allow) => Judgement::Allowed,
            Some(OutOfOrderRule::Warn) => Judgement::Warns,
            Some(OutOfOrderRule::Fail) => Judgement::Fails,
            None => by_tool,
        };
        let file = file_name(&migration.up.path);
        let mut details = vec![format!(
            "give it a version after {} (rename the file), so that it runs after every migration production has",
            newest.version
        )];
        if options.out_of_order.is_some() {
            details.push("judged by [history] out_of_order".to_string());
        }
        history.verdicts.push(Verdict {
            kind: HistoryKind::OutOfOrder,
            judgement,
            migration: migration.up.path.clone(),
            message: format!(
                "{file} is new, but sorts before {}, which {base} already has: {what}",
                file_name(&newest.up.path)
            ),
            location: migration.up.location(0),
            details,
        });
    }
}

/// What the tool does with a new migration older than the newest applied one.
fn behaviour(tool: Tool) -> (Judgement, String) {
    match tool {
        Tool::GolangMigrate => (
            Judgement::Fails,
            "golang-migrate keeps only the newest version it ran and never runs this one".to_string(),
        ),
        Tool::Flyway => (
            Judgement::Fails,
            "Flyway ignores it and its validate fails (\"Detected resolved migration not applied to database\") unless outOfOrder is set".to_string(),
        ),
        Tool::Supabase => (
            Judgement::Fails,
            "the Supabase CLI refuses to push it (\"Found local migration files to be inserted before the last migration on remote database\") unless run with --include-all".to_string(),
        ),
        Tool::Sqlx | Tool::Diesel | Tool::Dbmate => (
            Judgement::Warns,
            format!(
                "{} applies it, after the newer ones: production runs it in another order than a fresh database",
                tool.name()
            ),
        ),
        Tool::None => (
            Judgement::Fails,
            "most runners skip it or refuse to start; set [migrations] tool to judge it as your tool does".to_string(),
        ),
    }
}
