//! `dbgate comment --from report.json`.

use crate::error::Error;
use crate::github;
use crate::report::{self, Report};

/// `dbgate comment --from report.json`: the sticky comment from a saved report.
pub async fn comment(args: &crate::cli::CommentArgs) -> Result<String, Error> {
    let text = std::fs::read_to_string(&args.from).map_err(|source| Error::Read {
        path: args.from.clone(),
        source,
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|source| Error::NotAReport {
        path: args.from.clone(),
        source,
    })?;
    let context = github::Context::from_env(args.github_token.clone(), args.pr, args.repo.clone());
    let posted = github::upsert_comment(&context, &report::markdown::comment(&report))
        .await
        .map_err(Error::Comment)?;
    Ok(format!("{posted}\n"))
}
