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
}

/// The changes from `before` to `after`, in the catalog's order.
pub fn summarize(before: &Snapshot, after: &Snapshot) -> Vec<SchemaChange> {
    after
        .differences_from(before)
        .into_iter()
        // A column's position moves when one before it is dropped: no change a reader acts on.
        .filter(|d| !matches!(&d.change, Change::Changed { attribute, .. } if attribute == "position"))
        .map(|difference| describe(difference, after))
        .collect()
}

fn describe(difference: Difference, after: &Snapshot) -> SchemaChange {
    let object = difference.object;
    let (sentence, destructive) = match difference.change {
        Change::Added if object.kind == ObjectKind::Table => (format!("adds {object}{}", table_parts(&object, after)), false),
        Change::Added => (format!("adds {object}"), false),
        Change::Removed => (format!("drops {object}"), holds_data(object.kind)),
        Change::Changed {
            attribute,
            expected,
            actual,
        } => {
            let long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.contains('\n') || v.chars().count() > 60);
            let narrows = attribute == "type" && narrows(expected.as_deref(), actual.as_deref());
            let sentence = if long(&expected) || long(&actual) {
                format!("changes the {attribute} of {object}")
            } else {
                format!(
                    "changes the {attribute} of {object} from {} to {}",
                    expected.as_deref().unwrap_or("not set"),
                    actual.as_deref().unwrap_or("not set")
                )
            };
            (sentence, narrows)
        }
    };
    SchemaChange {
        sentence,
        destructive,
        object,
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
    if from == "double precision" && to == "real" {
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
