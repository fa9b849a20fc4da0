//! The `auto` provider, the default: a container when a Docker daemon answers and the image can
//! be had, else a temporary cluster from local server binaries, else an error naming both.

use super::docker::DockerProvider;
use super::local::LocalProvider;
use super::{Database, Provider, ProviderError};

pub struct AutoProvider {
    docker: DockerProvider,
    local: LocalProvider,
    chosen: Option<&'static str>,
    notes: Vec<String>,
}

impl AutoProvider {
    pub fn new(docker: DockerProvider, local: LocalProvider) -> AutoProvider {
        AutoProvider {
            docker,
            local,
            chosen: None,
            notes: Vec::new(),
        }
    }
}

impl Provider for AutoProvider {
    fn name(&self) -> &'static str {
        self.chosen.unwrap_or("auto")
    }

    fn image(&self) -> Option<String> {
        (self.chosen == Some("docker")).then(|| self.docker.image().to_string())
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    async fn provision(&mut self) -> Result<Database, ProviderError> {
        let docker_problem = match self.docker.provision().await {
            Ok(database) => {
                self.chosen = Some("docker");
                return Ok(database);
            }
            // Only a missing daemon or image sends auto elsewhere: a container that fails to
            // start is a problem to show, not to hide.
            Err(ProviderError::NoDocker(why) | ProviderError::ImageUnavailable(why)) => why,
            Err(other) => return Err(other),
        };
        self.docker.teardown().await;
        match self.local.provision().await {
            Ok(database) => {
                self.chosen = Some("local");
                self.notes.push(format!("provider auto chose local server binaries: {docker_problem}"));
                Ok(database)
            }
            Err(local_problem) => Err(ProviderError::Unavailable(format!(
                "no usable PostgreSQL.\n  docker: {docker_problem}\n  local: {local_problem}\n  or use an existing server with --provider url --database-url postgres://..."
            ))),
        }
    }

    async fn teardown(&mut self) -> Vec<String> {
        let mut warnings = self.docker.teardown().await;
        warnings.extend(self.local.teardown().await);
        warnings
    }
}
