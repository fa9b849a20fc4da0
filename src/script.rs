//! The SQL text of a migration: its statements, how it must run (in a transaction or not), and
//! positions in its file.
//!
//! Statements are split here (quotes, dollar quotes, comments and `BEGIN ATOMIC` bodies are
//! respected) because a file that cannot run in a transaction must be sent one statement at a time,
//! and because an error the server reports without a position is still pinned to its statement.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// One SQL script: a migration or a rollback, or one section of a dbmate file.
#[derive(Debug, Clone)]
pub struct Script {
    /// Path as shown to the user (relative to the repo root when possible).
    pub path: PathBuf,
    /// The whole file, so that positions are reported in the file, not in the section.
    pub source: Arc<str>,
    /// The byte range of `source` that is this script.
    pub body: Range<usize>,
    /// Set when a directive in the file turns the transaction off (`-- no-transaction`,
    /// dbmate's `transaction:false`).
    pub transaction_directive: Option<&'static str>,
}

/// A line and column in a file, both 1-based; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Byte range in the file: from the first token to the end of the statement, without the `;`.
    pub range: Range<usize>,
}

/// A psql meta-command (`\i`, `\set`, ...) found where SQL was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand {
    pub command: String,
    pub offset: usize,
}

/// How a script will run, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", content = "reason", rename_all = "snake_case")]
pub enum RunMode {
    Transaction,
    /// Without a transaction, each statement on its own; the reason names the directive or the
    /// statement (with its line) that forced it.
    NoTransaction(String),
}

impl RunMode {
    pub fn describe(&self) -> String {
        match self {
            RunMode::Transaction => "in a transaction".to_string(),
            RunMode::NoTransaction(why) => format!("without a transaction ({why})"),
        }
    }
}

impl Script {
    pub fn new(path: PathBuf, source: Arc<str>, body: Range<usize>) -> Script {
        Script {
            path,
            source,
            body,
            transaction_directive: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.source[self.body.clone()]
    }

    /// The statements of the script, or the first psql meta-command in it.
    pub fn statements(&self) -> Result<Vec<Statement>, MetaCommand> {
        split(&self.source, self.body.clone())
    }

    pub fn position(&self, offset: usize) -> Position {
        position_at(&self.source, offset)
    }

    /// The source line holding `offset`, for showing under an error.
    pub fn line_text(&self, offset: usize) -> &str {
        let start = self.source[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.source[offset..].find('\n').map_or(self.source.len(), |i| offset + i);
        self.source[start..end].trim_end_matches('\r')
    }

    /// Decides how the script runs: a directive wins, then any statement that PostgreSQL refuses
    /// to run inside a transaction block.
    pub fn run_mode(&self, statements: &[Statement]) -> RunMode {
        if let Some(directive) = self.transaction_directive {
            return RunMode::NoTransaction(format!("`{directive}`"));
        }
        for statement in statements {
            if let Some(what) = non_transactional(&self.source[statement.range.clone()]) {
                let line = self.position(statement.range.start).line;
                return RunMode::NoTransaction(format!("{what} at line {line}"));
            }
        }
        RunMode::Transaction
    }

    /// True when the script has no statement at all (only comments and white space).
    pub fn is_empty(&self) -> bool {
        matches!(self.statements(), Ok(statements) if statements.is_empty())
    }
}

/// Line and character column of a byte offset.
pub fn position_at(source: &str, offset: usize) -> Position {
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Byte offset of the 1-based character position `position` that PostgreSQL reports in `text`.
pub fn byte_offset_of_char(text: &str, position: usize) -> usize {
    text.char_indices().nth(position.saturating_sub(1)).map_or(text.len(), |(i, _)| i)
}

/// Splits `source[body]` into statements. Empty statements (a lone `;`) are dropped.
pub fn split(source: &str, body: Range<usize>) -> Result<Vec<Statement>, MetaCommand> {
    let bytes = source.as_bytes();
    let end = body.end;
    let mut i = body.start;
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    // Words seen so far in the current statement, uppercased, for `BEGIN ATOMIC` bodies.
    let mut words: Vec<String> = Vec::new();
    let mut atomic_depth = 0usize;

    while i < end {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = source[i..end].find('\n').map_or(end, |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i, end);
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
        match c {
            b';' if atomic_depth == 0 => {
                let from = start.take().unwrap_or(i);
                if from < i {
                    statements.push(Statement {
                        range: from..trim_end(source, from, i),
                    });
                }
                words.clear();
                i += 1;
            }
            b';' => i += 1,
            b'\'' => {
                // E'...' strings allow backslash escapes.
                let escapes = i > 0 && matches!(bytes[i - 1], b'e' | b'E') && !is_word_byte(bytes.get(i.wrapping_sub(2)).copied());
                i = skip_quoted(bytes, i, end, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, end, b'"', false),
            b'$' => match dollar_tag(source, i, end) {
                Some(tag) => {
                    let body_start = i + tag.len();
                    i = source[body_start..end].find(tag).map_or(end, |n| body_start + n + tag.len());
                }
                None => i += 1,
            },
            b'\\' => {
                let command: String = source[i..end].chars().take_while(|c| !c.is_whitespace()).collect();
                return Err(MetaCommand { command, offset: i });
            }
            c if is_word_byte(Some(c)) => {
                let word_end = (i..end).find(|&j| !is_word_byte(Some(bytes[j]))).unwrap_or(end);
                let word = source[i..word_end].to_ascii_uppercase();
                if is_routine_definition(&words) {
                    match word.as_str() {
                        "BEGIN" | "CASE" => atomic_depth += 1,
                        "END" => atomic_depth = atomic_depth.saturating_sub(1),
                        _ => {}
                    }
                }
                if words.len() < 8 {
                    words.push(word);
                }
                i = word_end;
            }
            _ => i += 1,
        }
    }
    if let Some(from) = start {
        statements.push(Statement {
            range: from..trim_end(source, from, end),
        });
    }
    Ok(statements)
}

fn is_word_byte(c: Option<u8>) -> bool {
    matches!(c, Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the only statements whose body may be a
/// `BEGIN ATOMIC ... END` block with semicolons inside.
fn is_routine_definition(words: &[String]) -> bool {
    let rest = match words {
        [first, rest @ ..] if first == "CREATE" => rest,
        _ => return false,
    };
    let rest = match rest {
        [or, replace, rest @ ..] if or == "OR" && replace == "REPLACE" => rest,
        _ => rest,
    };
    matches!(rest.first().map(String::as_str), Some("FUNCTION" | "PROCEDURE"))
}

fn trim_end(source: &str, from: usize, to: usize) -> usize {
    from + source[from..to].trim_end().len()
}

fn skip_block_comment(bytes: &[u8], mut i: usize, end: usize) -> usize {
    // Block comments nest in PostgreSQL.
    let mut depth = 0usize;
    while i < end {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    end
}

fn skip_quoted(bytes: &[u8], mut i: usize, end: usize, quote: u8, escapes: bool) -> usize {
    i += 1;
    while i < end {
        if escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    end
}

/// The `$tag$` starting at `i`, if it is one (not a `$1` parameter or part of an identifier).
fn dollar_tag(source: &str, i: usize, end: usize) -> Option<&str> {
    let bytes = source.as_bytes();
    if i > 0 && is_word_byte(Some(bytes[i - 1])) {
        return None;
    }
    let mut j = i + 1;
    while j < end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] >= 0x80) {
        j += 1;
    }
    if j < end && bytes[j] == b'$' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        Some(&source[i..=j])
    } else {
        None
    }
}

/// The statement's leading keywords, when PostgreSQL refuses to run it inside a transaction block.
pub fn non_transactional(statement: &str) -> Option<&'static str> {
    let words = leading_words(statement, 8);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let has = |word: &str| w.contains(&word);
    match w.as_slice() {
        ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..] | ["CREATE", "INDEX", "CONCURRENTLY", ..] => Some("CREATE INDEX CONCURRENTLY"),
        ["DROP", "INDEX", "CONCURRENTLY", ..] => Some("DROP INDEX CONCURRENTLY"),
        ["REINDEX", ..] if has("CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
        ["REINDEX", "SYSTEM" | "DATABASE", ..] => Some("REINDEX DATABASE"),
        ["ALTER", "TABLE", ..] if has("DETACH") && has("CONCURRENTLY") => Some("DETACH PARTITION CONCURRENTLY"),
        ["VACUUM", ..] => Some("VACUUM"),
        ["ALTER", "SYSTEM", ..] => Some("ALTER SYSTEM"),
        ["CREATE", "DATABASE", ..] => Some("CREATE DATABASE"),
        ["DROP", "DATABASE", ..] => Some("DROP DATABASE"),
        ["CREATE", "TABLESPACE", ..] => Some("CREATE TABLESPACE"),
        ["DROP", "TABLESPACE", ..] => Some("DROP TABLESPACE"),
        ["CREATE", "SUBSCRIPTION", ..] => Some("CREATE SUBSCRIPTION"),
        ["DROP", "SUBSCRIPTION", ..] => Some("DROP SUBSCRIPTION"),
        ["ALTER", "DATABASE", ..] if has("TABLESPACE") => Some("ALTER DATABASE SET TABLESPACE"),
        ["CLUSTER"] => Some("CLUSTER"),
        _ => None,
    }
}

/// Whether a statement begins or ends a transaction (the script manages its own).
pub fn controls_transaction(statement: &str) -> bool {
    let words = leading_words(statement, 2);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT", ..] | ["PREPARE", "TRANSACTION"]
    )
}

/// The first `n` words of a statement, upper-cased.
fn leading_words(statement: &str, n: usize) -> Vec<String> {
    statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql, 0..sql.len()).unwrap().into_iter().map(|s| &sql[s.range]).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql =
            "-- a; comment\nselect 'a;b', \"x;y\" /* c; /* nested; */ d */ from t;\n\nselect E'it\\'s;';;\nselect $$ ; $$, $f$ $$ ; $f$";
        assert_eq!(
            texts(sql),
            vec![
                "select 'a;b', \"x;y\" /* c; /* nested; */ d */ from t",
                "select E'it\\'s;'",
                "select $$ ; $$, $f$ $$ ; $f$"
            ]
        );
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let sql = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 3;";
        assert_eq!(texts(sql).len(), 2);
        // BEGIN outside a routine is an ordinary statement.
        assert_eq!(texts("begin; select 1; commit;").len(), 3);
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(texts("prepare p as select $1; select 2;").len(), 2);
    }

    #[test]
    fn finds_meta_commands() {
        let sql = "select 1;\n\\i other.sql\n";
        let err = split(sql, 0..sql.len()).unwrap_err();
        assert_eq!(err.command, "\\i");
        assert_eq!(position_at(sql, err.offset), Position { line: 2, column: 1 });
        // A backslash inside a string is not a meta-command.
        assert_eq!(texts("select '\\i';").len(), 1);
    }

    #[test]
    fn positions_count_characters() {
        let sql = "-- ä\nselect 'ü', x";
        let offset = sql.find('x').unwrap();
        assert_eq!(position_at(sql, offset), Position { line: 2, column: 13 });
        assert_eq!(byte_offset_of_char("'ü', x", 6), "'ü', x".find('x').unwrap());
    }

    #[test]
    fn detects_statements_that_cannot_run_in_a_transaction() {
        assert_eq!(
            non_transactional("create index concurrently i on t(x)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(
            non_transactional("CREATE UNIQUE INDEX CONCURRENTLY i on t(x)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(non_transactional("vacuum analyze t"), Some("VACUUM"));
        assert_eq!(non_transactional("create index i on t(x)"), None);
        assert_eq!(non_transactional("alter system set work_mem = '1MB'"), Some("ALTER SYSTEM"));
    }
}
