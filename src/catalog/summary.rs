//! What a migration does to the schema, in words for a reviewer: "adds table public.orders
//! (5 columns, RLS on, 2 policies)", "drops column public.users.email", "changes the default of
//! column public.tickets.status from 'new'::text to 'draft'::text". From the catalog before and
//! after the migration's first run; what loses data (a dropped table, column or type, a type
//! change that narrows) is marked destructive.

use serde::{Deserialize, Serialize};

use super::{Change, Difference, ObjectId, ObjectKind, Snapshot};

/// One change a migration makes to the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    /// "adds table public.orders (5 columns, RLS on, 2 policies)".
    pub sentence: String,
    /// It can lose data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destructive: bool,
    pub object: ObjectId,
    pub kind: SchemaChangeKind,
    /// For a rename: the object's name before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<ObjectId>,
}

/// What a change does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    Adds,
    Drops,
    Renames,
    /// One attribute of it (a type, a default, a privilege...).
    Changes,
}

/// The changes from `before` to `after`, in the catalog's order.
pub fn summarize(before: &Snapshot, after: &Snapshot) -> Vec<SchemaChange> {
    let differences: Vec<Difference> = after
        .differences_from(before)
        .into_iter()
        // A column's position moves when one before it is dropped: no change a reader acts on.
        .filter(|d| !matches!(&d.change, Change::Changed { attribute, .. } if attribute == "position"))
        .collect();
    let renames = renames(&differences, before, after);
    differences
        .into_iter()
        .filter_map(|difference| {
            if let Some((from, to)) = renames
                .iter()
                .find(|(from, to)| *from == difference.object || *to == difference.object)
            {
                // Said once, at the object it became.
                return (*to == difference.object).then(|| SchemaChange {
                    sentence: format!("renames {from} to {}", to.name),
                    destructive: false,
                    object: to.clone(),
                    kind: SchemaChangeKind::Renames,
                    renamed_from: Some(from.clone()),
                });
            }
            Some(describe(difference, after))
        })
        .collect()
}

/// An object gone and one of its kind new whose properties are the same, and for a table the
/// same columns: a rename (ALTER ... RENAME), which keeps the data, not a drop and a create.
fn renames(differences: &[Difference], before: &Snapshot, after: &Snapshot) -> Vec<(ObjectId, ObjectId)> {
    let columns = |snapshot: &Snapshot, table: &ObjectId| -> Vec<(String, String)> {
        snapshot
            .objects
            .iter()
            .filter(|(id, _)| {
                id.kind == ObjectKind::Column && id.name.strip_prefix(table.name.as_str()).is_some_and(|r| r.starts_with('.'))
            })
            .map(|(id, p)| (id.name[table.name.len()..].to_string(), p.get("type").unwrap_or_default()))
            .collect()
    };
    let mut pairs = Vec::new();
    for gone in differences.iter().filter(|d| d.change == Change::Removed) {
        let was = &gone.object;
        let Some(old) = before.objects.get(was) else { continue };
        let renamed = differences.iter().filter(|d| d.change == Change::Added).find(|added| {
            let is = &added.object;
            is.kind == was.kind
                && after.objects.get(is).is_some_and(|new| new == old)
                && !pairs.iter().any(|(_, to): &(ObjectId, ObjectId)| to == is)
                && (!was.kind.is_relation() || columns(before, was) == columns(after, is))
        });
        if let Some(added) = renamed {
            pairs.push((was.clone(), added.object.clone()));
        }
    }
    pairs
}

fn describe(difference: Difference, after: &Snapshot) -> SchemaChange {
    let object = difference.object;
    let (sentence, destructive, kind) = match difference.change {
        Change::Added if object.kind == ObjectKind::Table => (
            format!("adds {object}{}", table_parts(&object, after)),
            false,
            SchemaChangeKind::Adds,
        ),
        Change::Added => (format!("adds {object}"), false, SchemaChangeKind::Adds),
        Change::Removed => (format!("drops {object}"), holds_data(object.kind), SchemaChangeKind::Drops),
        Change::Changed {
            attribute,
            expected,
            actual,
        } => {
            let narrows = attribute == "type" && narrows(expected.as_deref(), actual.as_deref());
            let sentence = if super::diff::is_long(&expected) || super::diff::is_long(&actual) {
                format!("changes the {attribute} of {object}")
            } else {
                format!(
                    "changes the {attribute} of {object} from {} to {}",
                    expected.as_deref().unwrap_or("not set"),
                    actual.as_deref().unwrap_or("not set")
                )
            };
            (sentence, narrows, SchemaChangeKind::Changes)
        }
    };
    SchemaChange {
        sentence,
        destructive,
        object,
        kind,
        renamed_from: None,
    }
}

/// What dropping loses: rows, or the values of every column of the type.
fn holds_data(kind: ObjectKind) -> bool {
    matches!(
        kind,
        ObjectKind::Table
            | ObjectKind::Column
            | ObjectKind::Schema
            | ObjectKind::Sequence
            | ObjectKind::MaterializedView
            | ObjectKind::EnumType
            | ObjectKind::CompositeType
            | ObjectKind::Domain
            | ObjectKind::RangeType
    )
}

/// " (5 columns, RLS on, 2 policies)" for a new table.
fn table_parts(table: &ObjectId, after: &Snapshot) -> String {
    let count =
        |kind: ObjectKind, belongs: &dyn Fn(&str) -> bool| after.objects.keys().filter(|id| id.kind == kind && belongs(&id.name)).count();
    let columns = count(ObjectKind::Column, &|name| {
        name.strip_prefix(table.name.as_str()).is_some_and(|rest| rest.starts_with('.'))
    });
    let on_table = |name: &str| name.ends_with(&format!(" on {}", table.name));
    let policies = count(ObjectKind::Policy, &on_table);
    let indexes = count(ObjectKind::Index, &on_table);
    let rls = after
        .objects
        .get(table)
        .and_then(|p| p.get("row level security"))
        .is_some_and(|v| v == "enabled");
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let mut parts = vec![plural(columns, "column")];
    if rls {
        parts.push("RLS on".to_string());
    }
    if policies > 0 {
        parts.push(plural(policies, "policy").replace("policys", "policies"));
    }
    if indexes > 0 {
        parts.push(plural(indexes, "index").replace("indexs", "indexes"));
    }
    format!(" ({})", parts.join(", "))
}

/// Whether a column's new type can hold fewer values than its old one: a smaller integer or
/// float, a shorter varchar or char, a numeric of less precision or scale, text to a bounded
/// string, a timestamp to a date. A change not listed is not marked (it fails to run, or
/// casts every value).
fn narrows(from: Option<&str>, to: Option<&str>) -> bool {
    let (Some(from), Some(to)) = (from, to) else { return false };
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        _ => None,
    };
    if let (Some(a), Some(b)) = (rank(from), rank(to)) {
        return b < a;
    }
    let float = |t: &str| t == "double precision" || t == "real";
    if (from == "double precision" && to == "real") || (float(from) && rank(to).is_some()) {
        return true;
    }
    if from == "numeric" && to.starts_with("numeric(") {
        return true;
    }
    fn bounded(t: &str) -> Option<(&'static str, &str)> {
        ["character varying(", "character(", "numeric("]
            .into_iter()
            .find_map(|prefix| Some((prefix, t.strip_prefix(prefix)?.strip_suffix(')')?)))
    }
    if from == "text" || from == "character varying" {
        return bounded(to).is_some_and(|(prefix, _)| prefix != "numeric(");
    }
    if let (Some((a, from_args)), Some((b, to_args))) = (bounded(from), bounded(to)) {
        let numbers = |args: &str| args.split(',').map(|n| n.trim().parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
        return a == b && numbers(to_args).iter().zip(numbers(from_args)).any(|(t, f)| *t < f);
    }
    from.starts_with("timestamp") && to == "date"
}

#[cfg(test)]
mod tests {
    use super::narrows;

    #[test]
    fn narrowing_type_changes_are_told_from_widening_ones() {
        for (from, to) in [
            ("bigint", "integer"),
            ("integer", "smallint"),
            ("double precision", "real"),
            ("text", "character varying(20)"),
            ("character varying(50)", "character varying(20)"),
            ("numeric(10,2)", "numeric(8,2)"),
            ("numeric(10,2)", "numeric(10,0)"),
            ("timestamp with time zone", "date"),
            ("numeric", "numeric(5,2)"),
            ("double precision", "integer"),
        ] {
            assert!(narrows(Some(from), Some(to)), "{from} -> {to}");
        }
        for (from, to) in [
            ("integer", "bigint"),
            ("character varying(20)", "character varying(50)"),
            ("character varying(20)", "text"),
            ("numeric(8,2)", "numeric(10,2)"),
            ("date", "timestamp without time zone"),
            ("text", "numeric(10,2)"),
        ] {
            assert!(!narrows(Some(from), Some(to)), "{from} -> {to}");
        }
    }
}
