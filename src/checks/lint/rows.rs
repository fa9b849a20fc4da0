//! The row generator: a few rows in each table a migration touches (and in the tables their
//! foreign keys point to, parents first), so that what fails or rewrites only on a table with
//! rows is seen. The rows are made in the server, one `INSERT ... SELECT ... FROM
//! generate_series` per table: values from each column's type (distinct, so that UNIQUE holds),
//! foreign keys from the parent's rows, identity, serial and generated columns left to the
//! server. A table whose constraints the values do not satisfy (a CHECK, a trigger that raises)
//! is tried again with the columns' own defaults where they have one (a CHECK usually admits
//! its column's default), then with its nullable columns empty too, then with one row alone,
//! then left empty with the server's reason.

use std::collections::{BTreeMap, BTreeSet};

use tokio_postgres::Client;

use crate::script::{quote_ident, quote_literal};

/// What the generator did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// As the catalog names it: `public.users`.
    pub table: String,
    /// Rows added (0 when the table already had rows, or was left empty).
    pub rows: u64,
    /// Why it was left empty.
    pub left_empty: Option<String>,
}

/// The tables `names` name (schema and name as the parser read them) and the tables their NOT
/// NULL foreign keys point to (a nullable key is left NULL: its parent needs no rows): tables
/// only, by oid; at most `MOST_TABLES`, nearest first. A name without a schema is every user
/// table of that name: the statement may run under a search_path the migration sets itself.
pub async fn tables_to_fill(client: &Client, names: &[(Option<String>, String)]) -> Result<Vec<u32>, tokio_postgres::Error> {
    let schemas: Vec<Option<String>> = names.iter().map(|(schema, _)| schema.clone()).collect();
    let tables: Vec<String> = names.iter().map(|(_, name)| name.clone()).collect();
    let rows = client
        .query(
            "WITH RECURSIVE wanted(oid, depth) AS (
               SELECT c.oid, 0 FROM unnest($1::text[], $4::text[]) AS n(schema, name)
               JOIN pg_class c ON c.relname = n.name JOIN pg_namespace ns ON ns.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p')
                 AND (ns.nspname = n.schema OR (n.schema IS NULL AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND ns.nspname NOT LIKE 'pg\\_%'))
               UNION
               SELECT k.confrelid, w.depth + 1 FROM pg_constraint k JOIN wanted w ON k.conrelid = w.oid
               WHERE k.contype = 'f' AND w.depth < $2
                 AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) AND a.attnotnull)
             )
             SELECT oid::bigint FROM wanted GROUP BY oid ORDER BY min(depth), oid LIMIT $3",
            &[&schemas, &MOST_DEPTH, &MOST_TABLES, &tables],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get::<_, i64>(0) as u32).collect())
}

/// How far along NOT NULL foreign keys the generator goes, and how many tables it fills for one
/// migration at most: a long chain of keys would otherwise fill the whole schema for each.
const MOST_DEPTH: i32 = 8;
const MOST_TABLES: i64 = 64;

struct Column {
    name: String,
    /// `format_type` of the column's type.
    type_name: String,
    not_null: bool,
    /// The server fills it: identity, generated, or a sequence default.
    server_filled: bool,
    has_default: bool,
    /// The type the value is made for (a domain's base type), and its category and kind.
    base_type: String,
    base_category: String,
    base_kind: String,
}

struct Table {
    name: String,
    columns: Vec<Column>,
    /// Foreign keys: (the columns, the parent, the parent's columns).
    foreign_keys: Vec<(Vec<String>, u32, Vec<String>)>,
}

const COLUMNS: &str = "SELECT a.attrelid::bigint, format('%I.%I', n.nspname, c.relname), a.attname::text,
       format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity <> '' OR a.attgenerated <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%',
       format_type(bt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
       bt.typcategory::text, bt.typtype::text, a.atthasdef
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum";

const FOREIGN_KEYS: &str = "SELECT k.conrelid::bigint, k.confrelid::bigint,
       array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)
  FROM pg_constraint k WHERE k.contype = 'f' AND k.conrelid = ANY($1) ORDER BY k.conname";

/// Fills each of `oids` with `rows` rows, parents first, inside the caller's transaction (each
/// table in a savepoint of its own). A table that already holds rows is left as it is.
pub async fn fill(client: &Client, oids: &[u32], rows: u32) -> Result<Vec<Filled>, tokio_postgres::Error> {
    if oids.is_empty() || rows == 0 {
        return Ok(Vec::new());
    }
    let mut tables: BTreeMap<u32, Table> = BTreeMap::new();
    for row in client.query(COLUMNS, &[&oids]).await? {
        let oid = row.get::<_, i64>(0) as u32;
        let table = tables.entry(oid).or_insert_with(|| Table {
            name: row.get(1),
            columns: Vec::new(),
            foreign_keys: Vec::new(),
        });
        table.columns.push(Column {
            name: row.get(2),
            type_name: row.get(3),
            not_null: row.get(4),
            server_filled: row.get(5),
            base_type: row.get(6),
            base_category: row.get(7),
            base_kind: row.get(8),
            has_default: row.get(9),
        });
    }
    for row in client.query(FOREIGN_KEYS, &[&oids]).await? {
        if let Some(table) = tables.get_mut(&(row.get::<_, i64>(0) as u32)) {
            table.foreign_keys.push((row.get(2), row.get::<_, i64>(1) as u32, row.get(3)));
        }
    }
    let mut filled = Vec::new();
    for oid in parents_first(&tables) {
        let table = &tables[&oid];
        let names: BTreeMap<u32, &str> = tables.iter().map(|(oid, t)| (*oid, t.name.as_str())).collect();
        let mut outcome = Filled {
            table: table.name.clone(),
            rows: 0,
            left_empty: None,
        };
        let mut why = String::new();
        // Last of all one row alone: a UNIQUE boolean or a CHECK (x IN (1, 2)) takes one.
        for (attempt, rows) in [
            (Attempt::Generated, rows),
            (Attempt::Defaults, rows),
            (Attempt::NullsToo, rows),
            (Attempt::NullsToo, 1),
        ] {
            let sql = insert(table, &names, rows, attempt);
            client.batch_execute("SAVEPOINT dbgate_rows").await?;
            match client.execute(sql.as_str(), &[]).await {
                Ok(added) => {
                    client.batch_execute("RELEASE SAVEPOINT dbgate_rows").await?;
                    outcome.rows = added;
                    why.clear();
                    break;
                }
                Err(error) => {
                    client
                        .batch_execute("ROLLBACK TO SAVEPOINT dbgate_rows; RELEASE SAVEPOINT dbgate_rows")
                        .await?;
                    if why.is_empty() {
                        why = crate::execute::describe(&error);
                    }
                }
            }
        }
        if !why.is_empty() {
            outcome.left_empty = Some(why);
        }
        filled.push(outcome);
    }
    Ok(filled)
}

/// The tables in an order where each comes after the tables its foreign keys point to (a
/// cycle is broken where it is met: the later table's keys then find no rows, and stay empty
/// where they may).
fn parents_first(tables: &BTreeMap<u32, Table>) -> Vec<u32> {
    fn visit(oid: u32, tables: &BTreeMap<u32, Table>, seen: &mut BTreeSet<u32>, order: &mut Vec<u32>) {
        if !seen.insert(oid) {
            return;
        }
        if let Some(table) = tables.get(&oid) {
            for (_, parent, _) in &table.foreign_keys {
                if *parent != oid {
                    visit(*parent, tables, seen, order);
                }
            }
            order.push(oid);
        }
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for oid in tables.keys() {
        visit(*oid, tables, &mut seen, &mut order);
    }
    order
}

/// How a try fills the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Attempt {
    /// A value of its type for every column.
    Generated,
    /// The column's default where it has one.
    Defaults,
    /// ...and NULL in every nullable column.
    NullsToo,
}

/// The INSERT that adds `rows` rows to `table` (none when it holds rows already).
fn insert(table: &Table, names: &BTreeMap<u32, &str>, rows: u32, attempt: Attempt) -> String {
    let mut columns = Vec::new();
    let mut values = Vec::new();
    let mut joins = Vec::new();
    let mut from_parent: BTreeMap<&str, String> = BTreeMap::new();
    for (index, (own, parent, theirs)) in table.foreign_keys.iter().enumerate() {
        let Some(parent_name) = names.get(parent) else {
            // A parent not filled (its key is nullable, or it is too far): the key stays NULL.
            for mine in own {
                from_parent.entry(mine.as_str()).or_insert_with(|| "NULL".to_string());
            }
            continue;
        };
        // A column an earlier key already gives keeps that key's value.
        if own.iter().any(|c| from_parent.contains_key(c.as_str())) {
            continue;
        }
        let alias = format!("fk{index}");
        let picked: Vec<String> = theirs.iter().map(|c| format!("p.{}", quote_ident(c))).collect();
        if names.get(parent).copied() != Some(table.name.as_str()) {
            // Parent row number ((g - 1) mod its count) + 1: each row a parent, spread evenly.
            // The count first, on its own: the join is then an equality the server can hash
            // (with the count inside it, a nested loop over every pair of rows: 10^10 at
            // 10^5 rows per table).
            joins.push(format!(
                "CROSS JOIN (SELECT nullif(count(*), 0) AS dbgate_count FROM {parent_name}) {alias}c \
                 LEFT JOIN (SELECT {}, row_number() OVER () AS dbgate_n FROM {parent_name} p) {alias} \
                 ON {alias}.dbgate_n = ((g - 1) % {alias}c.dbgate_count) + 1",
                picked.join(", ")
            ));
        }
        for (mine, their) in own.iter().zip(theirs) {
            let value = if names.get(parent).copied() == Some(table.name.as_str()) {
                // A key to the table itself: each row points at itself, when the value of the
                // column it points at is dbgate's to make.
                match table.columns.iter().find(|c| &c.name == their && !c.server_filled) {
                    Some(column) => value_of(column, &table.name),
                    None => "NULL".to_string(),
                }
            } else {
                format!("{alias}.{}", quote_ident(their))
            };
            from_parent.insert(mine.as_str(), value);
        }
    }
    for column in &table.columns {
        let keyed = from_parent.contains_key(column.name.as_str());
        if column.server_filled || (attempt >= Attempt::Defaults && column.has_default && !keyed) {
            continue;
        }
        let value = match from_parent.get(column.name.as_str()) {
            Some(value) => value.clone(),
            None if attempt == Attempt::NullsToo && !column.not_null => "NULL".to_string(),
            None => value_of(column, &table.name),
        };
        columns.push(quote_ident(&column.name));
        values.push(format!("({value})::{}", column.type_name));
    }
    format!(
        "INSERT INTO {name} ({columns}) SELECT {values} FROM generate_series(1, {rows}) AS s(g) {joins} WHERE NOT EXISTS (SELECT 1 FROM {name})",
        name = table.name,
        columns = columns.join(", "),
        values = values.join(", "),
        joins = joins.join(" ")
    )
    .replace(" () SELECT  FROM", " SELECT FROM")
}

/// A value of the column's type for row `g`, distinct for each row where the type allows.
fn value_of(column: &Column, table: &str) -> String {
    let base = column.base_type.as_str();
    let label = quote_literal(&format!("{}_", column.name));
    let bound = |prefix: &str| -> Option<u32> { base.strip_prefix(prefix)?.strip_suffix(')')?.split(',').next()?.trim().parse().ok() };
    match (column.base_kind.as_str(), column.base_category.as_str()) {
        ("e", _) => format!("(enum_range(NULL::{base}))[1 + (g % cardinality(enum_range(NULL::{base})))::int]"),
        (_, "N") => match base {
            "smallint" => "g % 32000".to_string(),
            _ if base.starts_with("numeric(") => {
                let precision = bound("numeric(").unwrap_or(10);
                let scale: u32 = base
                    .split(',')
                    .nth(1)
                    .and_then(|s| s.trim_end_matches(')').trim().parse().ok())
                    .unwrap_or(0);
                let digits = precision.saturating_sub(scale).min(15);
                if digits == 0 {
                    "0".to_string()
                } else {
                    format!("g % {}", 10u64.pow(digits) - 1)
                }
            }
            "money" => "g::numeric".to_string(),
            _ => "g".to_string(),
        },
        (_, "S") => {
            // What a CHECK on such a column usually asks for.
            let name = column.name.to_ascii_lowercase();
            let shaped = if name.contains("email") {
                Some("'user' || g || '@example.com'")
            } else if name.contains("url") || name.contains("website") || name.contains("link") {
                Some("'https://example.com/' || g")
            } else {
                None
            };
            let limit = bound("character varying(").or_else(|| bound("character("));
            match (shaped, limit) {
                (Some(value), _) => value.to_string(),
                (None, Some(n)) => format!("right({label} || g, {n})"),
                (None, None) => format!("{label} || g"),
            }
        }
        (_, "B") => "g % 2 = 0".to_string(),
        (_, "D") if base == "date" => "DATE '2000-01-01' + g::int".to_string(),
        (_, "D") if base.starts_with("timestamp") => "TIMESTAMP '2000-01-01' + g * INTERVAL '1 minute'".to_string(),
        (_, "D") => "TIME '00:00' + g * INTERVAL '1 second'".to_string(),
        (_, "T") => "g * INTERVAL '1 second'".to_string(),
        (_, "I") if base == "cidr" => "set_masklen(INET '10.0.0.0' + g, 32)::cidr".to_string(),
        (_, "I") => "INET '10.0.0.0' + g".to_string(),
        // One element that differs from row to row, where a number or text makes one; else
        // empty (a data check then sees nothing in the column).
        (_, "A") => match base.strip_suffix("[]") {
            Some("smallint") => "ARRAY[g % 32000]::smallint[]".to_string(),
            Some("integer" | "bigint" | "numeric" | "real" | "double precision") => format!("ARRAY[g]::{base}"),
            Some("text" | "character varying" | "citext") => format!("ARRAY[{label} || g]::{base}"),
            _ => "'{}'".to_string(),
        },
        (_, "R") => match base {
            "int4range" => "int4range(g::int, g::int + 1)".to_string(),
            "int8range" => "int8range(g, g + 1)".to_string(),
            "numrange" => "numrange(g, g + 1)".to_string(),
            "daterange" => "daterange(DATE '2000-01-01' + g::int, DATE '2000-01-01' + g::int + 1)".to_string(),
            "tsrange" | "tstzrange" => {
                format!("{base}(TIMESTAMP '2000-01-01' + g * INTERVAL '1 minute', TIMESTAMP '2000-01-01' + (g + 1) * INTERVAL '1 minute')")
            }
            _ => "NULL".to_string(),
        },
        (_, "G") if base == "point" => "point(g, g)".to_string(),
        (_, "V") => "g::bit(32)".to_string(),
        _ => match base {
            "uuid" => format!("md5({} || g)::uuid", quote_literal(table)),
            "json" | "jsonb" => "json_build_object('n', g)".to_string(),
            "bytea" => format!("convert_to({label} || g, 'UTF8')"),
            "xml" => "('<n>' || g || '</n>')::xml".to_string(),
            "tsvector" => "to_tsvector('simple', 'w' || g)".to_string(),
            _ => "NULL".to_string(),
        },
    }
}
