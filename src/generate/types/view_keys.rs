//! Foreign keys seen through views. PostgREST (and so Supabase's generator) lets a view stand in
//! for a table when the view exposes a foreign key's columns unchanged: a view showing
//! `todos."user-id"` relates to `users` as `todos` does, and `todos` relates to a view showing
//! `users.id`. Which table column each view column shows comes from the view's stored query
//! tree (`pg_rewrite.ev_action`: each output column's `resorigtbl`/`resorigcol`), followed through
//! views of views; a key counts only when the view shows all of its columns. This follows
//! PostgREST's schema cache (SchemaCache.hs, "allViewsKeyDependencies") as postgres-meta adapted
//! it (`views_key_dependencies.sql.ts`, `PostgresMetaRelationships.ts`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tokio_postgres::Client;

use super::read::Relationship;

/// A key of a table whose columns a view shows.
#[derive(Debug, Clone)]
pub struct KeyExposed {
    pub table_schema: String,
    pub table_name: String,
    pub view_schema: String,
    pub view_name: String,
    pub constraint_name: String,
    /// The referencing side of a foreign key (`f`) or the referenced side (`f_ref`).
    pub referenced_side: bool,
    /// For each key column, in key order: the table column and the view columns showing it.
    pub columns: Vec<(String, Vec<String>)>,
}

struct View {
    id: u32,
    schema: String,
    name: String,
    /// attnum -> name.
    columns: HashMap<i32, String>,
    /// (view column, origin table, origin column) for each output column with an origin.
    origins: Vec<(i32, u32, i32)>,
}

const VIEWS: &str = "
SELECT c.oid, n.nspname::text, c.relname::text, r.ev_action::text,
       array(SELECT a.attnum::int4 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum),
       array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_rewrite r ON r.ev_class = c.oid
 WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1)
 ORDER BY c.oid";

const FOREIGN_KEYS: &str = "
SELECT k.conname::text, k.conrelid, k.conkey::int4[], k.confrelid, k.confkey::int4[]
  FROM pg_constraint k
 WHERE k.contype = 'f'";

const RELATION_COLUMNS: &str = "
SELECT c.oid, n.nspname::text, c.relname::text,
       array(SELECT a.attnum::int4 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum),
       array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY($1)";

/// The foreign keys the views in `schemas` show, both sides.
pub async fn read(client: &Client, schemas: &[String]) -> Result<Vec<KeyExposed>, tokio_postgres::Error> {
    let mut views = Vec::new();
    for row in client.query(VIEWS, &[&schemas]).await? {
        let tree: String = row.get(3);
        let numbers: Vec<i32> = row.get(4);
        let names: Vec<String> = row.get(5);
        views.push(View {
            id: row.get(0),
            schema: row.get(1),
            name: row.get(2),
            columns: numbers.into_iter().zip(names).collect(),
            origins: target_origins(&tree),
        });
    }
    if views.is_empty() {
        return Ok(Vec::new());
    }
    // (referenced side, name, key size, table, column, position), as a set: two keys alike in
    // all of these count once, as in the SQL this follows.
    let mut key_columns: BTreeSet<(bool, String, usize, u32, i32, usize)> = BTreeSet::new();
    for row in client.query(FOREIGN_KEYS, &[]).await? {
        let name: String = row.get(0);
        for (side, table, columns) in [
            (false, row.get::<_, u32>(1), row.get::<_, Vec<i32>>(2)),
            (true, row.get(3), row.get(4)),
        ] {
            for (position, column) in columns.iter().enumerate() {
                key_columns.insert((side, name.clone(), columns.len(), table, *column, position));
            }
        }
    }
    // Each view column's origins, through views of views: (view, table, table column) -> view columns.
    let by_id: HashMap<u32, &View> = views.iter().map(|v| (v.id, v)).collect();
    let mut shows: BTreeMap<(u32, u32, i32), Vec<i32>> = BTreeMap::new();
    for view in &views {
        for &(column, table, table_column) in &view.origins {
            let mut seen = vec![table];
            let mut next = Some((table, table_column));
            while let Some((table, table_column)) = next.take() {
                let entry = shows.entry((view.id, table, table_column)).or_default();
                if !entry.contains(&column) {
                    entry.push(column);
                }
                if let Some(inner) = by_id.get(&table) {
                    if let Some(&(_, deeper, deeper_column)) = inner.origins.iter().find(|(c, _, _)| *c == table_column) {
                        if !seen.contains(&deeper) {
                            seen.push(deeper);
                            next = Some((deeper, deeper_column));
                        }
                    }
                }
            }
        }
    }
    let tables: Vec<u32> = key_columns.iter().map(|k| k.3).collect::<BTreeSet<_>>().into_iter().collect();
    let mut table_names: HashMap<u32, (String, String, HashMap<i32, String>)> = HashMap::new();
    for row in client.query(RELATION_COLUMNS, &[&tables]).await? {
        let numbers: Vec<i32> = row.get(3);
        let names: Vec<String> = row.get(4);
        table_names.insert(row.get(0), (row.get(1), row.get(2), numbers.into_iter().zip(names).collect()));
    }
    type Group = (u32, u32, String, bool, usize);
    let mut groups: BTreeMap<Group, Vec<(usize, String, Vec<String>)>> = BTreeMap::new();
    for (side, name, size, table, column, position) in &key_columns {
        for view in &views {
            let Some(view_columns) = shows.get(&(view.id, *table, *column)) else {
                continue;
            };
            let Some((_, _, names)) = table_names.get(table) else {
                continue;
            };
            let mut view_columns = view_columns.clone();
            view_columns.sort();
            let shown: Vec<String> = view_columns.iter().filter_map(|c| view.columns.get(c).cloned()).collect();
            groups.entry((*table, view.id, name.clone(), *side, *size)).or_default().push((
                *position,
                names.get(column).cloned().unwrap_or_default(),
                shown,
            ));
        }
    }
    let mut exposed = Vec::new();
    for ((table, view_id, constraint_name, referenced_side, size), mut columns) in groups {
        // Only keys the view shows whole.
        if columns.len() != size {
            continue;
        }
        columns.sort_by_key(|c| c.0);
        let (table_schema, table_name, _) = &table_names[&table];
        let view = by_id[&view_id];
        exposed.push(KeyExposed {
            table_schema: table_schema.clone(),
            table_name: table_name.clone(),
            view_schema: view.schema.clone(),
            view_name: view.name.clone(),
            constraint_name,
            referenced_side,
            columns: columns.into_iter().map(|(_, table_column, shown)| (table_column, shown)).collect(),
        });
    }
    Ok(exposed)
}

/// The relationships through views that the table relationships `tables` give: a view that
/// shows a key's referencing columns relates to the referenced table, a view that shows the
/// referenced columns is related to, and views on both sides relate to each other. A table
/// column a view shows twice gives one relationship per view column.
pub fn relationships(tables: &[Relationship], exposed: &[KeyExposed]) -> Vec<Relationship> {
    let mut out = Vec::new();
    for r in tables {
        let referencing: Vec<&KeyExposed> = exposed
            .iter()
            .filter(|k| {
                !k.referenced_side && k.table_schema == r.schema && k.table_name == r.relation && k.constraint_name == r.foreign_key_name
            })
            .collect();
        let referenced: Vec<&KeyExposed> = exposed
            .iter()
            .filter(|k| {
                k.referenced_side
                    && k.table_schema == r.referenced_schema
                    && k.table_name == r.referenced_relation
                    && k.constraint_name == r.foreign_key_name
            })
            .collect();
        for key in &referencing {
            for columns in combinations(key) {
                out.push(Relationship {
                    schema: key.view_schema.clone(),
                    relation: key.view_name.clone(),
                    columns,
                    ..r.clone()
                });
            }
        }
        for key in &referenced {
            for columns in combinations(key) {
                out.push(Relationship {
                    referenced_schema: key.view_schema.clone(),
                    referenced_relation: key.view_name.clone(),
                    referenced_columns: columns,
                    ..r.clone()
                });
            }
        }
        for from in &referencing {
            for columns in combinations(from) {
                for to in &referenced {
                    for referenced_columns in combinations(to) {
                        out.push(Relationship {
                            schema: from.view_schema.clone(),
                            relation: from.view_name.clone(),
                            columns: columns.clone(),
                            referenced_schema: to.view_schema.clone(),
                            referenced_relation: to.view_name.clone(),
                            referenced_columns,
                            ..r.clone()
                        });
                    }
                }
            }
        }
    }
    out
}

/// Every choice of one view column per key column (the cartesian product).
fn combinations(key: &KeyExposed) -> Vec<Vec<String>> {
    key.columns.iter().fold(vec![Vec::new()], |done, (_, shown)| {
        done.iter()
            .flat_map(|prefix| {
                shown.iter().map(move |column| {
                    let mut next = prefix.clone();
                    next.push(column.clone());
                    next
                })
            })
            .collect()
    })
}

/// In a stored query tree (`pg_node_tree` text), the top query's output columns that come
/// straight from a table or view column: (output column number, relation, column number). Read
/// without recursion: an expression may nest thousands deep.
fn target_origins(tree: &str) -> Vec<(i32, u32, i32)> {
    let tokens = tokens(tree);
    // `({QUERY ... :targetList ({TARGETENTRY ...} ...) ...} ...)`
    if tokens.first() != Some(&Token::Open('(')) {
        return Vec::new();
    }
    let Some((kind, query)) = object_fields(&tokens, 1) else {
        return Vec::new();
    };
    if kind != "QUERY" {
        return Vec::new();
    }
    let Some(&(_, list_at)) = query.iter().find(|(key, _)| key == ":targetList") else {
        return Vec::new();
    };
    let mut origins = Vec::new();
    if tokens.get(list_at) != Some(&Token::Open('(')) {
        return origins;
    }
    let mut at = list_at + 1;
    while let Some(token) = tokens.get(at) {
        match token {
            Token::Close(_) => break,
            Token::Open('{') => {
                if let Some((_, fields)) = object_fields(&tokens, at) {
                    let number = |name: &str| -> Option<i64> {
                        fields
                            .iter()
                            .find(|(key, _)| key == name)
                            .and_then(|(_, value)| match tokens.get(*value) {
                                Some(Token::Atom(text)) => text.parse().ok(),
                                _ => None,
                            })
                    };
                    if let (Some(column), Some(table), Some(table_column)) =
                        (number(":resno"), number(":resorigtbl"), number(":resorigcol"))
                    {
                        if table != 0 {
                            origins.push((column as i32, table as u32, table_column as i32));
                        }
                    }
                }
                at = after_value(&tokens, at);
            }
            _ => at = after_value(&tokens, at),
        }
    }
    origins
}

#[derive(Debug, PartialEq)]
enum Token {
    Open(char),
    Close(char),
    Atom(String),
}

/// The node's type and where each of its `:field` values starts, for the node opening at `at`
/// (`{TYPE :field value ...}`); values are skipped over, not read.
fn object_fields(tokens: &[Token], at: usize) -> Option<(String, Vec<(String, usize)>)> {
    if tokens.get(at) != Some(&Token::Open('{')) {
        return None;
    }
    let kind = match tokens.get(at + 1) {
        Some(Token::Atom(kind)) => kind.clone(),
        _ => return None,
    };
    let mut fields = Vec::new();
    let mut at = at + 2;
    while let Some(token) = tokens.get(at) {
        match token {
            Token::Close(_) => break,
            Token::Atom(key) if key.starts_with(':') => {
                fields.push((key.clone(), at + 1));
                at += 1;
                // A field with no value is followed by the next key or the node's end.
                match tokens.get(at) {
                    Some(Token::Atom(next)) if next.starts_with(':') => {}
                    Some(Token::Close(_)) | None => {}
                    _ => at = after_value(tokens, at),
                }
            }
            // The rest of a value written as several tokens (a constant's bytes).
            _ => at = after_value(tokens, at),
        }
    }
    Some((kind, fields))
}

/// The position after the value starting at `at`: one token, or a bracketed run of them.
fn after_value(tokens: &[Token], mut at: usize) -> usize {
    let mut depth = 0usize;
    while let Some(token) = tokens.get(at) {
        at += 1;
        match token {
            Token::Open(_) => depth += 1,
            Token::Close(_) => depth = depth.saturating_sub(1),
            Token::Atom(_) => {}
        }
        if depth == 0 {
            break;
        }
    }
    at
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' | '{' => out.push(Token::Open(c)),
            ')' | '}' => out.push(Token::Close(c)),
            _ => {
                let mut atom = String::new();
                let mut next = Some(c);
                while let Some(c) = next {
                    if c == '\\' {
                        // A character the writer escaped (a brace or space in a name).
                        if let Some(escaped) = chars.next() {
                            atom.push(escaped);
                        }
                    } else {
                        atom.push(c);
                    }
                    next = match chars.peek() {
                        Some(&p) if !p.is_whitespace() && !"(){}".contains(p) => chars.next(),
                        _ => None,
                    };
                }
                out.push(Token::Atom(atom));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::target_origins;

    #[test]
    fn an_expression_nested_deeper_than_the_stack_is_skipped_over() {
        let depth = 200_000;
        let tree = format!(
            "({{QUERY :targetList ({{TARGETENTRY :expr {}1{} :resno 1 :resorigtbl 7 :resorigcol 2}}) :x 0}})",
            "({OPEXPR :args ".repeat(depth),
            "})".repeat(depth)
        );
        assert_eq!(target_origins(&tree), vec![(1, 7, 2)]);
    }

    #[test]
    fn reads_the_top_querys_output_columns_only() {
        let tree = r"({QUERY :commandType 1 :rtable ({RANGETBLENTRY :alias <> :eref {ALIAS :aliasname t\ x :colnames ({STRING :sval id})}}) :targetList ({TARGETENTRY :expr {SUBLINK :subselect {QUERY :targetList ({TARGETENTRY :resno 1 :resorigtbl 999 :resorigcol 9})}} :resno 1 :resname a\{b :resorigtbl 0 :resorigcol 0 :resjunk false} {TARGETENTRY :expr {CONST :constvalue 4 [ 1 0 0 0 ]} :resno 2 :resname id :resorigtbl 16390 :resorigcol 1 :resjunk false}) :override 0})";
        assert_eq!(target_origins(tree), vec![(2, 16390, 1)]);
    }
}
