//! The data of the tables with rows, per column: how many rows, how many hold a value, and two
//! order-independent hashes of the values (sums of 64-bit hashes): of the values alone, and of
//! each value with its row's primary key (so that a value moved to another row, or a boolean
//! flipped in half the rows, shows). All computed in the server, in one query per read, in a
//! fixed reader state: the login role (a role the migration switched to may see fewer rows, or
//! none) and fixed output settings (a time zone or date style the migration set changes how a
//! timestamp reads as text, not the timestamp).

use std::collections::BTreeMap;

use tokio_postgres::Client;

/// One table's data, as it was before the migration.
#[derive(Debug, Clone)]
pub struct TableData {
    pub oid: u32,
    /// As SQL writes it: `public.users`, quoted where needed.
    pub name: String,
    pub schema: String,
    pub relname: String,
    pub rows: i64,
    /// Its primary key's columns, by number.
    pub key: Vec<i16>,
    pub columns: Vec<ColumnData>,
}

#[derive(Debug, Clone)]
pub struct ColumnData {
    pub attnum: i16,
    pub name: String,
    /// As SQL writes it.
    pub quoted: String,
    pub values: Values,
}

/// A column's values, measured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Values {
    /// Rows where it is not NULL.
    pub with_value: i64,
    /// The sum of the values' hashes, as text (a numeric).
    pub hash: String,
    /// The same with each row's primary key in the hash; `None` without one.
    pub keyed: Option<String>,
}

impl Values {
    /// The same values, in the same rows where both sides know the rows.
    pub fn same(&self, other: &Values) -> bool {
        self.with_value == other.with_value
            && match (&self.keyed, &other.keyed) {
                (Some(a), Some(b)) => a == b,
                _ => self.hash == other.hash,
            }
    }
}

/// A table measured again later, against the table it was before (by index in `Before`).
#[derive(Debug, Clone)]
pub struct Measured {
    pub before: usize,
    pub rows: i64,
    /// By the column's number before; with whether DDL wrote its catalog row since `Before`.
    pub columns: BTreeMap<i16, (Values, bool)>,
}

/// The data before a migration, and the transaction's first id: a catalog row written since
/// has an id at least this.
#[derive(Debug, Clone)]
pub struct Before {
    pub xid: i64,
    /// Tables with rows only.
    pub tables: Vec<TableData>,
}

const XID: &str = "SELECT pg_current_xact_id()::text::int8 % 4294967296";

/// The reader state, in a savepoint rolled back after the read: whatever the read or the
/// settings do is undone, and the migration's transaction goes on as it was.
const READER_ON: &str = "SAVEPOINT dbgate_read; RESET SESSION AUTHORIZATION; SET LOCAL ROLE NONE; \
    SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; \
    SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'; SET LOCAL lc_monetary = 'C'; \
    SET LOCAL search_path = pg_catalog";
const READER_OFF: &str = "ROLLBACK TO SAVEPOINT dbgate_read; RELEASE SAVEPOINT dbgate_read";

/// What a table and its columns look like now: oid, name, kind, and each column with its
/// number, name, whether it is in the primary key, and whether its catalog row was written
/// since transaction id `$N`.
const SHAPE: &str = "c.oid::int8, format('%I.%I', n.nspname, c.relname), n.nspname::text, c.relname::text, c.relkind::text,
        a.attnum, quote_ident(a.attname), a.attname::text,
        coalesce(a.attnum = ANY(i.indkey::int2[]), false), coalesce(a.xmin::text::int8 >= XID, false)";

fn by_oid() -> String {
    format!(
        "SELECT {} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
          WHERE c.oid = ANY($1::oid[]) AND c.relkind IN ('r', 'p')
          ORDER BY c.oid, a.attnum",
        SHAPE.replace("XID", "$2")
    )
}

fn by_name() -> String {
    format!(
        "SELECT {} FROM unnest($1::text[], $2::text[]) AS t(schema, relname)
           JOIN pg_namespace n ON n.nspname = t.schema
           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.relname AND c.relkind IN ('r', 'p')
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
          ORDER BY c.oid, a.attnum",
        SHAPE.replace("XID", "$3")
    )
}

/// One table as a row of `SHAPE` reads it.
struct Found {
    oid: u32,
    name: String,
    schema: String,
    relname: String,
    /// `p`: partitioned (its rows are its partitions'); `r`: its own rows only (an
    /// inheritance parent is read ONLY).
    relkind: String,
    /// (number, quoted, name, in the primary key, written since the read before).
    columns: Vec<(i16, String, String, bool, bool)>,
}

fn found(rows: &[tokio_postgres::Row]) -> Vec<Found> {
    let mut tables: Vec<Found> = Vec::new();
    for row in rows {
        let oid = row.get::<_, i64>(0) as u32;
        if tables.last().is_none_or(|t| t.oid != oid) {
            tables.push(Found {
                oid,
                name: row.get(1),
                schema: row.get(2),
                relname: row.get(3),
                relkind: row.get(4),
                columns: Vec::new(),
            });
        }
        if let Some(attnum) = row.get::<_, Option<i16>>(5) {
            let table = tables.last_mut().expect("just pushed");
            table.columns.push((attnum, row.get(6), row.get(7), row.get(8), row.get(9)));
        }
    }
    tables
}

/// A table to measure: where to read it from, its key, and each column with the number it had
/// before.
struct Shape {
    before: usize,
    from: String,
    key: Option<String>,
    /// (number before, quoted now, written since).
    columns: Vec<(i16, String, bool)>,
}

impl Shape {
    fn of(before: usize, table: &Found, key: Option<Vec<String>>, columns: Vec<(i16, String, bool)>) -> Shape {
        let only = if table.relkind == "p" { "" } else { "ONLY " };
        Shape {
            before,
            from: format!("{only}{}", table.name),
            key: key.filter(|k| !k.is_empty()).map(|k| format!("ROW({})::text", k.join(", "))),
            columns,
        }
    }
}

impl Before {
    /// Reads the data of the tables `oids` (in a transaction: its id is taken first).
    pub async fn read(client: &Client, oids: &[u32]) -> Result<Before, tokio_postgres::Error> {
        let xid: i64 = client.query_one(XID, &[]).await?.get(0);
        let tables = reading(client, async {
            let now = found(&client.query(by_oid().as_str(), &[&oids, &i64::MAX]).await?);
            let shapes: Vec<Shape> = now
                .iter()
                .enumerate()
                .map(|(index, t)| {
                    let key = t.columns.iter().filter(|c| c.3).map(|c| c.1.clone()).collect();
                    let columns = t.columns.iter().map(|c| (c.0, c.1.clone(), false)).collect();
                    Shape::of(index, t, Some(key), columns)
                })
                .collect();
            let measured = measure(client, &shapes).await?;
            Ok(now
                .into_iter()
                .zip(measured)
                .map(|(t, m)| TableData {
                    oid: t.oid,
                    name: t.name,
                    schema: t.schema,
                    relname: t.relname,
                    rows: m.rows,
                    key: t.columns.iter().filter(|c| c.3).map(|c| c.0).collect(),
                    columns: t
                        .columns
                        .iter()
                        .map(|c| ColumnData {
                            attnum: c.0,
                            name: c.2.clone(),
                            quoted: c.1.clone(),
                            values: m.columns.get(&c.0).map(|v| v.0.clone()).unwrap_or_default(),
                        })
                        .collect(),
                })
                .filter(|t| t.rows > 0)
                .collect())
        })
        .await?;
        Ok(Before { xid, tables })
    }

    /// The tables as the migration left them: the same table (its oid; a column by its number,
    /// whatever it is named now), else a table of the same name (a column by its name); a table
    /// neither finds is gone.
    pub async fn after_migration(&self, client: &Client) -> Result<Vec<Measured>, tokio_postgres::Error> {
        reading(client, async {
            let oids: Vec<u32> = self.tables.iter().map(|t| t.oid).collect();
            let same = found(&client.query(by_oid().as_str(), &[&oids, &self.xid]).await?);
            let mut shapes: Vec<Shape> = Vec::new();
            let mut missing: Vec<usize> = Vec::new();
            for (index, table) in self.tables.iter().enumerate() {
                match same.iter().find(|t| t.oid == table.oid) {
                    Some(now) => {
                        let named = |attnum: i16| now.columns.iter().find(|c| c.0 == attnum);
                        let key = table.key.iter().map(|k| named(*k).map(|c| c.1.clone())).collect();
                        let columns = table
                            .columns
                            .iter()
                            .filter_map(|c| named(c.attnum).map(|n| (c.attnum, n.1.clone(), n.4)))
                            .collect();
                        shapes.push(Shape::of(index, now, key, columns));
                    }
                    None => missing.push(index),
                }
            }
            shapes.extend(self.by_names(client, &missing).await?);
            measure(client, &shapes).await
        })
        .await
    }

    /// The tables the migration and its rollback changed by DDL (their columns' catalog rows
    /// written since `read`, or the table gone), as they are now, by the names they had
    /// before, each column by its name.
    pub async fn after_rollback(&self, client: &Client) -> Result<Vec<Measured>, tokio_postgres::Error> {
        reading(client, async {
            let oids: Vec<u32> = self.tables.iter().map(|t| t.oid).collect();
            let touched: Vec<u32> = client
                .query(TOUCHED, &[&oids, &self.xid])
                .await?
                .iter()
                .map(|r| r.get::<_, i64>(0) as u32)
                .collect();
            let wanted: Vec<usize> = (0..self.tables.len()).filter(|i| touched.contains(&self.tables[*i].oid)).collect();
            let shapes = self.by_names(client, &wanted).await?;
            measure(client, &shapes).await
        })
        .await
    }

    /// The tables `indexes` by the names they had before.
    async fn by_names(&self, client: &Client, indexes: &[usize]) -> Result<Vec<Shape>, tokio_postgres::Error> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let schemas: Vec<&str> = indexes.iter().map(|i| self.tables[*i].schema.as_str()).collect();
        let relnames: Vec<&str> = indexes.iter().map(|i| self.tables[*i].relname.as_str()).collect();
        let now = found(&client.query(by_name().as_str(), &[&schemas, &relnames, &self.xid]).await?);
        Ok(indexes
            .iter()
            .filter_map(|index| {
                let table = &self.tables[*index];
                let found = now.iter().find(|t| t.schema == table.schema && t.relname == table.relname)?;
                let named = |name: &str| found.columns.iter().find(|c| c.2 == name);
                let key = table
                    .key
                    .iter()
                    .map(|k| {
                        let name = &table.columns.iter().find(|c| c.attnum == *k)?.name;
                        named(name).map(|c| c.1.clone())
                    })
                    .collect();
                let columns = table
                    .columns
                    .iter()
                    .filter_map(|c| named(&c.name).map(|n| (c.attnum, n.1.clone(), n.4)))
                    .collect();
                Some(Shape::of(*index, found, key, columns))
            })
            .collect())
    }
}

/// The tables (of `oids`) that are gone, or one of whose columns' catalog rows was written
/// since transaction `$2` began: the ones DDL changed (a column added, dropped, renamed, its
/// type or constraints changed). Their own `pg_class` row is not asked: a foreign key to the
/// table or an index on it writes it too, and changes none of its data.
const TOUCHED: &str = "SELECT o::int8 FROM unnest($1::oid[]) AS o
  WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o)
     OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = o AND a.xmin::text::int8 >= $2)";

/// Runs `read` in the reader state, and puts the session back as it was, whatever happened.
async fn reading<T>(
    client: &Client,
    read: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    client.batch_execute(READER_ON).await?;
    let result = read.await;
    let back = client.batch_execute(READER_OFF).await;
    let result = result?;
    back?;
    Ok(result)
}

/// Counts and hashes every column of every table, in one query.
async fn measure(client: &Client, shapes: &[Shape]) -> Result<Vec<Measured>, tokio_postgres::Error> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = shapes
        .iter()
        .enumerate()
        .map(|(index, shape)| {
            let counts: Vec<String> = shape.columns.iter().map(|c| format!("count({})", c.1)).collect();
            // Every type has a text form; the sum of 64-bit hashes, as a numeric, does not
            // overflow and does not depend on the rows' order.
            let hash = |text: String| format!("coalesce(sum(hashtextextended({text}, 0)), 0)::text");
            let hashes: Vec<String> = shape.columns.iter().map(|c| hash(format!("{}::text", c.1))).collect();
            let keyed: Vec<String> = match &shape.key {
                Some(key) => shape
                    .columns
                    .iter()
                    .map(|c| hash(format!("{key} || chr(1) || {}::text", c.1)))
                    .collect(),
                None => vec!["NULL".to_string(); shape.columns.len()],
            };
            format!(
                "SELECT {index}::int4, count(*)::int8, ARRAY[{}]::int8[], ARRAY[{}]::text[], ARRAY[{}]::text[] FROM {}",
                counts.join(", "),
                hashes.join(", "),
                keyed.join(", "),
                shape.from
            )
        })
        .collect();
    let rows = client.query(selects.join(" UNION ALL ").as_str(), &[]).await?;
    let mut measured: Vec<Measured> = shapes
        .iter()
        .map(|s| Measured {
            before: s.before,
            rows: 0,
            columns: BTreeMap::new(),
        })
        .collect();
    for row in rows {
        let index = row.get::<_, i32>(0) as usize;
        let (shape, out) = (&shapes[index], &mut measured[index]);
        out.rows = row.get(1);
        let counts: Vec<i64> = row.get(2);
        let hashes: Vec<String> = row.get(3);
        let keyed: Vec<Option<String>> = row.get(4);
        for (i, (attnum, _, written)) in shape.columns.iter().enumerate() {
            let values = Values {
                with_value: counts[i],
                hash: hashes[i].clone(),
                keyed: keyed[i].clone(),
            };
            out.columns.insert(*attnum, (values, *written));
        }
    }
    Ok(measured)
}
