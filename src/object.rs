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

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
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
}
