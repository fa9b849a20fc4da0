//! `dbgate gc`.

use crate::error::Error;
use crate::provider::{docker, local};

/// `dbgate gc`: removes what killed runs left behind: containers (by label) and temporary
/// clusters (by the pid that made them). Returns what it did, and whether Docker could be asked.
pub async fn gc(args: &crate::cli::GcArgs) -> Result<String, Error> {
    let mut out = String::new();
    let clusters = local::collect_garbage();
    let containers = match docker::daemon_answers().await {
        Ok(()) => docker::collect_garbage(args.all).await.map_err(Error::Docker)?,
        Err(why) => {
            out.push_str(&format!("containers: not checked, no Docker daemon answers ({why})\n"));
            Default::default()
        }
    };
    for removed in clusters.removed.iter().chain(&containers.removed) {
        out.push_str(&format!("removed {removed}\n"));
    }
    for kept in clusters.kept.iter().chain(&containers.kept) {
        out.push_str(&format!("kept {kept}\n"));
    }
    let removed = clusters.removed.len() + containers.removed.len();
    out.push_str(&format!("{removed} removed\n"));
    Ok(out)
}
