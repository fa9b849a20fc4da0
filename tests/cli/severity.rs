//! Severity: a difference that changes no behaviour (columns in another order, a routine body laid
//! out otherwise, a timestamp frozen at creation, a `SELECT *` expanded in a new column order) is a
//! one-line warning in every report, never a failure unless `[rollback] strict = true`; each
//! has a near miss that still fails. Ignore rules (`[rollback] ignore`, `-- dbgate:ignore`) list
//! what they cover, and a pattern dbgate cannot read is an error at its line.

use std::fs;

use crate::support::{self, Dbgate, TempRepo};

/// The warnings of every check, as (file, check, kind, message).
fn warnings(report: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for migration in report["migrations"].as_array().unwrap() {
        for check in migration["checks"].as_array().unwrap() {
            for warning in check["warnings"].as_array().into_iter().flatten() {
                out.push((
                    migration["file"].as_str().unwrap().to_string(),
                    check["kind"].as_str().unwrap().to_string(),
                    warning["kind"].as_str().unwrap().to_string(),
                    warning["message"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn differences_that_change_no_behaviour_are_warnings_in_every_report() {
    let out_dir = TempRepo::new();
    let p = |name: &str| out_dir.path().join(name);
    let out = Dbgate::fixture("harmless-differences")
        .args(["check", "--json"])
        .arg(p("report.json"))
        .arg("--junit")
        .arg(p("junit.xml"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", p("summary.md"))
        .env("GITHUB_OUTPUT", p("output.txt"))
        .run();
    out.code(0);
    // One line per table, naming the column that moved.
    out.stdout_has("warning (rollback): migrations/002_drop_updated_at_rollback.sql:1:1: columns of public.message are in another order after 002_drop_updated_at_rollback.sql: updated_at was 3rd, is 5th");
    out.stdout_has("columns of public.item are in another order after 005_drop_item_b_rollback.sql: b was 2nd, is 3rd");
    out.stdout_has("the body of function public.message_count() differs after 003_count_ids_rollback.sql only in white space or comments");
    out.stdout_has(
        "the definition of view public.recent differs after 004_drop_recent_rollback.sql only in a timestamp frozen when the statement ran",
    );
    out.stdout_has("the default of column public.message.sent_at differs after 004_drop_recent_rollback.sql only in a timestamp frozen");
    out.stdout_has("the definition of view public.item_view lists the same columns in another order after 005_drop_item_b_rollback.sql (a SELECT * expanded in its tables' new column order)");
    // The lint's 5 checks; its 5 warnings (lock-timeout-missing, drop-column), warnings with no base.
    out.stdout_has("PASSED 28 checks passed, 0 failed, 13 warnings, 0 skipped, in");
    out.stdout_has("002_drop_updated_at.sql:1:1: drop-column: drops existing column public.message.updated_at");
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);

    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(p("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "passed");
    // 8 differences that change no behaviour, and the lint's 5.
    assert_eq!(report["summary"]["warnings"], 13);
    let found: Vec<_> = warnings(&report).into_iter().filter(|w| w.2 != "lint").collect();
    assert_eq!(found.len(), 8, "{found:#?}");
    let kinds: std::collections::BTreeSet<&str> = found.iter().map(|w| w.2.as_str()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["column_order", "expanded_star", "frozen_timestamp", "routine_layout"]
    );
    // Said once: the reverse chain does not repeat what the rollback check said, nor what a
    // rollback above it left (a default frozen again in the reverse chain).
    assert!(found.iter().all(|w| w.1 != "rollback_chain"), "{found:#?}");
    // A frozen 'now' differs when the migration runs again, too.
    assert!(found
        .iter()
        .any(|w| w.0 == "migrations/001_message.sql" && w.1 == "reapply" && w.2 == "frozen_timestamp"));
    let column_order = &report["migrations"][1]["checks"][1]["warnings"][0];
    assert_eq!(
        column_order["object"],
        serde_json::json!({"kind": "table", "name": "public.message"})
    );
    assert_eq!(column_order["location"]["file"], "migrations/002_drop_updated_at_rollback.sql");
    assert_eq!(column_order["differences"][0]["attribute"], "position");

    // JUnit: a passing case with the warning in its output.
    let junit = fs::read_to_string(p("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testcase name="migrations/002_drop_updated_at.sql" classname="dbgate.rollback" time="#),
        "{junit}"
    );
    assert!(
        junit.contains(
            "<system-out>warning: migrations/002_drop_updated_at_rollback.sql:1:1: columns of public.message are in another order"
        ),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    // The job summary lists them; the annotations are warnings on the rollback file.
    let summary = fs::read_to_string(p("summary.md")).unwrap();
    assert!(summary.contains("### Warnings"), "{summary}");
    assert!(summary.contains("28 checks passed, 0 failed, 13 warnings, 0 skipped"), "{summary}");
    out.stdout_has("::warning file=migrations/002_drop_updated_at_rollback.sql,line=1,col=1,title=dbgate rollback%3A migrations/002_drop_updated_at.sql (column order)::columns of public.message");
    assert!(!out.stdout.contains("::error"), "{}", out.stdout);
    assert!(fs::read_to_string(p("output.txt")).unwrap().contains("warnings=13\n"));
}

#[test]
fn strict_rollbacks_fail_on_differences_that_change_no_behaviour() {
    let repo = TempRepo::from_fixture("harmless-differences");
    repo.write("dbgate.toml", "[rollback]\nstrict = true\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has("position of column public.message.updated_at is 5, was 3");
    out.stdout_has("body of function public.message_count() differs");
    out.stdout_has("definition of view public.recent differs");
    out.stdout_has("definition of view public.item_view differs");
    assert!(!out.stdout.contains("warning (rollback)"), "{}", out.stdout);
}

#[test]
fn near_misses_of_each_harmless_difference_still_fail() {
    let out_dir = TempRepo::new();
    let json = out_dir.path().join("report.json");
    let out = Dbgate::fixture("harmless-near-misses").args(["check", "--json"]).arg(&json).run();
    out.code(1);
    // Another type is a failure, even with the column moved (which stays a warning).
    out.stdout_has("type of column public.message.updated_at is timestamp without time zone, was timestamp with time zone");
    out.stdout_has("columns of public.message are in another order after 002_drop_updated_at_rollback.sql: updated_at was 3rd, is 4th");
    // A body with another statement; a date that is not today's; a select list with another column.
    out.stdout_has("RETURN (SELECT count(*) + 1 FROM message);");
    out.stdout_has("definition of view public.item_since differs");
    out.stdout_has("'2019-01-01 00:00:00+00'::timestamp with time zone");
    out.stdout_has("definition of view public.item_view differs");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let failed: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| support::check(m, "rollback")["status"] == "failed")
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "migrations/002_drop_updated_at.sql",
            "migrations/003_count_ids.sql",
            "migrations/004_since_2021.sql",
            "migrations/005_item_view_ab.sql"
        ]
    );
    // The reverse chain does not repeat them: it says they are the same.
    let chain = support::check(&report["migrations"][2], "rollback_chain");
    assert_eq!(chain["status"], "failed");
    assert_eq!(chain["failures"][0]["message"], "the same difference as its rollback check");
    assert_eq!(chain["failures"].as_array().unwrap().len(), 1);
}

#[test]
fn ignore_rules_list_what_they_cover_and_the_rest_still_fails() {
    let out_dir = TempRepo::new();
    let json = out_dir.path().join("report.json");
    let out = Dbgate::fixture("rollback-ignore-rules").args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("PASS  migrations/002_totals_by_id.sql");
    out.stdout_has("(6 differences ignored)");
    // recompute is not a refresh_ function.
    out.stdout_has("body of function public.recompute() is SELECT 3, was SELECT 1");
    // A pattern dbgate cannot read is a finding at its line.
    out.stdout_has("migrations/003_recompute_rollback.sql:2:1: -- dbgate:ignore: unknown object kind \"tabel\" in \"tabel:*\"");
    out.stdout_has("6 differences ignored, in");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["ignored"], 6);
    assert_eq!(report["findings"][0]["kind"], "ignore_pattern");
    let ignored = &support::check(&report["migrations"][1], "rollback")["ignored"];
    let by: Vec<(String, String, String)> = ignored
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!(
                    "{} {}",
                    i["object"]["kind"].as_str().unwrap(),
                    i["object"]["name"].as_str().unwrap()
                ),
                i["pattern"].as_str().unwrap().to_string(),
                format!("{}:{}", i["source"]["file"].as_str().unwrap(), i["source"]["line"]),
            )
        })
        .collect();
    let triple = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        by,
        [
            triple(
                "column public.orders_fast.note",
                "table:*_fast",
                "migrations/002_totals_by_id_rollback.sql:1"
            ),
            triple("function public.refresh_totals()", "function:public.refresh_*", "dbgate.toml:3"),
            triple("view public.order_totals", "view:*", "dbgate.toml:3"),
        ]
    );
}

#[test]
fn an_ignore_pattern_of_an_unknown_kind_in_dbgate_toml_is_a_config_error_at_its_line() {
    let repo = TempRepo::from_fixture("rollback-ignore-rules");
    repo.write("dbgate.toml", "[rollback]\nignore = [\n  \"view:*\",\n  \"tabel:*_fast\",\n]\n");
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(2);
    out.stderr_has("dbgate.toml: line 4, [rollback] ignore: unknown object kind \"tabel\" in \"tabel:*_fast\"");
    let near_miss = TempRepo::from_fixture("rollback-ignore-rules");
    near_miss.write("dbgate.toml", "[rollback]\nignore = [\"materialized view:*\"]\n");
    Dbgate::at(near_miss.path()).arg("check").run().code(1);
}

#[test]
fn without_ignore_rules_the_same_rollback_fails() {
    let repo = TempRepo::from_fixture("rollback-ignore-rules");
    fs::remove_file(repo.path().join("dbgate.toml")).unwrap();
    let out = Dbgate::at(repo.path()).arg("check").run();
    out.code(1);
    out.stdout_has("FAIL  migrations/002_totals_by_id.sql");
    out.stdout_has("definition of view public.order_totals differs");
    // The down's own line still covers the fast table.
    assert!(!out.stdout.contains("column public.orders_fast.note"), "{}", out.stdout);
}

fn day(offset: &str) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", offset, "+%F"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn look_alikes_of_harmless_differences_fail_and_a_directive_inside_a_string_is_data() {
    let (yesterday, tomorrow) = (day("yesterday"), day("tomorrow"));
    let repo = TempRepo::new();
    repo.migrations(&[
        (
            "001_base",
            &format!(
                "CREATE TABLE t (a text, b text, s text DEFAULT '{yesterday}');\n\
                 CREATE VIEW v AS WITH r(x, y) AS (SELECT a, b FROM t) SELECT x FROM r;"
            ),
            "DROP VIEW v;\nDROP TABLE t;",
        ),
        (
            "002_change",
            "DROP VIEW v;\nCREATE VIEW v AS SELECT 1 AS zzz;\nALTER TABLE t ALTER s SET DEFAULT 'x';",
            &format!(
                "SELECT '\n-- dbgate:ignore view:*\n';\n\
                 DROP VIEW v;\n\
                 -- The WITH query's columns swapped: v.x is b now, not a.\n\
                 CREATE VIEW v AS WITH r(x, y) AS (SELECT b, a FROM t) SELECT x FROM r;\n\
                 -- A text that looks like a date is no frozen 'now'.\n\
                 ALTER TABLE t ALTER s SET DEFAULT '{tomorrow}';"
            ),
        ),
    ]);
    let json = repo.path().join("report.json");
    let out = Dbgate::at(repo.path()).args(["check", "--json"]).arg(&json).run();
    out.code(1);
    out.stdout_has("definition of view public.v differs");
    out.stdout_has(&format!(
        "default of column public.t.s is '{tomorrow}'::text, was '{yesterday}'::text"
    ));
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["ignored"], 0);
    // None but the lint's (a lock_timeout missing before the ALTER of an existing table).
    let lint = report["migrations"][1]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "lint")
        .unwrap();
    assert_eq!(
        lint["warnings"][0]["message"].as_str().unwrap(),
        "lock-timeout-missing: takes ACCESS EXCLUSIVE on existing table public.t with no lock_timeout set"
    );
    assert_eq!(report["summary"]["warnings"], 1);
}
