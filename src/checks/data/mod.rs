//! Data: a rollback restores the data as well as the schema.
//!
//! In the lint's copy of the database (its generated rows), each migration with a rollback that
//! runs in a transaction makes a round trip in a transaction dbgate rolls back: every column of
//! the tables with rows is read as a count and an order-independent hash (in the server: nothing
//! row-sized comes to dbgate); then the migration runs, then its rollback; then the tables the
//! two changed (their catalog rows were written in that transaction) are read again. A column
//! that existed before the migration and after it must hold the same values after the rollback.
//! A column (or table) the migration itself drops cannot come back with its values: a warning.

pub mod check;
pub mod columns;
pub mod volume;

/// `[data]` of dbgate.toml, and `--rows`.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// The round trips compare the data too.
    pub check_rollbacks: bool,
    /// Generated rows per table in the copy (the lint's and the data check's).
    pub rows: u32,
    /// The rows were asked for (`--rows`, `[data] rows`): each migration is timed on them.
    pub volume: bool,
}

pub const DEFAULT_ROWS: u32 = 20;

/// The most generated rows per table `[data] rows` and `--rows` take.
pub const MAX_ROWS: u32 = 10_000_000;

impl Default for DataOptions {
    fn default() -> DataOptions {
        DataOptions {
            check_rollbacks: true,
            rows: DEFAULT_ROWS,
            volume: false,
        }
    }
}

/// The tables a round trip fills: the ones the migration's and its rollback's statements name
/// where rows matter (as the lint's), and the ones they drop or rename (whose data is what a
/// rollback must bring back).
pub fn tables_named(nodes: &[Option<pg_query::NodeEnum>]) -> Vec<(Option<String>, String)> {
    use pg_query::NodeEnum;
    let mut names = Vec::new();
    let mut add = |name: (Option<String>, String)| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    for node in nodes.iter().flatten() {
        super::lint::observe::named_tables(node).into_iter().for_each(&mut add);
        match node {
            NodeEnum::RenameStmt(rename) => {
                if let Some(range) = &rename.relation {
                    add((
                        (!range.schemaname.is_empty()).then(|| range.schemaname.clone()),
                        range.relname.clone(),
                    ));
                }
            }
            NodeEnum::DropStmt(drop) if drop.remove_type == pg_query::protobuf::ObjectType::ObjectTable as i32 => {
                for object in &drop.objects {
                    let Some(NodeEnum::List(list)) = object.node.as_ref() else {
                        continue;
                    };
                    let parts: Vec<String> = list
                        .items
                        .iter()
                        .filter_map(|item| match item.node.as_ref() {
                            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                            _ => None,
                        })
                        .collect();
                    match parts.as_slice() {
                        [name] => add((None, name.clone())),
                        [.., schema, name] => add((Some(schema.clone()), name.clone())),
                        [] => {}
                    }
                }
            }
            _ => {}
        }
    }
    names
}
