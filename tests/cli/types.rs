//! `dbgate types`: the TypeScript Supabase's generator writes, from the migrated schema; and
//! `[types]`, which holds the committed file to it.

use std::fs;

use crate::support::{self, fixture, Dbgate, TempRepo, TestServer};

fn committed(name: &str) -> String {
    fs::read_to_string(fixture(name).join("database.types.ts")).unwrap()
}

#[test]
fn postgres_metas_own_test_schema_gives_its_test_snapshot_byte_for_byte() {
    let out = Dbgate::fixture("types-postgres-meta").args(["types"]).run();
    out.code(0);
    assert!(
        out.stdout == committed("types-postgres-meta"),
        "differs from postgres-meta's snapshot:\n{}",
        out.stdout
    );
}

#[test]
fn every_case_of_the_issue_is_written_as_the_generator_writes_it() {
    let out = Dbgate::fixture("types-every-case").args(["types"]).run();
    out.code(0);
    assert!(
        out.stdout == committed("types-every-case"),
        "differs from the committed file:\n{}",
        out.stdout
    );
}

#[test]
fn the_types_are_the_same_from_every_provider() {
    let local = committed("types-every-case");
    let server = TestServer::start();
    for provider in [
        vec!["--provider", "url", "--database-url", &server.url()],
        vec!["--provider", "docker", "--image", &support::test_image()],
    ] {
        let out = Dbgate::fixture("types-every-case").arg("types").args(provider.iter()).run();
        out.code(0);
        assert!(out.stdout == local, "{provider:?}:\n{}", out.stdout);
    }
}

#[test]
fn the_gate_passes_committed_types_and_fails_stale_or_missing_ones_with_the_fix() {
    let repo = TempRepo::from_fixture("types-every-case");
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(0);
    assert_eq!(
        support::generated_cases(&json),
        [("types database.types.ts".to_string(), "passed".to_string())]
    );
    // Checked out on Windows: other line endings, the same types.
    let crlf = committed("types-every-case").replace('\n', "\r\n");
    repo.write("database.types.ts", &crlf);
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // A migration adds a column; the committed file does not follow.
    repo.write(
        "migrations/002_nickname.sql",
        "ALTER TABLE public.accounts ADD COLUMN nickname text;\n",
    );
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has(
        "database.types.ts:94:1: database.types.ts is not the types Supabase's generator writes for the schema the migrations make (from line 94): run `dbgate types --write` and commit the file",
    );
    out.stdout_has("94 |           quota: number");
    out.stdout_has("94 |           nickname: string | null");
    assert_eq!(
        support::generated_cases(&json),
        [("types database.types.ts".to_string(), "failed".to_string())]
    );
    let written = Dbgate::at(repo.path()).args(["types", "--write"]).run();
    written.code(0).stdout_has("wrote database.types.ts");
    Dbgate::at(repo.path()).args(["check"]).run().code(0);
    // Missing: the same failure, on line 1.
    fs::remove_file(repo.path().join("database.types.ts")).unwrap();
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("database.types.ts:1:1: database.types.ts is missing: [types] in dbgate.toml holds the repo to TypeScript types of the schema; run `dbgate types --write` and commit the file");
}

#[test]
fn types_write_goes_to_the_configured_output_and_a_failing_migration_leaves_it_unchecked() {
    let repo = TempRepo::from_fixture("types-every-case");
    repo.write(
        "dbgate.toml",
        "[types]\noutput = \"src/lib/db/types.ts\"\nschemas = [\"public\", \"billing\"]\npostgrest_version = \"12.2.3 (519615d)\"\n",
    );
    Dbgate::at(repo.path())
        .args(["types", "--write"])
        .run()
        .code(0)
        .stdout_has("wrote src/lib/db/types.ts");
    assert_eq!(
        fs::read_to_string(repo.path().join("src/lib/db/types.ts")).unwrap(),
        committed("types-every-case")
    );
    repo.write("migrations/002_broken.sql", "ALTER TABLE nowhere ADD COLUMN x int;\n");
    let out = Dbgate::at(repo.path()).args(["types"]).run();
    out.code(1);
    out.stderr_has("migrations/002_broken.sql:1:1: relation \"nowhere\" does not exist");
    let json = repo.path().join("report.json");
    Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run().code(1);
    assert_eq!(
        support::generated_cases(&json),
        [("types src/lib/db/types.ts".to_string(), "not_checked".to_string())]
    );
}

#[test]
fn one_to_one_is_said_by_default_and_schemas_default_to_public() {
    let repo = TempRepo::from_fixture("types-every-case");
    repo.write("dbgate.toml", "");
    let out = Dbgate::at(repo.path()).args(["types"]).run();
    out.code(0);
    // The Supabase CLI's defaults: public only, isOneToOne in relationships, no PostgREST version.
    out.stdout_has("export type Database = {\n  public: {\n");
    out.stdout_has("            isOneToOne: true\n            referencedRelation: \"accounts\"");
    assert!(!out.stdout.contains("billing"), "{}", out.stdout);
    assert!(!out.stdout.contains("__InternalSupabase: {"), "{}", out.stdout);
    // A schema that does not exist is left out, as the generator leaves it.
    repo.write("dbgate.toml", "[types]\nschemas = [\"public\", \"nowhere\"]\none_to_one = false\n");
    let out = Dbgate::at(repo.path()).args(["types"]).run();
    out.code(0);
    out.stdout_has("            columns: [\"author_id\"]\n            referencedRelation: \"accounts\"");
    assert!(!out.stdout.contains("nowhere"), "{}", out.stdout);
}

#[test]
fn bad_types_settings_are_usage_errors() {
    let repo = TempRepo::from_fixture("types-every-case");
    repo.write("dbgate.toml", "[types]\nschemas = []\n");
    Dbgate::at(repo.path())
        .args(["types"])
        .run()
        .code(2)
        .stderr_has("[types] schemas must name at least one schema");
    for output in ["\"\"", "\"migrations\"", "\"types/\""] {
        repo.write("dbgate.toml", &format!("[types]\noutput = {output}\n"));
        Dbgate::at(repo.path())
            .args(["types", "--write"])
            .run()
            .code(2)
            .stderr_has("[types] output must name a file");
    }
    repo.write("dbgate.toml", "[types]\nouptut = \"x.ts\"\n");
    Dbgate::at(repo.path())
        .args(["check"])
        .run()
        .code(2)
        .stderr_has("unknown field `ouptut`");
}

#[test]
fn a_search_path_a_migration_set_does_not_change_the_types() {
    // With billing on the search path, billing.line_count's argument would be spelt `lines` and
    // taken for a computed field of billing.lines; the generator reads through a new connection.
    let repo = TempRepo::from_fixture("types-every-case");
    repo.write(
        "migrations/002_search_path.sql",
        "SET search_path = billing, public;\nSET quote_all_identifiers = on;\nCREATE FUNCTION billing.line_count(billing.lines) RETURNS integer LANGUAGE sql AS 'SELECT 1';\n",
    );
    let out = Dbgate::at(repo.path()).args(["types"]).run();
    out.code(0);
    out.stdout_has("      line_count: {\n        Args: { \"\": Database[\"billing\"][\"Tables\"][\"lines\"][\"Row\"] }\n");
    out.stdout_has("        Row: {\n          invoice_id: number\n          position: number\n        }\n");
    // quote_all_identifiers would spell public.posts "posts": no computed field, a quoted from.
    out.stdout_has("          title_length: number | null\n");
    out.stdout_has("          from: \"posts\"\n");
}
