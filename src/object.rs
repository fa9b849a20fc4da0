//! The objects of a schema, as a user names them.

use std::fmt;

/// What kind of object a snapshot holds, in the words a user (and the JSON report) says it.
/// The variants are in the alphabetical order of their words: objects sort by kind, and so in
/// the order they did when the kind was its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum ObjectKind {
    #[serde(rename = "aggregate")]
    Aggregate,
    #[serde(rename = "column")]
    Column,
    #[serde(rename = "composite type")]
    CompositeType,
    #[serde(rename = "constraint")]
    Constraint,
    #[serde(rename = "default privilege")]
    DefaultPrivilege,
    #[serde(rename = "domain")]
    Domain,
    #[serde(rename = "enum type")]
    EnumType,
    #[serde(rename = "event trigger")]
    EventTrigger,
    #[serde(rename = "extension")]
    Extension,
    #[serde(rename = "foreign table")]
    ForeignTable,
    #[serde(rename = "function")]
    Function,
    #[serde(rename = "index")]
    Index,
    #[serde(rename = "materialized view")]
    MaterializedView,
    #[serde(rename = "policy")]
    Policy,
    #[serde(rename = "privilege")]
    Privilege,
    #[serde(rename = "procedure")]
    Procedure,
    #[serde(rename = "publication")]
    Publication,
    #[serde(rename = "range type")]
    RangeType,
    #[serde(rename = "role")]
    Role,
    #[serde(rename = "rule")]
    Rule,
    #[serde(rename = "schema")]
    Schema,
    #[serde(rename = "sequence")]
    Sequence,
    #[serde(rename = "table")]
    Table,
    #[serde(rename = "trigger")]
    Trigger,
    #[serde(rename = "view")]
    View,
    #[serde(rename = "window function")]
    WindowFunction,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 26] = [
        ObjectKind::Aggregate,
        ObjectKind::Column,
        ObjectKind::CompositeType,
        ObjectKind::Constraint,
        ObjectKind::DefaultPrivilege,
        ObjectKind::Domain,
        ObjectKind::EnumType,
        ObjectKind::EventTrigger,
        ObjectKind::Extension,
        ObjectKind::ForeignTable,
        ObjectKind::Function,
        ObjectKind::Index,
        ObjectKind::MaterializedView,
        ObjectKind::Policy,
        ObjectKind::Privilege,
        ObjectKind::Procedure,
        ObjectKind::Publication,
        ObjectKind::RangeType,
        ObjectKind::Role,
        ObjectKind::Rule,
        ObjectKind::Schema,
        ObjectKind::Sequence,
        ObjectKind::Table,
        ObjectKind::Trigger,
        ObjectKind::View,
        ObjectKind::WindowFunction,
    ];

    /// The word, as the catalog query and the report write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Aggregate => "aggregate",
            ObjectKind::Column => "column",
            ObjectKind::CompositeType => "composite type",
            ObjectKind::Constraint => "constraint",
            ObjectKind::DefaultPrivilege => "default privilege",
            ObjectKind::Domain => "domain",
            ObjectKind::EnumType => "enum type",
            ObjectKind::EventTrigger => "event trigger",
            ObjectKind::Extension => "extension",
            ObjectKind::ForeignTable => "foreign table",
            ObjectKind::Function => "function",
            ObjectKind::Index => "index",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Policy => "policy",
            ObjectKind::Privilege => "privilege",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Publication => "publication",
            ObjectKind::RangeType => "range type",
            ObjectKind::Role => "role",
            ObjectKind::Rule => "rule",
            ObjectKind::Schema => "schema",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::Trigger => "trigger",
            ObjectKind::View => "view",
            ObjectKind::WindowFunction => "window function",
        }
    }

    /// The kind the catalog query's word names.
    pub fn from_word(word: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|kind| kind.as_str() == word)
    }

    /// A table, view, materialized view or foreign table: what has columns.
    pub fn is_relation(self) -> bool {
        matches!(
            self,
            ObjectKind::Table | ObjectKind::View | ObjectKind::MaterializedView | ObjectKind::ForeignTable
        )
    }

    /// A function, procedure, aggregate or window function.
    pub fn is_routine(self) -> bool {
        matches!(
            self,
            ObjectKind::Function | ObjectKind::Procedure | ObjectKind::Aggregate | ObjectKind::WindowFunction
        )
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An object's kind and name, as a user says it: (index, "idx_orders_created on public.orders"),
/// and the schema it lives in, as the catalog says it (none for schemas, roles, privileges and
/// the like). The name already says the schema, so the schema adds nothing to equality or order;
/// the JSON report keeps to kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ObjectId {
    pub kind: ObjectKind,
    pub name: String,
    #[serde(skip)]
    pub schema: Option<String>,
}

impl ObjectId {
    /// An object named as the catalog names it, its schema not set apart.
    pub fn new(kind: ObjectKind, name: impl Into<String>) -> ObjectId {
        ObjectId {
            kind,
            name: name.into(),
            schema: None,
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A pattern over objects: a kind and a name where `*` stands for any characters
/// (`view:*`, `function:public.refresh_*`, `table:*_fast`). It covers the objects it names and
/// their parts: a table's columns, indexes, constraints, triggers, policies, rules and the
/// privileges on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPattern {
    pub kind: ObjectKind,
    pub name: String,
}

/// A pattern and where it is written: dbgate.toml's `[rollback] ignore`, or a rollback's
/// `-- dbgate:ignore` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    pub pattern: ObjectPattern,
    pub source: crate::failure::Location,
}

/// A pattern whose kind is not one dbgate knows, or that has no `kind:` at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

impl ObjectPattern {
    pub fn parse(text: &str) -> Result<ObjectPattern, PatternError> {
        let kinds = || ObjectKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let Some((kind, name)) = text.trim().split_once(':') else {
            return Err(PatternError(format!(
                "{text:?} is not a pattern like \"view:*\" or \"function:public.refresh_*\" (a kind, a colon, a name where * stands for any characters)"
            )));
        };
        let kind = kind.trim();
        let Some(kind) = ObjectKind::from_word(kind) else {
            return Err(PatternError(format!(
                "unknown object kind {kind:?} in {text:?} (kinds: {})",
                kinds()
            )));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(PatternError(format!("{text:?} names no object (\"*\" stands for every one)")));
        }
        Ok(ObjectPattern {
            kind,
            name: name.to_string(),
        })
    }

    /// Whether the pattern covers `object`: the object itself, or a part of one it names.
    /// `relation_kind` says what kind of relation a name is (a part names its relation alone:
    /// "i on public.t").
    pub fn covers(&self, object: &ObjectId, relation_kind: impl Fn(&str) -> Option<ObjectKind>) -> bool {
        if object.kind == self.kind && glob(&self.name, &object.name) {
            return true;
        }
        // `function:public.refresh` names every overload: without arguments, the name alone.
        if object.kind == self.kind && object.kind.is_routine() && !self.name.contains('(') {
            if let Some((name, _)) = object.name.split_once('(') {
                if glob(&self.name, name) {
                    return true;
                }
            }
        }
        let Some((kind, name)) = owner_of(object) else { return false };
        let kind = kind.or_else(|| relation_kind(&name));
        kind == Some(self.kind) && glob(&self.name, &name)
    }
}

impl fmt::Display for ObjectPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// The object a part belongs to: a column's relation (of some relation kind), the relation an
/// index or policy is "on", the object a privilege is granted on.
fn owner_of(object: &ObjectId) -> Option<(Option<ObjectKind>, String)> {
    match object.kind {
        ObjectKind::Column => Some((None, strip_last_identifier(&object.name)?.to_string())),
        ObjectKind::Index | ObjectKind::Constraint | ObjectKind::Trigger | ObjectKind::Policy | ObjectKind::Rule => {
            let (_, on) = object.name.split_once(" on ")?;
            match on.strip_prefix("domain ") {
                Some(domain) => Some((Some(ObjectKind::Domain), domain.to_string())),
                None => Some((None, on.to_string())),
            }
        }
        ObjectKind::Privilege => {
            // "SELECT on table public.t to bob", "UPDATE on column public.t.c to bob"
            let (_, rest) = object.name.split_once(" on ")?;
            let (on_what, _) = rest.rsplit_once(" to ")?;
            let kind = ObjectKind::ALL
                .into_iter()
                .filter(|k| on_what.starts_with(&format!("{} ", k.as_str())))
                .max_by_key(|k| k.as_str().len())?;
            let name = &on_what[kind.as_str().len() + 1..];
            if kind == ObjectKind::Column {
                return Some((None, strip_last_identifier(name)?.to_string()));
            }
            Some((Some(kind), name.to_string()))
        }
        _ => None,
    }
}

/// "public.t.\"odd.name\"" -> "public.t": a qualified name without its last identifier.
pub fn strip_last_identifier(name: &str) -> Option<&str> {
    let cut = if name.ends_with('"') {
        // The opening quote of the last identifier: quotes inside are doubled.
        let bytes = name.as_bytes();
        let mut i = bytes.len() - 1;
        loop {
            let open = name[..i].rfind('"')?;
            if open > 0 && bytes[open - 1] == b'"' {
                i = open - 1;
                continue;
            }
            break open;
        }
    } else {
        name.rfind('.')? + 1
    };
    name[..cut].strip_suffix('.')
}

/// Whether `text` matches `pattern`, where `*` stands for any characters (none included).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split gives one part at least");
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_and_write_their_words() {
        for kind in ObjectKind::ALL {
            assert_eq!(ObjectKind::from_word(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(ObjectKind::from_word("tabel"), None);
        // Sorted as their words are.
        let mut words: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.as_str()).collect();
        words.sort();
        assert_eq!(words, ObjectKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>());
    }

    fn id(kind: ObjectKind, name: &str) -> ObjectId {
        ObjectId {
            kind,
            name: name.to_string(),
            schema: None,
        }
    }

    /// Relations named "v..." are views, the rest tables.
    fn relation(name: &str) -> Option<ObjectKind> {
        Some(if name.starts_with("public.v") {
            ObjectKind::View
        } else {
            ObjectKind::Table
        })
    }

    #[test]
    fn a_pattern_covers_its_objects_and_their_parts() {
        let views = ObjectPattern::parse("view:*").unwrap();
        assert!(views.covers(&id(ObjectKind::View, "public.v"), relation));
        assert!(views.covers(&id(ObjectKind::Privilege, "SELECT on view public.v to anon"), relation));
        assert!(!views.covers(&id(ObjectKind::MaterializedView, "public.mv"), relation));
        assert!(!views.covers(&id(ObjectKind::Table, "public.t"), relation));
        let fast = ObjectPattern::parse("table:*_fast").unwrap();
        assert!(fast.covers(&id(ObjectKind::Table, "public.orders_fast"), relation));
        assert!(!views.covers(&id(ObjectKind::Column, "public.orders_fast.id"), relation));
        assert!(views.covers(&id(ObjectKind::Rule, "r on public.v"), relation));
        assert!(fast.covers(&id(ObjectKind::Column, "public.orders_fast.id"), relation));
        assert!(fast.covers(&id(ObjectKind::Index, "i on public.orders_fast"), relation));
        assert!(fast.covers(
            &id(ObjectKind::Privilege, "UPDATE on column public.orders_fast.id to bob"),
            relation
        ));
        assert!(!fast.covers(&id(ObjectKind::Table, "public.orders_fast_log"), relation));
        assert!(!fast.covers(&id(ObjectKind::Column, "public.orders.fast"), relation));
        let refresh = ObjectPattern::parse("function:public.refresh_*").unwrap();
        assert!(refresh.covers(&id(ObjectKind::Function, "public.refresh_all(integer)"), relation));
        assert!(!refresh.covers(&id(ObjectKind::Function, "app.refresh_all()"), relation));
        assert!(!refresh.covers(&id(ObjectKind::Procedure, "public.refresh_all()"), relation));
        let overloads = ObjectPattern::parse("function:public.f").unwrap();
        assert!(overloads.covers(&id(ObjectKind::Function, "public.f(integer)"), relation));
        assert!(!overloads.covers(&id(ObjectKind::Function, "public.fg(integer)"), relation));
        let one = ObjectPattern::parse("function:public.f(integer)").unwrap();
        assert!(!one.covers(&id(ObjectKind::Function, "public.f(text)"), relation));
        let exact = ObjectPattern::parse("table:public.t").unwrap();
        assert!(exact.covers(&id(ObjectKind::Column, "public.t.\"odd.name\""), relation));
        assert!(!exact.covers(&id(ObjectKind::Column, "public.t2.x"), relation));
        assert!(ObjectPattern::parse("materialized view:a*b*c")
            .unwrap()
            .covers(&id(ObjectKind::MaterializedView, "abxbc"), relation));
    }

    #[test]
    fn a_pattern_needs_a_kind_dbgate_knows() {
        assert!(ObjectPattern::parse("tabel:*")
            .unwrap_err()
            .0
            .contains("unknown object kind \"tabel\""));
        assert!(ObjectPattern::parse("orders").unwrap_err().0.contains("is not a pattern"));
        assert!(ObjectPattern::parse("view:").unwrap_err().0.contains("names no object"));
    }

    #[test]
    fn strips_the_last_identifier_of_a_name() {
        assert_eq!(strip_last_identifier("public.t.c"), Some("public.t"));
        assert_eq!(strip_last_identifier("public.t.\"a.\"\"b\""), Some("public.t"));
        assert_eq!(strip_last_identifier("c"), None);
    }
}
