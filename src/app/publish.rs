//! GitHub mode: what `dbgate check --github` publishes beside the console report.

use std::path::Path;

use crate::config::CheckSettings;
use crate::github;
use crate::report::{self, Report};

/// Annotations on stdout, the job summary, the step outputs and, when asked, the PR comment.
/// Nothing here fails the gate: what cannot be written is a warning.
pub async fn to_github(report: &Report, context: &github::Context, settings: &CheckSettings) {
    print!("{}", report::github::annotations(report));
    let append = |path: &Path, text: &str| -> Result<(), std::io::Error> {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(text.as_bytes())
    };
    if let Some(path) = &context.step_summary {
        if let Err(e) = append(path, &report::markdown::job_summary(report)) {
            println!("::warning title=dbgate::cannot write the job summary to {}: {e}", path.display());
        }
    }
    if let Some(path) = &context.output {
        if let Err(e) = append(
            path,
            &report::github::outputs(
                report,
                [settings.junit.as_deref(), settings.json.as_deref(), settings.sarif.as_deref()],
            ),
        ) {
            println!("::warning title=dbgate::cannot write the step outputs to {}: {e}", path.display());
        }
    }
    if settings.comment {
        match github::upsert_comment(context, &report::markdown::comment(report)).await {
            Ok(posted) => println!("dbgate: {posted}"),
            Err(e) => println!("::warning title=dbgate comment::{e}"),
        }
    }
}
