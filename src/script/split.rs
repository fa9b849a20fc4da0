//! Where each statement of a script starts and ends, decided over PostgreSQL's own tokens as psql
//! decides it: a `;` ends a statement outside parentheses and outside the `BEGIN ... END` body of
//! a `CREATE FUNCTION|PROCEDURE` (psqlscan.l keeps the same two depths). pg_query's own
//! `split_with_scanner` cuts `BEGIN ATOMIC` bodies apart, and its parser-based split needs SQL
//! the parser knows; this needs neither.

use std::ops::Range;

use pg_query::protobuf::{KeywordKind, ScanToken, Token};

use super::scanner::{self, ScanError};

/// Why a script's text cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// A psql meta-command (`\i`, `\set`, ...), which only psql understands; `offset` is its
    /// backslash in the file.
    MetaCommand { command: String, offset: usize },
    /// PostgreSQL's scanner rejects the text; `offset` is where the token at fault starts in the file.
    Scan { message: String, offset: usize },
}

impl SyntaxError {
    /// Where in the file the problem starts.
    pub fn offset(&self) -> usize {
        match self {
            SyntaxError::MetaCommand { offset, .. } | SyntaxError::Scan { offset, .. } => *offset,
        }
    }

    /// What is wrong and what to do, for a person.
    pub fn describe(&self) -> String {
        match self {
            SyntaxError::MetaCommand { command, .. } => format!(
                "`{command}` is a psql meta-command, not SQL: dbgate sends the file to the server, as migration tools do, and the server cannot run it; inline what it does"
            ),
            SyntaxError::Scan { message, .. } => {
                let why = match message.as_str() {
                    "unterminated /* comment" => "the comment that opens here never ends; add `*/` (comments nest in PostgreSQL, so each `/*` needs its own `*/`)",
                    "unterminated quoted string" => "the string that opens here never ends; add the closing `'` (a quote inside a string is written `''`)",
                    "unterminated dollar-quoted string" => "the dollar-quoted text that opens here never ends; close it with the same `$tag$` it opens with",
                    "unterminated quoted identifier" => "the quoted name that opens here never ends; add the closing `\"`",
                    "unterminated bit string literal" | "unterminated hexadecimal string literal" => "the literal that opens here never ends; add the closing `'`",
                    scanner::NUL_BYTE => "SQL text cannot hold one (drivers and psql cut the text there, or refuse it); remove it",
                    _ => "PostgreSQL's scanner cannot read the text here",
                };
                format!("{message} (the server rejects the file): {why}")
            }
        }
    }
}

/// One statement's place in the file, and what its tokens tell before any parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub range: Range<usize>,
    pub first: Token,
    /// The keyword CONCURRENTLY is among its tokens.
    pub concurrently: bool,
    /// It names `set_config` (which can change the session's settings from any statement).
    pub calls_set_config: bool,
}

/// Splits `source[body]` into statements: each range runs from its first token to its last one,
/// without the `;`, comments around it left out. Empty statements (a lone `;`) are dropped.
pub fn split(source: &str, body: Range<usize>) -> Result<Vec<Piece>, SyntaxError> {
    let text = &source[body.clone()];
    let tokens = scanner::tokens(text).map_err(|error| scan_error(text, body.start, error))?;
    if let Some(error) = meta_command(text, body.start, &tokens) {
        return Err(error);
    }
    let mut statements = Vec::new();
    let mut current: Option<Piece> = None;
    let mut depths = Depths::default();
    for token in tokens.iter().filter(|t| !scanner::is_comment(t)) {
        let (start, end) = (token.start as usize, token.end as usize);
        if token.token() == Token::Ascii59 && depths.paren == 0 && depths.begin == 0 {
            statements.extend(current.take());
            depths = Depths::default();
            continue;
        }
        let word = &text[start..end];
        depths.see(token, word);
        let piece = current.get_or_insert(Piece {
            range: body.start + start..body.start + end,
            first: token.token(),
            concurrently: false,
            calls_set_config: false,
        });
        piece.range.end = body.start + end;
        piece.concurrently |= token.token() == Token::Concurrently;
        piece.calls_set_config |= token.token() == Token::Ident && word.eq_ignore_ascii_case("set_config");
    }
    statements.extend(current);
    Ok(statements)
}

/// psql's two depths within the current statement: parentheses, and `BEGIN`/`CASE` ... `END` in
/// the body of a routine (`CREATE [OR REPLACE] FUNCTION|PROCEDURE`), counted only at
/// parenthesis depth 0 and, for CASE, only inside a BEGIN, as psql counts them.
#[derive(Default)]
struct Depths {
    paren: usize,
    begin: usize,
    /// The first letters of the statement's first four words, when they are CREATE, OR,
    /// REPLACE, FUNCTION or PROCEDURE (psql keeps the same).
    words: [u8; 4],
    word_count: usize,
}

impl Depths {
    fn see(&mut self, token: &ScanToken, text: &str) {
        match token.token() {
            Token::Ascii40 => self.paren += 1,
            Token::Ascii41 => self.paren = self.paren.saturating_sub(1),
            Token::Ident => self.word(text),
            _ if token.keyword_kind() != KeywordKind::NoKeyword => self.word(text),
            _ => {}
        }
    }

    fn word(&mut self, text: &str) {
        let is = |word: &str| text.eq_ignore_ascii_case(word);
        if self.word_count < self.words.len() && ["create", "or", "replace", "function", "procedure"].into_iter().any(is) {
            self.words[self.word_count] = text.as_bytes()[0].to_ascii_lowercase();
        }
        self.word_count += 1;
        let routine = matches!(self.words, [b'c', b'f' | b'p', ..] | [b'c', b'o', b'r', b'f' | b'p']);
        if !routine || self.paren > 0 {
            return;
        }
        if is("begin") || (is("case") && self.begin > 0) {
            self.begin += 1;
        } else if is("end") {
            self.begin = self.begin.saturating_sub(1);
        }
    }
}

/// The first backslash outside strings and comments: psql reads it as a meta-command.
fn meta_command(text: &str, base: usize, tokens: &[ScanToken]) -> Option<SyntaxError> {
    let backslash = tokens.iter().find(|t| t.token() == Token::Ascii92)?;
    let at = backslash.start as usize;
    let command = text[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    Some(SyntaxError::MetaCommand {
        command,
        offset: base + at,
    })
}

/// A scan error, unless a meta-command comes before it: psql would have taken that line as its
/// own (`\echo it's done` leaves an odd quote that the server never sees).
fn scan_error(text: &str, base: usize, error: ScanError) -> SyntaxError {
    if let Ok(before) = scanner::tokens(&text[..error.offset]) {
        if let Some(meta) = meta_command(text, base, &before) {
            return meta;
        }
    }
    SyntaxError::Scan {
        message: error.message,
        offset: base + error.offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{position_at, Position};

    fn texts(sql: &str) -> Vec<&str> {
        split(sql, 0..sql.len()).unwrap().into_iter().map(|p| &sql[p.range]).collect()
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
        let sql = "CREATE OR REPLACE PROCEDURE p() BEGIN ATOMIC insert into t values (1); insert into t values (2); END;";
        assert_eq!(texts(sql), vec![sql.trim_end_matches(';')]);
        // BEGIN outside a routine is an ordinary statement.
        assert_eq!(texts("begin; select 1; commit;").len(), 3);
        // A routine with a string body: the BEGIN inside the string is not a word.
        assert_eq!(
            texts("create function f() returns int as $$ begin return 1; end $$ language plpgsql; select 1;").len(),
            2
        );
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split() {
        // A rule with several actions, as psql reads it.
        let sql = "create rule r as on insert to t do also (insert into a values (1); insert into b values (2));\nselect 1;";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(texts("prepare p as select $1; select 2;").len(), 2);
    }

    #[test]
    fn statements_end_at_their_last_token() {
        assert_eq!(texts("  select 1 -- trailing\n ;\n/* only a comment */"), vec!["select 1"]);
        assert!(texts("-- nothing\n;;\n").is_empty());
    }

    fn error(sql: &str) -> SyntaxError {
        split(sql, 0..sql.len()).unwrap_err()
    }

    #[test]
    fn finds_meta_commands() {
        let sql = "select 1;\n\\i other.sql\n";
        let SyntaxError::MetaCommand { command, offset } = error(sql) else {
            panic!()
        };
        assert_eq!(command, "\\i");
        assert_eq!(position_at(sql, offset), Position { line: 2, column: 1 });
        // A backslash inside a string is not a meta-command.
        assert_eq!(texts("select '\\i';").len(), 1);
        // One that leaves an odd quote is still found as a meta-command, not as an open string.
        let sql = "select 1;\n\\echo it's done\n";
        assert!(matches!(error(sql), SyntaxError::MetaCommand { command, .. } if command == "\\echo"));
    }

    #[test]
    fn texts_without_tokens_are_empty_not_a_crash() {
        for sql in ["", "   \n", "-- migrate:down\n", "/* only */"] {
            assert!(texts(sql).is_empty(), "{sql:?}");
        }
        assert!(matches!(error("\0select 1"), SyntaxError::Scan { offset: 0, .. }));
        assert!(matches!(error("/* open"), SyntaxError::Scan { offset: 0, .. }));
    }

    #[test]
    fn an_unterminated_comment_fails_where_it_opens() {
        let sql = "create table ä (x int);\n  /* the end\n";
        let SyntaxError::Scan { message, offset } = error(sql) else {
            panic!()
        };
        assert_eq!(message, "unterminated /* comment");
        assert_eq!(position_at(sql, offset), Position { line: 2, column: 3 });
    }

    #[test]
    fn positions_are_in_the_file_for_a_section_of_it() {
        let sql = "-- migrate:up\nselect 1;\n-- migrate:down\nselect 'open;\n";
        let down = sql.find("-- migrate:down").unwrap();
        let SyntaxError::Scan { offset, .. } = split(sql, down..sql.len()).unwrap_err() else {
            panic!()
        };
        assert_eq!(position_at(sql, offset), Position { line: 4, column: 8 });
        let up = split(sql, 0..down).unwrap();
        assert_eq!(&sql[up[0].range.clone()], "select 1");
    }
}
