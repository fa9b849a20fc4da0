//! The schema as SQL a person can read and review: what the migrations made (the objects that
//! were not there, or not so, before the first migration), in a stable order (schemas, roles,
//! extensions, types, sequences, tables with their columns and constraints, indexes, views,
//! functions, triggers, policies, grants), each group sorted by name. Nothing that depends on
//! the server or the provider: no dump header, no owner that is the login role (which differs
//! from provider to provider), no privilege the owner holds by default. Written from the
//! catalog snapshot the checks already read, with PostgreSQL's own deparsers
//! (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`), which
//! give the same text on 15 to 18 for what a migration writes.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::catalog::{Attributes, Snapshot};
use crate::object::{strip_last_identifier, ObjectId, ObjectKind};

/// The schema in `after` that was not in `start`, as SQL. `title` heads it (which migration it
/// follows); `login` is the role dbgate ran as, whose ownership and default privileges are the
/// provider's, not the migrations'.
pub fn render(start: &Snapshot, after: &Snapshot, title: &str, login: &str) -> String {
    let made: BTreeMap<&ObjectId, Attributes> = after
        .objects
        .iter()
        .filter(|(id, properties)| start.objects.get(id.as_ref()) != Some(properties))
        .map(|(id, properties)| (id.as_ref(), properties.attributes()))
        .collect();
    let of = |kind: ObjectKind| made.iter().filter(move |(id, _)| id.kind == kind).map(|(id, a)| (*id, a));
    let login_quoted = crate::script::ident(login);
    let owned = |attrs: &Attributes| attrs.get("owner").filter(|o| **o != login && **o != login_quoted).cloned();
    let mut out = String::new();
    let _ = writeln!(out, "-- {title}");
    let _ = writeln!(
        out,
        "-- Written by dbgate snapshot from the migrated schema: `dbgate snapshot --write` writes it again."
    );
    let section = |out: &mut String, heading: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n-- {heading}\n\n{}", lines.join("").trim_end());
        }
    };

    let mut lines = Vec::new();
    for (id, attrs) in of(ObjectKind::Schema) {
        // One that was there before (public, a preset's) is not made again: only its changes.
        if !start.objects.contains_key(id) {
            lines.push(format!("CREATE SCHEMA {};\n", id.name));
        }
        if let Some(owner) = owned(attrs) {
            lines.push(format!("ALTER SCHEMA {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "SCHEMA", &id.name, attrs);
    }
    section(&mut out, "Schemas", lines);

    let mut lines = Vec::new();
    for (id, attrs) in of(ObjectKind::Role) {
        lines.push(format!("CREATE ROLE {}{};\n", id.name, role_options(attrs)));
        if let Some(member_of) = attrs.get("member of") {
            lines.push(format!("GRANT {member_of} TO {};\n", id.name));
        }
    }
    section(&mut out, "Roles", lines);

    let mut lines = Vec::new();
    for (id, attrs) in of(ObjectKind::Extension) {
        let schema = attrs.get("schema").map(|s| format!(" WITH SCHEMA {s}")).unwrap_or_default();
        lines.push(format!("CREATE EXTENSION IF NOT EXISTS {}{schema};\n", id.name));
    }
    section(&mut out, "Extensions", lines);

    let mut lines = Vec::new();
    for (id, attrs) in &made {
        let text = match id.kind {
            ObjectKind::EnumType => format!(
                "CREATE TYPE {} AS ENUM ({});\n",
                id.name,
                attrs.get("labels").map(String::as_str).unwrap_or("")
            ),
            ObjectKind::CompositeType => format!(
                "CREATE TYPE {} AS ({});\n",
                id.name,
                attrs.get("attributes").map(String::as_str).unwrap_or("")
            ),
            ObjectKind::RangeType => format!(
                "CREATE TYPE {} AS RANGE (subtype = {});\n",
                id.name,
                attrs.get("range of").map(String::as_str).unwrap_or("")
            ),
            ObjectKind::Domain => {
                let mut text = format!(
                    "CREATE DOMAIN {} AS {}",
                    id.name,
                    attrs.get("base type").map(String::as_str).unwrap_or("")
                );
                if let Some(default) = attrs.get("default") {
                    let _ = write!(text, " DEFAULT {default}");
                }
                if attrs.get("not null").is_some() {
                    text.push_str(" NOT NULL");
                }
                let on_domain = format!(" on domain {}", id.name);
                for (constraint, c) in made
                    .iter()
                    .filter(|(c, _)| c.kind == ObjectKind::Constraint && c.name.ends_with(&on_domain))
                {
                    let name = constraint.name.trim_end_matches(&on_domain);
                    let _ = write!(
                        text,
                        "\n    CONSTRAINT {name} {}",
                        c.get("definition").map(String::as_str).unwrap_or("")
                    );
                }
                text + ";\n"
            }
            _ => continue,
        };
        lines.push(text);
        if let Some(owner) = owned(attrs) {
            lines.push(format!("ALTER TYPE {} OWNER TO {owner};\n", id.name));
        }
        comment(
            &mut lines,
            if id.kind == ObjectKind::Domain { "DOMAIN" } else { "TYPE" },
            &id.name,
            attrs,
        );
    }
    section(&mut out, "Types", lines);

    let mut lines = Vec::new();
    for (id, attrs) in of(ObjectKind::Sequence) {
        // An identity column's sequence is the column's.
        if attrs.get("owned by").is_some_and(|column| is_identity(&made, column)) {
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
        if let Some(column) = attrs.get("owned by") {
            let _ = write!(text, " OWNED BY {column}");
        }
        lines.push(text + ";\n");
    }
    section(&mut out, "Sequences", lines);

    let mut lines = Vec::new();
    for (id, attrs) in made
        .iter()
        .filter(|(id, _)| matches!(id.kind, ObjectKind::Table | ObjectKind::ForeignTable))
    {
        lines.push(table(id, attrs, &made));
        if attrs.get("row level security").map(String::as_str) == Some("enabled") {
            lines.push(format!("ALTER TABLE {} ENABLE ROW LEVEL SECURITY;\n", id.name));
        }
        if attrs.get("forced row level security").is_some() {
            lines.push(format!("ALTER TABLE {} FORCE ROW LEVEL SECURITY;\n", id.name));
        }
        if let Some(owner) = owned(attrs) {
            lines.push(format!("ALTER TABLE {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "TABLE", &id.name, attrs);
        for (column, c) in made
            .iter()
            .filter(|(c, _)| c.kind == ObjectKind::Column && strip_last_identifier(&c.name) == Some(id.name.as_str()))
        {
            comment(&mut lines, "COLUMN", &column.name, c);
        }
        lines.push("\n".to_string());
    }
    // Columns and constraints the migrations added to tables that were there before them.
    for (id, attrs) in &made {
        let Some(table) = part_of(id) else { continue };
        if made
            .keys()
            .any(|t| matches!(t.kind, ObjectKind::Table | ObjectKind::ForeignTable) && t.name == table)
        {
            continue;
        }
        match id.kind {
            ObjectKind::Column => lines.push(format!(
                "ALTER TABLE {table} ADD COLUMN {} {};\n",
                &id.name[table.len() + 1..],
                column(attrs)
            )),
            ObjectKind::Constraint if attrs.get("type").map(String::as_str) != Some("not null") => {
                let name = &id.name[..id.name.len() - table.len() - 4];
                lines.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} {};\n",
                    attrs.get("definition").map(String::as_str).unwrap_or("")
                ));
            }
            _ => {}
        }
    }
    section(&mut out, "Tables", lines);

    let parts = |kind: ObjectKind, statement: &dyn Fn(&ObjectId, &Attributes) -> Option<String>| -> Vec<String> {
        made.iter()
            .filter(|(id, _)| id.kind == kind)
            .filter_map(|(id, attrs)| statement(id, attrs))
            .collect()
    };
    // An index a constraint owns comes with the constraint.
    let indexes = parts(ObjectKind::Index, &|id, attrs| {
        let (name, on) = id.name.split_once(" on ")?;
        let backs_constraint = made
            .keys()
            .any(|c| c.kind == ObjectKind::Constraint && c.name == format!("{name} on {on}"));
        let definition = attrs.get("definition")?;
        (!backs_constraint).then(|| format!("{definition};\n"))
    });
    section(&mut out, "Indexes", indexes);

    let mut lines = Vec::new();
    for (id, attrs) in made
        .iter()
        .filter(|(id, _)| matches!(id.kind, ObjectKind::View | ObjectKind::MaterializedView))
    {
        let materialized = id.kind == ObjectKind::MaterializedView;
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
            "CREATE {}VIEW {}{options} AS\n{definition}{};\n",
            if materialized { "MATERIALIZED " } else { "" },
            id.name,
            if materialized { "\n  WITH NO DATA" } else { "" }
        ));
        if let Some(owner) = owned(attrs) {
            lines.push(format!(
                "ALTER {}VIEW {} OWNER TO {owner};\n",
                if materialized { "MATERIALIZED " } else { "" },
                id.name
            ));
        }
        comment(&mut lines, if materialized { "MATERIALIZED VIEW" } else { "VIEW" }, &id.name, attrs);
        lines.push("\n".to_string());
    }
    section(&mut out, "Views", lines);

    let mut lines = Vec::new();
    // Aggregates and window functions have definitions the catalog snapshot does not hold:
    // named only.
    for (id, attrs) in made.iter().filter(|(id, _)| id.kind.is_routine()) {
        if !matches!(id.kind, ObjectKind::Function | ObjectKind::Procedure) {
            lines.push(format!("-- {} {} (its definition is not written here)\n\n", id.kind, id.name));
            continue;
        }
        lines.push(routine(id, attrs));
        if let Some(owner) = owned(attrs) {
            lines.push(format!("ALTER ROUTINE {} OWNER TO {owner};\n", id.name));
        }
        comment(&mut lines, "ROUTINE", &id.name, attrs);
        lines.push("\n".to_string());
    }
    section(&mut out, "Functions", lines);

    let triggers = parts(ObjectKind::Trigger, &|_, attrs| {
        let mut text = format!("{};\n", attrs.get("definition")?);
        if attrs.get("enabled").map(String::as_str) == Some("no") {
            text.push_str("-- (disabled)\n");
        }
        Some(text)
    });
    section(&mut out, "Triggers", triggers);

    let rules = parts(ObjectKind::Rule, &|_, attrs| Some(format!("{}\n", attrs.get("definition")?)));
    section(&mut out, "Rules", rules);

    let policies = parts(ObjectKind::Policy, &|id, attrs| {
        let (name, table) = id.name.split_once(" on ")?;
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
        Some(text + ";\n")
    });
    section(&mut out, "Policies", policies);

    // Privileges by object and grantee, in one GRANT each. What PostgreSQL grants PUBLIC by
    // default (EXECUTE on routines, USAGE on types) is left out, and said when revoked; what
    // the owner holds by default is the login role's (the provider's), left out too.
    let mut granted: BTreeMap<(String, String, &str), Vec<&str>> = BTreeMap::new();
    for (id, attrs) in of(ObjectKind::Privilege) {
        let Some((privilege, rest)) = id.name.split_once(" on ") else {
            continue;
        };
        let Some((on, grantee)) = rest.rsplit_once(" to ") else { continue };
        if grantee == login || grantee == login_quoted || (grantee == "PUBLIC" && by_default(privilege, on)) {
            continue;
        }
        let option = if attrs.get("with grant option").map(String::as_str) == Some("yes") {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        let target = match on.strip_prefix("column ") {
            Some(column) => {
                let Some(table) = strip_last_identifier(column) else { continue };
                format!("TABLE {table} ({})", &column[table.len() + 1..])
            }
            None => grant_target(on),
        };
        granted.entry((target, grantee.to_string(), option)).or_default().push(privilege);
    }
    let mut grants: Vec<String> = granted
        .into_iter()
        .map(|((target, grantee, option), privileges)| {
            // A column's privileges name it after the privilege: GRANT SELECT (c) ON TABLE t.
            match target.split_once(" (") {
                Some((table, column)) => format!("GRANT {} ({column} ON {table} TO {grantee}{option};\n", privileges.join(", ")),
                None => format!("GRANT {} ON {target} TO {grantee}{option};\n", privileges.join(", ")),
            }
        })
        .collect();
    for (id, _) in made
        .iter()
        .filter(|(id, _)| matches!(id.kind, ObjectKind::Function | ObjectKind::Procedure))
    {
        let on = format!("{} {}", id.kind, id.name);
        if !made
            .keys()
            .any(|p| p.kind == ObjectKind::Privilege && p.name == format!("EXECUTE on {on} to PUBLIC"))
        {
            grants.push(format!("REVOKE EXECUTE ON {} FROM PUBLIC;\n", grant_target(&on)));
        }
    }
    section(&mut out, "Grants", grants);

    let defaults = parts(ObjectKind::DefaultPrivilege, &|id, _| {
        // "SELECT on new tables in schema app created by x to y"
        let (privilege, rest) = id.name.split_once(" on new ")?;
        let (what, grantee) = rest.rsplit_once(" to ")?;
        let (what, creator) = what.rsplit_once(" created by ")?;
        let (objects, schema) = match what.split_once(" in schema ") {
            Some((objects, schema)) => (objects, format!(" IN SCHEMA {schema}")),
            None => (what, String::new()),
        };
        let role = if creator == login || creator == login_quoted {
            String::new()
        } else {
            format!(" FOR ROLE {creator}")
        };
        Some(format!(
            "ALTER DEFAULT PRIVILEGES{role}{schema} GRANT {privilege} ON {} TO {grantee};\n",
            objects.to_uppercase()
        ))
    });
    section(&mut out, "Default privileges", defaults);
    out
}

/// The table a column (`public.t.c`) or a table's constraint (`c on public.t`) belongs to.
fn part_of(id: &ObjectId) -> Option<&str> {
    match id.kind {
        ObjectKind::Column => strip_last_identifier(&id.name),
        ObjectKind::Constraint if !id.name.contains(" on domain ") => id.name.split_once(" on ").map(|(_, table)| table),
        _ => None,
    }
}

/// A table with its columns and constraints.
fn table(id: &ObjectId, attrs: &Attributes, made: &BTreeMap<&ObjectId, Attributes>) -> String {
    if let Some(partition_of) = attrs.get("partition of") {
        // "public.events FOR VALUES FROM (...) TO (...)" or "... DEFAULT"
        let (parent, bound) = partition_of.split_once(' ').unwrap_or((partition_of.as_str(), ""));
        return format!("CREATE TABLE {} PARTITION OF {parent} {bound};\n", id.name);
    }
    let prefix = format!("{}.", id.name);
    let mut columns: Vec<(usize, String)> = made
        .iter()
        .filter(|(c, _)| {
            c.kind == ObjectKind::Column && strip_last_identifier(&c.name) == Some(id.name.as_str()) && c.name.starts_with(&prefix)
        })
        .map(|(c, a)| {
            let name = &c.name[prefix.len()..];
            let position = a.get("position").and_then(|p| p.parse().ok()).unwrap_or(0);
            (position, format!("    {name} {}", column(a)))
        })
        .collect();
    columns.sort();
    let mut lines: Vec<String> = columns.into_iter().map(|(_, line)| line).collect();
    let on = format!(" on {}", id.name);
    for (constraint, c) in made
        .iter()
        .filter(|(c, _)| c.kind == ObjectKind::Constraint && c.name.ends_with(&on))
    {
        if c.get("type").map(String::as_str) == Some("not null") {
            continue;
        }
        let name = &constraint.name[..constraint.name.len() - on.len()];
        lines.push(format!(
            "    CONSTRAINT {name} {}",
            c.get("definition").map(String::as_str).unwrap_or("")
        ));
    }
    let mut text = format!("CREATE {}TABLE {} (\n{}\n)", persistence(attrs), id.name, lines.join(",\n"));
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

/// A column's type and what follows it.
fn column(a: &Attributes) -> String {
    let mut text = a.get("type").cloned().unwrap_or_default();
    if let Some(collation) = a.get("collation") {
        let _ = write!(text, " COLLATE {collation}");
    }
    if let Some(identity) = a.get("identity") {
        let _ = write!(text, " GENERATED {} AS IDENTITY", identity.to_uppercase());
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

/// Whether `column` (`public.t.id`) is an identity column the migrations made.
fn is_identity(made: &BTreeMap<&ObjectId, Attributes>, column: &str) -> bool {
    made.iter()
        .any(|(id, a)| id.kind == ObjectKind::Column && id.name == column && a.get("identity").is_some())
}

/// A function or procedure, as CREATE.
fn routine(id: &ObjectId, attrs: &Attributes) -> String {
    let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or("");
    // The identity name holds the argument types; the arguments with names and defaults are
    // their own attribute.
    let name = id.name.split_once('(').map_or(id.name.as_str(), |(name, _)| name);
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
    }
    if get("security") == "definer" {
        text.push_str(" SECURITY DEFINER");
    }
    for setting in get("settings").split(", ").filter(|s| !s.is_empty()) {
        if let Some((key, value)) = setting.split_once('=') {
            // proconfig keeps `search_path = ''` as `search_path=""`.
            let value = if value == "\"\"" {
                "''".to_string()
            } else {
                crate::script::quote_literal(value)
            };
            let _ = write!(text, "\n    SET {key} = {value}");
        }
    }
    let body = get("body");
    // A SQL-standard body (BEGIN ATOMIC ..., RETURN ...) is SQL, not a string.
    let upper = body.trim_start().to_ascii_uppercase();
    if upper.starts_with("BEGIN ATOMIC") || upper.starts_with("RETURN ") {
        let _ = write!(text, "\n{};\n", body.trim_end().trim_end_matches(';'));
    } else {
        let tag = (0..)
            .map(|n| if n == 0 { "$$".to_string() } else { format!("$body{n}$") })
            .find(|tag| !body.contains(tag.as_str()))
            .unwrap_or_default();
        let _ = write!(text, "\nAS {tag}{body}{tag};\n");
    }
    text
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
