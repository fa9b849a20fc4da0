//! Which commit the branch is compared with: the base as HEAD sees it. In a pull request's merge
//! checkout, the merge commit's first parent (the base branch as GitHub merged it); otherwise
//! the merge base of HEAD and the base ref, so that a branch behind `origin/main` does not see
//! main's newer migrations as removed. A missing base is fetched, shallow, so the action needs no
//! `fetch-depth: 0`.

use super::git::Repository;

/// What the user and the event ask for.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// `--base REF` or `[history] base`.
    pub configured: Option<String>,
    /// The pull request's base branch (`GITHUB_BASE_REF`), in a `pull_request` event.
    pub pull_request_base: Option<String>,
}

/// The base: what it is called, the commit compared with, and how that commit was chosen.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Base {
    /// As the user knows it: "origin/main".
    #[serde(rename = "ref")]
    pub name: String,
    pub commit: String,
    /// "the merge base of HEAD and origin/main", "the first parent of the pull request's merge commit".
    pub how: String,
    /// The base ref's tip, when it is not `commit` (a branch behind it): what out of order is
    /// judged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<String>,
}

pub enum Resolved {
    Base(Base),
    /// No base, and none was asked for: said in one line, never an error.
    Skipped(String),
}

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// A base named with `--base` or `[history] base` that is not there and cannot be fetched.
    #[error("{0}")]
    NotFound(String),
    /// git could not read what it needs.
    #[error("{0}")]
    Git(String),
}

/// How far a shallow history is deepened, in turn, to find the merge base.
const DEEPEN: [u32; 3] = [50, 500, 5000];

pub fn resolve(repo: &Repository, wanted: &Wanted) -> Result<Resolved, BaseError> {
    // A pull request's merge checkout: its first parent is the base as it was merged.
    if wanted.configured.is_none() {
        if let Some(branch) = &wanted.pull_request_base {
            let parents = repo.head_parents();
            if parents.len() >= 2 {
                let first = &parents[0];
                if repo.commit(first).is_none() {
                    let _ = repo.fetch("origin", first, Some(1));
                }
                if repo.commit(first).is_some() {
                    return Ok(Resolved::Base(Base {
                        name: format!("origin/{branch}"),
                        commit: first.clone(),
                        how: "the first parent of the pull request's merge commit".to_string(),
                        tip: None,
                    }));
                }
            }
        }
    }
    let (name, asked) = match (&wanted.configured, &wanted.pull_request_base) {
        (Some(configured), _) => (configured.clone(), true),
        (None, Some(branch)) => (format!("origin/{branch}"), false),
        (None, None) => {
            if repo.commit("origin/HEAD").is_none() {
                return Ok(Resolved::Skipped(
                    "history not checked: no base to compare with (set --base REF or [history] base; origin/HEAD does not exist here)"
                        .to_string(),
                ));
            }
            ("origin/HEAD".to_string(), false)
        }
    };
    let mut name = name;
    let mut tip = repo.commit(&name);
    // `--base main` in a clone that has only origin/main.
    if tip.is_none() && !name.contains('/') {
        let remote = format!("origin/{name}");
        if repo.commit(&remote).is_some()
            || repo
                .fetch(
                    "origin",
                    &format!("+refs/heads/{name}:refs/remotes/origin/{name}"),
                    repo.is_shallow().then_some(1),
                )
                .is_ok()
        {
            if let Some(found) = repo.commit(&remote) {
                name = remote;
                tip = Some(found);
            }
        }
    }
    if tip.is_none() {
        // `origin/main`: fetch main from origin, shallow when the clone is.
        if let Some((remote, branch)) = name.split_once('/') {
            let depth = repo.is_shallow().then_some(1);
            let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
            let _ = repo.fetch(remote, &refspec, depth);
            tip = repo.commit(&name);
        }
    }
    let Some(tip) = tip else {
        let why = format!("the base {name} is not in this repository, and fetching it failed");
        return if asked {
            Err(BaseError::NotFound(format!(
                "{why}: name a branch or commit that exists (--base, [history] base)"
            )))
        } else {
            Ok(Resolved::Skipped(format!("history not checked: {why}")))
        };
    };
    let mut merge_base = repo.merge_base("HEAD", &tip);
    if merge_base.is_none() && repo.is_shallow() {
        let head = repo.commit("HEAD").unwrap_or_default();
        let branch = name.split_once('/').map(|(_, b)| b.to_string()).unwrap_or_else(|| name.clone());
        for by in DEEPEN {
            let _ = repo.deepen("origin", &branch, by);
            let _ = repo.deepen("origin", &head, by);
            merge_base = repo.merge_base("HEAD", &tip);
            if merge_base.is_some() {
                break;
            }
        }
    }
    // A clone of the branch itself: origin/HEAD is the branch, not its base.
    if !asked && wanted.pull_request_base.is_none() && merge_base.is_some() && merge_base == repo.commit("HEAD") {
        return Ok(Resolved::Skipped(format!(
            "history not checked: {name} is this branch itself (name the branch it merges into with --base or [history] base)"
        )));
    }
    Ok(Resolved::Base(match merge_base {
        Some(commit) => Base {
            how: format!("the merge base of HEAD and {name}"),
            tip: (commit != tip).then_some(tip),
            name,
            commit,
        },
        None => Base {
            how: format!("the tip of {name} (HEAD and it have no common commit here)"),
            name,
            commit: tip,
            tip: None,
        },
    }))
}
