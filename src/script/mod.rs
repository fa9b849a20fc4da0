//! The SQL text of a migration: its statements, how it must run (in a transaction or not), and
//! positions in its file.
//!
//! Statements are read with PostgreSQL's own scanner and grammar (libpg_query): a file that
//! cannot run in a transaction must be sent one statement at a time, an error the server reports
//! without a position is still pinned to its statement, and what a statement is decides how the
//! script runs.

mod kind;
pub mod scanner;
mod split;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub use kind::{GrantTargets, StatementKind};
pub use split::SyntaxError;

/// One SQL script: a migration or a rollback, or one section of a dbmate file.
#[derive(Debug, Clone)]
pub struct Script {
    /// Path as shown to the user (relative to the repo root when possible).
    pub path: PathBuf,
    /// The whole file, so that positions are reported in the file, not in the section.
    pub source: Arc<str>,
    /// The byte range of `source` that is this script.
    body: Range<usize>,
    /// Set when a directive in the file turns the transaction off (`-- no-transaction`,
    /// dbmate's `transaction:false`).
    pub transaction_directive: Option<&'static str>,
    /// Set when the file's tool decides the transaction by its directive alone (diesel,
    /// dbmate): without the directive the file runs in a transaction, as in production, and a
    /// statement that cannot fails there. The words say how to turn the transaction off.
    pub directive_only: Option<&'static str>,
    /// The tool (named) sends the file to the server as one query string when it runs it
    /// without a transaction: PostgreSQL then runs a file of several statements in one
    /// implicit transaction, where a statement that cannot run in one fails.
    pub one_query: Option<&'static str>,
    /// The tool runs no transaction of its own (golang-migrate).
    pub no_transaction_by_default: bool,
    /// The tool (named) refuses a file mixing statements that can and cannot run in a
    /// transaction (Flyway, unless `mixed` is set).
    pub mixed_refused: Option<&'static str>,
    /// The file is not UTF-8: its text holds replacement characters, and it is never run.
    pub not_utf8: bool,
    /// A rollback's `-- dbgate:ignore <pattern>` lines: differences its checks do not fail on.
    pub ignore: Vec<crate::object::IgnoreRule>,
    /// The statements, read once (a script runs up to three times: up, up again, and in the
    /// reverse chain).
    statements: Arc<OnceLock<Result<Vec<Statement>, SyntaxError>>>,
}

/// A line and column in a file, both 1-based; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Byte range in the file: from the first token to the last, without the `;`.
    pub range: Range<usize>,
    pub kind: StatementKind,
    /// It may change the session's `search_path` (SET, RESET ALL, DISCARD ALL, set_config(),
    /// a DO block, or a statement the grammar did not read).
    pub may_change_search_path: bool,
}

/// How a script will run, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", content = "reason", rename_all = "snake_case")]
pub enum RunMode {
    Transaction,
    /// Without a transaction, each statement on its own; the reason names the directive or the
    /// statement (with its line) that forced it.
    NoTransaction(String),
    /// Without a transaction of the tool's, but sent as one query: PostgreSQL runs its
    /// statements in one implicit transaction (the reason says whose way this is).
    OneQuery(String),
}

impl RunMode {
    pub fn describe(&self) -> String {
        match self {
            RunMode::Transaction => "in a transaction".to_string(),
            RunMode::NoTransaction(why) => format!("without a transaction ({why})"),
            RunMode::OneQuery(why) => format!("as one query, in one implicit transaction ({why})"),
        }
    }

    /// Whether its statements run in one transaction block, the tool's or PostgreSQL's.
    pub fn in_transaction(&self) -> bool {
        !matches!(self, RunMode::NoTransaction(_))
    }
}

impl Script {
    pub fn new(path: PathBuf, source: Arc<str>, body: Range<usize>) -> Script {
        Script {
            path,
            source,
            body,
            transaction_directive: None,
            directive_only: None,
            one_query: None,
            no_transaction_by_default: false,
            mixed_refused: None,
            not_utf8: false,
            ignore: Vec::new(),
            statements: Arc::default(),
        }
    }

    /// The byte range of `source` that is this script.
    pub fn body(&self) -> Range<usize> {
        self.body.clone()
    }

    pub fn text(&self) -> &str {
        &self.source[self.body.clone()]
    }

    /// The statements of the script, or why its text cannot be sent as it is (a psql
    /// meta-command, text PostgreSQL's scanner rejects).
    pub fn statements(&self) -> Result<&[Statement], &SyntaxError> {
        let read = self.statements.get_or_init(|| {
            let pieces = split::split(&self.source, self.body.clone())?;
            Ok(pieces
                .into_iter()
                .map(|piece| {
                    let reading = kind::read(&self.source[piece.range.clone()], &piece);
                    Statement {
                        range: piece.range,
                        kind: reading.kind,
                        may_change_search_path: reading.may_change_search_path,
                    }
                })
                .collect())
        });
        read.as_ref().map(Vec::as_slice)
    }

    pub fn position(&self, offset: usize) -> Position {
        position_at(&self.source, offset)
    }

    /// The place of `offset` in the file, for a failure.
    pub fn location(&self, offset: usize) -> crate::failure::Location {
        let position = self.position(offset);
        crate::failure::Location {
            file: self.path.clone(),
            line: position.line,
            column: position.column,
        }
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
        let several = statements.len() > 1;
        if let Some(directive) = self.transaction_directive {
            return match self.one_query {
                Some(tool) if several => RunMode::OneQuery(format!("`{directive}`, and {tool} sends the file as one query")),
                _ => RunMode::NoTransaction(format!("`{directive}`")),
            };
        }
        if self.no_transaction_by_default {
            let tool = self.one_query.unwrap_or("its tool");
            return if several {
                RunMode::OneQuery(format!("{tool} runs no transaction and sends the file as one query"))
            } else {
                RunMode::NoTransaction(format!("{tool} runs no transaction"))
            };
        }
        if self.directive_only.is_some() {
            return RunMode::Transaction;
        }
        for statement in statements {
            if let StatementKind::NoTransaction(what) = statement.kind {
                let line = self.position(statement.range.start).line;
                return RunMode::NoTransaction(format!("{what} at line {line}"));
            }
        }
        RunMode::Transaction
    }

    /// How to let a statement that cannot run in a transaction run, under this file's tool,
    /// when the tool would run it in one (its own, or PostgreSQL's implicit one).
    pub fn no_transaction_fix(&self, statements: &[Statement]) -> Option<String> {
        if let RunMode::OneQuery(_) = self.run_mode(statements) {
            let tool = self.one_query.unwrap_or("the tool");
            return Some(format!(
                "{tool} sends this file as one query, which PostgreSQL runs in one implicit transaction: put this statement in a migration of its own"
            ));
        }
        self.directive_only.map(str::to_string)
    }

    /// Why the file's tool refuses to run it at all, and where: Flyway refuses a migration
    /// mixing statements that can and cannot run in a transaction.
    pub fn refusal(&self, statements: &[Statement]) -> Option<(usize, String)> {
        let tool = self.mixed_refused?;
        let outside = statements.iter().find(|s| matches!(s.kind, StatementKind::NoTransaction(_)))?;
        let inside = statements
            .iter()
            .any(|s| !matches!(s.kind, StatementKind::NoTransaction(_) | StatementKind::Unparsed));
        let StatementKind::NoTransaction(what) = outside.kind else {
            return None;
        };
        inside.then(|| {
            (
                outside.range.start,
                format!(
                    "{tool} refuses this migration: it mixes {what}, which cannot run in a transaction, with statements that can (\"Detected both transactional and non-transactional statements within the same migration\"); put {what} in a migration of its own, or set `flyway.mixed=true` in flyway.conf (`mixed = true` in flyway.toml)"
                ),
            )
        })
    }

    /// Where the first of `statements` that spells every word of one of `wanted` starts, trying
    /// them in order (case aside; a word only as a whole identifier with `whole_words`): where a
    /// finding about those objects is placed.
    pub fn statement_spelling(&self, statements: &[Statement], wanted: &[&[&str]], whole_words: bool) -> Option<usize> {
        let spells = |text: &str, word: &str| {
            let word = word.to_lowercase();
            text.match_indices(&word).any(|(at, _)| {
                let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                !whole_words || (boundary(text[..at].chars().next_back()) && boundary(text[at + word.len()..].chars().next()))
            })
        };
        let texts: Vec<String> = statements.iter().map(|s| self.source[s.range.clone()].to_lowercase()).collect();
        wanted.iter().find_map(|words| {
            let at = texts.iter().position(|text| words.iter().all(|w| spells(text, w)))?;
            Some(statements[at].range.start)
        })
    }

    /// True when the script has no statement at all (only comments and white space).
    pub fn is_empty(&self) -> bool {
        matches!(self.statements(), Ok([]))
    }

    /// Whether some statement could not be read by the grammar: what it does is known only
    /// from the database.
    pub fn has_unparsed(&self) -> bool {
        self.statements()
            .map_or(true, |s| s.iter().any(|s| s.kind == StatementKind::Unparsed))
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

/// `text` as an SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `text` as a quoted SQL identifier.
pub fn quote_ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A name as the catalog prints it (`quote_ident`): bare when it reads back the same, quoted
/// otherwise. Keywords are not known here, so `"user"` prints bare; for messages, not for SQL.
pub fn ident(text: &str) -> String {
    let bare = text.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if bare {
        text.to_string()
    } else {
        quote_ident(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let sql = "-- ä\nselect 'ü', x";
        let offset = sql.find('x').unwrap();
        assert_eq!(position_at(sql, offset), Position { line: 2, column: 13 });
        assert_eq!(byte_offset_of_char("'ü', x", 6), "'ü', x".find('x').unwrap());
    }

    fn script(sql: &str) -> Script {
        Script::new("m.sql".into(), sql.into(), 0..sql.len())
    }

    #[test]
    fn the_first_statement_that_refuses_a_transaction_decides() {
        let sql = "create table t (x int);\n-- create index concurrently in a comment\ncreate index concurrently i on t (x);\nvacuum t;";
        let s = script(sql);
        assert_eq!(
            s.run_mode(s.statements().unwrap()),
            RunMode::NoTransaction("CREATE INDEX CONCURRENTLY at line 3".to_string())
        );
        let s = script("create table t (x int); create index i on t (x);");
        assert_eq!(s.run_mode(s.statements().unwrap()), RunMode::Transaction);
    }

    #[test]
    fn an_unparsed_statement_is_still_a_statement() {
        let s = script("create table t (x int);\ncreate tabel u (y int);");
        let statements = s.statements().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[1].kind, StatementKind::Unparsed);
        assert!(s.has_unparsed());
        assert!(!script("select 1;").has_unparsed());
    }
}
