//! Running a job on the throwaway database the settings name, whatever provider gives it: the
//! job runs in a task of its own (a panic in it is caught here), Ctrl-C or SIGTERM aborts it,
//! and the provider tears down before this returns, whatever happened.

use std::future::Future;

use crate::config::{DockerSettings, ProviderChoice};
use crate::error::Error;
use crate::provider::auto::AutoProvider;
use crate::provider::docker::DockerProvider;
use crate::provider::{local::LocalProvider, url::UrlProvider, Database, Provider};

/// Who gave the database: the provider's name, its image, its notes.
pub type About = (&'static str, Option<String>, Vec<String>);

/// Runs `job` on a database from `choice`; `url_roles` are the role names the url provider may
/// drop (the migrations' own).
pub async fn with_database<T, F, Fut>(
    choice: &ProviderChoice,
    url_roles: impl FnOnce() -> Vec<String>,
    signals: &mut super::signals::Signals,
    job: F,
) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(Database, About) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    match choice {
        ProviderChoice::Local { pg_bin } => on(LocalProvider::new(pg_bin.clone()), signals, job).await,
        ProviderChoice::Docker(docker) => on(docker_provider(docker), signals, job).await,
        ProviderChoice::Auto { docker, pg_bin } => {
            on(
                AutoProvider::new(docker_provider(docker), LocalProvider::new(pg_bin.clone())),
                signals,
                job,
            )
            .await
        }
        ProviderChoice::Url { url } => on(UrlProvider::new(url.clone(), url_roles()), signals, job).await,
    }
}

fn docker_provider(settings: &DockerSettings) -> DockerProvider {
    DockerProvider::new(settings.image.clone(), settings.db_host.clone(), settings.startup_timeout)
}

async fn on<P, T, F, Fut>(mut provider: P, signals: &mut super::signals::Signals, job: F) -> Result<T, Error>
where
    P: Provider,
    T: Send + 'static,
    F: FnOnce(Database, About) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    let provisioned = tokio::select! {
        signal = signals.recv() => Err(Error::Interrupted(signal)),
        database = provider.provision() => database.map_err(Error::from),
    };
    let outcome = match provisioned {
        Err(error) => Err(error),
        Ok(database) => {
            let about = (provider.name(), provider.image(), provider.notes());
            let task = tokio::spawn(job(database, about));
            let abort = task.abort_handle();
            tokio::select! {
                signal = signals.recv() => {
                    abort.abort();
                    Err(Error::Interrupted(signal))
                }
                joined = task => joined.unwrap_or_else(|e| Err(Error::Internal(e.to_string()))),
            }
        }
    };
    for warning in provider.teardown().await {
        eprintln!("dbgate: warning: {warning}");
    }
    outcome
}
