//! `dbgate rules`: every lint rule with its id, what it finds, why it matters, how to fix it,
//! and its severity for a pull request's new migrations (with no base, a warning at most; the
//! security advisors only under the Supabase preset unless dbgate.toml sets them).

use crate::checks::lint::{Rule, Severity};

pub fn rules() -> String {
    let mut text = String::new();
    let mut category = None;
    for rule in Rule::ALL {
        if category != Some(rule.category()) {
            category = Some(rule.category());
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("{}\n", rule.category().name()));
        }
        let words = rule.words();
        let severity = rule.default_severity();
        let no_base = severity.min(Severity::Warning);
        let mut levels = if no_base == severity {
            severity.name().to_string()
        } else {
            format!("{} ({} with no base)", severity.name(), no_base.name())
        };
        if rule.category() == crate::checks::lint::Category::Security {
            levels = format!("{levels} under the Supabase preset; else off");
        }
        text.push_str(&format!("\n  {}  [{levels}]\n", rule.id()));
        text.push_str(&format!("    {}\n", words.summary));
        text.push_str(&format!("    why: {}\n", words.why));
        text.push_str(&format!("    fix: {}\n", words.fix));
    }
    text.push_str(
        "\nSet a rule to \"error\", \"warning\" or \"off\" in [lint] of dbgate.toml; allow one finding with\n`-- dbgate:allow <rule-id> <reason>` on the statement's line or above it.\n",
    );
    text
}
