//! The docker provider's cache of initialised clusters. A container of an official-style image
//! spends most of its start in the entrypoint's `initdb`, a temporary server, and its stop: about
//! 3 s here before the first statement. The first run for an image initialises a cluster outside
//! the image's volumes (`PGDATA` is set to a path no `VOLUME` covers, since `docker commit` leaves
//! volumes out), stops it cleanly and commits the container as a local image, tagged by the
//! source image's id; later runs start from it, where the entrypoint finds the cluster and starts
//! the server at once, with the throwaway settings on its command line. A rebuilt or re-pulled
//! image has another id, so a stale cache is never used; `dbgate gc` removes the stale ones.

use std::collections::HashMap;

use testcontainers::bollard::models::ContainerConfig;
use testcontainers::bollard::query_parameters::{CommitContainerOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use testcontainers::bollard::Docker;

/// Where the cache images live (`dbgate/initialised:<source image id>`).
pub const REPOSITORY: &str = "dbgate/initialised";
/// On every cache image: `true`...
pub const LABEL_CACHE: &str = "dev.dbgate.cache";
/// ...the image it was made from and that image's id...
pub const LABEL_SOURCE: &str = "dev.dbgate.cache.source";
pub const LABEL_SOURCE_ID: &str = "dev.dbgate.cache.source-id";
/// ...and the superuser's password the cluster was initialised with.
pub const LABEL_PASSWORD: &str = "dev.dbgate.cache.password";

/// Where the cached cluster lives in the container: under no volume of the official images
/// (theirs is /var/lib/postgresql/data).
pub const DATA_DIR: &str = "/var/lib/postgresql/dbgate-data";

/// What dbgate's containers run with: durability buys nothing on a throwaway database.
pub const THROWAWAY_SETTINGS: [&str; 3] = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"];

/// An image that can be cached: one whose command is the official images' plain `postgres`,
/// so that `PGDATA` decides where the cluster goes. Others (supabase/postgres starts with
/// `postgres -D /etc/postgresql`, whose configuration names its data directory) start as before.
#[derive(Debug, Clone)]
pub struct Source {
    pub reference: String,
    pub id: String,
    /// The image's command, to which the throwaway settings are added.
    pub command: Vec<String>,
}

impl Source {
    pub async fn inspect(docker: &Docker, reference: &str) -> Option<Source> {
        let image = docker.inspect_image(reference).await.ok()?;
        let id = image.id?;
        let config = image.config?;
        let command = config.cmd.unwrap_or_default();
        (command == ["postgres"]).then(|| Source {
            reference: reference.to_string(),
            id,
            command,
        })
    }

    /// `dbgate/initialised:<12 hex digits of the source's id>`.
    pub fn cache_tag(&self) -> String {
        self.id.trim_start_matches("sha256:").chars().take(12).collect()
    }

    /// The cache image's password, when it is there.
    pub async fn cached(&self, docker: &Docker) -> Option<String> {
        let image = docker.inspect_image(&format!("{REPOSITORY}:{}", self.cache_tag())).await.ok()?;
        let labels = image.config?.labels?;
        (labels.get(LABEL_SOURCE_ID) == Some(&self.id))
            .then(|| labels.get(LABEL_PASSWORD).cloned())
            .flatten()
    }

    /// The command a container from the cache runs: the image's, with the throwaway settings.
    pub fn command(&self) -> Vec<String> {
        let mut command = self.command.clone();
        for setting in THROWAWAY_SETTINGS {
            command.push("-c".to_string());
            command.push(setting.to_string());
        }
        command
    }

    /// Commits the stopped container `container` (initialised with `password`) as the cache.
    pub async fn commit(&self, docker: &Docker, container: &str, password: &str) -> Result<(), String> {
        let labels: HashMap<String, String> = [
            (LABEL_CACHE, "true".to_string()),
            (LABEL_SOURCE, self.reference.clone()),
            (LABEL_SOURCE_ID, self.id.clone()),
            (LABEL_PASSWORD, password.to_string()),
            // Not a run's: the container's own labels are not the image's.
            (super::docker::LABEL, "cache".to_string()),
            (super::docker::LABEL_RUN, String::new()),
            (super::docker::LABEL_PID, String::new()),
            (super::docker::LABEL_HOST, String::new()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let options = CommitContainerOptionsBuilder::new()
            .container(container)
            .repo(REPOSITORY)
            .tag(&self.cache_tag())
            .comment(&format!("dbgate: an initialised cluster of {}", self.reference))
            .build();
        let config = ContainerConfig {
            labels: Some(labels),
            ..Default::default()
        };
        docker
            .commit_container(options, config)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Removes the cache images whose source image is gone or has another id now (rebuilt,
/// re-pulled) and untagged ones, or with `all` every one. Returns what it removed and what it
/// could not (a cache a running container uses).
pub async fn collect_garbage(docker: &Docker, all: bool) -> (Vec<String>, Vec<String>) {
    let mut filters = HashMap::new();
    filters.insert("label".to_string(), vec![format!("{LABEL_CACHE}=true")]);
    let options = ListImagesOptionsBuilder::new().filters(&filters).build();
    let (mut removed, mut failed) = (Vec::new(), Vec::new());
    let Ok(images) = docker.list_images(Some(options)).await else {
        return (removed, failed);
    };
    for image in images {
        let source = image.labels.get(LABEL_SOURCE).cloned().unwrap_or_default();
        let source_id = image.labels.get(LABEL_SOURCE_ID).cloned().unwrap_or_default();
        let current = docker.inspect_image(&source).await.ok().and_then(|i| i.id);
        // Two runs that made the cache at once leave the first one untagged.
        let tagged = image.repo_tags.iter().any(|t| t != "<none>:<none>");
        if !all && tagged && current.as_deref() == Some(source_id.as_str()) {
            continue;
        }
        let shown = format!(
            "cached cluster image {} (of {source})",
            image.repo_tags.first().cloned().unwrap_or_else(|| image.id.clone())
        );
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        match docker.remove_image(&image.id, Some(options), None).await {
            Ok(_) => removed.push(shown),
            Err(e) => failed.push(format!("{shown}: {e}")),
        }
    }
    (removed, failed)
}
