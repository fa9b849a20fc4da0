//! Reading a statement's parse tree (PostgreSQL's own grammar, through libpg_query) for what the
//! rules ask of it: which ALTER TABLE subcommands it has, whether a CONCURRENTLY is there.

use pg_query::protobuf::{AlterTableCmd, AlterTableType, ColumnDef, ConstrType, Constraint, RangeVar};
use pg_query::NodeEnum;

/// An ALTER TABLE's table and subcommands.
pub fn alter_table(node: &NodeEnum) -> Option<(&RangeVar, Vec<&AlterTableCmd>)> {
    let NodeEnum::AlterTableStmt(stmt) = node else { return None };
    let cmds = stmt
        .cmds
        .iter()
        .filter_map(|cmd| match cmd.node.as_ref()? {
            NodeEnum::AlterTableCmd(cmd) => Some(cmd.as_ref()),
            _ => None,
        })
        .collect();
    Some((stmt.relation.as_ref()?, cmds))
}

pub fn is(cmd: &AlterTableCmd, subtype: AlterTableType) -> bool {
    cmd.subtype == subtype as i32
}

/// The constraint an `ADD CONSTRAINT` adds.
pub fn added_constraint(cmd: &AlterTableCmd) -> Option<&Constraint> {
    if !is(cmd, AlterTableType::AtAddConstraint) {
        return None;
    }
    match cmd.def.as_ref()?.node.as_ref()? {
        NodeEnum::Constraint(constraint) => Some(constraint),
        _ => None,
    }
}

/// The column an `ADD COLUMN` adds.
pub fn added_column(cmd: &AlterTableCmd) -> Option<&ColumnDef> {
    if !is(cmd, AlterTableType::AtAddColumn) {
        return None;
    }
    match cmd.def.as_ref()?.node.as_ref()? {
        NodeEnum::ColumnDef(column) => Some(column),
        _ => None,
    }
}

/// The constraints written on a column definition.
pub fn column_constraints(column: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    column.constraints.iter().filter_map(|c| match c.node.as_ref()? {
        NodeEnum::Constraint(constraint) => Some(constraint.as_ref()),
        _ => None,
    })
}

pub fn constraint_is(constraint: &Constraint, kind: ConstrType) -> bool {
    constraint.contype == kind as i32
}

/// Whether an option list (`REINDEX (CONCURRENTLY) ...`) has the option.
pub fn has_option(options: &[pg_query::Node], name: &str) -> bool {
    options
        .iter()
        .any(|option| matches!(option.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == name))
}
