//! Differences that change no behaviour: the same columns in another order, a routine body
//! laid out otherwise, a timestamp frozen into a definition when it was created, a view's
//! `SELECT *` expanded in a new column order. On real repositories most rollbacks that "do not
//! restore the schema" differ only so (a down that adds back a dropped column puts it last);
//! they are said in one line each, not failed on.

use std::collections::BTreeMap;

use super::{Change, Difference, ObjectId, ObjectKind, Snapshot, Wording};
use crate::failure::WarningKind;
use crate::script::scanner;

/// Differences of one kind that change no behaviour, grouped by the object they are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Harmless {
    pub kind: WarningKind,
    /// The table whose columns moved, the routine, the view.
    pub object: ObjectId,
    pub differences: Vec<Difference>,
    /// For a column order: each column that moved, its position before and after (1-based).
    moved: Vec<(String, usize, usize)>,
}

impl Harmless {
    /// One sentence.
    pub fn describe(&self, wording: &Wording) -> String {
        let object = &self.object;
        match self.kind {
            WarningKind::ColumnOrder => {
                let moved: Vec<String> = self
                    .moved
                    .iter()
                    .map(|(column, was, is)| format!("{column} was {}, is {}", ordinal(*was), ordinal(*is)))
                    .collect();
                format!(
                    "columns of {} are in another order {}: {}",
                    object.name,
                    wording.after,
                    moved.join(", ")
                )
            }
            WarningKind::RoutineLayout => {
                format!("the body of {object} differs {} only in white space or comments", wording.after)
            }
            WarningKind::FrozenTimestamp => {
                let what: Vec<&str> = self.differences.iter().filter_map(attribute).collect();
                format!(
                    "the {} of {object} differs {} only in a timestamp frozen when the statement ran ('now', 'today')",
                    what.join(" and "),
                    wording.after
                )
            }
            WarningKind::ExpandedStar => format!(
                "the definition of {object} lists the same columns in another order {} (a SELECT * expanded in its tables' new column order)",
                wording.after
            ),
            // Not a difference of the schema: the server check says these itself.
            WarningKind::ServerChange
            | WarningKind::Edited
            | WarningKind::OutOfOrder
            | WarningKind::Lint
            | WarningKind::DroppedData
            | WarningKind::Slow => {
                format!("{object}: said by its own check")
            }
        }
    }
}

fn attribute(difference: &Difference) -> Option<&str> {
    match &difference.change {
        Change::Changed { attribute, .. } => Some(attribute),
        _ => None,
    }
}

/// Splits `differences` (of `actual` from `expected`) into those that change behaviour and
/// those that do not. `freezes`: the scripts that led here cast 'now', 'today', 'tomorrow' or
/// 'yesterday' (without it, no literal is taken for a frozen one).
pub fn separate(differences: Vec<Difference>, expected: &Snapshot, actual: &Snapshot, freezes: bool) -> (Vec<Difference>, Vec<Harmless>) {
    let dates = if freezes { frozen_dates() } else { Vec::new() };
    let mut real = Vec::new();
    let mut harmless: Vec<Harmless> = Vec::new();
    // Column positions, by table: judged together once all are seen.
    let mut positions: BTreeMap<String, Vec<Difference>> = BTreeMap::new();
    for difference in differences {
        let Change::Changed {
            attribute,
            expected: Some(was),
            actual: Some(is),
        } = &difference.change
        else {
            real.push(difference);
            continue;
        };
        let object = &difference.object;
        if object.kind == ObjectKind::Column && attribute == "position" {
            if let Some(table) = crate::object::strip_last_identifier(&object.name) {
                positions.entry(table.to_string()).or_default().push(difference);
                continue;
            }
        }
        let kind = if attribute == "body" && object.kind.is_routine() && layout_only(language(actual, object).as_deref(), was, is) {
            Some(WarningKind::RoutineLayout)
        } else if attribute != "body" && freezes && same_but_frozen(was, is, &dates) {
            Some(WarningKind::FrozenTimestamp)
        } else if attribute == "definition"
            && matches!(object.kind, ObjectKind::View | ObjectKind::MaterializedView)
            && sorted_select_lists(was, is, &dates)
        {
            Some(WarningKind::ExpandedStar)
        } else {
            None
        };
        let Some(kind) = kind else {
            real.push(difference);
            continue;
        };
        // A column default names its column, not its table: group frozen timestamps by object.
        match harmless.iter_mut().find(|h| h.kind == kind && h.object == *object) {
            Some(group) => group.differences.push(difference),
            None => harmless.push(Harmless {
                kind,
                object: object.clone(),
                differences: vec![difference],
                moved: Vec::new(),
            }),
        }
    }
    for (table, differences) in positions {
        let moved = moved_columns(&table, expected, actual);
        // Positions that changed only because a column was added or removed (reported on its
        // own) say nothing more.
        if moved.is_empty() {
            continue;
        }
        let kind = actual
            .objects
            .keys()
            .chain(expected.objects.keys())
            .find(|id| id.kind.is_relation() && id.name == table)
            .map_or(ObjectKind::Table, |id| id.kind);
        harmless.push(Harmless {
            kind: WarningKind::ColumnOrder,
            object: ObjectId {
                kind,
                name: table,
                schema: None,
            },
            differences,
            moved,
        });
    }
    (real, harmless)
}

fn language(snapshot: &Snapshot, object: &ObjectId) -> Option<String> {
    snapshot.objects.get(object).and_then(|properties| properties.get("language"))
}

/// Bodies in SQL or PL/pgSQL that are the same tokens: white space and comments between
/// tokens do not change what they do. (In other languages, Python's say, white space can.)
fn layout_only(language: Option<&str>, was: &str, is: &str) -> bool {
    matches!(language, Some("sql" | "plpgsql")) && same_tokens(was, is, case_folded)
}

/// Keywords and unquoted names in lower case, as PostgreSQL reads them; literals and quoted
/// names as they are.
fn case_folded(token: &str) -> String {
    if token.contains(['\'', '"', '$']) {
        token.to_string()
    } else {
        token.to_lowercase()
    }
}

/// Whether two texts are the same tokens, comments left out, each token as `normal` gives it;
/// false when either does not scan.
fn same_tokens(was: &str, is: &str, normal: impl Fn(&str) -> String) -> bool {
    match (words(was), words(is)) {
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().zip(&b).all(|(a, b)| normal(a) == normal(b)),
        _ => false,
    }
}

/// The tokens of a text, comments left out.
fn words(text: &str) -> Option<Vec<&str>> {
    let tokens = scanner::tokens(text).ok()?;
    Some(
        tokens
            .iter()
            .filter(|t| !scanner::is_comment(t))
            .map(|t| &text[t.start as usize..t.end as usize])
            .collect(),
    )
}

/// Whether two texts are the same but for timestamps frozen within a day of each other.
fn same_but_frozen(was: &str, is: &str, dates: &[String]) -> bool {
    match (unfrozen(was, dates), unfrozen(is, dates)) {
        (Some((a, a_days)), Some((b, b_days))) if a == b && a != was => {
            // Two runs of 'now' in one gate are hours apart, not days.
            let days: Vec<usize> = a_days.into_iter().chain(b_days).collect();
            days.iter().max().zip(days.iter().min()).is_some_and(|(max, min)| max - min <= 1)
        }
        _ => false,
    }
}

/// The text with each literal frozen around now ('2026-11-27 10:00:02'::timestamp without time
/// zone, '2026-11-27'::date: a string cast to a date or timestamp, of yesterday, today or
/// tomorrow) made the same, and the day (index in `dates`) of each; `None` when it does not scan.
fn unfrozen(text: &str, dates: &[String]) -> Option<(String, Vec<usize>)> {
    let tokens = scanner::tokens(text).ok()?;
    let word = |i: usize| tokens.get(i).map(|t| &text[t.start as usize..t.end as usize]);
    let mut out = String::with_capacity(text.len());
    let mut days = Vec::new();
    let mut at = 0;
    for (i, token) in tokens.iter().enumerate() {
        let (start, end) = (token.start as usize, token.end as usize);
        out.push_str(&text[at..start]);
        let literal = &text[start..end];
        let cast = word(i + 1) == Some("::")
            && word(i + 2).is_some_and(|w| {
                w.eq_ignore_ascii_case("date") || w.eq_ignore_ascii_case("timestamp") || w.eq_ignore_ascii_case("timestamptz")
            });
        let day = literal
            .strip_prefix('\'')
            .and_then(|inner| dates.iter().position(|date| inner.starts_with(date.as_str())));
        match day.filter(|_| cast) {
            Some(day) => {
                out.push_str("'<frozen>'");
                days.push(day);
            }
            None => out.push_str(literal),
        }
        at = end;
    }
    out.push_str(&text[at..]);
    Some((out, days))
}

/// Whether a script casts a word PostgreSQL turns into the time it runs ('now', 'today',
/// 'tomorrow', 'yesterday'), so that what it creates holds a frozen timestamp.
pub fn freezes_time(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    ["'now'", "'today'", "'tomorrow'", "'yesterday'"].iter().any(|w| lower.contains(w))
}

/// Yesterday, today and tomorrow (UTC), as `YYYY-MM-DD`: a literal frozen during this run
/// holds one of them, whatever the server's time zone.
fn frozen_dates() -> Vec<String> {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    (days - 1..=days + 1).map(civil_date).collect()
}

/// Days since 1970-01-01 as a date (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Whether two view definitions are the same but for the order of the items of their outer
/// select list (and frozen timestamps): the columns a `SELECT *` expands to, in their table's
/// new order. Only the outer list of a view without set operations: a branch of a UNION, or a
/// subquery compared by row, whose columns move changes what the view returns.
fn sorted_select_lists(was: &str, is: &str, dates: &[String]) -> bool {
    let normal = |text: &str| {
        let (text, _) = unfrozen(text, dates)?;
        canonical(&words(&text)?.into_iter().map(str::to_string).collect::<Vec<_>>())
    };
    match (normal(was), normal(is)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The tokens with the outer select list's items sorted: `SELECT b, a FROM` and `SELECT a, b
/// FROM` read the same. The list runs from the first SELECT outside parentheses (after a WITH's
/// queries) to the first word at its depth that ends it. `None` for a definition with a set
/// operation.
fn canonical(tokens: &[String]) -> Option<Vec<String>> {
    const ENDS: [&str; 11] = [
        "from", "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for", "into",
    ];
    let is = |t: &String, words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if tokens.iter().any(|t| is(t, &["union", "intersect", "except"])) {
        return None;
    }
    let mut depth = 0usize;
    let start = tokens.iter().position(|t| {
        match t.as_str() {
            "(" | "[" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && t.eq_ignore_ascii_case("select")
    })? + 1;
    // The items of the list, split at commas at its depth.
    let mut items: Vec<Vec<String>> = vec![Vec::new()];
    let mut depth = 0usize;
    let mut end = start;
    while end < tokens.len() {
        let t = &tokens[end];
        if depth == 0 && (t == ")" || t == ";" || is(t, &ENDS)) {
            break;
        }
        match t.as_str() {
            "(" | "[" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && t == "," {
            items.push(Vec::new());
        } else {
            items.last_mut().expect("one at least").push(t.clone());
        }
        end += 1;
    }
    items.sort();
    let mut out = tokens[..start].to_vec();
    for (n, item) in items.into_iter().enumerate() {
        if n > 0 {
            out.push(",".to_string());
        }
        out.extend(item);
    }
    out.extend_from_slice(&tokens[end..]);
    Some(out)
}

/// The columns of `table` that are in both snapshots and moved: those outside the longest run
/// of columns that kept their order. Each with its position before and after.
fn moved_columns(table: &str, expected: &Snapshot, actual: &Snapshot) -> Vec<(String, usize, usize)> {
    let columns = |snapshot: &Snapshot| -> Vec<(String, usize)> {
        let prefix = format!("{table}.");
        let start = ObjectId {
            kind: ObjectKind::Column,
            name: prefix.clone(),
            schema: None,
        };
        let mut columns: Vec<(String, usize)> = snapshot
            .objects
            .range(std::sync::Arc::new(start)..)
            .take_while(|(id, _)| id.kind == ObjectKind::Column && id.name.starts_with(&prefix))
            .filter(|(id, _)| crate::object::strip_last_identifier(&id.name) == Some(table))
            .filter_map(|(id, properties)| {
                let position = properties.get("position")?.parse().ok()?;
                Some((id.name[prefix.len()..].to_string(), position))
            })
            .collect();
        columns.sort_by_key(|(_, position)| *position);
        columns
    };
    let (before, after) = (columns(expected), columns(actual));
    let position_in = |list: &[(String, usize)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, p)| *p);
    // The columns in both, in their order before and after.
    let was: Vec<&str> = before
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| position_in(&after, n).is_some())
        .collect();
    let is: Vec<&str> = after
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| position_in(&before, n).is_some())
        .collect();
    let kept = longest_common(&was, &is);
    was.iter()
        .filter(|name| !kept.contains(name))
        .filter_map(|name| Some((name.to_string(), position_in(&before, name)?, position_in(&after, name)?)))
        .collect()
}

/// The longest common subsequence of two lists of the same names.
fn longest_common<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i] == b[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st...
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let words: Vec<String> = [1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 101, 111].into_iter().map(ordinal).collect();
        assert_eq!(
            words,
            ["1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_454), "2026-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn the_moved_columns_are_those_outside_the_longest_kept_order() {
        assert_eq!(longest_common(&["a", "b", "c", "d"], &["a", "c", "d", "b"]), vec!["a", "c", "d"]);
        assert_eq!(longest_common(&["a", "b"], &["a", "b"]), vec!["a", "b"]);
    }

    #[test]
    fn bodies_alike_but_for_layout_and_comments() {
        let was = "\nbegin\n  -- the answer\n  return 'a  b';\nend\n";
        let is = "BEGIN Return 'a  b'; /* same */ END";
        assert!(layout_only(Some("plpgsql"), was, is));
        assert!(!layout_only(Some("plpgsql"), was, "begin return 'a b'; end"));
        assert!(!layout_only(Some("plpgsql"), was, "begin return 'A  B'; end"));
        assert!(!layout_only(Some("plpython3u"), "return 1\n", "  return 1\n"));
    }

    #[test]
    fn timestamps_frozen_today_but_not_other_dates() {
        let dates = frozen_dates();
        let today = &dates[1];
        let was = format!("SELECT t.a FROM t WHERE (t.at > '{today} 10:00:00.1'::timestamp without time zone);");
        let is = format!("SELECT t.a FROM t WHERE (t.at > '{today} 10:00:02.7'::timestamp without time zone);");
        assert!(same_but_frozen(&was, &is, &dates));
        let old = "SELECT t.a FROM t WHERE (t.at > '2020-01-01'::date);";
        let new = "SELECT t.a FROM t WHERE (t.at > '2021-01-01'::date);";
        assert!(!same_but_frozen(old, new, &dates));
        // Only the literal: other text counts to the space.
        assert!(!same_but_frozen("a comment", "a  comment", &dates));
        // Text that looks like a date is not frozen: 'now' never becomes text.
        let (yesterday, tomorrow) = (&dates[0], &dates[2]);
        assert!(!same_but_frozen(
            &format!("'{today}'::text"),
            &format!("'{tomorrow}'::text"),
            &dates
        ));
        // Two days apart: not two runs of 'now' in one gate.
        assert!(!same_but_frozen(
            &format!("'{yesterday}'::date"),
            &format!("'{tomorrow}'::date"),
            &dates
        ));
        assert!(same_but_frozen(&format!("'{today}'::date"), &format!("'{tomorrow}'::date"), &dates));
        assert!(freezes_time("CREATE VIEW v AS SELECT 'NOW'::timestamp") && !freezes_time("SELECT now()"));
    }

    #[test]
    fn select_lists_in_another_order() {
        let dates = frozen_dates();
        let was = " SELECT t.a,\n    t.b,\n    t.c\n   FROM t\n  WHERE (t.a IN ( SELECT u.x FROM u));";
        let is = " SELECT t.a,\n    t.c,\n    t.b\n   FROM t\n  WHERE (t.a IN ( SELECT u.x FROM u));";
        assert!(sorted_select_lists(was, is, &dates));
        let other = " SELECT t.a,\n    t.c,\n    t.d\n   FROM t\n  WHERE (t.a IN ( SELECT u.x FROM u));";
        assert!(!sorted_select_lists(was, other, &dates));
        // A subquery compared by row, or a branch of a UNION, whose columns move: another result.
        let by_row = |list: &str| format!(" SELECT t.a FROM t WHERE ((t.a, t.b) IN ( SELECT {list} FROM u));");
        assert!(!sorted_select_lists(&by_row("u.x, u.y"), &by_row("u.y, u.x"), &dates));
        let union = |list: &str| format!(" SELECT t.a, t.b FROM t UNION SELECT {list} FROM u;");
        assert!(!sorted_select_lists(&union("u.a, u.b"), &union("u.b, u.a"), &dates));
        // A WITH query's list is not the view's.
        let with = |list: &str| format!(" WITH r(x, y) AS (\n SELECT {list}\n FROM t\n )\n SELECT r.x\n FROM r;");
        assert!(!sorted_select_lists(&with("t.a, t.b"), &with("t.b, t.a"), &dates));
        let outer = |list: &str| format!(" WITH r AS (\n SELECT t.a, t.b\n FROM t\n )\n SELECT {list}\n FROM r;");
        assert!(sorted_select_lists(&outer("r.a, r.b"), &outer("r.b, r.a"), &dates));
        // A function call's arguments are not a select list.
        assert!(!sorted_select_lists(
            " SELECT f(t.a, t.b) AS x FROM t;",
            " SELECT f(t.b, t.a) AS x FROM t;",
            &dates
        ));
    }
}
