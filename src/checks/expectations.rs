//! Expectations: the counts of objects the repo declares in `[expect]` of `dbgate.toml`, held
//! against what the migrations created; and `--update-expectations`, which writes the actual
//! counts back into the file, keeping its comments and layout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::catalog::{Attributes, ConstraintType, ObjectId, ObjectKind, ReadAttributes, Snapshot};
use crate::checks::outcome::{Suite, TestCaseResult};
use crate::failure::{Failure, Location};

/// dbgate.toml could not be read, understood or written while updating the expectations: the
/// user's file, so an input error.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The kinds of object that can be counted: the key in `[expect]`, the plural a message uses,
/// and which snapshot objects are of that kind.
pub struct Kind {
    pub key: &'static str,
    pub noun: &'static str,
    matches: fn(&ObjectId, &Attributes) -> bool,
}

fn constraint_of_type(id: &ObjectId, attrs: &Attributes, kind: ConstraintType) -> bool {
    id.kind == ObjectKind::Constraint && attrs.constraint_type() == Some(kind)
}

pub const KINDS: [Kind; 10] = [
    Kind {
        key: "tables",
        noun: "tables",
        matches: |id, _| id.kind == ObjectKind::Table,
    },
    Kind {
        key: "views",
        noun: "views",
        matches: |id, _| matches!(id.kind, ObjectKind::View | ObjectKind::MaterializedView),
    },
    Kind {
        key: "policies",
        noun: "policies",
        matches: |id, _| id.kind == ObjectKind::Policy,
    },
    Kind {
        key: "functions",
        noun: "functions",
        matches: |id, _| id.kind.is_routine(),
    },
    Kind {
        key: "triggers",
        noun: "triggers",
        matches: |id, _| id.kind == ObjectKind::Trigger,
    },
    Kind {
        key: "indexes",
        noun: "indexes",
        matches: |id, _| id.kind == ObjectKind::Index,
    },
    Kind {
        key: "foreign_keys",
        noun: "foreign keys",
        matches: |id, a| constraint_of_type(id, a, ConstraintType::ForeignKey),
    },
    Kind {
        key: "unique_constraints",
        noun: "unique constraints",
        matches: |id, a| constraint_of_type(id, a, ConstraintType::Unique),
    },
    Kind {
        key: "enum_types",
        noun: "enum types",
        matches: |id, _| id.kind == ObjectKind::EnumType,
    },
    Kind {
        key: "extensions",
        noun: "extensions",
        matches: |id, _| id.kind == ObjectKind::Extension,
    },
];

macro_rules! with_counts {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            pub tables: Option<Spanned<u64>>,
            pub views: Option<Spanned<u64>>,
            pub policies: Option<Spanned<u64>>,
            pub functions: Option<Spanned<u64>>,
            pub triggers: Option<Spanned<u64>>,
            pub indexes: Option<Spanned<u64>>,
            pub foreign_keys: Option<Spanned<u64>>,
            pub unique_constraints: Option<Spanned<u64>>,
            pub enum_types: Option<Spanned<u64>>,
            pub extensions: Option<Spanned<u64>>,
            $($extra)*
        }

        impl $name {
            /// The declared count for each kind, in the order of `KINDS`.
            fn declared(&self) -> [Option<&Spanned<u64>>; 10] {
                [
                    self.tables.as_ref(),
                    self.views.as_ref(),
                    self.policies.as_ref(),
                    self.functions.as_ref(),
                    self.triggers.as_ref(),
                    self.indexes.as_ref(),
                    self.foreign_keys.as_ref(),
                    self.unique_constraints.as_ref(),
                    self.enum_types.as_ref(),
                    self.extensions.as_ref(),
                ]
            }
        }
    };
}

with_counts! {
    /// `[expect.schema.<name>]`: counts in one schema.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SchemaCounts {}
}

with_counts! {
    /// `[expect]`: counts over every schema, per-schema counts, and RLS on the exposed schemas.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ExpectSection {
        pub rls_on_all_tables: Option<Spanned<bool>>,
        pub exposed_schemas: Option<Vec<String>>,
        #[serde(default)]
        pub schema: BTreeMap<String, SchemaCounts>,
    }
}

/// The `[expect]` section and the file it came from, for locations.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub section: ExpectSection,
    pub path: PathBuf,
    pub source: Arc<str>,
}

/// What the migrations created: in `after`, not in `baseline` (the image's and the preset's).
pub fn created<'a>(baseline: &'a Snapshot, after: &'a Snapshot) -> impl Iterator<Item = (&'a ObjectId, Attributes)> + 'a {
    after
        .objects
        .iter()
        .filter(move |(id, _)| !baseline.objects.contains_key(id.as_ref()))
        .map(|(id, attrs)| (id.as_ref(), attrs.attributes()))
}

/// The names of the created objects of one kind, optionally in one schema.
fn names_of(kind: &Kind, baseline: &Snapshot, after: &Snapshot, schema: Option<&str>) -> Vec<String> {
    created(baseline, after)
        .filter(|(id, attrs)| (kind.matches)(id, attrs))
        .filter(|(id, _)| schema.is_none_or(|s| id.schema.as_deref() == Some(s)))
        .map(|(id, _)| id.name.clone())
        .collect()
}

/// A count per kind key.
type Counted = BTreeMap<&'static str, usize>;

/// Actual counts, overall and per schema, for `--update-expectations`.
pub fn actual_counts(baseline: &Snapshot, after: &Snapshot) -> (Counted, BTreeMap<String, Counted>) {
    let mut overall = BTreeMap::new();
    let mut per_schema: BTreeMap<String, Counted> = BTreeMap::new();
    for kind in &KINDS {
        overall.insert(kind.key, 0);
    }
    for (id, attrs) in created(baseline, after) {
        for kind in KINDS.iter().filter(|k| (k.matches)(id, &attrs)) {
            *overall.entry(kind.key).or_default() += 1;
            if let Some(schema) = &id.schema {
                *per_schema.entry(schema.clone()).or_default().entry(kind.key).or_default() += 1;
            }
        }
    }
    (overall, per_schema)
}

impl Expectations {
    /// Reads `[expect]` from a config file, if it has one.
    pub fn load(path: &std::path::Path) -> Result<Option<Expectations>, ExpectationsError> {
        #[derive(Deserialize)]
        struct File {
            expect: Option<ExpectSection>,
        }
        let text: Arc<str> = std::fs::read_to_string(path)
            .map_err(|source| ExpectationsError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .into();
        let file: File = toml::from_str(&text).map_err(|e| ExpectationsError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Ok(file.expect.map(|section| Expectations {
            section,
            path: path.to_path_buf(),
            source: text,
        }))
    }

    fn location(&self, span: std::ops::Range<usize>) -> Location {
        let at = crate::script::position_at(&self.source, span.start.min(self.source.len()));
        Location {
            file: self.path.clone(),
            line: at.line,
            column: at.column,
        }
    }

    /// One test case per declared expectation.
    pub fn check(&self, baseline: &Snapshot, after: &Snapshot) -> Vec<TestCaseResult> {
        let mut cases = Vec::new();
        let scopes = std::iter::once((None, self.section.declared())).chain(
            self.section
                .schema
                .iter()
                .map(|(schema, counts)| (Some(schema.as_str()), counts.declared())),
        );
        for (schema, declared) in scopes {
            for (kind, expected) in KINDS.iter().zip(declared) {
                let Some(expected) = expected else { continue };
                let names = names_of(kind, baseline, after, schema);
                let in_schema = schema.map(|s| format!(" in schema {s}")).unwrap_or_default();
                let name = format!("{}{in_schema}", kind.noun);
                let want = *expected.get_ref() as usize;
                let mut case = TestCaseResult::new(Suite::Expectations, name, self.path.clone());
                if names.len() != want {
                    let mut failure = Failure::new(
                        format!("expected {want} {}{in_schema}, found {}", kind.noun, names.len()),
                        Some(self.location(expected.span())),
                    );
                    failure.details.push(format!(
                        "{}{in_schema} the migrations created: {}",
                        kind.noun,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ));
                    failure
                        .details
                        .push("if the change is intended, run dbgate check --update-expectations".to_string());
                    case.fail(failure);
                }
                cases.push(case);
            }
        }
        if let Some(flag) = self.section.rls_on_all_tables.as_ref().filter(|f| *f.get_ref()) {
            let exposed = self.section.exposed_schemas.clone().unwrap_or_else(|| vec!["public".to_string()]);
            let mut case = TestCaseResult::new(
                Suite::Expectations,
                format!("row level security on every table in {}", exposed.join(", ")),
                self.path.clone(),
            );
            // The migrations' tables, and any whose attributes they changed: not what was there
            // before the first migration (the preset's, the setup files', the tool's
            // bookkeeping table).
            let theirs = |id: &ObjectId, attrs: &_| baseline.objects.get(id) != Some(attrs);
            for (id, attrs) in after
                .objects
                .iter()
                .filter(|(id, attrs)| id.kind == ObjectKind::Table && theirs(id, attrs))
            {
                let attrs = attrs.attributes();
                let in_exposed = id.schema.as_ref().is_some_and(|s| exposed.contains(s));
                if in_exposed && attrs.row_level_security() != Some(true) {
                    case.fail(Failure::new(
                        format!("table {} has row level security disabled (rls_on_all_tables = true)", id.name),
                        Some(self.location(flag.span())),
                    ));
                }
            }
            cases.push(case);
        }
        cases
    }
}

/// Writes the actual counts into `path` (created if missing): every count already declared is
/// updated in place, comments and layout kept; with no `[expect]` yet, one is added with every
/// count. Returns what changed, in words.
pub fn update_file(path: &std::path::Path, baseline: &Snapshot, after: &Snapshot) -> Result<Vec<String>, ExpectationsError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let invalid = |message: String| ExpectationsError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    let (overall, per_schema) = actual_counts(baseline, after);
    let mut changes = Vec::new();
    let fresh = !document.contains_key("expect");
    let expect = document
        .entry("expect")
        .or_insert(toml_edit::table())
        .as_table_mut()
        .ok_or_else(|| invalid("[expect] is not a table".to_string()))?;
    let mut set = |table: &mut toml_edit::Table, key: &str, value: usize, label: String, always: bool| {
        let old = table.get(key).and_then(|v| v.as_integer());
        if (always || old.is_some()) && old != Some(value as i64) {
            match table.get_mut(key).and_then(|item| item.as_value_mut()) {
                // In place, so that the comment after the number stays.
                Some(existing) => {
                    let decor = existing.decor().clone();
                    *existing = toml_edit::Value::from(value as i64);
                    *existing.decor_mut() = decor;
                }
                None => table[key] = toml_edit::value(value as i64),
            }
            changes.push(match old {
                Some(old) => format!("{label}: {old} -> {value}"),
                None => format!("{label}: {value}"),
            });
        }
    };
    for kind in &KINDS {
        set(expect, kind.key, overall[kind.key], kind.key.to_string(), fresh);
    }
    if let Some(schemas) = expect.get_mut("schema").and_then(|s| s.as_table_like_mut()) {
        for (schema, table) in schemas.iter_mut() {
            let Some(table) = table.as_table_mut() else { continue };
            let actual = per_schema.get(schema.get()).cloned().unwrap_or_default();
            for kind in &KINDS {
                let label = format!("schema.{}.{}", schema.get(), kind.key);
                set(table, kind.key, actual.get(kind.key).copied().unwrap_or(0), label, false);
            }
        }
    }
    std::fs::write(path, document.to_string()).map_err(|source| ExpectationsError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(changes)
}
