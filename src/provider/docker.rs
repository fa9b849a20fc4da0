//! The `docker` provider: a throwaway PostgreSQL container through testcontainers, labelled with
//! dbgate's run so that `dbgate gc` can find what a killed run left.

use std::time::{Duration, Instant};

use testcontainers::bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use testcontainers::bollard::Docker;
use testcontainers::core::client::ClientError;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, ImageExt, TestcontainersError};
use testcontainers_modules::postgres::Postgres;
use tokio::task::JoinHandle;

use super::docker_cache::{Source, DATA_DIR, REPOSITORY, THROWAWAY_SETTINGS};
use super::{Collected, Database, Provider, ProviderError};
use crate::execute::Target;

/// An official image of a current major version.
pub const DEFAULT_IMAGE: &str = "postgres:18";
/// Every container dbgate starts carries this label...
pub const LABEL: &str = "dev.dbgate";
/// ...and these, naming the run, the process and the machine that started it.
pub const LABEL_RUN: &str = "dev.dbgate.run";
pub const LABEL_PID: &str = "dev.dbgate.pid";
pub const LABEL_HOST: &str = "dev.dbgate.host";

const USER: &str = "postgres";
const PORT: u16 = 5432;

pub struct DockerProvider {
    image: String,
    db_host: Option<String>,
    startup_timeout: Duration,
    /// Creating and starting the container runs as a task of its own, which an interruption does
    /// not cancel half way: teardown waits for it and removes what it made.
    starting: Option<JoinHandle<Result<ContainerAsync<Postgres>, TestcontainersError>>>,
    container: Option<ContainerAsync<Postgres>>,
    notes: Vec<String>,
}

impl DockerProvider {
    pub fn new(image: String, db_host: Option<String>, startup_timeout: Duration) -> DockerProvider {
        DockerProvider {
            image,
            db_host,
            startup_timeout,
            starting: None,
            container: None,
            notes: Vec::new(),
        }
    }

    pub fn image(&self) -> &str {
        &self.image
    }
}

/// `name[:tag]`; the tag is what follows the last `:` after the last `/` (a registry port is not a tag).
fn split_image(image: &str) -> (&str, &str) {
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => (&image[..colon], &image[colon + 1..]),
        _ => (image, "latest"),
    }
}

/// Docker could not be asked: no daemon answers, or it refused what dbgate asked of it.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(transparent)]
    Client(#[from] testcontainers::bollard::errors::Error),
    #[error("no answer within 5 s")]
    Silent,
    #[error("cannot remove {what}: {source}")]
    Remove {
        what: String,
        #[source]
        source: testcontainers::bollard::errors::Error,
    },
}

/// A client for the daemon testcontainers uses: `DOCKER_HOST`, else the usual socket locations.
pub fn docker_client() -> Result<Docker, DockerError> {
    if std::env::var_os("DOCKER_HOST").is_some() {
        return Ok(Docker::connect_with_defaults()?);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap_or_default();
    let sockets = [
        "/var/run/docker.sock".to_string(),
        format!("{runtime}/.docker/run/docker.sock"),
        format!("{home}/.docker/run/docker.sock"),
        format!("{home}/.docker/desktop/docker.sock"),
    ];
    let socket = sockets.iter().find(|s| std::path::Path::new(s).exists()).unwrap_or(&sockets[0]);
    Ok(Docker::connect_with_socket(
        socket,
        30,
        testcontainers::bollard::API_DEFAULT_VERSION,
    )?)
}

/// Whether a Docker daemon answers, and if not, why.
pub async fn daemon_answers() -> Result<(), DockerError> {
    let docker = docker_client()?;
    match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(DockerError::Silent),
    }
}

fn where_docker_is() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the default socket (/var/run/docker.sock)".to_string())
}

impl Provider for DockerProvider {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn image(&self) -> Option<String> {
        Some(self.image.clone())
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    async fn provision(&mut self) -> Result<Database, ProviderError> {
        if let Err(why) = daemon_answers().await {
            return Err(ProviderError::NoDocker(format!(
                "cannot reach the Docker daemon at {}: {why}; start Docker, set DOCKER_HOST, or use --provider local",
                where_docker_is()
            )));
        }
        // An initialised cluster kept as a local image, for the images that can have one.
        if let Ok(docker) = docker_client() {
            if let Some(source) = Source::inspect(&docker, &self.image).await {
                let password = match source.cached(&docker).await {
                    Some(password) => Some(password),
                    None => match self.keep_initialised(&docker, &source).await {
                        Ok(password) => Some(password),
                        Err(why) => {
                            self.notes.push(format!(
                                "could not keep an initialised cluster of {} for later runs ({why}); this run initialises its own",
                                self.image
                            ));
                            None
                        }
                    },
                };
                if let Some(password) = password {
                    return self.start_from_cache(&source, &password).await;
                }
            }
        }
        let password = format!("{:016x}", super::random_u64());
        // Keeps the image's own command and config (supabase/postgres starts with
        // `-D /etc/postgresql`); the throwaway settings are applied once it runs.
        let request = self.request(&self.image.clone(), &password);
        self.start(request).await?;
        let (config, client) = self.ready(&password).await?;
        // A user that is not superuser cannot change these: then the server just runs as
        // configured.
        for setting in THROWAWAY_SETTINGS {
            let _ = client
                .batch_execute(&format!("ALTER SYSTEM SET {}", setting.replace('=', " = ")))
                .await;
        }
        let _ = client.batch_execute("SELECT pg_reload_conf()").await;
        Ok(Database {
            config,
            description: format!("container {} from {}", short_id(self.container_id()), self.image),
            replacements: Default::default(),
            role_words: None,
            maintenance: "template1".to_string(),
        })
    }

    async fn teardown(&mut self) -> Vec<String> {
        if let Some(starting) = self.starting.take() {
            if let Ok(Ok(container)) = starting.await {
                self.container = Some(container);
            }
        }
        let Some(container) = self.container.take() else {
            return Vec::new();
        };
        let id = container.id().to_string();
        match container.rm().await {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("could not remove container {}: {e}; `dbgate gc` removes it", short_id(&id))],
        }
    }
}

impl DockerProvider {
    /// A container of `image` (`name[:tag]`) for this run, its superuser's password `password`,
    /// labelled with the run; the image's own command.
    fn request(&self, image: &str, password: &str) -> ContainerRequest<Postgres> {
        let (name, tag) = split_image(image);
        Postgres::default()
            .with_fsync_enabled()
            .with_user(USER)
            .with_password(password)
            .with_db_name("postgres")
            .with_name(name)
            .with_tag(tag)
            .with_label(LABEL, "true")
            .with_label(LABEL_RUN, super::run_id())
            .with_label(LABEL_PID, std::process::id().to_string())
            .with_label(LABEL_HOST, super::host_name())
            // Ready means a real connection over the mapped port succeeds (below): the official
            // image's temporary init server listens on its unix socket only, so a TCP connection
            // succeeds only once the real server runs; and a server that never gets ready can
            // still show its log.
            .with_ready_conditions(Vec::new())
            .with_startup_timeout(self.startup_timeout)
    }

    /// Creates and starts the container, as a task an interruption does not cut half way.
    async fn start(&mut self, request: ContainerRequest<Postgres>) -> Result<(), ProviderError> {
        let starting = self.starting.insert(tokio::spawn(async move { request.start().await }));
        let started = starting.await.map_err(|e| unavailable("starting the container failed", e))?;
        self.starting = None;
        self.container = Some(started.map_err(|e| self.start_error(e))?);
        Ok(())
    }

    fn container_id(&self) -> &str {
        self.container.as_ref().map(|c| c.id()).unwrap_or_default()
    }

    /// Waits until the container's server takes a connection over its mapped port.
    async fn ready(&self, password: &str) -> Result<(Target, tokio_postgres::Client), ProviderError> {
        let container = self.container.as_ref().expect("a started container");
        let host = match &self.db_host {
            Some(host) => host.clone(),
            None => container
                .get_host()
                .await
                .map_err(|e| unavailable("cannot tell the container's host", e))?
                .to_string(),
        };
        let port = container
            .get_host_port_ipv4(PORT)
            .await
            .map_err(|e| unavailable("the container's port 5432 is not mapped", e))?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(&host)
            .port(port)
            .user(USER)
            .password(password)
            .dbname("postgres")
            .application_name("dbgate");
        config.connect_timeout(Duration::from_secs(5));
        let config = Target::plain(config);
        let started = Instant::now();
        loop {
            if let Ok(client) = crate::execute::connect(&config).await {
                if client.simple_query("SELECT 1").await.is_ok() {
                    return Ok((config, client));
                }
            }
            let running = container.is_running().await.unwrap_or(false);
            if !running || started.elapsed() > self.startup_timeout {
                let what = if running {
                    format!(
                        "the server in container {} ({}) did not accept connections on {host}:{port} within {} s (raise --startup-timeout, or set --db-host if dbgate runs inside a container)",
                        short_id(container.id()),
                        self.image,
                        self.startup_timeout.as_secs()
                    )
                } else {
                    format!(
                        "container {} ({}) stopped before its server was ready",
                        short_id(container.id()),
                        self.image
                    )
                };
                let log = log_tail(container).await;
                return Err(ProviderError::Unavailable(format!("{what}; its log ends with:\n{log}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Initialises a cluster of `source` outside its volumes, stops it and commits it as the
    /// cache; returns its password. The container is removed whatever happens.
    async fn keep_initialised(&mut self, docker: &Docker, source: &Source) -> Result<String, String> {
        let password = format!("{:016x}", super::random_u64());
        let request = self.request(&source.reference, &password).with_env_var("PGDATA", DATA_DIR);
        let outcome = async {
            self.start(request).await.map_err(|e| e.to_string())?;
            let (_, client) = self.ready(&password).await.map_err(|e| e.to_string())?;
            let data: String = client
                .query_one("SELECT current_setting('data_directory')", &[])
                .await
                .map_err(|e| crate::execute::describe(&e))?
                .get(0);
            if data != DATA_DIR {
                return Err(format!("its server keeps its data in {data}, not in PGDATA"));
            }
            drop(client);
            let container = self.container.as_ref().expect("a started container");
            container.stop().await.map_err(|e| format!("cannot stop its server: {e}"))?;
            source.commit(docker, container.id(), &password).await
        }
        .await;
        if let Some(container) = self.container.take() {
            let _ = container.rm().await;
        }
        outcome.map(|()| password)
    }

    async fn start_from_cache(&mut self, source: &Source, password: &str) -> Result<Database, ProviderError> {
        let cached = format!("{REPOSITORY}:{}", source.cache_tag());
        let request = self.request(&cached, password).with_cmd(source.command());
        self.start(request).await?;
        let (config, _) = self.ready(password).await?;
        Ok(Database {
            config,
            description: format!(
                "container {} from {} (its initialised cluster, kept as {cached})",
                short_id(self.container_id()),
                self.image
            ),
            replacements: Default::default(),
            role_words: None,
            maintenance: "template1".to_string(),
        })
    }

    fn start_error(&self, error: TestcontainersError) -> ProviderError {
        match &error {
            TestcontainersError::Client(ClientError::PullImage { .. }) => ProviderError::ImageUnavailable(format!(
                "the image {} is not on this machine and could not be pulled ({error}); pull or build it (images/postgres/build.sh builds one from Debian's packages), or name another with --image",
                self.image
            )),
            _ => unavailable(&format!("cannot start a container from {}", self.image), error),
        }
    }
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(format!("{what}: {error}"))
}

fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

async fn log_tail(container: &ContainerAsync<Postgres>) -> String {
    let mut lines = Vec::new();
    for log in [container.stdout_to_vec().await, container.stderr_to_vec().await] {
        lines.extend(String::from_utf8_lossy(&log.unwrap_or_default()).lines().map(str::to_string));
    }
    let from = lines.len().saturating_sub(20);
    lines[from..].join("\n")
}

/// Removes the containers that runs started and no longer need: those of runs on this machine
/// whose process is gone, or with `all`, every container dbgate labelled.
pub async fn collect_garbage(all: bool) -> Result<Collected, DockerError> {
    let docker = docker_client()?;
    let mut filters = std::collections::HashMap::new();
    filters.insert("label".to_string(), vec![format!("{LABEL}=true")]);
    let options = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
    let containers = docker.list_containers(Some(options)).await?;
    let here = super::host_name();
    let mut collected = Collected {
        removed: Vec::new(),
        kept: Vec::new(),
    };
    for container in containers {
        let id = container.id.clone().unwrap_or_default();
        let labels = container.labels.clone().unwrap_or_default();
        let pid: Option<i32> = labels.get(LABEL_PID).and_then(|p| p.parse().ok());
        let host = labels.get(LABEL_HOST).cloned().unwrap_or_default();
        let shown = format!(
            "container {} (run {})",
            short_id(&id),
            labels.get(LABEL_RUN).cloned().unwrap_or_default()
        );
        let orphaned = host == here && !pid.is_some_and(super::dbgate_is_running);
        if all || orphaned {
            let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            match docker.remove_container(&id, Some(options)).await {
                Ok(()) => collected.removed.push(shown),
                // Gone, or going, by the time it was reached: its own run's teardown (a run
                // that ended after the list) removed it.
                Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
                    status_code: 404 | 409, ..
                }) => {}
                Err(source) => return Err(DockerError::Remove { what: shown, source }),
            }
        } else if host == here {
            collected
                .kept
                .push(format!("{shown}: its run (pid {}) is still going", pid.unwrap_or_default()));
        } else {
            collected
                .kept
                .push(format!("{shown}: started on {host}; remove it there, or with --all"));
        }
    }
    let (removed, failed) = super::docker_cache::collect_garbage(&docker, all).await;
    collected.removed.extend(removed);
    collected.kept.extend(failed);
    Ok(collected)
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_references_split_into_name_and_tag() {
        assert_eq!(split_image("postgres:17"), ("postgres", "17"));
        assert_eq!(split_image("supabase/postgres:15.8.1.060"), ("supabase/postgres", "15.8.1.060"));
        assert_eq!(split_image("registry:5000/team/pg"), ("registry:5000/team/pg", "latest"));
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
    }
}
