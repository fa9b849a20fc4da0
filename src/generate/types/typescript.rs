//! The TypeScript Supabase's generator writes (supabase/postgres-meta,
//! `src/server/templates/typescript.ts`, the release the README names), from the catalog facts
//! `read` gathers: the same sections, names, orders and types, printed as prettier prints the
//! template's text. The rules below follow that template line by line; where the comment says
//! "as the generator does", the behaviour is its, odd or not, so that the files diff clean.

use std::collections::HashMap;

use super::collate::compare;
use super::doc::print;
use super::read::{Arg, Column, Function, Identity, Metadata, PgType, Relation, RelationKind, Relationship};
use super::ts::{never_section, object, or_null, raw, Js, Member, Ts};

/// What the generator is asked for beyond the schema.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Relationships say `isOneToOne` (the Supabase CLI asks for it for PostgREST 11 and later).
    pub one_to_one: bool,
    /// `__InternalSupabase: { PostgrestVersion }`, when given.
    pub postgrest_version: Option<String>,
}

const JSON_TYPE: &str = "export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]
";

/// The helper types after `Database`: fixed text, as the generator writes it for the default
/// schema `public`.
const HELPERS: &str = include_str!("helpers.ts");

/// json, jsonb, text: the types an unnamed argument may have.
const UNNAMED_ARGUMENT_TYPES: [u32; 3] = [114, 3802, 25];

/// A function and its input arguments.
type Overload<'a, 'b> = (&'a Function, &'b Vec<&'a Arg>);

struct Table<'a> {
    relation: &'a Relation,
    relationships: Vec<&'a Relationship>,
}

struct Schema<'a> {
    name: &'a str,
    tables: Vec<Table<'a>>,
    views: Vec<Table<'a>>,
    functions: Vec<(&'a Function, Vec<&'a Arg>)>,
    enums: Vec<&'a PgType>,
    composites: Vec<&'a PgType>,
}

struct Generator<'a> {
    metadata: &'a Metadata,
    options: &'a Options,
    schemas: Vec<&'a str>,
    columns: HashMap<u32, Vec<&'a Column>>,
    relation_names: HashMap<u32, &'a str>,
    types: HashMap<u32, &'a PgType>,
    /// Types that are a relation's row type (composites too).
    relation_types: HashMap<u32, &'a PgType>,
    /// Plain tables and views, by name, for row types.
    plain_tables: Vec<&'a Relation>,
    plain_views: Vec<&'a Relation>,
}

/// The file Supabase's generator writes for `metadata`.
pub fn render(metadata: &Metadata, options: &Options) -> String {
    let mut schemas: Vec<&str> = metadata.schemas.iter().map(String::as_str).collect();
    schemas.sort_by(|a, b| compare(a, b));
    let mut columns: HashMap<u32, Vec<&Column>> = HashMap::new();
    let mut relation_names = HashMap::new();
    for relation in &metadata.relations {
        columns.insert(relation.id, Vec::new());
        relation_names.insert(relation.id, relation.name.as_str());
    }
    for column in &metadata.columns {
        if let Some(list) = columns.get_mut(&column.relation_id) {
            list.push(column);
        }
    }
    for list in columns.values_mut() {
        list.sort_by(|a, b| compare(&a.name, &b.name));
    }
    let generator = Generator {
        metadata,
        options,
        schemas: schemas.clone(),
        columns,
        relation_names,
        types: metadata.types.iter().map(|t| (t.id, t)).collect(),
        relation_types: metadata
            .types
            .iter()
            .filter(|t| t.relation_id.is_some())
            .map(|t| (t.id, t))
            .collect(),
        plain_tables: metadata.relations.iter().filter(|r| r.kind == RelationKind::Table).collect(),
        plain_views: metadata.relations.iter().filter(|r| r.kind == RelationKind::View).collect(),
    };
    let mut relationships: Vec<&Relationship> = metadata.relationships.iter().collect();
    let json = |columns: &[String]| serde_json::to_string(columns).expect("names serialize");
    relationships.sort_by(|a, b| {
        compare(&a.foreign_key_name, &b.foreign_key_name)
            .then_with(|| compare(&a.referenced_relation, &b.referenced_relation))
            .then_with(|| compare(&json(&a.referenced_columns), &json(&b.referenced_columns)))
    });
    let introspected: Vec<Schema> = schemas.iter().map(|name| generator.schema(name, &relationships)).collect();

    let mut database_members = Vec::new();
    if let Some(version) = &options.postgrest_version {
        database_members.push(Member {
            comments: vec![
                "// Allows to automatically instantiate createClient with right options".to_string(),
                "// instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)".to_string(),
            ],
            ..Member::new(
                "__InternalSupabase",
                false,
                object(vec![Member::new("PostgrestVersion", false, Ts::Str(version.clone()))], true),
            )
        });
    }
    for schema in &introspected {
        database_members.push(Member::new(schema.name, false, generator.schema_type(schema)));
    }
    let constants = Js::Object(
        introspected
            .iter()
            .map(|schema| {
                let enums = schema
                    .enums
                    .iter()
                    .map(|e| (e.name.clone(), Js::Strings(e.enum_labels.clone())))
                    .collect();
                (schema.name.to_string(), Js::Object(vec![("Enums".to_string(), Js::Object(enums))]))
            })
            .collect(),
    );
    format!(
        "{JSON_TYPE}\nexport type Database = {}\n\n{HELPERS}\nexport const Constants = {} as const\n",
        print(&object(database_members, true).doc()),
        print(&constants.doc()),
    )
}

impl<'a> Generator<'a> {
    fn schema(&self, name: &'a str, relationships: &[&'a Relationship]) -> Schema<'a> {
        let metadata = self.metadata;
        let related = |relation: &Relation| -> Vec<&'a Relationship> {
            relationships
                .iter()
                .copied()
                .filter(|r| r.schema == relation.schema && r.referenced_schema == relation.schema && r.relation == relation.name)
                .collect()
        };
        let of = |kinds: &[RelationKind]| -> Vec<Table<'a>> {
            // Tables then foreign tables (views then materialized views), before the sort, as
            // the generator lists them.
            let mut out: Vec<Table> = Vec::new();
            for kind in kinds {
                for relation in metadata.relations.iter().filter(|r| r.schema == name && r.kind == *kind) {
                    out.push(Table {
                        relation,
                        relationships: related(relation),
                    });
                }
            }
            out.sort_by(|a, b| compare(&a.relation.name, &b.relation.name));
            out
        };
        let tables = of(&[RelationKind::Table, RelationKind::ForeignTable]);
        let views = of(&[RelationKind::View, RelationKind::MaterializedView]);
        let mut functions = Vec::new();
        for function in metadata.functions.iter().filter(|f| f.schema == name) {
            let mut args: Vec<&Arg> = function.args.iter().collect();
            args.sort_by(|a, b| compare(&a.name, &b.name));
            let inputs: Vec<&Arg> = args.iter().copied().filter(|a| a.mode.is_input()).collect();
            // Which functions PostgREST can call: as the generator decides.
            let unnamed_ok = |arg: &&Arg| !arg.name.is_empty() || (arg.has_default && UNNAMED_ARGUMENT_TYPES.contains(&arg.type_id));
            let kept = inputs.is_empty()
                || inputs.iter().all(unnamed_ok)
                || (inputs.len() == 1
                    && inputs[0].name.is_empty()
                    && (UNNAMED_ARGUMENT_TYPES.contains(&inputs[0].type_id) || self.relation_types.contains_key(&inputs[0].type_id)));
            if kept {
                functions.push((function, inputs));
            }
        }
        functions.sort_by(|a, b| compare(&a.0.name, &b.0.name));
        let mut enums: Vec<&PgType> = metadata
            .types
            .iter()
            .filter(|t| t.schema == name && !t.enum_labels.is_empty())
            .collect();
        enums.sort_by(|a, b| compare(&a.name, &b.name));
        let mut composites: Vec<&PgType> = metadata
            .types
            .iter()
            .filter(|t| t.schema == name && !t.attributes.is_empty())
            .collect();
        composites.sort_by(|a, b| compare(&a.name, &b.name));
        Schema {
            name,
            tables,
            views,
            functions,
            enums,
            composites,
        }
    }

    fn schema_type(&self, schema: &Schema) -> Ts {
        let section = |members: Vec<Member>| {
            if members.is_empty() {
                never_section()
            } else {
                object(members, true)
            }
        };
        let tables = schema
            .tables
            .iter()
            .map(|table| Member::new(&table.relation.name, false, self.table_type(schema, table)))
            .collect();
        let views = schema
            .views
            .iter()
            .map(|view| Member::new(&view.relation.name, false, self.view_type(schema, view)))
            .collect();
        let enums = schema
            .enums
            .iter()
            .map(|e| Member::new(&e.name, false, union(e.enum_labels.iter().map(|l| Ts::Str(l.clone())).collect())))
            .collect();
        let composites = schema
            .composites
            .iter()
            .map(|c| {
                let attributes = c
                    .attributes
                    .iter()
                    .map(|(name, type_id)| Member::new(name, false, nullable(self.ts_type_of(schema.name, *type_id), true)))
                    .collect();
                Member::new(&c.name, false, object(attributes, true))
            })
            .collect();
        object(
            vec![
                Member::new("Tables", false, section(tables)),
                Member::new("Views", false, section(views)),
                Member::new("Functions", false, section(self.functions(schema))),
                Member::new("Enums", false, section(enums)),
                Member::new("CompositeTypes", false, section(composites)),
            ],
            true,
        )
    }

    fn columns(&self, relation: u32) -> &[&'a Column] {
        self.columns.get(&relation).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A relation's columns as a row: `name: T`, `| null` when nullable.
    fn row_columns(&self, schema: &Schema, relation: u32) -> Vec<Member> {
        self.columns(relation)
            .iter()
            .map(|c| Member::new(&c.name, false, nullable(self.ts_type(schema.name, &c.format), c.is_nullable)))
            .collect()
    }

    /// `Row`: every column, then the computed fields (functions taking the row, unnamed).
    fn row(&self, schema: &Schema, relation: &Relation) -> Ts {
        let mut members = self.row_columns(schema, relation.id);
        for (function, _) in schema.functions.iter().filter(|(f, _)| f.argument_types == relation.name) {
            members.push(Member::new(
                &function.name,
                false,
                nullable(self.function_return(schema, function), true),
            ));
        }
        object(members, true)
    }

    fn table_type(&self, schema: &Schema, table: &Table) -> Ts {
        let id = table.relation.id;
        let write = |optional: &dyn Fn(&Column) -> bool| -> Ts {
            let members = self
                .columns(id)
                .iter()
                .map(|c| {
                    if c.identity == Some(Identity::Always) {
                        return Member::new(&c.name, true, raw("never"));
                    }
                    Member::new(&c.name, optional(c), nullable(self.ts_type(schema.name, &c.format), c.is_nullable))
                })
                .collect();
            object(members, true)
        };
        let insert = write(&|c: &Column| c.is_nullable || c.identity.is_some() || c.has_default);
        let update = write(&|_| true);
        object(
            vec![
                Member::new("Row", false, self.row(schema, table.relation)),
                Member::new("Insert", false, insert),
                Member::new("Update", false, update),
                Member::new("Relationships", false, self.relationships(table)),
            ],
            true,
        )
    }

    fn view_type(&self, schema: &Schema, view: &Table) -> Ts {
        let mut members = vec![Member::new("Row", false, self.row(schema, view.relation))];
        // Materialized views are never updatable, as the generator has it.
        if view.relation.is_updatable && view.relation.kind == RelationKind::View {
            let write = || {
                let members = self
                    .columns(view.relation.id)
                    .iter()
                    .map(|c| {
                        if !c.is_updatable {
                            return Member::new(&c.name, true, raw("never"));
                        }
                        Member::new(&c.name, true, nullable(self.ts_type(schema.name, &c.format), true))
                    })
                    .collect();
                object(members, true)
            };
            members.push(Member::new("Insert", false, write()));
            members.push(Member::new("Update", false, write()));
        }
        members.push(Member::new("Relationships", false, self.relationships(view)));
        object(members, true)
    }

    fn relationships(&self, table: &Table) -> Ts {
        let names = |names: &[String]| Ts::Tuple(names.iter().map(|n| Ts::Str(n.clone())).collect());
        Ts::Tuple(
            table
                .relationships
                .iter()
                .map(|r| {
                    let mut members = vec![
                        Member::new("foreignKeyName", false, Ts::Str(r.foreign_key_name.clone())),
                        Member::new("columns", false, names(&r.columns)),
                    ];
                    if self.options.one_to_one {
                        members.push(Member::new(
                            "isOneToOne",
                            false,
                            raw(if r.is_one_to_one { "true" } else { "false" }),
                        ));
                    }
                    members.push(Member::new("referencedRelation", false, Ts::Str(r.referenced_relation.clone())));
                    members.push(Member::new("referencedColumns", false, names(&r.referenced_columns)));
                    object(members, true)
                })
                .collect(),
        )
    }

    /// The table, view or composite type a function's returned row is, by name.
    fn returned_relation(&self, function: &Function) -> Option<&'a str> {
        let relation = function.return_type_relation_id?;
        if let Some(name) = self.relation_names.get(&relation) {
            return Some(name);
        }
        self.relation_types.get(&function.return_type_id).map(|t| t.name.as_str())
    }

    /// What a function returns, without the set's `[]`.
    fn function_return(&self, schema: &Schema, function: &Function) -> Ts {
        let table_columns: Vec<&Arg> = {
            let mut args: Vec<&Arg> = function.args.iter().filter(|a| a.mode == super::read::ArgMode::Table).collect();
            args.sort_by(|a, b| compare(&a.name, &b.name));
            args
        };
        if !table_columns.is_empty() {
            let members = table_columns
                .iter()
                .map(|a| Member::new(&a.name, false, self.ts_type_of(schema.name, a.type_id)))
                .collect();
            return object(members, true);
        }
        let relation = function.return_type_relation_id.and_then(|id| {
            schema
                .tables
                .iter()
                .map(|t| t.relation)
                .find(|r| r.id == id)
                .or_else(|| schema.views.iter().map(|v| v.relation).find(|r| r.id == id))
        });
        if let Some(relation) = relation {
            return object(self.row_columns(schema, relation.id), true);
        }
        self.ts_type_of(schema.name, function.return_type_id)
    }

    fn args_type(&self, schema: &Schema, inputs: &[&Arg]) -> Ts {
        if inputs.is_empty() {
            return raw("never");
        }
        let members = inputs
            .iter()
            .map(|a| Member::new(&a.name, a.has_default, self.ts_type_of(schema.name, a.type_id)))
            .collect();
        object(members, false)
    }

    fn functions(&self, schema: &Schema) -> Vec<Member> {
        let mut groups: Vec<(&str, Vec<Overload>)> = Vec::new();
        for (function, inputs) in &schema.functions {
            match groups.iter_mut().find(|(name, _)| *name == function.name) {
                Some((_, group)) => group.push((function, inputs)),
                None => groups.push((&function.name, vec![(function, inputs)])),
            }
        }
        object_key_order(&mut groups);
        groups
            .into_iter()
            .map(|(name, mut overloads)| {
                overloads.sort_by(|a, b| {
                    compare(&a.0.argument_types, &b.0.argument_types).then_with(|| compare(&a.0.return_type, &b.0.return_type))
                });
                let signatures: Vec<Ts> = overloads
                    .iter()
                    .map(|(f, inputs)| self.signature(schema, f, inputs, &overloads))
                    .collect();
                Member::new(name, false, union(signatures))
            })
            .collect()
    }

    fn signature(&self, schema: &Schema, function: &Function, inputs: &[&Arg], overloads: &[Overload]) -> Ts {
        let args = self.args_type(schema, inputs);
        let error = self
            .conflict(schema, function, inputs, overloads)
            .or_else(|| self.row_argument_error(schema, function, inputs));
        let returns = match error {
            Some(message) => Ts::Intersection(vec![
                object(vec![Member::new("error", false, raw("true"))], false),
                Ts::Str(message),
            ]),
            None => self.function_return(schema, function),
        };
        let returned = self.returned_relation(function);
        let several_rows = function.rows.is_some_and(|rows| rows > 1.0);
        // A set of rows declared ROWS 1 returning a relation is one row (postgres-meta's test
        // snapshot, `function_using_setof_rows_one`); a set of scalars stays an array.
        let single_row = !several_rows && returned.is_some();
        let returns = if function.is_set_returning && !single_row {
            array_of(returns)
        } else {
            returns
        };
        let mut members = vec![Member::new("Args", false, args), Member::new("Returns", false, returns)];
        if let Some(setof) = self.setof_options(function, returned, several_rows) {
            members.push(Member::new("SetofOptions", false, setof));
        }
        object(members, false)
    }

    fn setof_options(&self, function: &Function, returned: Option<&str>, several_rows: bool) -> Option<Ts> {
        let options = |from: &str, to: &str, one: bool, set: bool| {
            object(
                vec![
                    Member::new("from", false, Ts::Str(from.to_string())),
                    Member::new("to", false, Ts::Str(to.to_string())),
                    Member::new("isOneToOne", false, raw(if one { "true" } else { "false" })),
                    Member::new("isSetofReturn", false, raw(if set { "true" } else { "false" })),
                ],
                true,
            )
        };
        let to = returned?;
        let returns_set_of_table = function.is_set_returning && function.return_type_relation_id.is_some();
        if let [only] = function.args.as_slice() {
            if let Some(source) = self.relation_types.get(&only.type_id) {
                return Some(if returns_set_of_table {
                    options(&source.format, to, !several_rows, true)
                } else {
                    options(&source.format, to, true, false)
                });
            }
        }
        Some(options("*", to, !several_rows, function.is_set_returning))
    }

    /// Overloads PostgREST cannot choose between, said as the generator says it.
    fn conflict(&self, schema: &Schema, function: &Function, inputs: &[&Arg], overloads: &[Overload]) -> Option<String> {
        if overloads.len() <= 1 {
            return None;
        }
        let others = overloads.iter().filter(|(f, _)| f.id != function.id);
        let type_name = |id: u32| self.types.get(&id).map(|t| t.name.as_str()).unwrap_or("unknown");
        let tail = "Try renaming the parameters or the function itself in the database so function overloading can be resolved";
        if inputs.is_empty() {
            if let Some((other, _)) = others
                .clone()
                .find(|(_, i)| i.len() == 1 && i[0].name.is_empty() && i[0].has_default)
            {
                return Some(format!(
                    "Could not choose the best candidate function between: {s}.{n}(), {s}.{n}( => {t}). {tail}",
                    s = schema.name,
                    n = function.name,
                    t = type_name(other.return_type_id)
                ));
            }
        }
        if inputs.len() == 1 && !inputs[0].name.is_empty() {
            let conflicting: Vec<&Vec<&Arg>> = others
                .filter(|(_, i)| i.len() == 1 && i[0].name == inputs[0].name && i[0].type_id != inputs[0].type_id)
                .map(|(_, i)| *i)
                .collect();
            if !conflicting.is_empty() {
                let mut all: Vec<&[&Arg]> = vec![inputs];
                all.extend(conflicting.iter().map(|i| i.as_slice()));
                all.sort_by_key(|i| i.first().map_or(0, |a| a.type_id));
                let list: Vec<String> = all
                    .iter()
                    .map(|i| {
                        let args: Vec<String> = i.iter().map(|a| format!("{} => {}", a.name, type_name(a.type_id))).collect();
                        format!("{}.{}({})", schema.name, function.name, args.join(", "))
                    })
                    .collect();
                return Some(format!(
                    "Could not choose the best candidate function between: {}. {tail}",
                    list.join(", ")
                ));
            }
        }
        None
    }

    /// A function of one unnamed row argument that returns no relation: a computed field
    /// PostgREST cannot call as a function.
    fn row_argument_error(&self, schema: &Schema, function: &Function, inputs: &[&Arg]) -> Option<String> {
        let row_argument = inputs.len() == 1 && inputs[0].name.is_empty() && self.relation_types.contains_key(&inputs[0].type_id);
        (row_argument && self.returned_relation(function).is_none()).then(|| {
            format!(
                "the function {}.{} with parameter or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache",
                schema.name, function.name
            )
        })
    }

    /// The type of oid `id` as TypeScript; `unknown` when it is not known.
    fn ts_type_of(&self, schema: &str, id: u32) -> Ts {
        match self.types.get(&id) {
            Some(t) => self.ts_type(schema, &t.name),
            None => raw("unknown"),
        }
    }

    /// A PostgreSQL type, by name, as TypeScript.
    fn ts_type(&self, schema: &str, name: &str) -> Ts {
        match name {
            "bool" => return raw("boolean"),
            "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" => return raw("number"),
            "bytea" | "bpchar" | "varchar" | "date" | "text" | "citext" | "time" | "timetz" | "timestamp" | "timestamptz" | "uuid"
            | "vector" | "interval" => return raw("string"),
            "json" | "jsonb" => return raw("Json"),
            "void" => return raw("undefined"),
            "record" => return raw("Record<string, unknown>"),
            _ => {}
        }
        if let Some(element) = name.strip_prefix('_') {
            return Ts::Array(Box::new(self.ts_type(schema, element)));
        }
        let generated = |s: &str| self.schemas.contains(&s);
        // The type of that name, the printed schema's first (as the generator prefers it).
        let pick = |kind: fn(&PgType) -> bool| -> Option<&'a PgType> {
            let candidates: Vec<&'a PgType> = self.metadata.types.iter().filter(|t| t.name == name && kind(t)).collect();
            candidates
                .iter()
                .copied()
                .find(|t| t.schema == schema)
                .or_else(|| candidates.first().copied())
        };
        if let Some(e) = pick(|t| !t.enum_labels.is_empty()) {
            if generated(&e.schema) {
                return raw(&format!("Database[{}][\"Enums\"][{}]", quoted(&e.schema), quoted(&e.name)));
            }
            return union(e.enum_labels.iter().map(|l| Ts::Str(l.clone())).collect());
        }
        if let Some(c) = pick(|t| !t.attributes.is_empty()) {
            if generated(&c.schema) {
                return raw(&format!("Database[{}][\"CompositeTypes\"][{}]", quoted(&c.schema), quoted(&c.name)));
            }
            return raw("unknown");
        }
        for (relations, section) in [(&self.plain_tables, "Tables"), (&self.plain_views, "Views")] {
            let matching: Vec<&&Relation> = relations.iter().filter(|r| r.name == name).collect();
            if let Some(r) = matching.iter().find(|r| r.schema == schema).or_else(|| matching.first()) {
                if generated(&r.schema) {
                    return raw(&format!(
                        "Database[{}][\"{section}\"][{}][\"Row\"]",
                        quoted(&r.schema),
                        quoted(&r.name)
                    ));
                }
                return raw("unknown");
            }
        }
        raw("unknown")
    }
}

fn quoted(name: &str) -> String {
    super::ts::string_literal(name)
}

/// `T | null` when nullable; `unknown` stays itself (it holds null already).
fn nullable(ty: Ts, is_nullable: bool) -> Ts {
    if !is_nullable || ty == raw("unknown") || ty == raw("any") {
        ty
    } else {
        or_null(ty)
    }
}

fn union(mut types: Vec<Ts>) -> Ts {
    if types.len() == 1 {
        types.remove(0)
    } else {
        Ts::Union(types)
    }
}

/// `T[]`, where the template appends `[]` to the text of `T`: so to the last operand of an
/// intersection or a union (`"a" | "b"[]` for a set of an enum written inline), as TypeScript
/// then reads it.
fn array_of(ty: Ts) -> Ts {
    match ty {
        Ts::Intersection(mut types) => {
            let last = types.pop().expect("an intersection has operands");
            types.push(array_of(last));
            Ts::Intersection(types)
        }
        Ts::Union(mut types) => {
            let last = types.pop().expect("a union has members");
            types.push(array_of(last));
            Ts::Union(types)
        }
        other => Ts::Array(Box::new(other)),
    }
}

/// JavaScript's order of an object's keys, which the template's `Object.entries` of the
/// functions grouped by name gives: integer-like names (array indexes) first, in numeric order,
/// then the rest as inserted.
fn object_key_order<T>(groups: &mut [(&str, T)]) {
    let index = |name: &str| -> Option<u64> {
        let canonical = name == "0" || (!name.starts_with('0') && !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()));
        name.parse::<u64>().ok().filter(|n| canonical && *n < u32::MAX as u64)
    };
    groups.sort_by_key(|(name, _)| match index(name) {
        Some(n) => (0, n),
        None => (1, 0),
    });
}
