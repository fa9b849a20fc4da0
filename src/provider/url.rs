//! The `url` provider: an existing server. dbgate creates a database with a random name, works
//! only there, and at the end drops it and the roles the migrations created. Every other
//! database and role is left as it was.

use std::collections::BTreeSet;
use std::str::FromStr;

use tokio_postgres::Client;

use super::fresh::{new_roles, role_oids};
use super::server::ServerState;
use super::tls::TlsSettings;
use super::MigrationNames;
use super::{Database, Provider, ProviderError};
use crate::execute::{connect_own, describe, Target};

pub struct UrlProvider {
    url: String,
    /// What every migration and rollback names: a role or database is only dropped at the end
    /// if the migrations name it, so that what someone else creates meanwhile is never touched.
    migration_words: std::sync::Arc<MigrationNames>,
    state: Option<State>,
}

struct State {
    admin: Client,
    database: String,
    roles_before: BTreeSet<u32>,
    /// What is cluster-wide before the run, to put back at the end what the migrations
    /// changed outside their database. `None`: it could not be read (said at the end).
    server_before: Result<ServerState, String>,
    server_version_num: u32,
    /// The databases the checks made in place of `database`.
    replacements: super::fresh::Replacements,
}

impl UrlProvider {
    /// The texts that name the roles a run may create, and so must drop: every migration and
    /// rollback, the setup files, and the Supabase preset's roles when it runs.
    pub fn role_sources(discovery: &crate::discovery::Discovery, setup: &[crate::script::Script], supabase_preset: bool) -> Vec<String> {
        let mut texts: Vec<String> = discovery
            .migrations
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
            .chain(setup)
            .map(|s| s.text().to_string())
            .collect();
        if supabase_preset {
            texts.push(crate::preset::SUPABASE_ROLES.join(" "));
        }
        texts
    }

    pub fn new(url: String, migration_texts: impl IntoIterator<Item = String>) -> UrlProvider {
        let migration_words = std::sync::Arc::new(MigrationNames::new(migration_texts));
        UrlProvider {
            url,
            migration_words,
            state: None,
        }
    }
}

/// The URL without its password, for messages.
fn redacted(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or("?"),
        hosts.join(","),
        config.get_ports().first().copied().unwrap_or(5432),
        config.get_dbname().unwrap_or("")
    )
}

impl Provider for UrlProvider {
    fn name(&self) -> &'static str {
        "url"
    }

    async fn provision(&mut self) -> Result<Database, ProviderError> {
        // tokio-postgres knows disable, prefer and require only: libpq's TLS options are read
        // here and the server's certificate checked by dbgate's connector.
        let (url, tls) = TlsSettings::take_from(&self.url).map_err(|source| ProviderError::BadTls { source })?;
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|source| ProviderError::BadUrl { source })?;
        // No TLS over a unix socket, whatever sslmode says (libpq ignores it there).
        let tls = if config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, tokio_postgres::config::Host::Unix(_)))
        {
            TlsSettings::none()
        } else {
            tls
        };
        config.ssl_mode(tls.driver_mode());
        if config.get_application_name().is_none() {
            config.application_name("dbgate");
        }
        // A server that stops answering must not hold a connect (the URL may set its own).
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let shown = format!("{}{}", redacted(&config), tls.said());
        let mut config = Target {
            config,
            tls: tls.connector().map_err(|source| ProviderError::BadTls { source })?,
        };
        let admin = connect_own(&config).await.map_err(|e| {
            ProviderError::Unavailable(format!(
                "cannot connect to {shown}: {}; check the URL, that the server runs, and that it accepts this user",
                describe(&e)
            ))
        })?;
        let server_version_num: u32 = admin
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map(|row| row.get::<_, i32>(0) as u32)
            .map_err(|source| ProviderError::Refused {
                what: format!("cannot read the server version of {shown}"),
                source,
            })?;
        let roles_before = role_oids(&admin).await.map_err(|source| ProviderError::Refused {
            what: format!("cannot list the roles on {shown}"),
            source,
        })?;
        let database = format!("dbgate_{}_{}", std::process::id(), super::run_id());
        // Where the URL points (libpq's default: the user's name).
        let maintenance = config
            .config
            .get_dbname()
            .or(config.config.get_user())
            .unwrap_or("postgres")
            .to_string();
        // template0: a session connected to template1 would make CREATE DATABASE fail.
        admin
            .batch_execute(&format!("CREATE DATABASE \"{database}\" TEMPLATE template0"))
            .await
            .map_err(|source| ProviderError::Refused {
                what: format!("cannot create a database on {shown} (the user needs CREATEDB)"),
                source,
            })?;
        let server_before = ServerState::baseline(&admin, vec![database.clone()])
            .await
            .map_err(|e| describe(&e));
        config.config.dbname(&database);
        let replacements = super::fresh::Replacements::default();
        self.state = Some(State {
            admin,
            database: database.clone(),
            roles_before,
            server_before,
            server_version_num,
            replacements: replacements.clone(),
        });
        Ok(Database {
            config,
            description: format!("database {database} on {shown}, dropped at the end"),
            replacements,
            role_words: Some(self.migration_words.clone()),
            maintenance,
        })
    }

    async fn teardown(&mut self) -> Vec<String> {
        let Some(state) = self.state.take() else { return Vec::new() };
        let names = std::iter::once(state.database.clone())
            .chain(state.replacements.names())
            .collect::<Vec<_>>();
        // A server that stopped answering (a migration stopped it) must not hold dbgate.
        match tokio::time::timeout(TEARDOWN_LIMIT, clean_up(&state, &names, &self.migration_words)).await {
            Ok(warnings) => warnings,
            Err(_) => vec![format!(
                "the server did not answer within {} s while dbgate cleaned up: drop the database{} {} and the roles the migrations created by hand",
                TEARDOWN_LIMIT.as_secs(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            )],
        }
    }
}

/// How long the url provider's clean-up may take, in all.
const TEARDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

async fn clean_up(state: &State, names: &[String], migration_words: &MigrationNames) -> Vec<String> {
    let mut warnings = Vec::new();
    // dbgate's databases first: dropping them ends the migrations' sessions and the locks they
    // may still hold on shared catalogs.
    for name in names {
        drop_database(state, name, &mut warnings).await;
    }
    // What the migrations changed outside their database, then the roles they made (by oid: a
    // role they renamed is not one): a role they made may own a database they made, and a name
    // a new role took must be free for a rename to be undone, so the server is put back once
    // more after the roles are gone; what still cannot be put back is said then.
    if let Ok(before) = &state.server_before {
        let _ = ServerState::put_back(before, &state.admin, Some(migration_words)).await;
    }
    match new_roles(&state.admin, &state.roles_before).await {
        Ok(made) => {
            for role in made {
                if !migration_words.names(&role) {
                    warnings.push(format!(
                        "the role {role} was made during the run, but no migration names it (made by dynamic SQL, or by someone else): dbgate left it; drop it by hand if the migrations made it"
                    ));
                    continue;
                }
                if let Err(e) = super::fresh::drop_role(&state.admin, &role).await {
                    warnings.push(format!(
                        "could not drop the role {role} that the migrations created: {}",
                        describe(&e)
                    ));
                }
            }
        }
        Err(e) => warnings.push(format!(
            "could not list roles to drop those the migrations created: {}",
            describe(&e)
        )),
    }
    match &state.server_before {
        Ok(before) => warnings.extend(ServerState::put_back(before, &state.admin, Some(migration_words)).await),
        Err(why) => warnings.push(format!(
            "could not read the server before the run ({why}): what the migrations changed outside their database was not put back"
        )),
    }
    warnings
}

async fn drop_database(state: &State, name: &str, warnings: &mut Vec<String>) {
    let quoted = crate::script::quote_ident(name);
    let dropped = if state.server_version_num >= 130000 {
        state
            .admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .await
    } else {
        let _ = state
            .admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await;
        state.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {quoted}")).await
    };
    if let Err(e) = dropped {
        warnings.push(format!("could not drop the database {name}: {}; drop it by hand", describe(&e)));
    }
}
