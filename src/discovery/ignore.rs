//! A rollback's `-- dbgate:ignore <kind>:<name>` lines: differences its checks do not fail on
//! (a down that cannot bring back a view exactly, say). A pattern dbgate cannot read is a
//! finding at its line: a typo must not silently ignore nothing.

use super::{Finding, FindingKind, Migration};
use crate::object::{IgnoreRule, ObjectPattern};

const DIRECTIVE: &str = "-- dbgate:ignore";

/// Reads the ignore lines of every rollback into it; a bad one is a finding. Only comments
/// are read (a line inside a string is data): `-- dbgate:ignore view:*`, any case, with or
/// without a space after `--`, and a comment after the pattern (`-- dbgate:ignore view:* -- why`).
pub(super) fn read_rules(migrations: &mut [Migration], findings: &mut Vec<Finding>) {
    for down in migrations.iter_mut().filter_map(|m| m.down.as_mut()) {
        if down.not_utf8 {
            continue;
        }
        let start = down.body().start;
        let text = down.text();
        // A file the scanner rejects fails on its own; its lines are read as lines.
        let comments: Vec<(usize, &str)> = match crate::script::scanner::tokens(text) {
            Ok(tokens) => tokens
                .iter()
                .filter(|t| t.token() == pg_query::protobuf::Token::SqlComment)
                .map(|t| (t.start as usize, &text[t.start as usize..t.end as usize]))
                .collect(),
            Err(_) => text
                .split_inclusive('\n')
                .scan(0, |at, line| {
                    let here = *at;
                    *at += line.len();
                    let indent = line.len() - line.trim_start().len();
                    Some((here + indent, line.trim()))
                })
                .filter(|(_, line)| line.starts_with("--"))
                .collect(),
        };
        let mut rules = Vec::new();
        for (offset, comment) in comments {
            let Some(pattern) = directive(comment) else { continue };
            let location = down.location(start + offset);
            match ObjectPattern::parse(pattern) {
                Ok(pattern) => rules.push(IgnoreRule { pattern, source: location }),
                Err(e) => findings.push(Finding {
                    kind: FindingKind::IgnorePattern,
                    message: format!("{DIRECTIVE}: {e}; this line ignores nothing until it is fixed"),
                    location,
                    files: Vec::new(),
                }),
            }
        }
        down.ignore = rules;
    }
}

/// The pattern of a `-- dbgate:ignore` comment, without a comment after it.
fn directive(comment: &str) -> Option<&str> {
    let rest = comment.strip_prefix("--")?.trim_start();
    let word = "dbgate:ignore";
    if rest.len() < word.len() || !rest[..word.len()].eq_ignore_ascii_case(word) {
        return None;
    }
    let pattern = &rest[word.len()..];
    // "-- dbgate:ignored" is not this directive.
    if !(pattern.is_empty() || pattern.starts_with([' ', '\t'])) {
        return None;
    }
    Some(pattern.split(" --").next().unwrap_or_default().trim())
}

#[cfg(test)]
mod tests {
    use super::directive;

    #[test]
    fn reads_the_directive_as_users_write_it() {
        assert_eq!(directive("-- dbgate:ignore view:*"), Some("view:*"));
        assert_eq!(directive("--dbgate:ignore view:*"), Some("view:*"));
        assert_eq!(directive("-- DBGATE:IGNORE sequence:*"), Some("sequence:*"));
        assert_eq!(
            directive("-- dbgate:ignore table:public.lines -- rebuilt by hand"),
            Some("table:public.lines")
        );
        assert_eq!(directive("-- dbgate:ignore"), Some(""));
        assert_eq!(directive("-- dbgate:ignored view:*"), None);
        assert_eq!(directive("-- see dbgate:ignore"), None);
    }
}
