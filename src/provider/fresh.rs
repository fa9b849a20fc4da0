//! A fresh database on the run's server, in place of the one the checks worked in: after a
//! failure leaves the schema between two migrations, the checks rebuild the state they need in
//! it. Roles are cluster-wide, so the roles the migrations created go with the old database, or
//! replaying them again would fail with "role already exists".

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio_postgres::Client;

use crate::execute::{connect, Target};
use crate::script::quote_ident;

/// The databases made in place of the provisioned one, for the provider to drop at the end
/// (the url provider; the other providers' clusters go whole).
#[derive(Debug, Clone, Default)]
pub struct Replacements(Arc<Mutex<Vec<String>>>);

impl Replacements {
    pub fn names(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn add(&self, name: String) -> usize {
        let mut names = self.0.lock().unwrap_or_else(|e| e.into_inner());
        names.push(name);
        names.len()
    }

    fn next_number(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len() + 1
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("cannot {what}: {}", crate::execute::describe(source))]
    Database {
        what: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

fn failed(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> ReplaceError {
    let what = what.into();
    move |source| ReplaceError::Database { what, source }
}

/// The roles on the server, by oid: a role renamed is still the one that was there, and a new
/// role with an old role's name is new.
pub async fn role_oids(client: &Client) -> Result<BTreeSet<u32>, tokio_postgres::Error> {
    Ok(client
        .query("SELECT oid::bigint FROM pg_roles", &[])
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u32)
        .collect())
}

/// The names of the roles made since `before` (by oid).
pub async fn new_roles(client: &Client, before: &BTreeSet<u32>) -> Result<Vec<String>, tokio_postgres::Error> {
    Ok(client
        .query("SELECT oid::bigint, rolname::text FROM pg_roles ORDER BY rolname", &[])
        .await?
        .iter()
        .filter(|r| !before.contains(&(r.get::<_, i64>(0) as u32)))
        .map(|r| r.get(1))
        .collect())
}

/// What a replacement may drop: the roles created since `roles_before`, and of those only the
/// ones `may_drop` allows (on a shared server, the ones the migrations name).
pub struct RoleRule<'a> {
    pub roles_before: &'a BTreeSet<u32>,
    pub may_drop: &'a (dyn Fn(&str) -> bool + Sync),
}

/// Creates an empty database in place of the one `config` names, drops that one (closing
/// whatever sessions it still has: a migration's open transaction, say) and the roles `rule`
/// allows, and returns a session in the new database and its config. On a cluster of the run's
/// own (`own_cluster`), the new database has the old one's name, made from a session in
/// template1: a migration that names its database (`GRANT CONNECT ON DATABASE postgres`)
/// replays as it first ran. On a shared server it has a name of its own, for template1 is
/// not dbgate's to hold a session in (it would block others' CREATE DATABASE).
pub async fn replace_database(
    config: &Target,
    rule: &RoleRule<'_>,
    replacements: &Replacements,
    own_cluster: bool,
) -> Result<(Client, Target), ReplaceError> {
    let old_name = config.config.get_dbname().unwrap_or("postgres").to_string();
    if own_cluster {
        let mut maintenance = config.clone();
        maintenance.config.dbname("template1");
        let admin = crate::execute::connect_own(&maintenance)
            .await
            .map_err(failed("connect to template1"))?;
        let quoted = quote_ident(&old_name);
        // Two queries: one would be one implicit transaction, which neither may run in.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .await
            .map_err(failed(format!("drop the database {old_name}")))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {quoted} TEMPLATE template0"))
            .await
            .map_err(failed(format!("create the database {old_name} again")))?;
        drop(admin);
        let client = connect(config).await.map_err(failed(format!("connect to {old_name}")))?;
        drop_roles(&client, rule).await?;
        return Ok((client, config.clone()));
    }
    // The migrations' session may hold a transaction open or a role set; a session of its own
    // creates the database.
    let admin = crate::execute::connect_own(config)
        .await
        .map_err(failed(format!("connect to {old_name}")))?;
    let name = format!("dbgate_{}_{}_{}", std::process::id(), super::run_id(), replacements.next_number());
    admin
        .batch_execute(&format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(&name)))
        .await
        .map_err(failed(format!("create the database {name}")))?;
    replacements.add(name.clone());
    drop(admin);
    let mut new_config = config.clone();
    new_config.config.dbname(&name);
    let client = connect(&new_config).await.map_err(failed(format!("connect to {name}")))?;
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&old_name)))
        .await
        .map_err(failed(format!("drop the database {old_name}")))?;
    drop_roles(&client, rule).await?;
    Ok((client, new_config))
}

/// Copies the database `source` (`CREATE DATABASE ... TEMPLATE`) from a session in another
/// one (`admin`'s), once every session in it has ended: a database cannot be copied while
/// anyone is connected to it, and a closed session's server process takes a moment to go (the
/// server itself waits for it in steps of 100 ms). Returns the copy's name, which the provider
/// drops at the end.
pub async fn copy_database(admin: &Client, source: &str, replacements: &Replacements) -> Result<String, ReplaceError> {
    let waited = std::time::Instant::now();
    while waited.elapsed() < std::time::Duration::from_secs(2) {
        let others: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&source],
            )
            .await
            .map_err(failed("list the sessions"))?
            .get(0);
        if others == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let name = format!("dbgate_{}_{}_{}", std::process::id(), super::run_id(), replacements.next_number());
    // Named before it is made: a run interrupted while the server copies still drops it.
    replacements.add(name.clone());
    admin
        .batch_execute(&format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&name), quote_ident(source)))
        .await
        .map_err(failed(format!("copy the database {source}")))?;
    Ok(name)
}

/// Drops the roles created since the baseline that `rule` allows.
pub async fn drop_roles(client: &Client, rule: &RoleRule<'_>) -> Result<(), ReplaceError> {
    let made = new_roles(client, rule.roles_before).await.map_err(failed("list the roles"))?;
    for role in made.iter().filter(|r| (rule.may_drop)(r)) {
        drop_role(client, role)
            .await
            .map_err(failed(format!("drop the role {role} that the migrations created")))?;
    }
    Ok(())
}

/// Drops a role the migrations made. DROP OWNED first: it also revokes what the role was
/// granted on shared objects (a configuration parameter, another database), which would keep
/// DROP ROLE from running; but only a superuser may run it for a role it is not a member of,
/// so a user with CREATEROLE alone drops the role directly.
pub async fn drop_role(client: &Client, role: &str) -> Result<(), tokio_postgres::Error> {
    let role = quote_ident(role);
    match client
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}"))
        .await
    {
        Ok(()) => Ok(()),
        Err(_) => client.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).await,
    }
}
