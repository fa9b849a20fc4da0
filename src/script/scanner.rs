//! PostgreSQL's own scanner (libpg_query, which the `pg_query` crate builds and links): the tokens
//! of a text with their byte offsets, or where and why the server's scanner would reject it.

use pg_query::protobuf::{ScanToken, Token};

/// A text the scanner rejects: an unterminated comment, string or quoted identifier, junk after
/// a number, a bad escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// The scanner's own words ("unterminated /* comment").
    pub message: String,
    /// Byte offset in the scanned text of the token at fault (for an unterminated one, where it
    /// opens), as PostgreSQL places it.
    pub offset: usize,
}

/// The message of a NUL byte in the text, which the scanner never sees (C strings end there).
pub const NUL_BYTE: &str = "unexpected NUL byte";

/// The tokens of `text`, comments included.
pub fn tokens(text: &str) -> Result<Vec<ScanToken>, ScanError> {
    if let Some(offset) = text.find('\0') {
        return Err(ScanError {
            message: NUL_BYTE.to_string(),
            offset,
        });
    }
    scan(text).map_err(|(message, position)| {
        let message = short(&message);
        let offset = match position {
            Some(position) => crate::script::byte_offset_of_char(text, position),
            None => line_of(text, &message),
        };
        ScanError { message, offset }
    })
}

/// The scanner's words without "at or near "<the rest of the file>"": the place is given apart.
fn short(message: &str) -> String {
    let message = message.split(" at or near ").next().unwrap_or_default();
    message.trim_end_matches(" at end of input").to_string()
}

/// Where an error the scanner places nowhere (an escape that makes an invalid byte sequence)
/// is: the first non-blank character of the first line after which the text fails with the
/// same words. A text cut at an earlier line end scans, or fails otherwise (cut inside a
/// string), so the lines can be halved.
fn line_of(text: &str, message: &str) -> usize {
    let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).chain([text.len()]).collect();
    let fails_here = |end: &usize| scan(&text[..*end]).err().map(|(words, _)| short(&words)).as_deref() == Some(message);
    let line = ends.partition_point(|end| !fails_here(end));
    let start = line.checked_sub(1).map_or(0, |previous| ends[previous]);
    let indent = text[start..].len() - text[start..].trim_start_matches([' ', '\t']).len();
    start + indent
}

/// Whether a token is a comment (`-- ...` or `/* ... */`).
pub fn is_comment(token: &ScanToken) -> bool {
    matches!(token.token(), Token::SqlComment | Token::CComment)
}

/// libpg_query's scanner, called directly: the crate's `scan_tokens` gives only the message of
/// an error (the C library also keeps the position the server would report, `cursorpos`), and
/// it builds a slice from the library's null pointer when a text has no tokens at all (an empty
/// dbmate section), which is undefined behaviour. The declarations mirror `pg_query.h` of
/// libpg_query 18 (the crate's version is pinned in Cargo.toml; the scanner tests would catch a
/// change of layout). An error is its message and 1-based character position, if any.
fn scan(text: &str) -> Result<Vec<ScanToken>, (String, Option<usize>)> {
    use std::ffi::{c_char, c_int, CStr, CString};

    #[repr(C)]
    struct PgQueryError {
        message: *mut c_char,
        funcname: *mut c_char,
        filename: *mut c_char,
        lineno: c_int,
        cursorpos: c_int,
        context: *mut c_char,
    }
    #[repr(C)]
    struct PgQueryScanToken {
        start: c_int,
        end: c_int,
        token: c_int,
        keyword_kind: c_int,
    }
    #[repr(C)]
    struct PgQueryScanTokensResult {
        tokens: *mut PgQueryScanToken,
        n_tokens: c_int,
        error: *mut PgQueryError,
    }
    extern "C" {
        fn pg_query_scan_tokens(input: *const c_char) -> PgQueryScanTokensResult;
        fn pg_query_free_scan_tokens_result(result: PgQueryScanTokensResult);
    }

    // The caller has ruled out NUL bytes.
    let input = CString::new(text).map_err(|e| (e.to_string(), None))?;
    // SAFETY: `input` is a valid C string that outlives the call. The result is read before it
    // is handed back, exactly once, to the library that allocated it; the tokens are read only
    // when there are some (the pointer is null otherwise), and the message is a C string.
    unsafe {
        let result = pg_query_scan_tokens(input.as_ptr());
        let scanned = match result.error.as_ref() {
            Some(error) => {
                let message = if error.message.is_null() {
                    "the scanner failed".to_string()
                } else {
                    CStr::from_ptr(error.message).to_string_lossy().into_owned()
                };
                Err((message, (error.cursorpos > 0).then_some(error.cursorpos as usize)))
            }
            None if result.n_tokens > 0 && !result.tokens.is_null() => {
                Ok(std::slice::from_raw_parts(result.tokens, result.n_tokens as usize)
                    .iter()
                    .map(|t| ScanToken {
                        start: t.start,
                        end: t.end,
                        token: t.token,
                        keyword_kind: t.keyword_kind,
                    })
                    .collect())
            }
            None => Ok(Vec::new()),
        };
        pg_query_free_scan_tokens_result(result);
        scanned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (String, &str) {
        let error = tokens(text).unwrap_err();
        (error.message, &text[error.offset..])
    }

    #[test]
    fn places_an_unterminated_token_where_it_opens() {
        assert_eq!(
            error("select 1;\n/* never /* closed */"),
            ("unterminated /* comment".to_string(), "/* never /* closed */")
        );
        assert_eq!(error("select 'ü', 'it''s"), ("unterminated quoted string".to_string(), "'it''s"));
        assert_eq!(error("select \"odd"), ("unterminated quoted identifier".to_string(), "\"odd"));
        assert_eq!(
            error("create function f() returns int as $body$ select 1 $$ language sql;"),
            ("unterminated dollar-quoted string".to_string(), "$body$ select 1 $$ language sql;")
        );
    }

    #[test]
    fn places_an_error_the_scanner_gives_no_position_at_its_line() {
        let text = "select 1;\nselect 'it''s\nfine';\n  select E'\\xff';\nselect 2;";
        let (message, rest) = error(text);
        assert!(message.starts_with("invalid byte sequence"), "{message}");
        assert!(rest.starts_with("select E'\\xff'"), "{rest}");
    }

    #[test]
    fn a_text_without_tokens_has_none() {
        for text in ["", "  \n\t", "-- migrate:down\n"] {
            let tokens = tokens(text).unwrap();
            assert!(tokens.iter().all(is_comment), "{text:?}: {tokens:?}");
        }
        // Scanned empty on the way to placing an error: an open comment at the very start, a
        // bad escape after an empty line.
        assert_eq!(error("/* open"), ("unterminated /* comment".to_string(), "/* open"));
        assert!(error("\nselect E'\\xff';").1.starts_with("select E"));
    }

    #[test]
    fn finds_a_nul_byte() {
        let (message, rest) = error("select 1;\0 select 2;");
        assert_eq!(message, NUL_BYTE);
        assert_eq!(rest, "\0 select 2;");
    }

    #[test]
    fn keeps_comments_as_tokens_with_byte_offsets() {
        let text = "/* ä */ select -- x\n1";
        let tokens = tokens(text).unwrap();
        let words: Vec<&str> = tokens.iter().map(|t| &text[t.start as usize..t.end as usize]).collect();
        assert_eq!(words, vec!["/* ä */", "select", "-- x", "1"]);
        assert!(is_comment(&tokens[0]) && is_comment(&tokens[2]) && !is_comment(&tokens[1]));
    }
}
