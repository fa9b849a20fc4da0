//! The lint rules: one file each, every one judged on what a statement was seen to do in a copy
//! of the database with rows (the locks its transaction took, the tables it rewrote or scanned,
//! the objects it dropped or renamed), not guessed from its text. Each rule has a stable id, a
//! one-line summary, a why and a fix; `dbgate rules` and the README list them.

mod auth_users_exposed;
mod constraint_without_not_valid;
mod create_index_without_concurrently;
mod drop_column;
mod drop_index_without_concurrently;
mod drop_table;
mod drop_type;
mod exclusive_lock_held;
mod extension_in_public;
mod fails_with_rows;
mod foreign_key_without_index;
mod function_search_path_mutable;
mod lock_timeout_missing;
mod narrowing_type_change;
mod not_null_without_default;
mod policy_always_true;
mod policy_without_rls;
mod reindex_without_concurrently;
mod rename_column;
mod rename_table;
mod rls_disabled;
mod rls_without_policy;
mod security_definer_function;
mod security_definer_view;
mod set_not_null_scan;
mod table_rewrite;
mod table_without_primary_key;
mod unique_without_using_index;

use serde::{Deserialize, Serialize};

use super::observe::{Migration, Seen};

/// Every rule, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    CreateIndexWithoutConcurrently,
    DropIndexWithoutConcurrently,
    ReindexWithoutConcurrently,
    ExclusiveLockHeld,
    LockTimeoutMissing,
    TableRewrite,
    SetNotNullScan,
    ConstraintWithoutNotValid,
    UniqueWithoutUsingIndex,
    DropTable,
    DropColumn,
    DropType,
    RenameTable,
    RenameColumn,
    NarrowingTypeChange,
    NotNullWithoutDefault,
    FailsWithRows,
    RlsDisabled,
    RlsWithoutPolicy,
    PolicyWithoutRls,
    SecurityDefinerView,
    SecurityDefinerFunction,
    FunctionSearchPathMutable,
    AuthUsersExposed,
    PolicyAlwaysTrue,
    ForeignKeyWithoutIndex,
    TableWithoutPrimaryKey,
    ExtensionInPublic,
}

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Locks that block the running application.
    Locking,
    /// Rewrites and full scans under a lock.
    Rewrite,
    /// Changes the running application breaks on.
    Breaking,
    /// What the schema exposes through the API's schemas (Supabase's splinter advisors).
    Security,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Locking => "locking",
            Category::Rewrite => "rewrites and scans",
            Category::Breaking => "breaking changes",
            Category::Security => "security advisors",
        }
    }
}

/// How a finding of a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Off,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "off" => Some(Severity::Off),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule's words: the one-line summary, why it matters, and how to fix it.
pub struct Words {
    pub summary: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

/// One thing a rule found at one statement.
pub struct Hit {
    /// The statement it is about (index in the migration's statements).
    pub statement: usize,
    /// One sentence, naming the object.
    pub message: String,
    /// The object, as the catalog names it ("table public.users").
    pub object: Option<crate::object::ObjectId>,
}

impl Rule {
    pub const ALL: [Rule; 28] = [
        Rule::CreateIndexWithoutConcurrently,
        Rule::DropIndexWithoutConcurrently,
        Rule::ReindexWithoutConcurrently,
        Rule::ExclusiveLockHeld,
        Rule::LockTimeoutMissing,
        Rule::TableRewrite,
        Rule::SetNotNullScan,
        Rule::ConstraintWithoutNotValid,
        Rule::UniqueWithoutUsingIndex,
        Rule::DropTable,
        Rule::DropColumn,
        Rule::DropType,
        Rule::RenameTable,
        Rule::RenameColumn,
        Rule::NarrowingTypeChange,
        Rule::NotNullWithoutDefault,
        Rule::FailsWithRows,
        Rule::RlsDisabled,
        Rule::RlsWithoutPolicy,
        Rule::PolicyWithoutRls,
        Rule::SecurityDefinerView,
        Rule::SecurityDefinerFunction,
        Rule::FunctionSearchPathMutable,
        Rule::AuthUsersExposed,
        Rule::PolicyAlwaysTrue,
        Rule::ForeignKeyWithoutIndex,
        Rule::TableWithoutPrimaryKey,
        Rule::ExtensionInPublic,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::CreateIndexWithoutConcurrently => "create-index-without-concurrently",
            Rule::DropIndexWithoutConcurrently => "drop-index-without-concurrently",
            Rule::ReindexWithoutConcurrently => "reindex-without-concurrently",
            Rule::ExclusiveLockHeld => "exclusive-lock-held",
            Rule::LockTimeoutMissing => "lock-timeout-missing",
            Rule::TableRewrite => "table-rewrite",
            Rule::SetNotNullScan => "set-not-null-scan",
            Rule::ConstraintWithoutNotValid => "constraint-without-not-valid",
            Rule::UniqueWithoutUsingIndex => "unique-without-using-index",
            Rule::DropTable => "drop-table",
            Rule::DropColumn => "drop-column",
            Rule::DropType => "drop-type",
            Rule::RenameTable => "rename-table",
            Rule::RenameColumn => "rename-column",
            Rule::NarrowingTypeChange => "narrowing-type-change",
            Rule::NotNullWithoutDefault => "not-null-without-default",
            Rule::FailsWithRows => "fails-with-rows",
            Rule::RlsDisabled => "rls-disabled",
            Rule::RlsWithoutPolicy => "rls-without-policy",
            Rule::PolicyWithoutRls => "policy-without-rls",
            Rule::SecurityDefinerView => "security-definer-view",
            Rule::SecurityDefinerFunction => "security-definer-function",
            Rule::FunctionSearchPathMutable => "function-search-path-mutable",
            Rule::AuthUsersExposed => "auth-users-exposed",
            Rule::PolicyAlwaysTrue => "policy-always-true",
            Rule::ForeignKeyWithoutIndex => "foreign-key-without-index",
            Rule::TableWithoutPrimaryKey => "table-without-primary-key",
            Rule::ExtensionInPublic => "extension-in-public",
        }
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }

    pub fn category(self) -> Category {
        match self {
            Rule::CreateIndexWithoutConcurrently
            | Rule::DropIndexWithoutConcurrently
            | Rule::ReindexWithoutConcurrently
            | Rule::ExclusiveLockHeld
            | Rule::LockTimeoutMissing => Category::Locking,
            Rule::TableRewrite | Rule::SetNotNullScan | Rule::ConstraintWithoutNotValid | Rule::UniqueWithoutUsingIndex => {
                Category::Rewrite
            }
            Rule::DropTable
            | Rule::DropColumn
            | Rule::DropType
            | Rule::RenameTable
            | Rule::RenameColumn
            | Rule::NarrowingTypeChange
            | Rule::NotNullWithoutDefault
            | Rule::FailsWithRows => Category::Breaking,
            _ => Category::Security,
        }
    }

    /// The severity for a pull request's new migrations, as a careful team would set it: what
    /// blocks or breaks production is an error; what only holds a lock longer than it needs
    /// to, or may be deliberate, is a warning. With no base every finding is a warning.
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::ExclusiveLockHeld
            | Rule::LockTimeoutMissing
            | Rule::SetNotNullScan
            | Rule::ConstraintWithoutNotValid
            | Rule::UniqueWithoutUsingIndex
            | Rule::FailsWithRows => Severity::Warning,
            // splinter's ERROR level.
            Rule::RlsDisabled | Rule::PolicyWithoutRls | Rule::SecurityDefinerView | Rule::AuthUsersExposed => Severity::Error,
            Rule::RlsWithoutPolicy
            | Rule::SecurityDefinerFunction
            | Rule::FunctionSearchPathMutable
            | Rule::PolicyAlwaysTrue
            | Rule::ForeignKeyWithoutIndex
            | Rule::TableWithoutPrimaryKey
            | Rule::ExtensionInPublic => Severity::Warning,
            _ => Severity::Error,
        }
    }

    pub fn words(self) -> Words {
        match self {
            Rule::CreateIndexWithoutConcurrently => create_index_without_concurrently::WORDS,
            Rule::DropIndexWithoutConcurrently => drop_index_without_concurrently::WORDS,
            Rule::ReindexWithoutConcurrently => reindex_without_concurrently::WORDS,
            Rule::ExclusiveLockHeld => exclusive_lock_held::WORDS,
            Rule::LockTimeoutMissing => lock_timeout_missing::WORDS,
            Rule::TableRewrite => table_rewrite::WORDS,
            Rule::SetNotNullScan => set_not_null_scan::WORDS,
            Rule::ConstraintWithoutNotValid => constraint_without_not_valid::WORDS,
            Rule::UniqueWithoutUsingIndex => unique_without_using_index::WORDS,
            Rule::DropTable => drop_table::WORDS,
            Rule::DropColumn => drop_column::WORDS,
            Rule::DropType => drop_type::WORDS,
            Rule::RenameTable => rename_table::WORDS,
            Rule::RenameColumn => rename_column::WORDS,
            Rule::NarrowingTypeChange => narrowing_type_change::WORDS,
            Rule::NotNullWithoutDefault => not_null_without_default::WORDS,
            Rule::FailsWithRows => fails_with_rows::WORDS,
            Rule::RlsDisabled => rls_disabled::WORDS,
            Rule::RlsWithoutPolicy => rls_without_policy::WORDS,
            Rule::PolicyWithoutRls => policy_without_rls::WORDS,
            Rule::SecurityDefinerView => security_definer_view::WORDS,
            Rule::SecurityDefinerFunction => security_definer_function::WORDS,
            Rule::FunctionSearchPathMutable => function_search_path_mutable::WORDS,
            Rule::AuthUsersExposed => auth_users_exposed::WORDS,
            Rule::PolicyAlwaysTrue => policy_always_true::WORDS,
            Rule::ForeignKeyWithoutIndex => foreign_key_without_index::WORDS,
            Rule::TableWithoutPrimaryKey => table_without_primary_key::WORDS,
            Rule::ExtensionInPublic => extension_in_public::WORDS,
        }
    }

    /// For a security advisor: its query over the catalog.
    pub fn advisor_query(self) -> Option<&'static str> {
        Some(match self {
            Rule::RlsDisabled => rls_disabled::QUERY,
            Rule::RlsWithoutPolicy => rls_without_policy::QUERY,
            Rule::PolicyWithoutRls => policy_without_rls::QUERY,
            Rule::SecurityDefinerView => security_definer_view::QUERY,
            Rule::SecurityDefinerFunction => security_definer_function::QUERY,
            Rule::FunctionSearchPathMutable => function_search_path_mutable::QUERY,
            Rule::AuthUsersExposed => auth_users_exposed::QUERY,
            Rule::PolicyAlwaysTrue => policy_always_true::QUERY,
            Rule::ForeignKeyWithoutIndex => foreign_key_without_index::QUERY,
            Rule::TableWithoutPrimaryKey => table_without_primary_key::QUERY,
            Rule::ExtensionInPublic => extension_in_public::QUERY,
            _ => return None,
        })
    }

    /// What the rule finds in one migration's observed run.
    pub fn check(self, migration: &Migration, seen: &[Seen]) -> Vec<Hit> {
        match self {
            Rule::CreateIndexWithoutConcurrently => create_index_without_concurrently::check(migration, seen),
            Rule::DropIndexWithoutConcurrently => drop_index_without_concurrently::check(migration, seen),
            Rule::ReindexWithoutConcurrently => reindex_without_concurrently::check(migration, seen),
            Rule::ExclusiveLockHeld => exclusive_lock_held::check(migration, seen),
            Rule::LockTimeoutMissing => lock_timeout_missing::check(migration, seen),
            Rule::TableRewrite => table_rewrite::check(migration, seen),
            Rule::SetNotNullScan => set_not_null_scan::check(migration, seen),
            Rule::ConstraintWithoutNotValid => constraint_without_not_valid::check(migration, seen),
            Rule::UniqueWithoutUsingIndex => unique_without_using_index::check(migration, seen),
            Rule::DropTable => drop_table::check(migration, seen),
            Rule::DropColumn => drop_column::check(migration, seen),
            Rule::DropType => drop_type::check(migration, seen),
            Rule::RenameTable => rename_table::check(migration, seen),
            Rule::RenameColumn => rename_column::check(migration, seen),
            Rule::NarrowingTypeChange => narrowing_type_change::check(migration, seen),
            Rule::NotNullWithoutDefault => not_null_without_default::check(migration, seen),
            Rule::FailsWithRows => fails_with_rows::check(migration, seen),
            Rule::RlsDisabled => rls_disabled::check(migration, seen),
            Rule::RlsWithoutPolicy => rls_without_policy::check(migration, seen),
            Rule::PolicyWithoutRls => policy_without_rls::check(migration, seen),
            Rule::SecurityDefinerView => security_definer_view::check(migration, seen),
            Rule::SecurityDefinerFunction => security_definer_function::check(migration, seen),
            Rule::FunctionSearchPathMutable => function_search_path_mutable::check(migration, seen),
            Rule::AuthUsersExposed => auth_users_exposed::check(migration, seen),
            Rule::PolicyAlwaysTrue => policy_always_true::check(migration, seen),
            Rule::ForeignKeyWithoutIndex => foreign_key_without_index::check(migration, seen),
            Rule::TableWithoutPrimaryKey => table_without_primary_key::check(migration, seen),
            Rule::ExtensionInPublic => extension_in_public::check(migration, seen),
        }
    }
}

/// The objects of `kinds` that existed before the migration and a statement dropped.
fn dropped(migration: &Migration, seen: &[Seen], kinds: &[crate::catalog::ObjectKind], verb: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        for change in s.changes() {
            if change.kind == crate::catalog::SchemaChangeKind::Drops
                && kinds.contains(&change.object.kind)
                && migration.existed_at(&change.object, seen, s.statement)
            {
                hits.push(Hit {
                    statement: s.statement,
                    message: format!("{verb} {}", change.object),
                    object: Some(change.object.clone()),
                });
            }
        }
    }
    hits
}

/// The objects of `kind` that existed before the migration and a statement renamed.
fn renamed(migration: &Migration, seen: &[Seen], kind: crate::catalog::ObjectKind) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in seen {
        for change in s.changes() {
            let Some(from) = change.renamed_from.as_ref() else { continue };
            if change.kind == crate::catalog::SchemaChangeKind::Renames && from.kind == kind && migration.existed(from) {
                hits.push(Hit {
                    statement: s.statement,
                    message: format!("renames existing {from} to {}", change.object.name),
                    object: Some(change.object.clone()),
                });
            }
        }
    }
    hits
}

/// A security advisor's findings that this migration made true, worded by `message` (the
/// object and the advisor's detail).
fn advised(migration: &Migration, rule: Rule, message: impl Fn(&crate::object::ObjectId, &str) -> String) -> Vec<Hit> {
    migration
        .advisories
        .iter()
        .filter(|a| a.advised.rule == rule)
        .map(|a| Hit {
            statement: a.statement,
            message: message(&a.advised.object, &a.advised.detail),
            object: Some(a.advised.object.clone()),
        })
        .collect()
}

/// A statement's ALTER TABLE of a table that existed before the migration: the table (oid and
/// relation) and the subcommands; what several rules start from.
fn altered_existing_table<'m>(
    migration: &'m Migration,
    s: &Seen,
) -> Option<(u32, &'m super::observe::Relation, Vec<&'m pg_query::protobuf::AlterTableCmd>)> {
    let (range, cmds) = migration.node(s.statement).and_then(super::tree::alter_table)?;
    let (oid, table) = migration.existing_named(s, range, super::observe::RelationKind::Table)?;
    Some((oid, table, cmds))
}
