//! A rollback's `-- dbgate:ignore <kind>:<name>` lines: differences its checks do not fail on
//! (a down that cannot bring back a view exactly, say). A pattern dbgate cannot read is a
//! finding at its line: a typo must not silently ignore nothing.

use super::{Finding, FindingKind, Migration};
use crate::object::{IgnoreRule, ObjectPattern};

const DIRECTIVE: &str = "-- dbgate:ignore";

/// Reads the ignore lines of every rollback into it; a bad one is a finding.
pub(super) fn read_rules(migrations: &mut [Migration], findings: &mut Vec<Finding>) {
    for down in migrations.iter_mut().filter_map(|m| m.down.as_mut()) {
        if down.not_utf8 {
            continue;
        }
        let start = down.body().start;
        let mut offset = start;
        let mut rules = Vec::new();
        for line in down.text().split_inclusive('\n') {
            let at = offset;
            offset += line.len();
            let trimmed = line.trim();
            let Some(pattern) = trimmed.strip_prefix(DIRECTIVE) else { continue };
            // "-- dbgate:ignored" is not this directive.
            if !(pattern.is_empty() || pattern.starts_with([' ', '\t'])) {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let location = down.location(at + indent);
            match ObjectPattern::parse(pattern.trim()) {
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
