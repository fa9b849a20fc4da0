//! What a statement is, from PostgreSQL's own parse tree (libpg_query, the PostgreSQL 18 grammar):
//! whether the server refuses to run it in a transaction block, whether it is transaction
//! control, and which objects a GRANT or REVOKE names.

use pg_query::protobuf::{
    AlterSubscriptionType, AlterTableType, DiscardMode, GrantTargetType, ObjectType, ReindexObjectType, Token, TransactionStmtKind,
    VariableSetKind,
};
use pg_query::{Node, NodeEnum};

use super::quote_ident;
use super::split::Piece;

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
    /// Some name (of a relation, routine, type, or argument type) has no schema: the server
    /// found it through the `search_path` of that moment.
    pub unqualified: bool,
}

/// What one statement is, and whether it may change the session's `search_path` (names a GRANT
/// gives without a schema are then read as the server read them at that moment, not after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub kind: StatementKind,
    pub may_change_search_path: bool,
}

/// A statement longer than this is not parsed: a parse tree takes some 80 to 140 times the
/// memory of its text (390 MB for a 5 MB INSERT, 940 MB for a 6.7 MB CREATE TABLE AS VALUES),
/// and none of the kinds above is a statement of that size.
const LONGEST_PARSED: usize = 1 << 20;

/// Reads one statement, given what the splitter saw in its tokens. Only a statement that can be
/// one of the kinds above is parsed: a data migration's INSERT or UPDATE is never one of them.
pub fn read(statement: &str, tokens: &Piece) -> Reading {
    let may_matter = matches!(
        tokens.first,
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
            | Token::Set
            | Token::Reset
    );
    // A DO block may EXECUTE anything; set_config() may be called from any statement.
    let hidden_setting = tokens.first == Token::Do || tokens.calls_set_config;
    if !may_matter {
        return Reading {
            kind: StatementKind::Other,
            may_change_search_path: hidden_setting,
        };
    }
    let parsed = (statement.len() <= LONGEST_PARSED)
        .then(|| pg_query::parse(statement, pg_query::ParserOptions::DEFAULT).ok())
        .flatten();
    // The text is one statement; several (from an unbalanced parenthesis) are read by the first.
    let node = parsed.as_ref().and_then(|parsed| {
        let raw = parsed.protobuf.stmts.first()?;
        raw.stmt.as_ref()?.node.as_ref()
    });
    match node {
        Some(node) => Reading {
            kind: kind_of_node(node),
            may_change_search_path: hidden_setting || changes_search_path(node),
        },
        // Not read (newer syntax than PostgreSQL 18's, a syntax error, deeper nesting than the
        // tree's decoder takes, too long): what the tokens tell of a transaction is still used.
        None => Reading {
            kind: unparsed(tokens),
            may_change_search_path: true,
        },
    }
}

/// A statement the grammar did not read: VACUUM, or a CREATE, DROP, REINDEX or ALTER with the
/// keyword CONCURRENTLY, still cannot run in a transaction.
fn unparsed(tokens: &Piece) -> StatementKind {
    use StatementKind::NoTransaction;
    match (tokens.first, tokens.concurrently) {
        (Token::Vacuum, _) => NoTransaction("VACUUM"),
        (Token::Create, true) => NoTransaction("CREATE INDEX CONCURRENTLY"),
        (Token::Drop, true) => NoTransaction("DROP INDEX CONCURRENTLY"),
        (Token::Reindex, true) => NoTransaction("REINDEX CONCURRENTLY"),
        (Token::Alter, true) => NoTransaction("DETACH PARTITION CONCURRENTLY"),
        _ => StatementKind::Unparsed,
    }
}

fn changes_search_path(node: &NodeEnum) -> bool {
    match node {
        NodeEnum::VariableSetStmt(s) => s.name.eq_ignore_ascii_case("search_path") || s.kind() == VariableSetKind::VarResetAll,
        NodeEnum::DiscardStmt(s) => s.target() == DiscardMode::DiscardAll,
        _ => false,
    }
}

fn kind_of_node(node: &NodeEnum) -> StatementKind {
    use StatementKind::{NoTransaction, Other};
    match node {
        NodeEnum::IndexStmt(s) if s.concurrent => NoTransaction("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(s) if s.concurrent => NoTransaction("DROP INDEX CONCURRENTLY"),
        // `REINDEX (CONCURRENTLY false)` runs in a transaction.
        NodeEnum::ReindexStmt(s) if s.params.iter().any(|p| def_name(p) == Some("concurrently") && !def_is_false(p)) => {
            NoTransaction("REINDEX CONCURRENTLY")
        }
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
        NodeEnum::AlterSubscriptionStmt(s) => match s.kind() {
            AlterSubscriptionType::AlterSubscriptionRefresh => NoTransaction("ALTER SUBSCRIPTION ... REFRESH PUBLICATION"),
            // SET, ADD and DROP PUBLICATION refresh unless told not to.
            AlterSubscriptionType::AlterSubscriptionSetPublication
            | AlterSubscriptionType::AlterSubscriptionAddPublication
            | AlterSubscriptionType::AlterSubscriptionDropPublication
                if !s.options.iter().any(|o| def_name(o) == Some("refresh") && def_is_false(o)) =>
            {
                NoTransaction("ALTER SUBSCRIPTION ... PUBLICATION with refresh")
            }
            // PostgreSQL 17 and 18 refuse to change these in a transaction block.
            AlterSubscriptionType::AlterSubscriptionOptions
                if s.options.iter().any(|o| matches!(def_name(o), Some("failover" | "two_phase"))) =>
            {
                NoTransaction("ALTER SUBSCRIPTION ... SET (failover | two_phase)")
            }
            _ => Other,
        },
        NodeEnum::DropSubscriptionStmt(_) => NoTransaction("DROP SUBSCRIPTION"),
        NodeEnum::ClusterStmt(s) if s.relation.is_none() => NoTransaction("CLUSTER"),
        NodeEnum::DiscardStmt(s) if s.target() == DiscardMode::DiscardAll => NoTransaction("DISCARD ALL"),
        NodeEnum::TransactionStmt(s) => match s.kind() {
            TransactionStmtKind::TransStmtSavepoint | TransactionStmtKind::TransStmtRelease | TransactionStmtKind::TransStmtRollbackTo => {
                StatementKind::Savepoint
            }
            TransactionStmtKind::TransStmtCommitPrepared => NoTransaction("COMMIT PREPARED"),
            TransactionStmtKind::TransStmtRollbackPrepared => NoTransaction("ROLLBACK PREPARED"),
            _ => StatementKind::TransactionBoundary,
        },
        // Privileges on databases, tablespaces and parameters are global: they fire no event
        // trigger, and the snapshot does not keep them.
        NodeEnum::GrantStmt(s)
            if matches!(
                s.objtype(),
                ObjectType::ObjectDatabase | ObjectType::ObjectTablespace | ObjectType::ObjectParameterAcl
            ) =>
        {
            Other
        }
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
        // `off` and `no` are keywords: the grammar reads them as a type name.
        Some(NodeEnum::TypeName(t)) => {
            matches!(strings(&t.names).as_deref(), Some([word]) if matches!(word.to_ascii_lowercase().as_str(), "off" | "no"))
        }
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
                targets.unqualified |= r.schemaname.is_empty();
                let names = [r.catalogname.as_str(), r.schemaname.as_str(), r.relname.as_str()];
                targets.relations.push(qualified(names.iter().copied().filter(|n| !n.is_empty())));
            }
            (ObjectType::ObjectFunction | ObjectType::ObjectProcedure | ObjectType::ObjectRoutine, NodeEnum::ObjectWithArgs(f)) => {
                let names = strings(&f.objname)?;
                targets.unqualified |= names.len() < 2;
                let mut name = qualified(names);
                if !f.args_unspecified {
                    let args: Option<Vec<(String, bool)>> = f.objargs.iter().map(type_name).collect();
                    let args = args?;
                    targets.unqualified |= args.iter().any(|(_, qualified)| !qualified);
                    let args: Vec<String> = args.into_iter().map(|(name, _)| name).collect();
                    name = format!("{name}({})", args.join(", "));
                }
                targets.routines.push(name);
            }
            (ObjectType::ObjectSchema, NodeEnum::String(s)) => targets.schemas.push(quote_ident(&s.sval)),
            (ObjectType::ObjectType | ObjectType::ObjectDomain, NodeEnum::List(l)) => {
                let names = strings(&l.items)?;
                targets.unqualified |= names.len() < 2;
                targets.types.push(qualified(names));
            }
            // Languages, large objects, foreign servers and wrappers: nothing the snapshot keeps.
            (ObjectType::ObjectLanguage | ObjectType::ObjectLargeobject | ObjectType::ObjectFdw | ObjectType::ObjectForeignServer, _) => {}
            _ => return None,
        }
    }
    Some(targets)
}

/// A type as written in a signature, in the spelling `to_regtype` reads, and whether its name
/// is schema-qualified; `None` for `%TYPE`.
fn type_name(node: &Node) -> Option<(String, bool)> {
    let Some(NodeEnum::TypeName(t)) = &node.node else { return None };
    if t.pct_type {
        return None;
    }
    let names = strings(&t.names)?;
    let is_qualified = names.len() > 1;
    Some((format!("{}{}", qualified(names), "[]".repeat(t.array_bounds.len())), is_qualified))
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
    names.into_iter().map(quote_ident).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a statement's text is read, its tokens seen by the splitter first.
    fn reading(sql: &str) -> Reading {
        let pieces = crate::script::split::split(sql, 0..sql.len()).unwrap();
        assert_eq!(pieces.len(), 1, "{sql}");
        read(sql, &pieces[0])
    }

    fn kind_of(sql: &str) -> StatementKind {
        reading(sql).kind
    }

    fn no_transaction(sql: &str) -> Option<&'static str> {
        match kind_of(sql) {
            StatementKind::NoTransaction(what) => Some(what),
            _ => None,
        }
    }

    #[test]
    fn detects_statements_that_cannot_run_in_a_transaction() {
        // Near misses among them: words in the wrong place are not the statement (a column named
        // vacuum, a comment), and a body is a string to the grammar (what it holds runs later, in
        // the caller's transaction).
        let cases = [
            ("create index concurrently i on t(x)", Some("CREATE INDEX CONCURRENTLY")),
            ("CREATE UNIQUE INDEX CONCURRENTLY i on t(x)", Some("CREATE INDEX CONCURRENTLY")),
            ("vacuum analyze t", Some("VACUUM")),
            ("create index i on t(x)", None),
            ("alter system set work_mem = '1MB'", Some("ALTER SYSTEM")),
            ("drop index concurrently if exists i", Some("DROP INDEX CONCURRENTLY")),
            ("reindex (verbose) index concurrently i", Some("REINDEX CONCURRENTLY")),
            ("reindex table t", None),
            ("reindex schema app", Some("REINDEX SCHEMA")),
            (
                "alter table p detach partition c concurrently",
                Some("DETACH PARTITION CONCURRENTLY"),
            ),
            ("alter table p detach partition c", None),
            ("analyze t", None),
            ("create database x", Some("CREATE DATABASE")),
            ("alter database x set tablespace y", Some("ALTER DATABASE SET TABLESPACE")),
            ("alter database x set work_mem = '1MB'", None),
            ("cluster", Some("CLUSTER")),
            ("cluster t using i", None),
            ("create subscription s connection 'x' publication p", Some("CREATE SUBSCRIPTION")),
            ("create subscription s connection 'x' publication p with (connect = false)", None),
            ("create index i on vacuum (vacuum)", None),
            ("reindex (concurrently false) table t", None),
            ("reindex (concurrently) table t", Some("REINDEX CONCURRENTLY")),
            (
                "alter subscription s refresh publication",
                Some("ALTER SUBSCRIPTION ... REFRESH PUBLICATION"),
            ),
            (
                "alter subscription s add publication p",
                Some("ALTER SUBSCRIPTION ... PUBLICATION with refresh"),
            ),
            ("alter subscription s set publication p with (refresh = false)", None),
            ("alter subscription s disable", None),
            ("create subscription s connection 'x' publication p with (connect = off)", None),
            ("alter subscription s set publication p with (refresh = no)", None),
            (
                "alter subscription s set (failover = true)",
                Some("ALTER SUBSCRIPTION ... SET (failover | two_phase)"),
            ),
            ("alter subscription s set (synchronous_commit = off)", None),
            ("discard all", Some("DISCARD ALL")),
            ("discard plans", None),
            ("/* vacuum */ select 1", None),
            ("create function f() returns void language sql as $$ vacuum $$", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(no_transaction(sql), expected, "{sql}");
        }
    }

    #[test]
    fn what_the_grammar_cannot_read_still_tells_a_transaction_by_its_tokens() {
        // A name reserved since PostgreSQL 16 (the grammar is 18's), and nesting deeper than the
        // tree's decoder takes: the server may still accept them.
        assert_eq!(
            no_transaction("create index concurrently system_user_email on system_user (email)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        let deep = format!("create index concurrently i on t (x) where x{} > 0", " + 1".repeat(60));
        assert_eq!(no_transaction(&deep), Some("CREATE INDEX CONCURRENTLY"));
        assert_eq!(no_transaction("vacuum (nonsense option) t"), Some("VACUUM"));
        assert_eq!(kind_of("create index i on system_user (email)"), StatementKind::Unparsed);
        // Too long to be worth a tree: not parsed, still read by its tokens.
        let long = format!("create table t as select * from (values {}) v(x)", vec!["(1)"; 300_000].join(", "));
        assert_eq!(kind_of(&long), StatementKind::Unparsed);
    }

    #[test]
    fn tells_what_may_change_the_search_path() {
        for sql in [
            "set search_path = app",
            "set local search_path to app, public",
            "reset search_path",
            "reset all",
            "discard all",
            "select set_config('search_path', 'app', false)",
            "do $$ begin execute 'set search_path = app'; end $$",
            "create tabel t (x int)",
        ] {
            assert!(reading(sql).may_change_search_path, "{sql}");
        }
        for sql in [
            "set work_mem = '1MB'",
            "select 1",
            "grant select on t to x",
            "create function f() returns void set search_path = app language sql as ''",
        ] {
            assert!(!reading(sql).may_change_search_path, "{sql}");
        }
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
        // Names without a schema were found through the search_path of their moment.
        assert!(targets("GRANT SELECT ON t TO x").unqualified);
        assert!(targets("GRANT EXECUTE ON FUNCTION s.f(mood) TO x").unqualified);
        assert!(targets("GRANT USAGE ON TYPE mood TO x").unqualified);
        assert!(!targets("GRANT SELECT ON s.t TO x").unqualified);
        assert!(!targets("GRANT EXECUTE ON FUNCTION s.f(int, s.mood[]) TO x").unqualified);
        assert!(!targets("GRANT USAGE ON SCHEMA s TO x").unqualified);
        assert_eq!(targets("GRANT USAGE ON LANGUAGE plpgsql TO x"), GrantTargets::default());
        // Global objects: no event trigger fires, nothing the snapshot keeps.
        assert_eq!(kind_of("GRANT CONNECT ON DATABASE postgres TO x"), StatementKind::Other);
        assert_eq!(kind_of("GRANT SET ON PARAMETER work_mem TO x"), StatementKind::Other);
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
