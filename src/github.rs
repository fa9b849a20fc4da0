//! GitHub mode: where the workflow's files are, which pull request this is, and the sticky PR
//! comment through octocrab. dbgate finds its own earlier comment (the hidden marker, written by
//! the token's own user), paging through every comment, and updates it in place; it never edits
//! anyone else's comment.

use std::path::PathBuf;

use octocrab::Octocrab;
use serde::Deserialize;

use crate::report::markdown::COMMENT_MARKER;

/// What the workflow tells a step through its environment.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
    /// `owner/name`
    pub repository: Option<String>,
    pub api_url: String,
    pub pull_request: Option<u64>,
    pub token: Option<String>,
}

impl Context {
    /// From `GITHUB_*`; `pull_request` and `repository` given on the command line win.
    pub fn from_env(token: Option<String>, pull_request: Option<u64>, repository: Option<String>) -> Context {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let from_event = || {
            let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(var("GITHUB_EVENT_PATH")?).ok()?).ok()?;
            event["pull_request"]["number"].as_u64().or_else(|| {
                event["issue"]["pull_request"]
                    .is_object()
                    .then(|| event["issue"]["number"].as_u64())
                    .flatten()
            })
        };
        Context {
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            repository: repository.or_else(|| var("GITHUB_REPOSITORY")),
            api_url: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".to_string()),
            pull_request: pull_request.or_else(from_event),
            token,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    /// The token may not write comments here (a pull request from a fork, a read-only token).
    #[error("the token may not comment on this pull request ({0}); a pull request from a fork gets a read-only token: see the README for the two-workflow pattern")]
    NotAllowed(String),
    #[error("GitHub's rate limit was hit ({0})")]
    RateLimited(String),
    #[error("{0}")]
    Missing(String),
    #[error("the GitHub API failed: {0}")]
    Api(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Posted {
    Created(String),
    Updated(String),
}

impl std::fmt::Display for Posted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Posted::Created(url) => write!(f, "commented on the pull request: {url}"),
            Posted::Updated(url) => write!(f, "updated its pull request comment: {url}"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    body: Option<String>,
    user: Option<User>,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

/// The login comments written with a workflow's GITHUB_TOKEN carry; `/user` is not open to it.
const ACTIONS_BOT: &str = "github-actions[bot]";
const PER_PAGE: usize = 100;

fn api_error(error: octocrab::Error) -> CommentError {
    match &error {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let message = format!("{status}: {}", source.message);
            match status {
                429 => CommentError::RateLimited(message),
                403 if source.message.to_lowercase().contains("rate limit") => CommentError::RateLimited(message),
                401 | 403 | 404 => CommentError::NotAllowed(message),
                _ => CommentError::Api(message),
            }
        }
        other => CommentError::Api(other.to_string()),
    }
}

/// Creates dbgate's comment on the pull request, or updates the one it wrote before.
pub async fn upsert_comment(context: &Context, body: &str) -> Result<Posted, CommentError> {
    let token = context
        .token
        .clone()
        .ok_or_else(|| CommentError::Missing("no token: set GITHUB_TOKEN or --github-token".into()))?;
    let repository = context
        .repository
        .clone()
        .ok_or_else(|| CommentError::Missing("no repository: set GITHUB_REPOSITORY or --repo".into()))?;
    let number = context
        .pull_request
        .ok_or_else(|| CommentError::Missing("no pull request: the event is not a pull request (pass --pr N to name one)".into()))?;
    let github = Octocrab::builder()
        .base_uri(context.api_url.as_str())
        .and_then(|b| b.personal_token(token).build())
        .map_err(|e| CommentError::Api(format!("{}: {e}", context.api_url)))?;

    // Whose comments are ours: the token's user, or the Actions bot for a workflow token.
    let me = match std::env::var("DBGATE_COMMENT_AUTHOR") {
        Ok(login) if !login.is_empty() => login,
        _ => match github.get::<User, _, ()>("/user", None).await {
            Ok(user) => user.login,
            Err(_) => ACTIONS_BOT.to_string(),
        },
    };

    let mut ours = None;
    for page in 1.. {
        let route = format!("/repos/{repository}/issues/{number}/comments");
        let comments: Vec<Comment> = github
            .get(&route, Some(&[("per_page", PER_PAGE.to_string()), ("page", page.to_string())]))
            .await
            .map_err(api_error)?;
        ours = comments
            .iter()
            .find(|c| c.body.as_deref().is_some_and(|b| b.contains(COMMENT_MARKER)) && c.user.as_ref().is_some_and(|u| u.login == me))
            .map(|c| c.id);
        if ours.is_some() || comments.len() < PER_PAGE {
            break;
        }
    }
    let payload = serde_json::json!({ "body": body });
    match ours {
        Some(id) => {
            let comment: Comment = github
                .patch(format!("/repos/{repository}/issues/comments/{id}"), Some(&payload))
                .await
                .map_err(api_error)?;
            Ok(Posted::Updated(comment.html_url.unwrap_or_default()))
        }
        None => {
            let comment: Comment = github
                .post(format!("/repos/{repository}/issues/{number}/comments"), Some(&payload))
                .await
                .map_err(api_error)?;
            Ok(Posted::Created(comment.html_url.unwrap_or_default()))
        }
    }
}
