//! `-- dbgate:allow <rule-id> <reason>`: a finding of that rule at the statement on the same
//! line, or at the next statement below the comment, is allowed; the report shows the reason. A
//! rule id dbgate does not know, or an allow without a reason, fails the lint of the migration
//! at the comment's line: a typo must not silently allow nothing.

use super::rules::Rule;
use crate::failure::{Failure, Location};
use crate::script::{Script, Statement};

const WORD: &str = "dbgate:allow";

/// One allow comment.
#[derive(Debug, Clone)]
pub struct Allow {
    pub rule: Rule,
    pub reason: String,
    pub location: Location,
    /// The statement it applies to.
    pub statement: Option<usize>,
}

/// The allow comments of a script, each tied to its statement, and the ones that cannot be read.
pub fn read(script: &Script, statements: &[Statement]) -> (Vec<Allow>, Vec<Failure>) {
    let body = script.body();
    let text = &script.source[body.clone()];
    let Ok(tokens) = crate::script::scanner::tokens(text) else {
        return (Vec::new(), Vec::new());
    };
    let mut allows = Vec::new();
    let mut failures = Vec::new();
    let comment = |t: &&pg_query::protobuf::ScanToken| {
        matches!(
            t.token(),
            pg_query::protobuf::Token::SqlComment | pg_query::protobuf::Token::CComment
        )
    };
    for token in tokens.iter().filter(comment) {
        let offset = body.start + token.start as usize;
        let comment = &text[token.start as usize..token.end as usize];
        let Some(rest) = directive(comment) else { continue };
        let location = script.location(offset);
        let mut words = rest.splitn(2, char::is_whitespace);
        let id = words.next().unwrap_or_default();
        let reason = words.next().unwrap_or_default().trim().to_string();
        let Some(rule) = Rule::from_id(id) else {
            failures.push(Failure::new(
                format!(
                    "-- {WORD} names {}, which is no rule of dbgate's (`dbgate rules` lists them); it allows nothing until it is fixed",
                    if id.is_empty() { "no rule".to_string() } else { format!("'{id}'") }
                ),
                Some(location),
            ));
            continue;
        };
        if reason.is_empty() {
            failures.push(Failure::new(
                format!("-- {WORD} {id} needs a reason after the rule id (the report shows it); it allows nothing until it has one"),
                Some(location),
            ));
            continue;
        }
        // The statement on the comment's line, else the first one that starts after it.
        let line = location.line;
        let statement = statements
            .iter()
            .position(|s| {
                let start = script.position(s.range.start).line;
                let end = script.position(s.range.end).line;
                (start..=end).contains(&line)
            })
            .or_else(|| statements.iter().position(|s| s.range.start > offset));
        allows.push(Allow {
            rule,
            reason,
            location,
            statement,
        });
    }
    (allows, failures)
}

/// What follows `dbgate:allow` in a comment (`--` or `/* */`), if it is one.
fn directive(comment: &str) -> Option<&str> {
    let rest = match comment.strip_prefix("/*") {
        Some(block) => block.strip_suffix("*/").unwrap_or(block).trim(),
        None => comment.strip_prefix("--")?,
    }
    .trim_start();
    if rest.len() < WORD.len() || !rest[..WORD.len()].eq_ignore_ascii_case(WORD) {
        return None;
    }
    let rest = &rest[WORD.len()..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some(rest.trim())
}

#[cfg(test)]
mod tests {
    use super::directive;

    #[test]
    fn reads_the_comment_as_users_write_it() {
        assert_eq!(
            directive("-- dbgate:allow drop-table gone since v2"),
            Some("drop-table gone since v2")
        );
        assert_eq!(directive("--DBGATE:ALLOW drop-table x"), Some("drop-table x"));
        assert_eq!(directive("-- dbgate:allowed drop-table x"), None);
        assert_eq!(directive("-- dbgate:allow"), Some(""));
        assert_eq!(directive("-- allow drop-table"), None);
        assert_eq!(
            directive("/* dbgate:allow drop-table gone since v2 */"),
            Some("drop-table gone since v2")
        );
    }
}
