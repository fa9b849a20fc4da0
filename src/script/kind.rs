//! What a statement is, from PostgreSQL's own parse tree (libpg_query, the PostgreSQL 18 grammar):
//! whether the server refuses to run it in a transaction block, whether it is transaction
//! control, and which objects a GRANT or REVOKE names.

use pg_query::protobuf::{AlterTableType, GrantTargetType, ObjectType, ReindexObjectType, Token, TransactionStmtKind};
use pg_query::{Node, NodeEnum};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// PostgreSQL refuses to run it inside a transaction block; the words name it as the
    /// server's error does.
    NoTransaction(&'static str),
    /// BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION: starts or
    /// ends the session's transaction.
    TransactionBoundary,
    /// SAVEPOINT, RELEASE, ROLLBACK TO: works inside the transaction.
    Savepoint,
    /// GRANT or REVOKE of privileges on objects; `None` when the objects are not named
    /// (`ON ALL TABLES IN SCHEMA`): only the catalog can tell which they are.
    Grant(Option<GrantTargets>),
    Other,
    /// The grammar of PostgreSQL 18 does not read a statement that starts as one of the kinds
    /// above may (newer syntax, or a syntax error the server will report): nothing is assumed
    /// about it.
    Unparsed,
}

impl StatementKind {
    /// Whether the statement changes the transaction the script runs in.
    pub fn controls_transaction(&self) -> bool {
        matches!(self, StatementKind::TransactionBoundary | StatementKind::Savepoint)
    }
}

/// The objects a GRANT or REVOKE names, written so that `to_regclass`, `to_regprocedure` (or
/// `to_regproc` without arguments), `to_regnamespace` and `to_regtype` read them as the
/// migration's session does: every name quoted, types as the parser resolved their spelling
/// (`double precision` is `"pg_catalog"."float8"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantTargets {
    pub relations: Vec<String>,
    pub routines: Vec<String>,
    pub schemas: Vec<String>,
    pub types: Vec<String>,
}

/// The kind of one statement's text, whose first token is `first`. Only a statement that can be
/// one of the kinds above is parsed: a parse tree takes some 80 times the memory of its text
/// (390 MB for a 5 MB INSERT), and a data migration's INSERT or UPDATE is never one of them.
pub fn kind_of(statement: &str, first: Token) -> StatementKind {
    let may_matter = matches!(
        first,
        Token::Create
            | Token::Drop
            | Token::Alter
            | Token::Reindex
            | Token::Vacuum
            | Token::Cluster
            | Token::Discard
            | Token::Grant
            | Token::Revoke
            | Token::BeginP
            | Token::Start
            | Token::Commit
            | Token::EndP
            | Token::Rollback
            | Token::AbortP
            | Token::Prepare
            | Token::Savepoint
            | Token::Release
    );
    if !may_matter {
        return StatementKind::Other;
    }
    let Ok(parsed) = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT) else {
        return StatementKind::Unparsed;
    };
    // The text is one statement; several (from an unbalanced parenthesis) are read by the first.
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|raw| raw.stmt.as_ref())
        .and_then(|n| n.node.as_ref());
    node.map_or(StatementKind::Other, kind_of_node)
}

fn kind_of_node(node: &NodeEnum) -> StatementKind {
    use StatementKind::{NoTransaction, Other};
    match node {
        NodeEnum::IndexStmt(s) if s.concurrent => NoTransaction("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(s) if s.concurrent => NoTransaction("DROP INDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(s) if s.params.iter().any(|p| def_name(p) == Some("concurrently")) => NoTransaction("REINDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(s) => match s.kind() {
            ReindexObjectType::ReindexObjectSchema => NoTransaction("REINDEX SCHEMA"),
            ReindexObjectType::ReindexObjectSystem => NoTransaction("REINDEX SYSTEM"),
            ReindexObjectType::ReindexObjectDatabase => NoTransaction("REINDEX DATABASE"),
            _ => Other,
        },
        NodeEnum::AlterTableStmt(s) if s.cmds.iter().any(detaches_concurrently) => NoTransaction("DETACH PARTITION CONCURRENTLY"),
        NodeEnum::VacuumStmt(s) if s.is_vacuumcmd => NoTransaction("VACUUM"),
        NodeEnum::AlterSystemStmt(_) => NoTransaction("ALTER SYSTEM"),
        NodeEnum::CreatedbStmt(_) => NoTransaction("CREATE DATABASE"),
        NodeEnum::DropdbStmt(_) => NoTransaction("DROP DATABASE"),
        NodeEnum::AlterDatabaseStmt(s) if s.options.iter().any(|o| def_name(o) == Some("tablespace")) => {
            NoTransaction("ALTER DATABASE SET TABLESPACE")
        }
        NodeEnum::CreateTableSpaceStmt(_) => NoTransaction("CREATE TABLESPACE"),
        NodeEnum::DropTableSpaceStmt(_) => NoTransaction("DROP TABLESPACE"),
        // Only when it creates a replication slot (the default unless told not to connect).
        NodeEnum::CreateSubscriptionStmt(s)
            if !s
                .options
                .iter()
                .any(|o| matches!(def_name(o), Some("connect" | "create_slot")) && def_is_false(o)) =>
        {
            NoTransaction("CREATE SUBSCRIPTION")
        }
        NodeEnum::DropSubscriptionStmt(_) => NoTransaction("DROP SUBSCRIPTION"),
        NodeEnum::ClusterStmt(s) if s.relation.is_none() => NoTransaction("CLUSTER"),
        NodeEnum::DiscardStmt(s) if s.target() == pg_query::protobuf::DiscardMode::DiscardAll => NoTransaction("DISCARD ALL"),
        NodeEnum::TransactionStmt(s) => match s.kind() {
            TransactionStmtKind::TransStmtSavepoint | TransactionStmtKind::TransStmtRelease | TransactionStmtKind::TransStmtRollbackTo => {
                StatementKind::Savepoint
            }
            TransactionStmtKind::TransStmtCommitPrepared => NoTransaction("COMMIT PREPARED"),
            TransactionStmtKind::TransStmtRollbackPrepared => NoTransaction("ROLLBACK PREPARED"),
            _ => StatementKind::TransactionBoundary,
        },
        NodeEnum::GrantStmt(s) => StatementKind::Grant(grant_targets(s)),
        _ => Other,
    }
}

fn detaches_concurrently(command: &Node) -> bool {
    let Some(NodeEnum::AlterTableCmd(command)) = &command.node else {
        return false;
    };
    command.subtype() == AlterTableType::AtDetachPartition
        && matches!(command.def.as_deref().and_then(|d| d.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent)
}

fn def_name(node: &Node) -> Option<&str> {
    match &node.node {
        Some(NodeEnum::DefElem(d)) => Some(d.defname.as_str()),
        _ => None,
    }
}

/// `name = false` (or off, 0, no), as PostgreSQL's defGetBoolean reads it.
fn def_is_false(node: &Node) -> bool {
    let Some(NodeEnum::DefElem(d)) = &node.node else { return false };
    match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
        Some(NodeEnum::Boolean(b)) => !b.boolval,
        Some(NodeEnum::Integer(i)) => i.ival == 0,
        Some(NodeEnum::String(s)) => matches!(s.sval.to_ascii_lowercase().as_str(), "false" | "off" | "no" | "0"),
        _ => false,
    }
}

fn grant_targets(grant: &pg_query::protobuf::GrantStmt) -> Option<GrantTargets> {
    if grant.targtype() != GrantTargetType::AclTargetObject {
        return None;
    }
    let mut targets = GrantTargets::default();
    for object in &grant.objects {
        let node = object.node.as_ref()?;
        match (grant.objtype(), node) {
            (ObjectType::ObjectTable | ObjectType::ObjectSequence, NodeEnum::RangeVar(r)) => {
                let names = [r.catalogname.as_str(), r.schemaname.as_str(), r.relname.as_str()];
                targets.relations.push(qualified(names.iter().copied().filter(|n| !n.is_empty())));
            }
            (ObjectType::ObjectFunction | ObjectType::ObjectProcedure | ObjectType::ObjectRoutine, NodeEnum::ObjectWithArgs(f)) => {
                let mut name = qualified(strings(&f.objname)?);
                if !f.args_unspecified {
                    let args: Option<Vec<String>> = f.objargs.iter().map(type_name).collect();
                    name = format!("{name}({})", args?.join(", "));
                }
                targets.routines.push(name);
            }
            (ObjectType::ObjectSchema, NodeEnum::String(s)) => targets.schemas.push(quoted(&s.sval)),
            (ObjectType::ObjectType | ObjectType::ObjectDomain, NodeEnum::List(l)) => targets.types.push(qualified(strings(&l.items)?)),
            // Databases, languages, large objects, tablespaces, foreign servers and wrappers,
            // parameters: nothing the snapshot keeps.
            (
                ObjectType::ObjectDatabase
                | ObjectType::ObjectLanguage
                | ObjectType::ObjectLargeobject
                | ObjectType::ObjectTablespace
                | ObjectType::ObjectFdw
                | ObjectType::ObjectForeignServer
                | ObjectType::ObjectParameterAcl,
                _,
            ) => {}
            _ => return None,
        }
    }
    Some(targets)
}

/// A type as written in a signature, in the spelling `to_regtype` reads; `None` for `%TYPE`.
fn type_name(node: &Node) -> Option<String> {
    let Some(NodeEnum::TypeName(t)) = &node.node else { return None };
    if t.pct_type {
        return None;
    }
    Some(format!("{}{}", qualified(strings(&t.names)?), "[]".repeat(t.array_bounds.len())))
}

fn strings(nodes: &[Node]) -> Option<Vec<&str>> {
    nodes
        .iter()
        .map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect()
}

fn qualified<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(quoted).collect::<Vec<_>>().join(".")
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind of a statement's text, its first token read by the scanner as the splitter does.
    fn kind_of(sql: &str) -> StatementKind {
        let first = crate::script::scanner::tokens(sql)
            .unwrap()
            .into_iter()
            .find(|t| !crate::script::scanner::is_comment(t));
        super::kind_of(sql, first.map_or(Token::Nul, |t| t.token()))
    }

    fn no_transaction(sql: &str) -> Option<&'static str> {
        match kind_of(sql) {
            StatementKind::NoTransaction(what) => Some(what),
            _ => None,
        }
    }

    #[test]
    fn detects_statements_that_cannot_run_in_a_transaction() {
        assert_eq!(
            no_transaction("create index concurrently i on t(x)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(
            no_transaction("CREATE UNIQUE INDEX CONCURRENTLY i on t(x)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(no_transaction("vacuum analyze t"), Some("VACUUM"));
        assert_eq!(no_transaction("create index i on t(x)"), None);
        assert_eq!(no_transaction("alter system set work_mem = '1MB'"), Some("ALTER SYSTEM"));
        assert_eq!(
            no_transaction("drop index concurrently if exists i"),
            Some("DROP INDEX CONCURRENTLY")
        );
        assert_eq!(
            no_transaction("reindex (verbose) index concurrently i"),
            Some("REINDEX CONCURRENTLY")
        );
        assert_eq!(no_transaction("reindex table t"), None);
        assert_eq!(no_transaction("reindex schema app"), Some("REINDEX SCHEMA"));
        assert_eq!(
            no_transaction("alter table p detach partition c concurrently"),
            Some("DETACH PARTITION CONCURRENTLY")
        );
        assert_eq!(no_transaction("alter table p detach partition c"), None);
        assert_eq!(no_transaction("analyze t"), None);
        assert_eq!(no_transaction("create database x"), Some("CREATE DATABASE"));
        assert_eq!(
            no_transaction("alter database x set tablespace y"),
            Some("ALTER DATABASE SET TABLESPACE")
        );
        assert_eq!(no_transaction("alter database x set work_mem = '1MB'"), None);
        assert_eq!(no_transaction("cluster"), Some("CLUSTER"));
        assert_eq!(no_transaction("cluster t using i"), None);
        assert_eq!(
            no_transaction("create subscription s connection 'x' publication p"),
            Some("CREATE SUBSCRIPTION")
        );
        assert_eq!(
            no_transaction("create subscription s connection 'x' publication p with (connect = false)"),
            None
        );
        // Words in the wrong place are not the statement: a table named concurrently, a comment.
        assert_eq!(no_transaction("create index on concurrently (vacuum)"), None);
        assert_eq!(no_transaction("/* vacuum */ select 1"), None);
        // A body is a string to the grammar: what it holds runs later, in the caller's transaction.
        assert_eq!(
            no_transaction("create function f() returns void language sql as $$ vacuum $$"),
            None
        );
    }

    #[test]
    fn tells_transaction_control() {
        for sql in [
            "BEGIN",
            "begin isolation level serializable",
            "start transaction isolation level serializable",
            "commit",
            "end",
            "rollback",
            "abort",
            "prepare transaction 'x'",
        ] {
            assert_eq!(kind_of(sql), StatementKind::TransactionBoundary, "{sql}");
        }
        for sql in ["savepoint a", "release a", "ROLLBACK TO SAVEPOINT a", "rollback to a"] {
            assert_eq!(kind_of(sql), StatementKind::Savepoint, "{sql}");
        }
        assert_eq!(kind_of("select 1"), StatementKind::Other);
        assert_eq!(kind_of("create table begin (x int)"), StatementKind::Other);
        assert_eq!(kind_of("create tabel t (x int)"), StatementKind::Unparsed);
        // Not read at all: a statement that does not start so cannot be one of the kinds.
        assert_eq!(kind_of("selec 1"), StatementKind::Other);
        assert_eq!(kind_of("insert into t select * from generate_series(1, 10)"), StatementKind::Other);
    }

    fn targets(sql: &str) -> GrantTargets {
        match kind_of(sql) {
            StatementKind::Grant(Some(targets)) => targets,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn grant_statements_name_their_objects() {
        let t = targets("GRANT SELECT, INSERT ON bench.t1, \"Odd, Name\" TO app");
        assert_eq!(t.relations, vec!["\"bench\".\"t1\"", "\"Odd, Name\""]);
        let t = targets("REVOKE EXECUTE ON FUNCTION f(int, text), g() FROM PUBLIC");
        assert_eq!(t.routines, vec!["\"f\"(\"pg_catalog\".\"int4\", \"text\")", "\"g\"()"]);
        assert_eq!(targets("GRANT USAGE ON SCHEMA app TO x").schemas, vec!["\"app\""]);
        assert_eq!(
            targets("GRANT USAGE ON TYPE app.mood, \"My Type\" TO x").types,
            vec!["\"app\".\"mood\"", "\"My Type\""]
        );
        assert_eq!(targets("GRANT USAGE ON DOMAIN d TO x").types, vec!["\"d\""]);
        assert_eq!(targets("GRANT EXECUTE ON FUNCTION f TO x").routines, vec!["\"f\""]);
        assert_eq!(targets("GRANT CONNECT ON DATABASE postgres TO x"), GrantTargets::default());
        assert_eq!(kind_of("GRANT SELECT ON ALL TABLES IN SCHEMA app TO x"), StatementKind::Grant(None));
        // A role granted to a role names no object.
        assert_eq!(kind_of("GRANT admin TO bob"), StatementKind::Other);
    }

    #[test]
    fn signatures_are_read_however_they_are_written() {
        let routine = |sql: &str| targets(sql).routines.remove(0);
        assert_eq!(
            routine("GRANT EXECUTE ON FUNCTION public.create_account(slug text, name text) TO authenticated"),
            "\"public\".\"create_account\"(\"text\", \"text\")"
        );
        // OUT arguments are not part of the signature; VARIADIC, INOUT and IN are.
        assert_eq!(
            routine("GRANT EXECUTE ON FUNCTION f(IN a int, OUT b text, INOUT c \"My Type\", VARIADIC d numeric[]) TO x"),
            "\"f\"(\"pg_catalog\".\"int4\", \"My Type\", \"pg_catalog\".\"numeric\"[])"
        );
        assert_eq!(
            routine("GRANT EXECUTE ON PROCEDURE s.p(double precision, character varying(10), timestamp with time zone, int[][]) TO x"),
            "\"s\".\"p\"(\"pg_catalog\".\"float8\", \"pg_catalog\".\"varchar\", \"pg_catalog\".\"timestamptz\", \"pg_catalog\".\"int4\"[][])"
        );
        assert_eq!(routine("GRANT ALL ON ROUTINE \"Odd\"\"Name\"() TO x"), "\"Odd\"\"Name\"()");
        // %TYPE can only be resolved by the server: the catalog is searched instead.
        assert_eq!(kind_of("GRANT EXECUTE ON FUNCTION f(t.c%TYPE) TO x"), StatementKind::Grant(None));
    }
}
