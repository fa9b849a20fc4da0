//! Each file runs as its tool runs it: the tool the repo says (or dbgate.toml names), its way of
//! deciding the transaction, the way it sends the file, and its bookkeeping table.

use crate::support::{fixture, Dbgate, TempRepo};

#[test]
fn the_tool_is_assumed_only_where_the_repo_says_it_and_the_report_says_why() {
    for (repo, said) in [
        ("layout-diesel", "tool: diesel (migrations in diesel's folders"),
        ("layout-dbmate", "tool: dbmate (`-- migrate:up` sections, dbmate's)"),
        ("layout-flyway", "tool: flyway (Flyway's file names"),
        ("layout-golang-migrate", "tool: none (no file says which tool"),
        ("layout-sqlx", "tool: none (no file says which tool"),
        (
            "golang-migrate-bookkeeping",
            "tool: golang-migrate ([migrations] tool in dbgate.toml)",
        ),
    ] {
        let out = Dbgate::fixture(repo).args(["list"]).run();
        out.code(0);
        out.stdout_has(&said.replace("tool: ", "tool:       "));
    }
    let repo = TempRepo::new();
    repo.write("supabase/config.toml", "project_id = \"x\"\n");
    repo.write("supabase/migrations/20240101000000_a.sql", "CREATE TABLE a (id int);\n");
    let out = Dbgate::at(repo.path()).args(["check", "--json", "report.json"]).run();
    out.code(0);
    out.stdout_has("tool: supabase (supabase/config.toml)");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["tool"],
        serde_json::json!({"name": "supabase", "why": "supabase/config.toml"})
    );
}

#[test]
fn golang_migrate_sends_a_file_as_one_query_so_concurrently_must_be_alone() {
    let repo = TempRepo::from_fixture("one-query-concurrently");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/2_email.up.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    out.stdout_has("fix: golang-migrate sends this file as one query, which PostgreSQL runs in one implicit transaction: put this statement in a migration of its own");
    // With no tool assumed, the same file runs statement by statement outside a transaction.
    repo.write("dbgate.toml", "");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // The near miss: alone in its file, it runs.
    repo.write("dbgate.toml", "[migrations]\ntool = \"golang-migrate\"\n");
    repo.write(
        "migrations/2_email.up.sql",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    repo.write("migrations/2_email.down.sql", "DROP INDEX CONCURRENTLY users_email;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("no transaction: golang-migrate runs no transaction");
    // A file with its own BEGIN and COMMIT is still one query: after the COMMIT, PostgreSQL
    // opens another implicit block, where CONCURRENTLY fails.
    repo.write(
        "migrations/2_email.up.sql",
        "BEGIN;\nALTER TABLE users ADD COLUMN name text;\nCOMMIT;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/2_email.up.sql:4:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
}

#[test]
fn sqlx_obeys_its_directive_alone_and_sends_such_a_file_as_one_query() {
    let repo = TempRepo::new();
    repo.write("dbgate.toml", "[migrations]\ntool = \"sqlx\"\n");
    repo.write("migrations/1_users.sql", "CREATE TABLE users (id int, email text);\n");
    repo.write(
        "migrations/2_email.sql",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/2_email.sql:1:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    out.stdout_has("fix: sqlx runs this file in a transaction: make `-- no-transaction` the file's very first line");
    // With the directive and another statement: one query, one implicit transaction.
    repo.write(
        "migrations/2_email.sql",
        "-- no-transaction\nALTER TABLE users ADD COLUMN name text;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("fix: sqlx sends this file as one query, which PostgreSQL runs in one implicit transaction: put this statement in a migration of its own");
    // The near miss: the directive, and the statement alone.
    repo.write(
        "migrations/2_email.sql",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn flyway_refuses_a_migration_that_mixes_statements_that_can_and_cannot_run_in_a_transaction() {
    let repo = TempRepo::from_fixture("flyway-mixed-transactions");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/V2__email.sql:2:1: flyway refuses this migration: it mixes CREATE INDEX CONCURRENTLY, which cannot run in a transaction, with statements that can");
    let list = Dbgate::at(repo.path()).args(["list"]).run();
    list.stdout_has("(refused by its tool: statements that can and cannot run in a transaction, from line 2)");
    // Flyway's own `mixed` setting lets it run, without a transaction.
    repo.write("flyway.conf", "flyway.locations=filesystem:migrations\nflyway.mixed=true\n");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    std::fs::remove_file(repo.path().join("flyway.conf")).unwrap();
    // The near miss: alone, it runs outside a transaction, as Flyway detects.
    repo.write(
        "migrations/V2__email.sql",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
}

#[test]
fn diesel_sends_a_file_without_a_transaction_as_one_query() {
    let repo = TempRepo::new();
    repo.write(
        "migrations/2024-01-01-000000_users/up.sql",
        "CREATE TABLE users (id int, email text);\n",
    );
    repo.write("migrations/2024-01-01-000000_users/down.sql", "DROP TABLE users;\n");
    let dir = "migrations/2024-01-02-000000_email";
    repo.write(&format!("{dir}/metadata.toml"), "run_in_transaction = false\n");
    repo.write(
        &format!("{dir}/up.sql"),
        "ALTER TABLE users ADD COLUMN name text;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
    );
    repo.write(&format!("{dir}/down.sql"), "DROP INDEX CONCURRENTLY users_email;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("fix: diesel sends this file as one query, which PostgreSQL runs in one implicit transaction: put this statement in a migration of its own");
    // Every diesel up is an up.sql: its folder says which.
    out.stdout_has("rollback       not checked: 2024-01-02-000000_email/up.sql failed");
}

#[test]
fn the_tools_bookkeeping_table_is_there_for_migrations_that_use_it_and_never_compared() {
    // A migration altering golang-migrate's own table, and its rollback undoing that.
    let out = Dbgate::fixture("golang-migrate-bookkeeping").args(["check"]).run();
    out.code(0);
    out.stdout_has("PASS  migrations/000001_users.up.sql");
    // The near miss: with no tool, there is no such table.
    let repo = TempRepo::new();
    for name in ["000001_users.up.sql", "000001_users.down.sql"] {
        let text = std::fs::read_to_string(fixture("golang-migrate-bookkeeping/migrations").join(name)).unwrap();
        repo.write(&format!("migrations/{name}"), &text);
    }
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("relation \"schema_migrations\" does not exist");

    // diesel: a trigger on __diesel_schema_migrations.
    let repo = TempRepo::new();
    repo.write(
        "migrations/2024-01-01-000000_audit/up.sql",
        "CREATE TABLE audit (version text);\nCREATE FUNCTION audit_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.version); RETURN NEW; END $$;\nCREATE TRIGGER audit_version AFTER INSERT ON __diesel_schema_migrations FOR EACH ROW EXECUTE FUNCTION audit_version();\n",
    );
    repo.write(
        "migrations/2024-01-01-000000_audit/down.sql",
        "DROP TRIGGER audit_version ON __diesel_schema_migrations;\nDROP FUNCTION audit_version();\nDROP TABLE audit;\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
}

#[test]
fn each_tools_version_rule_holds_at_its_edges() {
    let kinds = |repo: &TempRepo| -> Vec<String> {
        let out = Dbgate::at(repo.path()).args(["check", "--json", "report.json"]).run();
        assert!(matches!(out.status, Some(0) | Some(1)), "{}\n{}", out.stdout, out.stderr);
        let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo.path().join("report.json")).unwrap()).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // The Supabase CLI lists migrations by file name: `10_a.sql` runs before `9_b.sql`.
    let repo = TempRepo::new();
    repo.write("supabase/config.toml", "project_id = \"x\"\n");
    repo.write("supabase/migrations/10_a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    repo.write("supabase/migrations/9_b.sql", "CREATE TABLE b (a_id int REFERENCES a);\n");
    let out = Dbgate::at(repo.path()).args(["list"]).run();
    out.in_order(&["1. 10 a", "2. 9 b"]);
    out.stdout_has("order:      the Supabase CLI's: whole file names, as text");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // The near miss: with no tool, versions are numbers, 9 before 10, and 9_b fails.
    std::fs::remove_file(repo.path().join("supabase/config.toml")).unwrap();
    Dbgate::at(repo.path()).args(["check"]).run().code(1);

    // golang-migrate and sqlx parse the number: `001` and `1` are one version.
    let repo = TempRepo::new();
    repo.write("migrations/001_a.up.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/1_b.up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(kinds(&repo), ["duplicate_version"]);
    // dbmate keeps the digits as text: `001` and `1` are two versions...
    let repo = TempRepo::new();
    repo.write(
        "db/migrations/001_a.sql",
        "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n",
    );
    repo.write(
        "db/migrations/1_b.sql",
        "-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\nDROP TABLE b;\n",
    );
    assert_eq!(kinds(&repo), Vec::<String>::new());
    // ...and two files with the same digits are one, wherever file name order puts them.
    repo.write(
        "db/migrations/1_c.sql",
        "-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\nDROP TABLE c;\n",
    );
    repo.write(
        "db/migrations/10_d.sql",
        "-- migrate:up\nCREATE TABLE d (id int);\n-- migrate:down\nDROP TABLE d;\n",
    );
    assert_eq!(kinds(&repo), ["duplicate_version"]);
    // Flyway: trailing zero parts do not count, so V1 and V1.0 collide; V1.1 and V1.10 do not.
    let repo = TempRepo::new();
    repo.write("migrations/V1__a.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/V1.1__b.sql", "CREATE TABLE b (id int);\n");
    repo.write("migrations/V1.10__c.sql", "CREATE TABLE c (id int);\n");
    assert_eq!(kinds(&repo), Vec::<String>::new());
    repo.write("migrations/V1.0__d.sql", "CREATE TABLE d (id int);\n");
    assert_eq!(kinds(&repo), ["duplicate_version"]);
}

#[test]
fn the_bookkeeping_table_is_in_no_expectation() {
    let repo = TempRepo::new();
    repo.write(
        "dbgate.toml",
        "[migrations]\ntool = \"golang-migrate\"\n[expect]\ntables = 1\nrls_on_all_tables = true\n",
    );
    repo.write(
        "migrations/1_users.up.sql",
        "CREATE TABLE users (id int);\nALTER TABLE users ENABLE ROW LEVEL SECURITY;\n",
    );
    repo.write("migrations/1_users.down.sql", "DROP TABLE users;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    // The near miss: a table of the migrations' own without row level security.
    repo.write("migrations/2_notes.up.sql", "CREATE TABLE notes (id int);\n");
    repo.write(
        "dbgate.toml",
        "[migrations]\ntool = \"golang-migrate\"\n[expect]\ntables = 2\nrls_on_all_tables = true\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("table public.notes has row level security disabled");
    assert!(!out.stdout.contains("schema_migrations"), "{}", out.stdout);
}

#[test]
fn a_file_sent_as_one_query_refuses_savepoints_outside_its_own_begin() {
    let repo = TempRepo::new();
    repo.write("dbgate.toml", "[migrations]\ntool = \"golang-migrate\"\n");
    repo.write(
        "migrations/1_a.up.sql",
        "CREATE TABLE a (id int);\nSAVEPOINT s;\nCREATE TABLE b (id int);\nRELEASE SAVEPOINT s;\n",
    );
    repo.write("migrations/1_a.down.sql", "DROP TABLE b;\nDROP TABLE a;\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/1_a.up.sql:2:1: SAVEPOINT can only be used in transaction blocks");
    // The near miss: inside the file's own BEGIN, as PostgreSQL allows.
    repo.write(
        "migrations/1_a.up.sql",
        "BEGIN;\nCREATE TABLE a (id int);\nSAVEPOINT s;\nCREATE TABLE b (id int);\nRELEASE SAVEPOINT s;\nCOMMIT;\n",
    );
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // COMMIT AND CHAIN outside it is refused too.
    repo.write(
        "migrations/1_a.up.sql",
        "CREATE TABLE a (id int);\nCOMMIT AND CHAIN;\nCREATE TABLE b (id int);\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/1_a.up.sql:2:1: COMMIT AND CHAIN can only be used in transaction blocks");
}
