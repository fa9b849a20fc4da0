//! The schema as SQL a person can read and review: what the migrations made or changed (set
//! against what was there before the first migration), in a stable order (schemas, roles,
//! extensions, types, sequences, tables with their columns and constraints, indexes, views,
//! functions, triggers, rules, policies, event triggers, publications, grants, default
//! privileges, and what they dropped or revoked of what was there), each group sorted by name.
//! Nothing that depends on the server or the provider: no dump header, nothing of the login role
//! (its ownership, its own privileges, the role itself: it differs from provider to provider).
//! Written from the catalog snapshot the checks already read, with PostgreSQL's own deparsers
//! (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`). Meant to
//! be read and diffed; the migrations, not this file, build the schema (objects are grouped by
//! kind, not ordered by what depends on what).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::catalog::{Attributes, Snapshot};
use crate::object::{strip_last_identifier, ObjectId, ObjectKind};

/// One section's statements.
type Section = fn(&Schema) -> Vec<String>;

/// What the snapshot is written from.
struct Schema<'a> {
    made: BTreeMap<&'a ObjectId, Attributes>,
    start: &'a Snapshot,
    after: &'a Snapshot,
    /// Every object before and after, by kind and name (an object id also holds a schema,
    /// which one made from a name has not).
    before_by_name: BTreeMap<(ObjectKind, &'a str), &'a crate::catalog::Properties>,
    after_by_name: BTreeMap<(ObjectKind, &'a str), &'a crate::catalog::Properties>,
    login: String,
    login_quoted: String,
}

impl Schema<'_> {
    /// The attributes `kind` `name` had before the first migration.
    fn before(&self, kind: ObjectKind, name: &str) -> Option<Attributes> {
        self.before_by_name.get(&(kind, name)).map(|p| p.attributes())
    }

    fn is_after(&self, kind: ObjectKind, name: &str) -> bool {
        self.after_by_name.contains_key(&(kind, name))
    }

    fn made(&self, kind: ObjectKind, name: &str) -> Option<&Attributes> {
        self.made.iter().find(|(id, _)| id.kind == kind && id.name == name).map(|(_, a)| a)
    }

    fn of(&self, kind: ObjectKind) -> impl Iterator<Item = (&ObjectId, &Attributes)> {
        self.made.iter().filter(move |(id, _)| id.kind == kind).map(|(id, a)| (*id, a))
    }

    fn existed(&self, id: &ObjectId) -> bool {
        self.start.objects.contains_key(id)
    }

    fn is_login(&self, role: &str) -> bool {
        role == self.login || role == self.login_quoted
    }

    /// The owner to say, unless it is the login role.
    fn owner(&self, attrs: &Attributes) -> Option<String> {
        attrs.get("owner").filter(|o| !self.is_login(o)).cloned()
    }

    /// The parts (`kind`) of `table`, with their own names: `c on public.t`, `public.t.c`.
    fn parts_of<'s>(&'s self, kind: ObjectKind, table: &'s str) -> impl Iterator<Item = (&'s str, &'s Attributes)> + 's {
        self.made.iter().filter(move |(id, _)| id.kind == kind).filter_map(move |(id, a)| {
            let own = own_name(id, table)?;
            Some((own, a))
        })
    }
}

/// The schema in `after` that was not (so) in `start`, as SQL. `title` heads it (which
/// migration it follows); `login` is the role dbgate ran as, the provider's, not the
/// migrations'.
pub fn render(start: &Snapshot, after: &Snapshot, title: &str, login: &str) -> String {
    let schema = Schema {
        made: after
            .objects
            .iter()
            .filter(|(id, properties)| start.objects.get(id.as_ref()) != Some(properties))
            .map(|(id, properties)| (id.as_ref(), properties.attributes()))
            .collect(),
        start,
        after,
        before_by_name: start.objects.iter().map(|(id, p)| ((id.kind, id.name.as_str()), p)).collect(),
        after_by_name: after.objects.iter().map(|(id, p)| ((id.kind, id.name.as_str()), p)).collect(),
        login: login.to_string(),
        login_quoted: crate::script::ident(login),
    };
    let mut out = String::new();
    let _ = writeln!(out, "-- {title}");
    let _ = writeln!(
        out,
        "-- Written by dbgate snapshot from the migrated schema: `dbgate snapshot --write` writes it again."
    );
    let sections: [(&str, Section); 17] = [
        ("Schemas", schemas),
        ("Roles", roles),
        ("Extensions", extensions),
        ("Types", types),
        ("Sequences", sequences),
        ("Tables", tables),
        ("Indexes", indexes),
        ("Views", views),
        ("Functions", functions),
        ("Triggers", triggers),
        ("Rules", rules),
        ("Policies", policies),
        ("Event triggers", event_triggers),
        ("Publications", publications),
        ("Grants", grants),
        ("Default privileges", default_privileges),
        ("Dropped or revoked from what was there before the first migration", gone),
    ];
    for (heading, lines) in sections {
        let lines = lines(&schema);
        if !lines.is_empty() {
            let _ = writeln!(out, "\n-- {heading}\n\n{}", lines.join("").trim_end());
        }
    }
    out
}

fn schemas(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Schema) {
        // One that was there before (public, a preset's) is not made again: only its changes.
        if !s.existed(id) {
            lines.push(format!("CREATE SCHEMA {};\n", id.name));
        }
        if let Some(owner) = s.owner(attrs) {
            lines.push(format!("ALTER SCHEMA {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "SCHEMA", &id.name, attrs);
    }
    lines
}

fn roles(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Role).filter(|(id, _)| !s.is_login(&id.name)) {
        let verb = if s.existed(id) { "ALTER" } else { "CREATE" };
        lines.push(format!("{verb} ROLE {}{};\n", id.name, role_options(attrs)));
        let member_of: Vec<&str> = attrs
            .get("member of")
            .map(|m| m.split(", ").filter(|r| !s.is_login(r)).collect())
            .unwrap_or_default();
        if !member_of.is_empty() {
            lines.push(format!("GRANT {} TO {};\n", member_of.join(", "), id.name));
        }
        for (key, value) in settings(attrs.get("settings").map(String::as_str).unwrap_or("")) {
            lines.push(format!("ALTER ROLE {} SET {key} = {};\n", id.name, setting_value(&key, &value)));
        }
    }
    lines
}

fn extensions(s: &Schema) -> Vec<String> {
    s.of(ObjectKind::Extension)
        .map(|(id, attrs)| {
            let schema = attrs.get("schema").map(|s| format!(" WITH SCHEMA {s}")).unwrap_or_default();
            format!("CREATE EXTENSION IF NOT EXISTS {}{schema};\n", id.name)
        })
        .collect()
}

fn types(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    let mut later = Vec::new();
    for (id, attrs) in &s.made {
        let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or("");
        let text = match id.kind {
            ObjectKind::EnumType => format!("CREATE TYPE {} AS ENUM ({});\n", id.name, get("labels")),
            ObjectKind::CompositeType => format!("CREATE TYPE {} AS ({});\n", id.name, get("attributes")),
            ObjectKind::RangeType => format!("CREATE TYPE {} AS RANGE (subtype = {});\n", id.name, get("range of")),
            ObjectKind::Domain => {
                let mut text = format!("CREATE DOMAIN {} AS {}", id.name, get("base type"));
                if let Some(default) = attrs.get("default") {
                    let _ = write!(text, " DEFAULT {default}");
                }
                if attrs.get("not null").is_some() {
                    text.push_str(" NOT NULL");
                }
                let on_domain = format!(" on domain {}", id.name);
                for (constraint, c) in s
                    .made
                    .iter()
                    .filter(|(c, _)| c.kind == ObjectKind::Constraint && c.name.ends_with(&on_domain))
                {
                    let name = &constraint.name[..constraint.name.len() - on_domain.len()];
                    let definition = c.get("definition").map(String::as_str).unwrap_or("");
                    // NOT VALID is not CREATE DOMAIN's to say.
                    if definition.ends_with(" NOT VALID") {
                        later.push(format!("ALTER DOMAIN {} ADD CONSTRAINT {name} {definition};\n", id.name));
                    } else {
                        let _ = write!(text, "\n    CONSTRAINT {name} {definition}");
                    }
                }
                text + ";\n"
            }
            _ => continue,
        };
        if s.existed(id) {
            // Changed, not made: its statement says what it is now.
            lines.push(format!(
                "-- changed since before the first migration:\n-- {}",
                text.replace('\n', "\n-- ")
            ));
            lines.push("\n".to_string());
        } else {
            lines.push(text);
        }
        if let Some(owner) = s.owner(attrs) {
            lines.push(format!("ALTER TYPE {} OWNER TO {owner};\n", id.name));
        }
        comment(
            &mut lines,
            if id.kind == ObjectKind::Domain { "DOMAIN" } else { "TYPE" },
            &id.name,
            attrs,
        );
    }
    lines.extend(later);
    lines
}

fn sequences(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Sequence) {
        // An identity column's sequence is the column's.
        if attrs.get("owned by").is_some_and(|column| identity_of(s, column).is_some()) {
            continue;
        }
        let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or("");
        let mut text = format!(
            "CREATE SEQUENCE {} AS {} INCREMENT {} MINVALUE {} MAXVALUE {} START {} CACHE {}",
            id.name,
            get("type"),
            get("increment"),
            get("minimum"),
            get("maximum"),
            get("start"),
            get("cache")
        );
        if get("cycle") == "yes" {
            text.push_str(" CYCLE");
        }
        lines.push(text + ";\n");
        if let Some(column) = attrs.get("owned by") {
            lines.push(format!("ALTER SEQUENCE {} OWNED BY {column};\n", id.name));
        }
        if let Some(owner) = s.owner(attrs) {
            lines.push(format!("ALTER SEQUENCE {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "SEQUENCE", &id.name, attrs);
    }
    lines
}

/// The identity column `column` (`public.t.id`) the migrations made, with its attributes.
fn identity_of<'s>(s: &'s Schema, column: &str) -> Option<&'s Attributes> {
    s.made
        .iter()
        .find(|(id, a)| id.kind == ObjectKind::Column && id.name == column && a.get("identity").is_some())
        .map(|(_, a)| a)
}

fn tables(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    let relations: Vec<String> = s
        .after
        .objects
        .keys()
        .filter(|id| matches!(id.kind, ObjectKind::Table | ObjectKind::ForeignTable))
        .map(|id| id.name.clone())
        .collect();
    for name in &relations {
        let made = s.made(ObjectKind::Table, name).or_else(|| s.made(ObjectKind::ForeignTable, name));
        let was = s
            .before(ObjectKind::Table, name)
            .or_else(|| s.before(ObjectKind::ForeignTable, name));
        let existed = was.is_some();
        let mut table_lines = Vec::new();
        let mut after_table = Vec::new();
        if let (Some(attrs), false) = (made, existed) {
            table_lines.push(create_table(s, name, attrs, &mut after_table));
        } else {
            // There before: what the migrations added or changed in it.
            for (column, a) in s.parts_of(ObjectKind::Column, name) {
                match s.before(ObjectKind::Column, &format!("{name}.{column}")) {
                    None => table_lines.push(format!(
                        "ALTER TABLE {name} ADD COLUMN {column} {};\n",
                        column_definition(s, name, column, a)
                    )),
                    Some(was) => table_lines.extend(column_changes(name, column, &was, a)),
                }
            }
            for (constraint, c) in s.parts_of(ObjectKind::Constraint, name) {
                if adds_itself(c) {
                    after_table.push(format!(
                        "ALTER TABLE {name} ADD CONSTRAINT {constraint} {};\n",
                        c.get("definition").map(String::as_str).unwrap_or("")
                    ));
                }
            }
        }
        let attrs = made.cloned().unwrap_or_default();
        let was: Attributes = was.unwrap_or_default();
        let changed = |key: &str| made.is_some() && attrs.get(key) != was.get(key);
        if changed("row level security") {
            let enabled = attrs.get("row level security").map(String::as_str) == Some("enabled");
            after_table.push(format!(
                "ALTER TABLE {name} {} ROW LEVEL SECURITY;\n",
                if enabled { "ENABLE" } else { "DISABLE" }
            ));
        }
        if changed("forced row level security") {
            let forced = attrs.contains_key("forced row level security");
            after_table.push(format!(
                "ALTER TABLE {name} {}FORCE ROW LEVEL SECURITY;\n",
                if forced { "" } else { "NO " }
            ));
        }
        if changed("replica identity") {
            if let Some(identity) = attrs.get("replica identity").filter(|i| *i != "index") {
                after_table.push(format!("ALTER TABLE {name} REPLICA IDENTITY {};\n", identity.to_uppercase()));
            }
        }
        if changed("owner") {
            if let Some(owner) = s.owner(&attrs) {
                after_table.push(format!("ALTER TABLE {name} OWNER TO {owner};\n"));
            }
        }
        if changed("comment") {
            comment(&mut after_table, "TABLE", name, &attrs);
        }
        for (column, a) in s.parts_of(ObjectKind::Column, name) {
            if let Some(storage) = a.get("storage") {
                let word = match storage.as_str() {
                    "p" => "PLAIN",
                    "e" => "EXTERNAL",
                    "m" => "MAIN",
                    _ => "EXTENDED",
                };
                after_table.push(format!("ALTER TABLE {name} ALTER COLUMN {column} SET STORAGE {word};\n"));
            }
            comment(&mut after_table, "COLUMN", &format!("{name}.{column}"), a);
        }
        for (constraint, c) in s.parts_of(ObjectKind::Constraint, name) {
            comment(&mut after_table, "CONSTRAINT", &format!("{constraint} ON {name}"), c);
        }
        if table_lines.is_empty() && after_table.is_empty() {
            continue;
        }
        lines.extend(table_lines);
        lines.extend(after_table);
        lines.push("\n".to_string());
    }
    lines
}

/// Whether a table's constraint is said on its own (not the column's NOT NULL, not a trigger's,
/// not one it inherits from a parent or a partitioned table).
fn adds_itself(c: &Attributes) -> bool {
    !matches!(c.get("type").map(String::as_str), Some("not null" | "constraint trigger")) && c.get("inherited").is_none()
}

/// A table the migrations made, with its columns and constraints; statements that must follow
/// it (constraints NOT VALID, which CREATE TABLE would validate) go to `after`.
fn create_table(s: &Schema, name: &str, attrs: &Attributes, after: &mut Vec<String>) -> String {
    let constraints = |after: &mut Vec<String>, inline: &mut Vec<String>| {
        for (constraint, c) in s.parts_of(ObjectKind::Constraint, name) {
            if !adds_itself(c) {
                continue;
            }
            let definition = c.get("definition").map(String::as_str).unwrap_or("");
            if definition.ends_with(" NOT VALID") || inline.is_empty() && attrs.get("partition of").is_some() {
                after.push(format!("ALTER TABLE {name} ADD CONSTRAINT {constraint} {definition};\n"));
            } else {
                inline.push(format!("    CONSTRAINT {constraint} {definition}"));
            }
        }
    };
    if let Some(partition_of) = attrs.get("partition of") {
        // "public.events FOR VALUES FROM (...) TO (...)" or "... DEFAULT"
        let (parent, bound) = partition_of.split_once(' ').unwrap_or((partition_of.as_str(), ""));
        let mut text = format!("CREATE TABLE {name} PARTITION OF {parent} {bound}");
        if let Some(key) = attrs.get("partition key") {
            let _ = write!(text, " PARTITION BY {key}");
        }
        // A partition's own constraints follow it.
        constraints(after, &mut Vec::new());
        return text + ";\n";
    }
    let mut columns: Vec<(usize, String)> = s
        .parts_of(ObjectKind::Column, name)
        .map(|(column, a)| {
            let position = a.get("position").and_then(|p| p.parse().ok()).unwrap_or(0);
            (position, format!("    {column} {}", column_definition(s, name, column, a)))
        })
        .collect();
    columns.sort();
    let mut lines: Vec<String> = columns.into_iter().map(|(_, line)| line).collect();
    let mut inline = Vec::new();
    constraints(after, &mut inline);
    lines.extend(inline);
    let mut text = format!("CREATE {}TABLE {name} (\n{}\n)", persistence(attrs), lines.join(",\n"));
    if let Some(parents) = attrs.get("inherits") {
        let _ = write!(text, " INHERITS ({parents})");
    }
    if let Some(key) = attrs.get("partition key") {
        let _ = write!(text, " PARTITION BY {key}");
    }
    if let Some(options) = attrs.get("options").filter(|o| !o.is_empty()) {
        let _ = write!(text, " WITH ({options})");
    }
    text + ";\n"
}

fn persistence(attrs: &Attributes) -> &'static str {
    match attrs.get("persistence").map(String::as_str) {
        Some("unlogged") => "UNLOGGED ",
        _ => "",
    }
}

/// A column's type and what follows it, its identity's sequence options included.
fn column_definition(s: &Schema, table: &str, column: &str, a: &Attributes) -> String {
    let mut text = a.get("type").cloned().unwrap_or_default();
    if let Some(collation) = a.get("collation") {
        let _ = write!(text, " COLLATE {collation}");
    }
    if let Some(identity) = a.get("identity") {
        let _ = write!(
            text,
            " GENERATED {} AS IDENTITY{}",
            identity.to_uppercase(),
            identity_options(s, table, column)
        );
    }
    if let Some(generated) = a.get("generated") {
        let _ = write!(text, " GENERATED ALWAYS AS ({generated}) STORED");
    }
    if let Some(default) = a.get("default") {
        let _ = write!(text, " DEFAULT {default}");
    }
    if a.get("nullability").map(String::as_str) == Some("NOT NULL") {
        text.push_str(" NOT NULL");
    }
    text
}

/// `(START WITH 100 INCREMENT BY 10)` for an identity whose sequence is not the default one.
fn identity_options(s: &Schema, table: &str, column: &str) -> String {
    let owned_by = format!("{table}.{column}");
    let Some(sequence) = s
        .after
        .objects
        .iter()
        .find(|(id, p)| id.kind == ObjectKind::Sequence && p.get("owned by").as_deref() == Some(owned_by.as_str()))
        .map(|(_, p)| p.attributes())
    else {
        return String::new();
    };
    let mut options = Vec::new();
    for (key, word, default) in [
        ("start", "START WITH", "1"),
        ("increment", "INCREMENT BY", "1"),
        ("cache", "CACHE", "1"),
    ] {
        if let Some(value) = sequence.get(key).filter(|v| *v != default) {
            options.push(format!("{word} {value}"));
        }
    }
    if options.is_empty() {
        String::new()
    } else {
        format!(" ({})", options.join(" "))
    }
}

/// What a migration changed in a column that was there before.
fn column_changes(table: &str, column: &str, was: &Attributes, now: &Attributes) -> Vec<String> {
    let mut lines = Vec::new();
    let alter = format!("ALTER TABLE {table} ALTER COLUMN {column}");
    if now.get("type") != was.get("type") {
        lines.push(format!("{alter} TYPE {};\n", now.get("type").map(String::as_str).unwrap_or("")));
    }
    if now.get("nullability") != was.get("nullability") {
        let not_null = now.get("nullability").map(String::as_str) == Some("NOT NULL");
        lines.push(format!("{alter} {} NOT NULL;\n", if not_null { "SET" } else { "DROP" }));
    }
    if now.get("default") != was.get("default") {
        lines.push(match now.get("default") {
            Some(default) => format!("{alter} SET DEFAULT {default};\n"),
            None => format!("{alter} DROP DEFAULT;\n"),
        });
    }
    lines
}

fn indexes(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Index) {
        let Some((name, on)) = id.name.rsplit_once(" on ") else { continue };
        // One a constraint makes comes with the constraint; one attached to a partitioned
        // table's index comes with that index.
        if s.is_after(ObjectKind::Constraint, &id.name) || attrs.get("partition of").is_some() {
            continue;
        }
        let Some(definition) = attrs.get("definition") else { continue };
        // A partitioned table's index, made on each partition as CREATE INDEX makes it.
        lines.push(format!("{};\n", definition.replacen(" ON ONLY ", " ON ", 1)));
        if attrs.get("clustered").is_some() {
            lines.push(format!("ALTER TABLE {on} CLUSTER ON {name};\n"));
        }
        let schema = on.rsplit_once('.').map_or("", |(schema, _)| schema);
        let qualified = if schema.is_empty() {
            name.to_string()
        } else {
            format!("{schema}.{name}")
        };
        comment(&mut lines, "INDEX", &qualified, attrs);
    }
    lines
}

fn views(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s
        .made
        .iter()
        .filter(|(id, _)| matches!(id.kind, ObjectKind::View | ObjectKind::MaterializedView))
    {
        let materialized = id.kind == ObjectKind::MaterializedView;
        let kind = if materialized { "MATERIALIZED VIEW" } else { "VIEW" };
        let options = attrs
            .get("options")
            .filter(|o| !o.is_empty())
            .map(|o| format!(" WITH ({o})"))
            .unwrap_or_default();
        let definition = attrs
            .get("definition")
            .map(|d| d.trim_end_matches(';').to_string())
            .unwrap_or_default();
        lines.push(format!(
            "CREATE {kind} {}{options} AS\n{definition}{};\n",
            id.name,
            if materialized { "\n  WITH NO DATA" } else { "" }
        ));
        if let Some(owner) = s.owner(attrs) {
            lines.push(format!("ALTER {kind} {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, kind, &id.name, attrs);
        lines.push("\n".to_string());
    }
    lines
}

fn functions(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.made.iter().filter(|(id, _)| id.kind.is_routine()) {
        // A range type's constructors are the type's own (LANGUAGE internal).
        if attrs.get("language").map(String::as_str) == Some("internal") {
            continue;
        }
        // Aggregates and window functions have definitions the catalog snapshot does not hold.
        if !matches!(id.kind, ObjectKind::Function | ObjectKind::Procedure) {
            lines.push(format!("-- {} {} (its definition is not written here)\n\n", id.kind, id.name));
            continue;
        }
        lines.push(routine(id, attrs));
        if let Some(owner) = s.owner(attrs) {
            lines.push(format!("ALTER ROUTINE {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "ROUTINE", &id.name, attrs);
        lines.push("\n".to_string());
    }
    lines
}

fn triggers(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Trigger) {
        // One a partition has from its partitioned table comes with the table's.
        if attrs.get("inherited").is_some() {
            continue;
        }
        let Some((name, table)) = id.name.rsplit_once(" on ") else {
            continue;
        };
        let Some(definition) = attrs.get("definition") else { continue };
        lines.push(format!("{definition};\n"));
        match attrs.get("enabled").map(String::as_str) {
            Some("no") => lines.push(format!("ALTER TABLE {table} DISABLE TRIGGER {name};\n")),
            Some("replica only") => lines.push(format!("ALTER TABLE {table} ENABLE REPLICA TRIGGER {name};\n")),
            Some("always") => lines.push(format!("ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name};\n")),
            _ => {}
        }
        comment(&mut lines, "TRIGGER", &format!("{name} ON {table}"), attrs);
    }
    lines
}

fn rules(s: &Schema) -> Vec<String> {
    s.of(ObjectKind::Rule)
        .filter_map(|(_, attrs)| Some(format!("{}\n", attrs.get("definition")?)))
        .collect()
}

fn policies(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::Policy) {
        let Some((name, table)) = id.name.rsplit_once(" on ") else {
            continue;
        };
        let mut text = format!(
            "CREATE POLICY {name} ON {table} AS {} FOR {} TO {}",
            attrs.get("type").map(|t| t.to_uppercase()).unwrap_or_default(),
            attrs.get("command").map(String::as_str).unwrap_or("ALL"),
            attrs.get("roles").filter(|r| !r.is_empty()).map(String::as_str).unwrap_or("PUBLIC")
        );
        if let Some(using) = attrs.get("using") {
            let _ = write!(text, "\n    USING ({using})");
        }
        if let Some(check) = attrs.get("with check") {
            let _ = write!(text, "\n    WITH CHECK ({check})");
        }
        lines.push(text + ";\n");
        comment(&mut lines, "POLICY", &format!("{name} ON {table}"), attrs);
    }
    lines
}

fn event_triggers(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    for (id, attrs) in s.of(ObjectKind::EventTrigger) {
        let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or("");
        let tags: Vec<String> = get("tags")
            .split(", ")
            .filter(|t| !t.is_empty())
            .map(crate::script::quote_literal)
            .collect();
        let when = if tags.is_empty() {
            String::new()
        } else {
            format!(" WHEN TAG IN ({})", tags.join(", "))
        };
        lines.push(format!(
            "CREATE EVENT TRIGGER {} ON {}{when} EXECUTE FUNCTION {}();\n",
            id.name,
            get("event"),
            get("function")
        ));
        if get("enabled") == "no" {
            lines.push(format!("ALTER EVENT TRIGGER {} DISABLE;\n", id.name));
        }
    }
    lines
}

fn publications(s: &Schema) -> Vec<String> {
    s.of(ObjectKind::Publication)
        .map(|(id, attrs)| {
            let what = if attrs.get("all tables").is_some() {
                " FOR ALL TABLES".to_string()
            } else {
                attrs.get("tables").map(|t| format!(" FOR TABLE {t}")).unwrap_or_default()
            };
            let publish = attrs.get("publishes").map(String::as_str).unwrap_or("");
            format!(
                "CREATE PUBLICATION {}{what} WITH (publish = {});\n",
                id.name,
                crate::script::quote_literal(publish)
            )
        })
        .collect()
}

/// Privileges by object and grantee, one GRANT each. What PostgreSQL grants PUBLIC by default
/// (EXECUTE on routines, USAGE on types) is left out, and said when revoked; what the login
/// role holds (as the owner, most often) is the provider's, left out too.
fn grants(s: &Schema) -> Vec<String> {
    // (target, grantee, grant option) -> privileges, a column's as `SELECT (c)`.
    let mut granted: BTreeMap<(String, String, bool), Vec<String>> = BTreeMap::new();
    for (id, attrs) in s.of(ObjectKind::Privilege) {
        let Some((privilege, on, grantee)) = privilege_parts(&id.name) else {
            continue;
        };
        if s.is_login(grantee) || (grantee == "PUBLIC" && by_default(privilege, on)) {
            continue;
        }
        let option = attrs.get("with grant option").map(String::as_str) == Some("yes");
        let (target, privilege) = match on.strip_prefix("column ") {
            Some(column) => {
                let Some(table) = strip_last_identifier(column) else { continue };
                (format!("TABLE {table}"), format!("{privilege} ({})", &column[table.len() + 1..]))
            }
            None => (grant_target(on), privilege.to_string()),
        };
        granted.entry((target, grantee.to_string(), option)).or_default().push(privilege);
    }
    let mut lines: Vec<String> = granted
        .into_iter()
        .map(|((target, grantee, option), privileges)| {
            format!(
                "GRANT {} ON {target} TO {grantee}{};\n",
                privileges.join(", "),
                if option { " WITH GRANT OPTION" } else { "" }
            )
        })
        .collect();
    // A default PUBLIC privilege taken away.
    for id in s.made.keys() {
        let (privilege, kind) = match id.kind {
            ObjectKind::Function | ObjectKind::Procedure => ("EXECUTE", id.kind.as_str()),
            ObjectKind::EnumType | ObjectKind::CompositeType | ObjectKind::RangeType | ObjectKind::Domain => ("USAGE", id.kind.as_str()),
            _ => continue,
        };
        let on = format!("{kind} {}", id.name);
        if !s.is_after(ObjectKind::Privilege, &format!("{privilege} on {on} to PUBLIC")) {
            lines.push(format!("REVOKE {privilege} ON {} FROM PUBLIC;\n", grant_target(&on)));
        }
    }
    lines
}

/// `SELECT on table public.t to app_user`: (SELECT, table public.t, app_user).
fn privilege_parts(name: &str) -> Option<(&str, &str, &str)> {
    let (privilege, rest) = name.split_once(" on ")?;
    let (on, grantee) = rest.rsplit_once(" to ")?;
    Some((privilege, on, grantee))
}

fn default_privileges(s: &Schema) -> Vec<String> {
    // (creator, schema, objects, grantee, grant option) -> privileges
    let mut granted: BTreeMap<(String, String, String, String, bool), Vec<String>> = BTreeMap::new();
    // (creator, schema, objects) that hold an entry at all, and those that grant PUBLIC.
    let mut groups: BTreeMap<(String, String, String), bool> = BTreeMap::new();
    for (id, attrs) in s.of(ObjectKind::DefaultPrivilege) {
        // "SELECT on new tables in schema app created by x to y"
        let Some((privilege, rest)) = id.name.split_once(" on new ") else {
            continue;
        };
        let Some((what, grantee)) = rest.rsplit_once(" to ") else {
            continue;
        };
        let Some((what, creator)) = what.rsplit_once(" created by ") else {
            continue;
        };
        let (objects, schema) = what.split_once(" in schema ").unwrap_or((what, ""));
        let creator = if s.is_login(creator) { String::new() } else { creator.to_string() };
        let group = (creator.clone(), schema.to_string(), objects.to_string());
        *groups.entry(group).or_default() |= grantee == "PUBLIC";
        if s.is_login(grantee) {
            continue;
        }
        let option = attrs.get("with grant option").map(String::as_str) == Some("yes");
        granted
            .entry((creator, schema.to_string(), objects.to_string(), grantee.to_string(), option))
            .or_default()
            .push(privilege.to_string());
    }
    let head = |creator: &str, schema: &str| {
        let role = if creator.is_empty() {
            String::new()
        } else {
            format!(" FOR ROLE {creator}")
        };
        let schema = if schema.is_empty() {
            String::new()
        } else {
            format!(" IN SCHEMA {schema}")
        };
        format!("ALTER DEFAULT PRIVILEGES{role}{schema}")
    };
    let mut lines: Vec<String> = granted
        .into_iter()
        .map(|((creator, schema, objects, grantee, option), privileges)| {
            format!(
                "{} GRANT {} ON {} TO {grantee}{};\n",
                head(&creator, &schema),
                privileges.join(", "),
                objects.to_uppercase(),
                if option { " WITH GRANT OPTION" } else { "" }
            )
        })
        .collect();
    // PUBLIC's default EXECUTE on functions and USAGE on types, taken away (only a default for
    // every schema can take it away).
    for ((creator, schema, objects), grants_public) in groups {
        let privilege = match objects.as_str() {
            "functions" => "EXECUTE",
            "types" => "USAGE",
            _ => continue,
        };
        if schema.is_empty() && !grants_public {
            lines.push(format!(
                "{} REVOKE {privilege} ON {} FROM PUBLIC;\n",
                head(&creator, &schema),
                objects.to_uppercase()
            ));
        }
    }
    lines
}

/// What was there before the first migration and is not after it.
fn gone(s: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    let table_gone = |table: &str| {
        [
            ObjectKind::Table,
            ObjectKind::ForeignTable,
            ObjectKind::View,
            ObjectKind::MaterializedView,
        ]
        .into_iter()
        .any(|kind| s.before(kind, table).is_some() && !s.is_after(kind, table))
    };
    for id in s.start.objects.keys().filter(|id| !s.is_after(id.kind, &id.name)) {
        let line = match id.kind {
            ObjectKind::Privilege => {
                let Some((privilege, on, grantee)) = privilege_parts(&id.name) else {
                    continue;
                };
                if s.is_login(grantee) || on.strip_prefix("column ").and_then(strip_last_identifier).is_some_and(table_gone) {
                    continue;
                }
                let target = ["table ", "view ", "materialized view ", "foreign table ", "sequence "]
                    .iter()
                    .find_map(|k| on.strip_prefix(k))
                    .map(|t| t.to_string());
                if target.as_deref().is_some_and(table_gone) {
                    continue;
                }
                format!("REVOKE {privilege} ON {} FROM {grantee};\n", grant_target(on))
            }
            ObjectKind::Column => {
                let Some(table) = strip_last_identifier(&id.name) else { continue };
                if table_gone(table) {
                    continue;
                }
                format!("ALTER TABLE {table} DROP COLUMN {};\n", &id.name[table.len() + 1..])
            }
            ObjectKind::Constraint | ObjectKind::Index | ObjectKind::Trigger | ObjectKind::Policy | ObjectKind::Rule => {
                let Some((_, table)) = id.name.rsplit_once(" on ") else { continue };
                if table.starts_with("domain ") || table_gone(table) {
                    continue;
                }
                format!("-- {} {} is gone\n", id.kind, id.name)
            }
            ObjectKind::Role if s.is_login(&id.name) => continue,
            kind => format!("-- {kind} {} is gone\n", id.name),
        };
        lines.push(line);
    }
    lines
}

/// The part's own name when `id` is a part of `table`: `c` of `public.t.c`, `k` of `k on public.t`.
fn own_name<'i>(id: &'i ObjectId, table: &str) -> Option<&'i str> {
    match id.kind {
        ObjectKind::Column => (strip_last_identifier(&id.name) == Some(table)).then(|| &id.name[table.len() + 1..]),
        _ => {
            let (own, on) = id.name.rsplit_once(" on ")?;
            (on == table).then_some(own)
        }
    }
}

/// A function or procedure, as CREATE.
fn routine(id: &ObjectId, attrs: &Attributes) -> String {
    let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or("");
    // The identity name holds the argument types; the arguments with names and defaults are
    // their own attribute.
    let name = &id.name[..call_start(&id.name)];
    let procedure = id.kind == ObjectKind::Procedure;
    let mut text = format!(
        "CREATE {} {name}({})",
        if procedure { "PROCEDURE" } else { "FUNCTION" },
        get("arguments")
    );
    if !procedure {
        let _ = write!(text, "\n    RETURNS {}", get("returns"));
    }
    let _ = write!(text, "\n    LANGUAGE {}", get("language"));
    if !procedure {
        match get("volatility") {
            "immutable" => text.push_str(" IMMUTABLE"),
            "stable" => text.push_str(" STABLE"),
            _ => {}
        }
        if get("strict") == "yes" {
            text.push_str(" STRICT");
        }
        if get("leakproof") == "yes" {
            text.push_str(" LEAKPROOF");
        }
        match get("parallel") {
            "safe" => text.push_str(" PARALLEL SAFE"),
            "restricted" => text.push_str(" PARALLEL RESTRICTED"),
            _ => {}
        }
        // PostgreSQL's defaults: 100 for SQL and PL functions (1 for C and internal), 1000 rows.
        let default_cost = if matches!(get("language"), "c" | "internal") { "1" } else { "100" };
        if !get("cost").is_empty() && get("cost") != default_cost {
            let _ = write!(text, " COST {}", get("cost"));
        }
        if !get("rows").is_empty() && get("rows") != "1000" {
            let _ = write!(text, " ROWS {}", get("rows"));
        }
    }
    if get("security") == "definer" {
        text.push_str(" SECURITY DEFINER");
    }
    for (key, value) in settings(get("settings")) {
        let _ = write!(text, "\n    SET {key} = {}", setting_value(&key, &value));
    }
    let body = get("body");
    // A SQL-standard body (BEGIN ATOMIC ..., RETURN ...) is SQL, not a string.
    let upper = body.trim_start().to_ascii_uppercase();
    if upper.starts_with("BEGIN ATOMIC") || upper.starts_with("RETURN ") {
        let _ = write!(text, "\n{};\n", body.trim_end().trim_end_matches(';'));
    } else {
        // A tag the body does not hold, and that the body's end does not run into ('...$' then
        // '$$' would close early).
        let tag = (0..)
            .map(|n| if n == 0 { "$$".to_string() } else { format!("$body{n}$") })
            .find(|tag| format!("{body}{tag}").find(tag.as_str()) == Some(body.len()))
            .unwrap_or_default();
        let _ = write!(text, "\nAS {tag}{body}{tag};\n");
    }
    text
}

/// Where the arguments start in a routine's identity name (`public."f(x"(integer)`): the first
/// `(` outside double quotes.
fn call_start(name: &str) -> usize {
    let mut quoted = false;
    for (at, c) in name.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => return at,
            _ => {}
        }
    }
    name.len()
}

/// `name=value` settings as the catalog lists them (`search_path=app, pg_temp, work_mem=64MB`):
/// split where the next `name=` starts, so that a list value keeps its commas.
fn settings(list: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in list.split(", ") {
        let starts_setting = piece
            .split_once('=')
            .is_some_and(|(key, _)| !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'));
        match (starts_setting, out.last_mut()) {
            (false, Some((_, value))) => {
                value.push_str(", ");
                value.push_str(piece);
            }
            _ => {
                if let Some((key, value)) = piece.split_once('=') {
                    out.push((key.to_string(), value.to_string()));
                }
            }
        }
    }
    out
}

/// A setting's value as SET writes it: a list (search_path) as it is, `""` as `''`, anything
/// else quoted.
fn setting_value(key: &str, value: &str) -> String {
    if value == "\"\"" {
        "''".to_string()
    } else if key == "search_path" {
        value.to_string()
    } else {
        crate::script::quote_literal(value)
    }
}

/// `table public.t` as GRANT names it: `TABLE public.t`; `function public.f(integer)`:
/// `FUNCTION public.f(integer)`.
fn grant_target(on: &str) -> String {
    let kinds = [
        ("materialized view ", "TABLE "),
        ("foreign table ", "TABLE "),
        ("window function ", "FUNCTION "),
        ("table ", "TABLE "),
        ("view ", "TABLE "),
        ("sequence ", "SEQUENCE "),
        ("function ", "FUNCTION "),
        ("procedure ", "PROCEDURE "),
        ("aggregate ", "FUNCTION "),
        ("schema ", "SCHEMA "),
        ("enum type ", "TYPE "),
        ("composite type ", "TYPE "),
        ("range type ", "TYPE "),
        ("domain ", "DOMAIN "),
    ];
    for (word, keyword) in kinds {
        if let Some(name) = on.strip_prefix(word) {
            return format!("{keyword}{name}");
        }
    }
    on.to_string()
}

/// Whether PostgreSQL grants `privilege` on `on` to PUBLIC by default.
fn by_default(privilege: &str, on: &str) -> bool {
    let routine = ["function ", "procedure ", "aggregate ", "window function "]
        .iter()
        .any(|k| on.starts_with(k));
    let a_type = ["enum type ", "composite type ", "range type ", "domain "]
        .iter()
        .any(|k| on.starts_with(k));
    (privilege == "EXECUTE" && routine) || (privilege == "USAGE" && a_type)
}

fn role_options(attrs: &Attributes) -> String {
    let flag = |key: &str, yes: &str, no: &str| {
        let word = match attrs.get(key).map(String::as_str) {
            Some("yes") => yes,
            Some("no") => no,
            _ => "",
        };
        if word.is_empty() {
            String::new()
        } else {
            format!(" {word}")
        }
    };
    let mut text = flag("login", "LOGIN", "NOLOGIN");
    text.push_str(&flag("superuser", "SUPERUSER", ""));
    text.push_str(&flag("create database", "CREATEDB", ""));
    text.push_str(&flag("create role", "CREATEROLE", ""));
    text.push_str(&flag("inherit", "", "NOINHERIT"));
    text.push_str(&flag("replication", "REPLICATION", ""));
    text.push_str(&flag("bypass row level security", "BYPASSRLS", ""));
    if let Some(limit) = attrs.get("connection limit").filter(|l| *l != "-1") {
        let _ = write!(text, " CONNECTION LIMIT {limit}");
    }
    text
}

fn comment(lines: &mut Vec<String>, what: &str, name: &str, attrs: &Attributes) {
    if let Some(comment) = attrs.get("comment") {
        lines.push(format!("COMMENT ON {what} {name} IS {};\n", crate::script::quote_literal(comment)));
    }
}

/// Where the snapshot after a migration goes: `<dir>/<stem>.sql` with one per migration, else
/// the one after the last, `<dir>/schema.sql`.
pub fn path(dir: &std::path::Path, every: bool, stem: &str) -> std::path::PathBuf {
    if every {
        dir.join(format!("{stem}.sql"))
    } else {
        dir.join("schema.sql")
    }
}

/// The first line of a snapshot.
pub fn title(stem: &str) -> String {
    format!("The schema after migration {stem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_the_commas_of_a_list() {
        assert_eq!(
            settings("search_path=app, pg_temp, work_mem=64MB"),
            [
                ("search_path".to_string(), "app, pg_temp".to_string()),
                ("work_mem".to_string(), "64MB".to_string())
            ]
        );
        assert_eq!(settings(""), []);
        assert_eq!(setting_value("search_path", "\"\""), "''");
        assert_eq!(setting_value("application_name", "a, b"), "'a, b'");
    }

    #[test]
    fn a_routine_s_name_ends_at_its_first_unquoted_parenthesis() {
        assert_eq!(call_start("public.f(integer)"), 8);
        assert_eq!(call_start("public.\"weird(name\"()"), 19);
    }
}
