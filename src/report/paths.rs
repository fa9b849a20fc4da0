//! Paths as CI tools read them: relative to the repository root, not to where dbgate runs. With
//! the action's `working-directory: services/api`, an annotation on `migrations/002.sql` would
//! land on no file of the diff: GitHub wants `services/api/migrations/002.sql`. The console keeps
//! the paths relative to where dbgate runs, as a user there types them.

use std::path::{Path, PathBuf};

use super::{Failure, Location, Report};

impl Report {
    /// The report with every file path seen from the repository root, `prefix` being where
    /// dbgate runs, relative to that root ("services/api"; empty at the root).
    pub fn from_repository_root(&self, prefix: &Path) -> Report {
        let mut report = self.clone();
        if prefix.as_os_str().is_empty() {
            return report;
        }
        let path = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = prefix.join(&*p);
            }
        };
        let location = |l: &mut Location| path(&mut l.file);
        let failure = |f: &mut Failure| {
            if let Some(l) = f.location.as_mut() {
                location(l);
            }
        };
        path(&mut report.migrations_dir);
        if let Some(dir) = report.rollbacks_dir.as_mut() {
            path(dir);
        }
        for finding in &mut report.findings {
            location(&mut finding.location);
            finding.files.iter_mut().for_each(path);
        }
        for migration in &mut report.migrations {
            path(&mut migration.file);
            if let Some(rollback) = migration.rollback.as_mut() {
                path(rollback);
            }
            for check in &mut migration.checks {
                check.failures.iter_mut().for_each(failure);
                for warning in &mut check.warnings {
                    if let Some(l) = warning.location.as_mut() {
                        location(l);
                    }
                }
                for ignored in &mut check.ignored {
                    location(&mut ignored.source);
                }
            }
        }
        if let Some(history) = report.history.as_mut() {
            history.new_migrations.iter_mut().for_each(path);
        }
        for case in &mut report.tests {
            path(&mut case.file);
            case.failures.iter_mut().for_each(failure);
        }
        report
    }
}
