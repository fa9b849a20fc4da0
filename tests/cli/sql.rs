//! SQL read as PostgreSQL reads it (libpg_query's scanner and grammar): where statements start and
//! end, what cannot be sent, and what a GRANT names.

use crate::support::{self, check_one_migration, same_verdicts_with_and_without_incremental_snapshots, Dbgate, TestServer};
use std::fs;

#[test]
fn an_unterminated_comment_fails_where_it_opens() {
    let out = Dbgate::fixture("unterminated-comment").args(["check"]).run();
    out.code(1);
    // The closed nested comment and the dollar-quoted body with `$$` and `/*` inside pass.
    out.stdout_has("PASS  migrations/001_create_notes.sql");
    out.stdout_has(
        "migrations/002_add_note_title.sql:2:1: unterminated /* comment (the server rejects the file): the comment that opens here never ends; add `*/`",
    );
    out.stdout_has("2 | /* TODO: backfill the titles\n");
    let out = Dbgate::fixture("unterminated-comment").args(["list"]).run();
    out.code(0);
    out.stdout_has("migrations/002_add_note_title.sql  (cannot run: unterminated /* comment at line 2)");
}

#[test]
fn positions_count_characters_after_a_byte_order_mark_with_crlf_line_ends() {
    // The mark is not a character of the first line.
    let out = check_one_migration("\u{feff}CREATE TABLE ä (id nosuchtype);\r\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:1:20: type \"nosuchtype\" does not exist");

    // CRLF lines, a nested comment, and a BEGIN ATOMIC body with semicolons before the error.
    let repo = support::TempRepo::new();
    repo.migrations(&[("001_a", "\u{feff}CREATE TABLE ä (id int);\r\n", "DROP TABLE ä;\r\n")]);
    repo.write(
        "migrations/002_b.sql",
        "/* ü /* nested; */ ü; */\r\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\r\nBEGIN ATOMIC SELECT 1; SELECT 2; END;\r\nCREATE TABLE b (näme text, x nosuchtype);\r\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("PASS  migrations/001_a.sql");
    out.stdout_has("migrations/002_b.sql:4:30: type \"nosuchtype\" does not exist");
    out.stdout_has("4 | CREATE TABLE b (näme text, x nosuchtype);\n");
}

#[test]
fn a_nul_byte_is_a_failure_at_its_place() {
    let out = check_one_migration(b"CREATE TABLE a (id int);\nSELECT 'a\0b';\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:10: unexpected NUL byte (the server rejects the file)");
}

#[test]
fn a_scan_error_without_a_position_is_placed_at_its_line() {
    // An escape that makes an invalid byte sequence: the scanner says what, not where.
    let out = check_one_migration("CREATE TABLE a (id int);\nSELECT 'it''s\nfine';\n  SELECT E'\\xff';\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:4:3: invalid byte sequence for encoding \"UTF8\": 0xff (the server rejects the file)");
}

#[test]
fn concurrently_is_seen_in_a_statement_the_newer_grammar_does_not_read() {
    // system_user is reserved since PostgreSQL 16, whose grammar dbgate reads with; the server
    // (15) takes it, and the index must still be built outside a transaction.
    let repo = support::TempRepo::new();
    repo.migrations(&[(
        "001_a",
        "CREATE TABLE system_user (id int, email text);\nCREATE INDEX CONCURRENTLY system_user_email ON system_user (email);\n",
        "DROP TABLE system_user;\n",
    )]);
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.stdout_has("(runs without a transaction (CREATE INDEX CONCURRENTLY at line 2))");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
}

#[test]
fn a_meta_command_with_an_odd_quote_is_named_as_a_meta_command() {
    let out = check_one_migration("CREATE TABLE a (id int);\n\\echo it's done\n");
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:1: `\\echo` is a psql meta-command, not SQL");
}

#[test]
fn grants_on_routines_are_tracked_however_their_signatures_are_written() {
    // Argument names, IN/OUT/INOUT/VARIADIC, multi-word and array types, quoted names, no
    // argument list: every GRANT is read, and the rollback that forgets one is named.
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(&support::fixture("grant-on-routine-signatures"));
    let failures = support::check(&verdicts["migrations"][1], "rollback")["failures"].to_string();
    assert!(
        failures.contains("privilege EXECUTE on function api.create_account(slug text, name text) to dbgate_fixture_api is still there"),
        "{failures}"
    );
    assert_eq!(support::check(&verdicts["migrations"][1], "rollback")["status"], "failed");

    // The near miss: a rollback that revokes every grant passes, in both modes.
    let repo = support::TempRepo::new();
    for name in ["001_create_api.sql", "001_create_api_rollback.sql", "002_grant_api.sql"] {
        let text = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations").join(name)).unwrap();
        repo.write(&format!("migrations/{name}"), &text);
    }
    let rollback = fs::read_to_string(support::fixture(
        "grant-on-routine-signatures/migrations/002_grant_api_rollback.sql",
    ))
    .unwrap();
    repo.write(
        "migrations/002_grant_api_rollback.sql",
        &format!("{rollback}REVOKE EXECUTE ON FUNCTION api.create_account(text, text) FROM dbgate_fixture_api;\n"),
    );
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    assert_eq!(verdicts["verdict"], "passed", "{verdicts}");
}

#[test]
fn grants_the_parse_tree_cannot_pin_down_are_still_seen() {
    // Each rollback forgets its REVOKE (or its default) and must fail in both modes: a DO-block
    // grant beside a global one (which fires no event trigger), a name read under a SET LOCAL
    // search_path, a procedure signature written with its OUT argument, DDL under
    // session_replication_role = replica; DDL under SET ROLE to a plain role passes.
    let repo = support::TempRepo::new();
    repo.migrations(&[
        (
            "001_base",
            "CREATE TABLE t (x int);\nCREATE SCHEMA app;\nCREATE TABLE app.t (y int);\n\
             CREATE PROCEDURE pr(IN a int, OUT b int) LANGUAGE sql AS 'SELECT a';\n\
             CREATE ROLE dbgate_test_owner;\nGRANT CREATE ON SCHEMA public TO dbgate_test_owner;\n",
            "DROP TABLE t;\nDROP SCHEMA app CASCADE;\nDROP PROCEDURE pr;\n\
             REVOKE CREATE ON SCHEMA public FROM dbgate_test_owner;\nDROP ROLE dbgate_test_owner;\n",
        ),
        (
            "002_global_grant_and_do_block",
            "GRANT CREATE ON TABLESPACE pg_default TO PUBLIC;\nDO $$ BEGIN GRANT SELECT ON t TO PUBLIC; END $$;\n",
            "REVOKE CREATE ON TABLESPACE pg_default FROM PUBLIC;\n",
        ),
        (
            "003_set_local_search_path",
            "SET LOCAL search_path = app;\nGRANT SELECT ON t TO PUBLIC;\n",
            "SELECT 1;\n",
        ),
        (
            "004_procedure_out_argument",
            "GRANT EXECUTE ON PROCEDURE pr(int, int) TO dbgate_test_owner;\n",
            "SELECT 1;\n",
        ),
        (
            "005_replica_role",
            "SET LOCAL session_replication_role = replica;\nALTER TABLE t ALTER COLUMN x SET DEFAULT 5;\n",
            "SELECT 1;\n",
        ),
        (
            "006_set_role",
            "SET ROLE dbgate_test_owner;\nCREATE TABLE owned (x int);\nRESET ROLE;\n",
            "DROP TABLE owned;\n",
        ),
    ]);
    let verdicts = same_verdicts_with_and_without_incremental_snapshots(repo.path());
    let rollback = |i: usize| support::check(&verdicts["migrations"][i], "rollback").clone();
    for (i, forgotten) in [
        (1, "privilege SELECT on table public.t to PUBLIC is still there"),
        (2, "privilege SELECT on table app.t to PUBLIC is still there"),
        (3, "privilege EXECUTE on procedure public.pr"),
        (4, "default of column public.t.x is 5, was not set"),
    ] {
        assert_eq!(rollback(i)["status"], "failed", "{}", rollback(i));
        assert!(
            rollback(i)["failures"].to_string().contains(forgotten),
            "{forgotten}: {}",
            rollback(i)
        );
    }
    assert_eq!(
        support::check(&verdicts["migrations"][5], "replay")["status"],
        "passed",
        "{}",
        verdicts["migrations"][5]
    );
    assert_eq!(rollback(5)["status"], "passed", "{}", rollback(5));
}

#[test]
fn grant_targets_as_read_from_the_parse_tree_resolve_on_the_server() {
    // What the incremental snapshot asks the server to resolve after a GRANT must name the very
    // objects the GRANT changed, in the spelling PostgreSQL's to_reg* functions read.
    let server = TestServer::start();
    server.sql("postgres", "CREATE DATABASE grants");
    let setup = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations/001_create_api.sql")).unwrap();
    server.sql("grants", &setup);
    let grants = fs::read_to_string(support::fixture("grant-on-routine-signatures/migrations/002_grant_api.sql")).unwrap();
    let script = dbgate::script::Script::new("002_grant_api.sql".into(), grants.as_str().into(), 0..grants.len());
    let mut checked = 0;
    for statement in script.statements().unwrap() {
        let dbgate::script::StatementKind::Grant(Some(targets)) = &statement.kind else {
            panic!("not read as a GRANT with named objects: {}", &grants[statement.range.clone()]);
        };
        let lookups = targets
            .routines
            .iter()
            .map(|r| (if r.ends_with(')') { "to_regprocedure" } else { "to_regproc" }, r))
            .chain(targets.schemas.iter().map(|s| ("to_regnamespace", s)))
            .chain(targets.types.iter().map(|t| ("to_regtype", t)));
        for (function, name) in lookups {
            let literal = name.replace('\'', "''");
            let found = server.sql("grants", &format!("SELECT {function}('{literal}') IS NOT NULL"));
            assert_eq!(found, "t", "{function}('{name}') does not resolve");
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
    server.sql("grants", "DROP SCHEMA api CASCADE; DROP ROLE dbgate_fixture_api;");
}

#[test]
fn a_default_in_a_grant_s_signature_is_the_server_s_syntax_error_at_its_place() {
    // PostgreSQL takes no DEFAULT in a GRANT's signature: a failure of the migration, placed,
    // never dbgate's own error.
    let out = check_one_migration(
        "CREATE FUNCTION f(a int DEFAULT 1) RETURNS int LANGUAGE sql AS 'SELECT a';\nGRANT EXECUTE ON FUNCTION f(a int DEFAULT 1) TO PUBLIC;\n",
    );
    out.code(1);
    out.stdout_has("migrations/001_a.sql:2:35: syntax error at or near \"DEFAULT\"");
}
