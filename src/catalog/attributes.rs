//! What the checks decide by among an object's attributes, read here once. The attributes are
//! the catalog query's words (they are what a difference shows); the few a check acts on are
//! read into values here instead of being compared as words where they are used.

use super::Attributes;

/// A constraint's kind, as the catalog query words its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintType {
    PrimaryKey,
    ForeignKey,
    Unique,
    Check,
    Exclusion,
    ConstraintTrigger,
    NotNull,
}

impl ConstraintType {
    fn from_word(word: &str) -> Option<ConstraintType> {
        Some(match word {
            "primary key" => ConstraintType::PrimaryKey,
            "foreign key" => ConstraintType::ForeignKey,
            "unique" => ConstraintType::Unique,
            "check" => ConstraintType::Check,
            "exclusion" => ConstraintType::Exclusion,
            "constraint trigger" => ConstraintType::ConstraintTrigger,
            "not null" => ConstraintType::NotNull,
            _ => return None,
        })
    }
}

/// Typed reads of an object's attributes.
pub trait Read {
    /// A table's row level security: enabled or not (`None` for what has none).
    fn row_level_security(&self) -> Option<bool>;
    /// A constraint's kind.
    fn constraint_type(&self) -> Option<ConstraintType>;
}

impl Read for Attributes {
    fn row_level_security(&self) -> Option<bool> {
        match self.get("row level security").map(String::as_str) {
            Some("enabled") => Some(true),
            Some("disabled") => Some(false),
            _ => None,
        }
    }

    fn constraint_type(&self) -> Option<ConstraintType> {
        self.get("type").and_then(|word| ConstraintType::from_word(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_words_the_catalog_query_writes() {
        let attrs = |key: &str, value: &str| Attributes::from([(key.to_string(), value.to_string())]);
        assert_eq!(attrs("row level security", "enabled").row_level_security(), Some(true));
        assert_eq!(attrs("row level security", "disabled").row_level_security(), Some(false));
        assert_eq!(Attributes::new().row_level_security(), None);
        assert_eq!(attrs("type", "foreign key").constraint_type(), Some(ConstraintType::ForeignKey));
        assert_eq!(attrs("type", "unique").constraint_type(), Some(ConstraintType::Unique));
        assert_eq!(attrs("type", "bigint").constraint_type(), None);
        // Every word the query writes for a constraint's type is read.
        let query = include_str!("query/relations.sql");
        let line = query.lines().find(|l| l.contains("CASE co.contype")).unwrap();
        let next = query.lines().skip_while(|l| !l.contains("CASE co.contype")).nth(1).unwrap();
        for word in format!("{line} {next}")
            .split("THEN '")
            .skip(1)
            .map(|w| w.split('\'').next().unwrap())
        {
            assert!(attrs("type", word).constraint_type().is_some(), "{word}");
        }
    }
}
