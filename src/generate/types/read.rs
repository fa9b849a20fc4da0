//! What the type generator reads from the catalog: the same facts, by the same rules, as
//! postgres-meta's queries for its generator (`src/lib/sql/{tables,views,columns,functions,types,
//! table_relationships}.sql.ts`), written for dbgate: schemas, tables, views, columns with the
//! type a domain stands for, foreign keys and whether they are one-to-one, functions with their
//! arguments, and every type (enums with their labels, composites with their attributes).

use tokio_postgres::Client;

use super::view_keys;

/// The migrated schema, as the generator sees it.
#[derive(Debug, Default)]
pub struct Metadata {
    /// The schemas asked for that exist.
    pub schemas: Vec<String>,
    pub relations: Vec<Relation>,
    pub columns: Vec<Column>,
    /// Foreign keys between tables, then the ones views expose.
    pub relationships: Vec<Relationship>,
    pub functions: Vec<Function>,
    /// Every type in the database, system schemas included: names are looked up in it.
    pub types: Vec<PgType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// A table, partitioned or not.
    Table,
    ForeignTable,
    View,
    MaterializedView,
}

#[derive(Debug, Clone)]
pub struct Relation {
    pub id: u32,
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    /// A view PostgreSQL can UPDATE and DELETE through on its own.
    pub is_updatable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub relation_id: u32,
    pub name: String,
    /// The type's name; a domain's base type's name.
    pub format: String,
    pub is_nullable: bool,
    pub has_default: bool,
    pub identity: Option<Identity>,
    pub is_updatable: bool,
}

#[derive(Debug, Clone)]
pub struct Relationship {
    pub foreign_key_name: String,
    pub schema: String,
    pub relation: String,
    pub columns: Vec<String>,
    pub is_one_to_one: bool,
    pub referenced_schema: String,
    pub referenced_relation: String,
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgMode {
    In,
    Out,
    InOut,
    Variadic,
    Table,
}

impl ArgMode {
    /// What the caller passes.
    pub fn is_input(self) -> bool {
        matches!(self, ArgMode::In | ArgMode::InOut | ArgMode::Variadic)
    }
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub mode: ArgMode,
    /// Empty when unnamed.
    pub name: String,
    pub type_id: u32,
    pub has_default: bool,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub id: u32,
    pub schema: String,
    pub name: String,
    pub args: Vec<Arg>,
    /// `pg_get_function_arguments`.
    pub argument_types: String,
    /// `pg_get_function_result`.
    pub return_type: String,
    pub return_type_id: u32,
    /// The relation (or composite type's relation) of the returned row type.
    pub return_type_relation_id: Option<u32>,
    pub is_set_returning: bool,
    /// `ROWS`, for a set-returning function.
    pub rows: Option<f32>,
}

#[derive(Debug, Clone)]
pub struct PgType {
    pub id: u32,
    pub name: String,
    pub schema: String,
    /// `format_type`: schema-qualified when not on the search path.
    pub format: String,
    pub enum_labels: Vec<String>,
    /// A composite type's attributes: name and type, in order.
    pub attributes: Vec<(String, u32)>,
    pub relation_id: Option<u32>,
}

const RELATIONS: &str = "
SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
       c.relkind = 'v' AND (pg_relation_is_updatable(c.oid, false) & 20) = 20
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND n.nspname = ANY($1)
 ORDER BY c.oid";

const COLUMNS: &str = "
SELECT c.oid, a.attname::text, coalesce(bt.typname, t.typname)::text,
       NOT (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)),
       a.atthasdef, a.attidentity::text,
       c.relkind IN ('r', 'p')
         OR (c.relkind IN ('v', 'f') AND pg_column_is_updatable(c.oid, a.attnum, false))
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
 WHERE a.attnum > 0 AND NOT a.attisdropped
   AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND n.nspname = ANY($1)
 ORDER BY c.oid, a.attnum";

/// Foreign keys declared on a table (not the copies on its partitions), with whether their
/// columns are also the table's primary key or one of its unique constraints (one-to-one).
const RELATIONSHIPS: &str = "
WITH keys AS (
  SELECT k.conrelid,
         jsonb_agg(to_jsonb(array(SELECT a.attname::text FROM unnest(k.conkey) AS u(n)
                                   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n
                                  ORDER BY a.attnum))) AS column_sets
    FROM pg_constraint k
   WHERE k.contype IN ('p', 'u')
   GROUP BY k.conrelid
)
SELECT f.conname::text, n.nspname::text, t.relname::text, cols.names,
       rn.nspname::text, r.relname::text, cols.refs,
       coalesce(to_jsonb(cols.names) IN (SELECT jsonb_array_elements(keys.column_sets)), false)
  FROM pg_constraint f
  JOIN pg_namespace n ON n.oid = f.connamespace
  JOIN pg_class t ON t.oid = f.conrelid
  JOIN pg_class r ON r.oid = f.confrelid
  JOIN pg_namespace rn ON rn.oid = r.relnamespace
  JOIN LATERAL (
    SELECT array_agg(ca.attname::text ORDER BY u.ord) AS names,
           array_agg(ra.attname::text ORDER BY u.ord) AS refs
      FROM unnest(f.conkey, f.confkey) WITH ORDINALITY AS u(col, ref, ord)
      JOIN pg_attribute ca ON ca.attrelid = f.conrelid AND ca.attnum = u.col
      JOIN pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = u.ref
  ) cols ON true
  LEFT JOIN keys ON keys.conrelid = f.conrelid
 WHERE f.contype = 'f' AND f.conparentid = 0 AND n.nspname = ANY($1)
 ORDER BY f.oid";

const FUNCTIONS: &str = "
SELECT p.oid, n.nspname::text, p.proname::text,
       coalesce(p.proargmodes::text[],
                array_fill('i'::text, ARRAY[cardinality(coalesce(p.proallargtypes, p.proargtypes::oid[]))])),
       coalesce(p.proargnames,
                array_fill(''::text, ARRAY[cardinality(coalesce(p.proallargtypes, p.proargtypes::oid[]))])),
       coalesce(p.proallargtypes, p.proargtypes::oid[]),
       p.pronargs::int4, p.pronargdefaults::int4,
       pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
       p.prorettype, nullif(rt.typrelid, 0), p.proretset,
       CASE WHEN p.proretset THEN nullif(p.prorows, 0) END
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN pg_type rt ON rt.oid = p.prorettype
 WHERE p.prokind = 'f' AND n.nspname = ANY($1)
 ORDER BY p.oid";

const TYPES: &str = "
SELECT t.oid, t.typname::text, n.nspname::text, format_type(t.oid, NULL),
       array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
       array(SELECT a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE a.attrelid = t.typrelid AND c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum),
       array(SELECT a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE a.attrelid = t.typrelid AND c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum),
       nullif(t.typrelid, 0)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typrelid = 0
    OR EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind IN ('c', 'r', 'v', 'm', 'p', 'f'))
 ORDER BY t.oid";

/// Reads the catalog for the `schemas` asked for.
pub async fn read(client: &Client, schemas: &[String]) -> Result<Metadata, tokio_postgres::Error> {
    let mut metadata = Metadata::default();
    for row in client
        .query("SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1)", &[&schemas])
        .await?
    {
        metadata.schemas.push(row.get(0));
    }
    for row in client.query(RELATIONS, &[&schemas]).await? {
        let kind = match row.get::<_, String>(3).as_str() {
            "f" => RelationKind::ForeignTable,
            "v" => RelationKind::View,
            "m" => RelationKind::MaterializedView,
            _ => RelationKind::Table,
        };
        metadata.relations.push(Relation {
            id: row.get(0),
            schema: row.get(1),
            name: row.get(2),
            kind,
            is_updatable: row.get(4),
        });
    }
    for row in client.query(COLUMNS, &[&schemas]).await? {
        let identity = match row.get::<_, String>(5).as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        metadata.columns.push(Column {
            relation_id: row.get(0),
            name: row.get(1),
            format: row.get(2),
            is_nullable: row.get(3),
            has_default: row.get(4),
            identity,
            is_updatable: row.get(6),
        });
    }
    for row in client.query(RELATIONSHIPS, &[&schemas]).await? {
        metadata.relationships.push(Relationship {
            foreign_key_name: row.get(0),
            schema: row.get(1),
            relation: row.get(2),
            columns: row.get(3),
            referenced_schema: row.get(4),
            referenced_relation: row.get(5),
            referenced_columns: row.get(6),
            is_one_to_one: row.get(7),
        });
    }
    let exposed = view_keys::read(client, schemas).await?;
    let through_views = view_keys::relationships(&metadata.relationships, &exposed);
    metadata.relationships.extend(through_views);
    for row in client.query(FUNCTIONS, &[&schemas]).await? {
        let modes: Vec<String> = row.get(3);
        let names: Vec<String> = row.get(4);
        let types: Vec<u32> = row.get(5);
        let (inputs, defaults): (i32, i32) = (row.get(6), row.get(7));
        // As postgres-meta does: the last `pronargdefaults` of the first `pronargs` positions
        // have defaults, counted over every argument (OUT ones too).
        let args = modes
            .iter()
            .zip(&names)
            .zip(&types)
            .enumerate()
            .map(|(index, ((mode, name), type_id))| Arg {
                mode: match mode.as_str() {
                    "o" => ArgMode::Out,
                    "b" => ArgMode::InOut,
                    "v" => ArgMode::Variadic,
                    "t" => ArgMode::Table,
                    _ => ArgMode::In,
                },
                name: name.clone(),
                type_id: *type_id,
                has_default: (index as i32) >= inputs - defaults && (index as i32) < inputs,
            })
            .collect();
        let return_type: String = row.get(9);
        // Trigger functions are not called through the API.
        if return_type == "trigger" || return_type == "event_trigger" {
            continue;
        }
        metadata.functions.push(Function {
            id: row.get(0),
            schema: row.get(1),
            name: row.get(2),
            args,
            argument_types: row.get(8),
            return_type,
            return_type_id: row.get(10),
            return_type_relation_id: row.get(11),
            is_set_returning: row.get(12),
            rows: row.get(13),
        });
    }
    for row in client.query(TYPES, &[]).await? {
        let names: Vec<String> = row.get(5);
        let type_ids: Vec<u32> = row.get(6);
        metadata.types.push(PgType {
            id: row.get(0),
            name: row.get(1),
            schema: row.get(2),
            format: row.get(3),
            enum_labels: row.get(4),
            attributes: names.into_iter().zip(type_ids).collect(),
            relation_id: row.get(7),
        });
    }
    Ok(metadata)
}
