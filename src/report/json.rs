//! The JSON report: the report model as it is. Its shape is documented in the README.

use super::Report;

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report model always serializes")
}
