//! What `dbgate snapshot` and `dbgate types` share: the migrations replayed, unchecked, on a
//! throwaway database from any provider (as the check replays them), and the files they make
//! printed or written.

use std::path::{Path, PathBuf};

use crate::checks::session::{Baseline, Session};
use crate::config::{CheckSettings, Preset};
use crate::discovery::{discover, read_setup, Discovery};
use crate::error::Error;
use crate::execute::run_script;
use crate::provider::url::UrlProvider;
use crate::provider::Database;
use crate::script::Script;

/// The repo's migrations and setup, read once.
pub struct Work {
    pub discovery: Discovery,
    pub setup: Vec<Script>,
    pub supabase_preset: bool,
    pub settings: CheckSettings,
}

impl Work {
    pub fn read(settings: CheckSettings) -> Result<Work, Error> {
        let discovery = discover(&settings.root, &settings.sources)?;
        let setup = read_setup(&settings.root, &settings.setup_files)?;
        let supabase_preset = match settings.preset {
            Some(preset) => preset == Preset::Supabase,
            None => discovery.migrations_dir.ends_with("supabase/migrations"),
        };
        Ok(Work {
            discovery,
            setup,
            supabase_preset,
            settings,
        })
    }

    /// The role names the url provider may drop: the migrations' own.
    pub fn url_roles(&self) -> Vec<String> {
        UrlProvider::role_sources(&self.discovery, &self.setup, self.supabase_preset)
    }

    /// A session on `database` with the setup (and the Supabase preset) in place.
    pub async fn open(&self, database: &Database) -> Result<Session, Error> {
        let baseline = Baseline {
            supabase_preset: self.supabase_preset,
            bookkeeping: self.discovery.tool.tool.bookkeeping(),
            setup: &self.setup,
            full_snapshots: true,
            options: &self.settings.options,
            replacements: database.replacements.clone(),
            role_words: database.role_words.clone(),
            maintenance: None,
            formats: Default::default(),
        };
        Ok(Session::open(database.config.clone(), &baseline).await?)
    }

    /// Runs the up of migration `index`; a failure is the user's (exit 1), with where it failed.
    pub async fn migrate(&self, session: &Session, index: usize) -> Result<(), Error> {
        let migration = &self.discovery.migrations[index];
        match run_script(&session.client, &migration.up, self.settings.options.migration_timeout).await {
            Ok(_) => Ok(()),
            Err(error) => Err(Error::MigrationFailed(Box::new(error.failure().clone()))),
        }
    }
}

/// Writes each file (creating its folder) and says so, or prints them all.
pub fn write_or_print(files: &[(PathBuf, String)], write: bool, root: &Path) -> Result<(), Error> {
    for (path, text) in files {
        if !write {
            print!("{text}");
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        println!("wrote {}", path.strip_prefix(root).unwrap_or(path).display());
    }
    Ok(())
}
