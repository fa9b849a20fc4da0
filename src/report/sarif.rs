//! The lint's findings as SARIF 2.1.0, the format GitHub code scanning reads
//! (`github/codeql-action/upload-sarif`): every rule in `tool.driver.rules` (id, name, short and
//! full description, help, its level in this run), one result per finding at its statement's
//! repo-relative file, line and column. A finding a `-- dbgate:allow` comment allows is a result
//! with an in-source suppression and the comment's reason.

use serde::Serialize;

use super::Report;
use crate::checks::lint::{LintFinding, Rule, Severity};

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    tool: Tool,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: String,
    rules: Vec<RuleDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: Properties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    enabled: bool,
    level: &'static str,
}

#[derive(Serialize)]
struct Properties {
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<ResultLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    justification: &'a str,
}

/// The SARIF log of a report whose paths are relative to the repository's root. `severity`
/// gives each rule's level in this run.
pub fn render(report: &Report, severity: impl Fn(Rule) -> Severity) -> String {
    let rules: Vec<RuleDescriptor> = Rule::ALL.iter().map(|rule| descriptor(*rule, severity(*rule))).collect();
    let results = report
        .migrations
        .iter()
        .flat_map(|m| &m.lint)
        .map(|finding| result(finding))
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "dbgate",
                    version: report.dbgate_version.clone(),
                    rules,
                },
            },
            results,
        }],
    };
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Off => "none",
    }
}

fn descriptor(rule: Rule, severity: Severity) -> RuleDescriptor {
    let words = rule.words();
    // "create-index-without-concurrently" -> "CreateIndexWithoutConcurrently", SARIF's name form.
    let name = rule
        .id()
        .split('-')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    RuleDescriptor {
        id: rule.id(),
        name,
        short_description: Text {
            text: capitalized(words.summary),
        },
        full_description: Text {
            text: format!("{}.", capitalized(words.why)),
        },
        help: Help {
            text: format!("Why: {}.\nFix: {}.", words.why, words.fix),
            markdown: format!("**Why:** {}.\n\n**Fix:** {}.", words.why, words.fix),
        },
        default_configuration: Configuration {
            enabled: severity != Severity::Off,
            level: level(severity),
        },
        properties: Properties {
            tags: vec!["postgresql", "migration", rule.category().name()],
        },
    }
}

fn result(finding: &LintFinding) -> SarifResult<'_> {
    SarifResult {
        rule_id: finding.rule.id(),
        rule_index: Rule::ALL.iter().position(|r| *r == finding.rule).unwrap_or(0),
        level: level(finding.severity),
        message: Text {
            text: finding.message.clone(),
        },
        locations: vec![ResultLocation {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: uri(&finding.location.file),
                    uri_base_id: "%SRCROOT%",
                },
                region: Region {
                    start_line: finding.location.line.max(1),
                    start_column: finding.location.column.max(1),
                },
            },
        }],
        suppressions: finding
            .allowed
            .iter()
            .map(|allowed| Suppression {
                kind: "inSource",
                justification: &allowed.reason,
            })
            .collect(),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// A repo-relative path as a URI reference: `/` between segments, every byte outside RFC 3986's
/// unreserved set percent-encoded.
fn uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            super::uri(std::path::Path::new("db/migrations/001 add users.sql")),
            "db/migrations/001%20add%20users.sql"
        );
        assert_eq!(super::uri(std::path::Path::new("m/ü#?.sql")), "m/%C3%BC%23%3F.sql");
    }
}
