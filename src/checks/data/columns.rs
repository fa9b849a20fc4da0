//! The data of the tables with rows, per column: how many rows, how many hold a value, and an
//! order-independent hash of the values (the sum of each value's 64-bit hash), all computed in
//! the server. One round trip reads every table.

use std::collections::BTreeSet;

use tokio_postgres::Client;

/// One table's data.
#[derive(Debug, Clone)]
pub struct TableData {
    pub oid: u32,
    /// As SQL writes it: `public.users`, quoted where needed.
    pub name: String,
    pub schema: String,
    pub relname: String,
    pub rows: i64,
    pub columns: Vec<ColumnData>,
}

#[derive(Debug, Clone)]
pub struct ColumnData {
    pub attnum: i16,
    pub name: String,
    /// Rows where it is not NULL.
    pub with_value: i64,
    /// The sum of the values' hashes, as text (a numeric).
    pub hash: String,
}

/// The data before a migration, and the transaction's first id: a catalog row written since
/// has an id at least this.
#[derive(Debug, Clone)]
pub struct Before {
    pub xid: i64,
    /// Tables with rows only.
    pub tables: Vec<TableData>,
}

/// What a migration left of the tables and columns that were there before it, by oid and
/// column number (0 stands for the table).
pub struct Kept(BTreeSet<(u32, i16)>);

impl Kept {
    pub fn table(&self, oid: u32) -> bool {
        self.0.contains(&(oid, 0))
    }

    pub fn column(&self, oid: u32, attnum: i16) -> bool {
        self.0.contains(&(oid, attnum))
    }
}

const XID: &str = "SELECT pg_current_xact_id()::text::int8 % 4294967296";

const COLUMNS: &str = "SELECT c.oid::int8, format('%I.%I', n.nspname, c.relname), n.nspname::text, c.relname::text,
        a.attnum, quote_ident(a.attname), a.attname::text
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE c.oid = ANY($1::oid[]) AND c.relkind IN ('r', 'p')
  ORDER BY c.oid, a.attnum";

const KEPT: &str = "SELECT a.attrelid::int8, a.attnum FROM pg_attribute a
  WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT c.oid::int8, 0::int2 FROM pg_class c WHERE c.oid = ANY($1::oid[])";

/// The tables (of `oids`) that are gone, or one of whose columns' catalog rows was written
/// since transaction `$2` began: the ones DDL changed (a column added, dropped, renamed, its
/// type or constraints changed). Their own `pg_class` row is not asked: a foreign key to the
/// table or an index on it writes it too, and changes none of its data.
const TOUCHED: &str = "SELECT o::int8 FROM unnest($1::oid[]) AS o
  WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o)
     OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = o AND a.xmin::text::int8 >= $2)";

/// The tables named `schemas[i].relnames[i]` now, with their columns.
const BY_NAME: &str = "SELECT c.oid::int8, format('%I.%I', s.nspname, c.relname), s.nspname::text, c.relname::text,
        a.attnum, quote_ident(a.attname), a.attname::text
   FROM unnest($1::text[], $2::text[]) AS t(schema, relname)
   JOIN pg_namespace s ON s.nspname = t.schema
   JOIN pg_class c ON c.relnamespace = s.oid AND c.relname = t.relname AND c.relkind IN ('r', 'p')
   LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY c.oid, a.attnum";

impl Before {
    /// Reads the data of the tables `oids` (in a transaction: its id is taken first).
    pub async fn read(client: &Client, oids: &[u32]) -> Result<Before, tokio_postgres::Error> {
        let xid: i64 = client.query_one(XID, &[]).await?.get(0);
        let rows = client.query(COLUMNS, &[&oids]).await?;
        let mut tables = measure(client, shapes(&rows)).await?;
        tables.retain(|t| t.rows > 0);
        Ok(Before { xid, tables })
    }

    /// What of the tables and columns is still there (after the migration).
    pub async fn kept(&self, client: &Client) -> Result<Kept, tokio_postgres::Error> {
        let oids: Vec<u32> = self.tables.iter().map(|t| t.oid).collect();
        let rows = client.query(KEPT, &[&oids]).await?;
        Ok(Kept(rows.iter().map(|r| (r.get::<_, i64>(0) as u32, r.get::<_, i16>(1))).collect()))
    }

    /// The tables that DDL touched since `read` (the migration or its rollback): read again by
    /// the names they had before, with whatever of their columns is there by name now.
    pub async fn touched_now(&self, client: &Client) -> Result<Vec<TableData>, tokio_postgres::Error> {
        let oids: Vec<u32> = self.tables.iter().map(|t| t.oid).collect();
        let touched: BTreeSet<u32> = client
            .query(TOUCHED, &[&oids, &self.xid])
            .await?
            .iter()
            .map(|r| r.get::<_, i64>(0) as u32)
            .collect();
        let wanted: Vec<&TableData> = self.tables.iter().filter(|t| touched.contains(&t.oid)).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let schemas: Vec<&str> = wanted.iter().map(|t| t.schema.as_str()).collect();
        let relnames: Vec<&str> = wanted.iter().map(|t| t.relname.as_str()).collect();
        let rows = client.query(BY_NAME, &[&schemas, &relnames]).await?;
        measure(client, shapes(&rows)).await
    }
}

/// A table to measure: its data without the counts, and each column as SQL names it.
struct Shape {
    table: TableData,
    quoted: Vec<String>,
}

fn shapes(rows: &[tokio_postgres::Row]) -> Vec<Shape> {
    let mut shapes: Vec<Shape> = Vec::new();
    for row in rows {
        let oid = row.get::<_, i64>(0) as u32;
        if shapes.last().is_none_or(|s| s.table.oid != oid) {
            shapes.push(Shape {
                table: TableData {
                    oid,
                    name: row.get(1),
                    schema: row.get(2),
                    relname: row.get(3),
                    rows: 0,
                    columns: Vec::new(),
                },
                quoted: Vec::new(),
            });
        }
        let shape = shapes.last_mut().expect("just pushed");
        if let Some(attnum) = row.get::<_, Option<i16>>(4) {
            shape.quoted.push(row.get(5));
            shape.table.columns.push(ColumnData {
                attnum,
                name: row.get(6),
                with_value: 0,
                hash: String::new(),
            });
        }
    }
    shapes
}

/// Counts and hashes every column of every table, in one query.
async fn measure(client: &Client, shapes: Vec<Shape>) -> Result<Vec<TableData>, tokio_postgres::Error> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = shapes
        .iter()
        .enumerate()
        .map(|(index, shape)| {
            let counts: Vec<String> = shape.quoted.iter().map(|c| format!("count({c})")).collect();
            // Every type has a text form; the sum of 64-bit hashes, as a numeric, does not
            // overflow and does not depend on the rows' order.
            let hashes: Vec<String> = shape
                .quoted
                .iter()
                .map(|c| format!("coalesce(sum(hashtextextended({c}::text, 0)), 0)::text"))
                .collect();
            format!(
                "SELECT {index}::int4, count(*)::int8, ARRAY[{}]::int8[], ARRAY[{}]::text[] FROM {}",
                counts.join(", "),
                hashes.join(", "),
                shape.table.name
            )
        })
        .collect();
    let rows = client.query(selects.join(" UNION ALL ").as_str(), &[]).await?;
    let mut tables: Vec<TableData> = shapes.into_iter().map(|s| s.table).collect();
    for row in rows {
        let table = &mut tables[row.get::<_, i32>(0) as usize];
        table.rows = row.get(1);
        let counts: Vec<i64> = row.get(2);
        let hashes: Vec<String> = row.get(3);
        for ((column, count), hash) in table.columns.iter_mut().zip(counts).zip(hashes) {
            column.with_value = count;
            column.hash = hash;
        }
    }
    Ok(tables)
}
