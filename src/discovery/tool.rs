//! The migration tool a repo's migrations are written for: how it decides a file's transaction,
//! how it sends the file, and the bookkeeping table it makes before the first migration. The
//! rules, with their sources, are in docs/migration-tools.md.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Layout, Migration};
use crate::script::Script;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    GolangMigrate,
    Sqlx,
    Diesel,
    Dbmate,
    Flyway,
    Supabase,
    /// No tool assumed: what cannot run in a transaction is detected from the statements.
    None,
}

/// The tool assumed, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assumed {
    #[serde(rename = "name")]
    pub tool: Tool,
    pub why: String,
}

impl Default for Assumed {
    fn default() -> Assumed {
        Assumed {
            tool: Tool::None,
            why: String::new(),
        }
    }
}

const DIESEL_FIX: &str = "diesel runs this file in a transaction: put a metadata.toml with `run_in_transaction = false` in its folder";
const DBMATE_FIX: &str =
    "dbmate runs this section in a transaction: add `transaction:false` to its `-- migrate:up` or `-- migrate:down` line";
const SQLX_FIX: &str = "sqlx runs this file in a transaction: make `-- no-transaction` the file's very first line";

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Dbmate => "dbmate",
            Tool::Flyway => "flyway",
            Tool::Supabase => "supabase",
            Tool::None => "none",
        }
    }

    /// How the tool decides whether a file runs in a transaction, as the README's table says it.
    pub fn transactions(self) -> &'static str {
        match self {
            Tool::GolangMigrate => "no transaction; the whole file is sent as one query, which PostgreSQL runs in one implicit transaction",
            Tool::Sqlx => "a transaction per file unless it starts with `-- no-transaction`; such a file is sent as one query",
            Tool::Diesel => {
                "a transaction per file unless metadata.toml says `run_in_transaction = false`; such a file is sent as one query"
            }
            Tool::Dbmate => "a transaction per section unless its marker says `transaction:false`; such a section is sent as one query",
            Tool::Flyway => "a transaction per migration unless a statement cannot run in one; a migration mixing both kinds is refused",
            Tool::Supabase => "a transaction per file; statements that cannot run in one run on their own (Supabase CLI 2.109 and later)",
            Tool::None => "a transaction per file unless a statement cannot run in one, or the file starts with `-- no-transaction`",
        }
    }

    /// The tool's bookkeeping table, as the tool creates it before the first migration
    /// (docs/migration-tools.md); migrations sometimes use it (a trigger on it, a column added).
    pub fn bookkeeping(self) -> Option<&'static str> {
        match self {
            Tool::GolangMigrate => Some("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"),
            Tool::Sqlx => Some(
                "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL)",
            ),
            Tool::Diesel => Some(
                "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            ),
            Tool::Dbmate => Some("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)"),
            Tool::Flyway => Some(
                "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank integer NOT NULL, version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, success boolean NOT NULL, CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)); CREATE INDEX IF NOT EXISTS flyway_schema_history_s_idx ON flyway_schema_history (success)",
            ),
            Tool::Supabase => Some(
                "CREATE SCHEMA IF NOT EXISTS supabase_migrations; CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[], name text)",
            ),
            Tool::None => None,
        }
    }
}

/// The tool the repo says it uses: `configured` wins; else diesel's folders or diesel.toml,
/// supabase/config.toml, dbmate sections, Flyway names; else none. Several at once is none.
pub fn assume(root: &Path, migrations_dir: &Path, migrations: &[Migration], configured: Option<Tool>) -> Assumed {
    if let Some(tool) = configured {
        return Assumed {
            tool,
            why: "[migrations] tool in dbgate.toml".to_string(),
        };
    }
    let mut said: Vec<(Tool, String)> = Vec::new();
    let mut say = |tool: Tool, why: String| {
        if !said.iter().any(|(t, _)| *t == tool) {
            said.push((tool, why));
        }
    };
    if root.join("diesel.toml").is_file() {
        say(Tool::Diesel, "diesel.toml at the repository root".to_string());
    }
    if root.join("supabase/config.toml").is_file() && migrations_dir.starts_with(root.join("supabase")) {
        say(Tool::Supabase, "supabase/config.toml".to_string());
    }
    for migration in migrations {
        match migration.layout {
            Layout::Diesel => say(Tool::Diesel, "migrations in diesel's folders (<version>_<name>/up.sql)".to_string()),
            Layout::Dbmate => say(Tool::Dbmate, "`-- migrate:up` sections, dbmate's".to_string()),
            Layout::Flyway => say(Tool::Flyway, "Flyway's file names (V<version>__<name>.sql)".to_string()),
            Layout::UpDown | Layout::Plain => {}
        }
    }
    match said.as_slice() {
        [(tool, why)] => Assumed { tool: *tool, why: why.clone() },
        [] => Assumed {
            tool: Tool::None,
            why: "no file says which tool (.up.sql/.down.sql is golang-migrate's and sqlx's layout, plain numbered files sqlx's, Supabase's or a home-grown runner's): set [migrations] tool in dbgate.toml to run each file as your tool does".to_string(),
        },
        several => Assumed {
            tool: Tool::None,
            why: format!(
                "the repository says several tools ({}): set [migrations] tool in dbgate.toml",
                several.iter().map(|(t, why)| format!("{} from {why}", t.name())).collect::<Vec<_>>().join("; ")
            ),
        },
    }
}

/// Sets how each script runs under `tool`: how the transaction is decided, and whether the file
/// goes to the server as one query.
pub fn apply(tool: Tool, root: &Path, migrations: &mut [Migration]) {
    let flyway_mixed = tool == Tool::Flyway && flyway_allows_mixed(root);
    for migration in migrations {
        let layout = migration.layout;
        for script in std::iter::once(&mut migration.up).chain(migration.down.as_mut()) {
            rules_for(tool, layout, flyway_mixed, script);
        }
    }
}

/// Flyway's `mixed` setting, from the configuration files it reads in the project, later ones
/// winning: `conf/flyway.conf` and `flyway.conf` (Java properties: `flyway.mixed=true`, `:` or
/// `=`, the last line wins, case-insensitive), then `flyway.toml` (`[flyway]` `mixed = true`).
fn flyway_allows_mixed(root: &Path) -> bool {
    let mut mixed = false;
    for name in ["conf/flyway.conf", "flyway.conf"] {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some(at) = line.find(['=', ':']) else { continue };
            if line[..at].trim() == "flyway.mixed" {
                mixed = line[at + 1..].trim().eq_ignore_ascii_case("true");
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(root.join("flyway.toml")) {
        if let Some(value) = toml::from_str::<toml::Value>(&text)
            .ok()
            .and_then(|toml| toml.get("flyway")?.get("mixed")?.as_bool())
        {
            mixed = value;
        }
    }
    mixed
}

fn rules_for(tool: Tool, layout: Layout, flyway_mixed: bool, script: &mut Script) {
    match layout {
        // diesel's folders and dbmate's sections are their tools' whatever is configured:
        // the directive alone decides; with the transaction off, the file is one query
        // (diesel's batch_execute, dbmate's Exec).
        Layout::Diesel => {
            script.directive_only = Some(DIESEL_FIX);
            script.one_query = Some("diesel");
        }
        Layout::Dbmate => {
            script.directive_only = Some(DBMATE_FIX);
            script.one_query = Some("dbmate");
        }
        Layout::UpDown | Layout::Plain | Layout::Flyway => match tool {
            Tool::GolangMigrate => {
                // golang-migrate has no directive: `-- no-transaction` is a comment to it.
                script.transaction_directive = None;
                script.no_transaction_by_default = true;
                script.one_query = Some("golang-migrate");
            }
            Tool::Sqlx => {
                script.directive_only = Some(SQLX_FIX);
                script.one_query = Some("sqlx");
            }
            Tool::Flyway => {
                script.transaction_directive = None;
                // With `mixed`, Flyway runs such a migration without a transaction: as detected.
                script.mixed_refused = (!flyway_mixed).then_some("flyway");
            }
            Tool::Diesel | Tool::Dbmate | Tool::Supabase => script.transaction_directive = None,
            Tool::None => {}
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flyway_s_mixed_is_read_as_flyway_reads_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let mixed = |files: &[(&str, &str)]| {
            for name in ["conf/flyway.conf", "flyway.conf", "flyway.toml"] {
                let _ = std::fs::remove_file(dir.path().join(name));
            }
            std::fs::create_dir_all(dir.path().join("conf")).unwrap();
            for (name, text) in files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            super::flyway_allows_mixed(dir.path())
        };
        assert!(!mixed(&[]));
        assert!(mixed(&[("flyway.conf", "flyway.mixed=TRUE\n")]));
        assert!(mixed(&[("flyway.conf", "flyway.mixed : true\n")]));
        assert!(!mixed(&[("conf/flyway.conf", "flyway.mixed=true\nflyway.mixed=false\n")]));
        assert!(!mixed(&[("flyway.conf", "# flyway.mixed=true\n")]));
        assert!(mixed(&[("flyway.toml", "[flyway]\nmixed = true  # allow CIC\n")]));
        assert!(!mixed(&[(
            "flyway.toml",
            "[flyway]\nmixed = false\n[environments.dev]\nmixed = true\n"
        )]));
        assert!(!mixed(&[
            ("flyway.conf", "flyway.mixed=true\n"),
            ("flyway.toml", "[flyway]\nmixed = false\n")
        ]));
    }
}
