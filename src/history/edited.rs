//! Edited: a migration the base has, whose text differs now. Production ran the old text and
//! never runs the new one; every fresh database now differs from production. sqlx keeps a
//! SHA-384 of every byte of each applied file and refuses to migrate ("migration {0} was
//! previously applied but has been modified", sqlx-core/src/migrate/error.rs); Flyway keeps a
//! CRC-32 of each line without its line ending, blank lines and a BOM left out, and its validate
//! fails ("Migration checksum mismatch for migration version N", ChecksumCalculator.java); the
//! other tools keep no checksum and silently never run the edit. A rollback is never
//! checksummed (sqlx skips downs), and fixing an old down is what dbgate asks for: a warning.
//! Flyway's `R__` scripts are meant to be edited: run again when they change.

use similar::{ChangeTag, TextDiff};

use super::{checksums, file_name, History, HistoryKind, HistoryOptions, Judgement, Verdict};
use crate::discovery::{Migration, Tool};
use crate::failure::Location;

/// How many lines of a diff the report shows.
const DIFF_LINES: usize = 40;

pub(super) fn judge(was: &Migration, now: &Migration, tool: Tool, options: &HistoryOptions, history: &mut History) {
    if now.version.is_repeatable() {
        return;
    }
    let base = &history.base.name;
    let file = file_name(&now.up.path);
    // Flyway records each version's description (the file name after `__`) and its validate
    // fails when it changes ("Migration description mismatch for migration version N").
    if tool == Tool::Flyway && was.up.path != now.up.path && !now.named_in(&options.allow_edits) {
        history.verdicts.push(Verdict {
            kind: HistoryKind::Edited,
            judgement: Judgement::Fails,
            migration: now.up.path.clone(),
            message: format!(
                "{file} is {}, which {base} has, under a new name: Flyway's validate fails (\"Migration description mismatch for migration version {}\")",
                file_name(&was.up.path),
                now.version.text
            ),
            location: now.up.location(0),
            details: vec![format!("keep the name {} has", base)],
        });
    }
    if was.up.text() != now.up.text() {
        let (old, new) = (was.up.text(), now.up.text());
        let whitespace_only = same_tokens(old, new);
        // Flyway's checksum sees neither line endings nor blank lines.
        let checksum_changes = match tool {
            Tool::Flyway => flyway_lines(old) != flyway_lines(new),
            _ => checksums(tool),
        };
        let (judgement, why) = if now.named_in(&options.allow_edits) {
            (Judgement::Allowed, "allowed by [history] allow_edits".to_string())
        } else if checksum_changes {
            (Judgement::Fails, refusal(tool, &now.version.text))
        } else if whitespace_only {
            let why = match tool {
                // Flyway's checksum leaves out line endings and blank lines.
                Tool::Flyway => "only line endings or blank lines changed, which Flyway's checksum leaves out".to_string(),
                _ => format!("only white space changed: {} keeps no checksum that would notice", tool_name(tool)),
            };
            (Judgement::Warns, why)
        } else {
            (Judgement::Fails, refusal(tool, &now.version.text))
        };
        let message = match judgement {
            Judgement::Allowed => format!("{file} differs from {base}, which has it: {why}"),
            _ => format!(
                "{file} was edited, but {base} already has it: production ran the old text and never runs this edit, and a fresh database now differs from production; {why}"
            ),
        };
        let mut details = diff(old, new, &format!("{base}:{file}"), &file);
        if judgement == Judgement::Fails {
            details.push(format!(
                "put the change in a new migration and restore {file} as {base} has it; or, if it fixes a file no environment can run, name it in [history] allow_edits"
            ));
        }
        history.verdicts.push(Verdict {
            kind: HistoryKind::Edited,
            judgement,
            migration: now.up.path.clone(),
            message,
            location: first_change(old, new, &now.up),
            details,
        });
        return;
    }
    let (old_down, new_down) = (was.down.as_ref().map(|d| d.text()), now.down.as_ref().map(|d| d.text()));
    if old_down != new_down {
        let Some(down) = &now.down else {
            history.verdicts.push(Verdict {
                kind: HistoryKind::Edited,
                judgement: Judgement::Warns,
                migration: now.up.path.clone(),
                message: format!("the rollback of {file} that {base} has is gone: the migration can no longer be rolled back"),
                location: now.up.location(now.up.body().start),
                details: Vec::new(),
            });
            return;
        };
        let down_file = file_name(&down.path);
        let old = old_down.unwrap_or_default();
        history.verdicts.push(Verdict {
            kind: HistoryKind::Edited,
            judgement: Judgement::Warns,
            migration: now.up.path.clone(),
            message: format!(
                "{down_file} differs from {base}'s: no runner checksums a rollback, so this is a fix an environment gets the next time it rolls back"
            ),
            location: first_change(old, down.text(), down),
            details: diff(old, down.text(), &format!("{base}:{down_file}"), &down_file),
        });
    }
}

/// What the tool does with an applied migration whose file changed.
fn refusal(tool: Tool, version: &str) -> String {
    match tool {
        Tool::Sqlx => format!("sqlx refuses to migrate: \"migration {version} was previously applied but has been modified\""),
        Tool::Flyway => format!("Flyway's validate fails: \"Migration checksum mismatch for migration version {version}\""),
        Tool::None => "a migration runner never runs an applied migration again".to_string(),
        other => format!("{} never runs an applied migration again", other.name()),
    }
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::None => "no known runner",
        other => other.name(),
    }
}

/// Whether two texts are the same SQL tokens, comments and string contents included, apart
/// from the white space between them: a line break that pulls a statement into a comment, or a
/// space inside a string, is a real edit.
fn same_tokens(old: &str, new: &str) -> bool {
    let tokens = |text: &str| -> Option<Vec<String>> {
        let tokens = crate::script::scanner::tokens(text).ok()?;
        Some(
            tokens
                .iter()
                .map(|t| {
                    let token = &text[t.start as usize..t.end as usize];
                    // A line comment ends at the line break, which is not part of the token;
                    // white space inside a comment is its own.
                    token.trim_end().to_string()
                })
                .collect(),
        )
    };
    match (tokens(old), tokens(new)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// What Flyway's checksum reads: each line without its line ending, blank lines adding nothing.
fn flyway_lines(text: &str) -> String {
    text.lines().map(|l| l.trim_end_matches('\r')).collect()
}

/// A unified diff, cut to the first lines.
fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Vec<String> {
    let text = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(old_name, new_name)
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut shown: Vec<String> = lines.iter().take(DIFF_LINES).map(|l| l.to_string()).collect();
    if lines.len() > DIFF_LINES {
        shown.push(format!("... {} more lines of diff", lines.len() - DIFF_LINES));
    }
    vec![shown.join("\n")]
}

/// The first line of `new` that the edit changed (or the line after the last kept one).
fn first_change(old: &str, new: &str, script: &crate::script::Script) -> Location {
    let diff = TextDiff::from_lines(old, new);
    let mut line = None;
    let mut kept = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Equal => kept = change.new_index().unwrap_or(kept) + 1,
            ChangeTag::Insert => {
                line = change.new_index();
                break;
            }
            ChangeTag::Delete => {
                line = Some(kept);
                break;
            }
        }
    }
    // Lines of the script's text, counted from where its body starts in the file.
    let start = script.position(script.body().start).line;
    let line = start + line.unwrap_or(0);
    let total = script.source.lines().count().max(1);
    Location {
        file: script.path.clone(),
        line: line.min(total),
        column: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::same_tokens;

    #[test]
    fn only_white_space_between_tokens_is_white_space() {
        assert!(same_tokens("CREATE TABLE a (id int);\n", "CREATE  TABLE a (\n  id int\n);"));
        assert!(same_tokens("-- note\nDROP TABLE a;", "-- note\r\n\r\nDROP TABLE a;"));
        // A line break that pulls a statement into a comment, a space inside a string.
        assert!(!same_tokens("-- cleanup\nDROP TABLE a;", "-- cleanup DROP TABLE a;"));
        assert!(!same_tokens("INSERT INTO c VALUES ('a  b');", "INSERT INTO c VALUES ('a b');"));
        assert!(!same_tokens("SELECT 1; -- one", "SELECT 1; -- two"));
    }
}
