//! GitHub mode: annotations, job summary, outputs and the sticky PR comment, against a local mock
//! server that answers as GitHub's REST API does; and the action's own steps.

use crate::support::{self, action_step_script, fixture, Dbgate};
use std::fs;
use std::path::Path;

use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MARKER: &str = "<!-- dbgate:sticky-comment -->";

/// One route of the mock GitHub API: a method, a path (any when `None`) and query parameters,
/// how many calls it must get (any when `None`), and its answer.
async fn route(
    server: &MockServer,
    verb: &str,
    route_path: Option<&str>,
    query: &[(&str, &str)],
    times: Option<u64>,
    answer: ResponseTemplate,
) {
    let mut mock = Mock::given(method(verb));
    if let Some(route_path) = route_path {
        mock = mock.and(path(route_path));
    }
    for (key, value) in query {
        mock = mock.and(query_param(*key, *value));
    }
    let mut mock = mock.respond_with(answer);
    if let Some(times) = times {
        mock = mock.expect(times);
    }
    mock.mount(server).await;
}

/// An issue comment as GitHub returns it.
fn comment(id: u64, login: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "node_id": format!("IC_{id}"),
        "url": format!("https://api.github.com/repos/acme/shop/issues/comments/{id}"),
        "html_url": format!("https://github.com/acme/shop/pull/7#issuecomment-{id}"),
        "body": body,
        "user": { "login": login, "id": id + 1000, "type": if login.ends_with("[bot]") { "Bot" } else { "User" }, "site_admin": false },
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "author_association": "MEMBER"
    })
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(serde_json::json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }))
}

/// The files and variables a workflow gives a step, for pull request 7 of acme/shop.
struct Workflow {
    dir: support::TempRepo,
    api: String,
}

impl Workflow {
    fn new(api: String) -> Workflow {
        let dir = support::TempRepo::new();
        dir.write(
            "event.json",
            r#"{"action": "synchronize", "number": 7, "pull_request": {"number": 7, "head": {"sha": "abc"}}}"#,
        );
        dir.write("summary.md", "");
        dir.write("output.txt", "");
        Workflow { dir, api }
    }

    fn run(&self, dbgate: Dbgate) -> support::Output {
        let p = |name: &str| self.dir.path().join(name);
        dbgate
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_PATH", p("event.json"))
            .env("GITHUB_STEP_SUMMARY", p("summary.md"))
            .env("GITHUB_OUTPUT", p("output.txt"))
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_API_URL", &self.api)
            .env("GITHUB_TOKEN", "t0ken")
            .run()
    }

    fn file(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

async fn run(workflow: &Workflow, dbgate: Dbgate) -> support::Output {
    // The binary is blocking; the mock server needs the runtime meanwhile.
    let (dir, api) = (workflow.dir.path().to_path_buf(), workflow.api.clone());
    let workflow = Workflow {
        dir: support::TempRepo::at(dir),
        api,
    };
    tokio::task::spawn_blocking(move || workflow.run(dbgate)).await.unwrap()
}

async fn mock_user_forbidden(server: &MockServer) {
    // A workflow token may not read /user: its comments are github-actions[bot]'s.
    route(
        server,
        "GET",
        Some("/user"),
        &[],
        None,
        error(403, "Resource not accessible by integration"),
    )
    .await;
}

fn posted_body(request: &Request) -> String {
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    body["body"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_run_annotates_summarises_and_comments_like_the_action() {
    let server = MockServer::start().await;
    mock_user_forbidden(&server).await;
    // Someone else's comment that copies the marker is never edited.
    route(
        &server,
        "GET",
        Some("/repos/acme/shop/issues/7/comments"),
        &[("page", "1")],
        Some(1),
        ResponseTemplate::new(200).set_body_json(serde_json::json!([
            comment(1, "octocat", "looks good"),
            comment(2, "mallory", &format!("{MARKER} not dbgate's"))
        ])),
    )
    .await;
    route(
        &server,
        "POST",
        Some("/repos/acme/shop/issues/7/comments"),
        &[],
        Some(1),
        ResponseTemplate::new(201).set_body_json(comment(3, "github-actions[bot]", "new")),
    )
    .await;
    route(&server, "PATCH", None, &[], Some(0), error(500, "must not be called")).await;

    let workflow = Workflow::new(server.uri());
    let junit = workflow.dir.path().join("junit.xml");
    let json = workflow.dir.path().join("report.json");
    let out = run(
        &workflow,
        Dbgate::fixture("syntax-error")
            .args(["check", "--comment", "--junit"])
            .arg(&junit)
            .arg("--json")
            .arg(&json),
    )
    .await;
    out.code(1);
    // The annotation sits on the exact line and column, in the diff.
    out.stdout_has("::error file=migrations/001_init.sql,line=7,col=42,title=dbgate replay%3A migrations/001_init.sql::syntax error at or near \",\"\n");
    out.stdout_has("dbgate: commented on the pull request: https://github.com/acme/shop/pull/7#issuecomment-3");
    let outputs = workflow.file("output.txt");
    assert!(outputs.contains("verdict=failed\nmigrations=1\n"), "{outputs}");
    assert!(outputs.contains(&format!("junit-path={}\n", junit.display())), "{outputs}");
    let summary = workflow.file("summary.md");
    assert!(summary.contains("## ❌ dbgate: the migration gate failed"), "{summary}");
    assert!(!summary.contains(MARKER), "the job summary is not the comment");

    let requests = server.received_requests().await.unwrap();
    let post = requests.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(post.headers.get("authorization").unwrap(), "Bearer t0ken");
    let body = posted_body(post);
    assert!(body.starts_with(MARKER), "{body}");
    insta::assert_snapshot!("comment_failing_syntax_error", support::normalize(&body));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_updates_its_comment_found_on_a_later_page() {
    let server = MockServer::start().await;
    mock_user_forbidden(&server).await;
    let crowd: Vec<serde_json::Value> = (1..=100).map(|id| comment(id, "reviewer", "nit")).collect();
    route(
        &server,
        "GET",
        Some("/repos/acme/shop/issues/7/comments"),
        &[("page", "1"), ("per_page", "100")],
        Some(1),
        ResponseTemplate::new(200).set_body_json(crowd),
    )
    .await;
    route(
        &server,
        "GET",
        Some("/repos/acme/shop/issues/7/comments"),
        &[("page", "2")],
        Some(1),
        ResponseTemplate::new(200).set_body_json(serde_json::json!([comment(555, "github-actions[bot]", &format!("{MARKER}\nold"))])),
    )
    .await;
    route(
        &server,
        "PATCH",
        Some("/repos/acme/shop/issues/comments/555"),
        &[],
        Some(1),
        ResponseTemplate::new(200).set_body_json(comment(555, "github-actions[bot]", "updated")),
    )
    .await;
    route(&server, "POST", None, &[], Some(0), error(500, "must not be called")).await;

    let workflow = Workflow::new(server.uri());
    let out = run(&workflow, Dbgate::fixture("supabase-project").args(["check", "--comment"])).await;
    out.code(0);
    out.stdout_has("dbgate: updated its pull request comment: https://github.com/acme/shop/pull/7#issuecomment-555");
    let requests = server.received_requests().await.unwrap();
    let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
    insta::assert_snapshot!("comment_passing_supabase_project", support::normalize(&posted_body(patch)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_warns_and_never_fails_the_gate() {
    let server = MockServer::start().await;
    mock_user_forbidden(&server).await;
    route(
        &server,
        "GET",
        Some("/repos/acme/shop/issues/7/comments"),
        &[],
        None,
        ResponseTemplate::new(200).set_body_json(serde_json::json!([])),
    )
    .await;
    route(
        &server,
        "POST",
        None,
        &[],
        Some(1),
        error(403, "Resource not accessible by integration"),
    )
    .await;
    let workflow = Workflow::new(server.uri());
    let out = run(&workflow, Dbgate::fixture("layout-golang-migrate").args(["check", "--comment"])).await;
    out.code(0);
    out.stdout_has(
        "::warning title=dbgate comment::the token may not comment on this pull request (403: Resource not accessible by integration)",
    );
    assert!(workflow.file("summary.md").contains("## ✅ dbgate: the migration gate passed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_pull_request_and_the_rate_limit_are_warnings() {
    let server = MockServer::start().await;
    mock_user_forbidden(&server).await;
    route(
        &server,
        "GET",
        Some("/repos/acme/shop/issues/7/comments"),
        &[],
        Some(1),
        error(404, "Not Found"),
    )
    .await;
    let workflow = Workflow::new(server.uri());
    let out = run(&workflow, Dbgate::fixture("layout-golang-migrate").args(["check", "--comment"])).await;
    out.code(0);
    out.stdout_has("::warning title=dbgate comment::the token may not comment on this pull request (404: Not Found)");

    let server = MockServer::start().await;
    mock_user_forbidden(&server).await;
    route(
        &server,
        "GET",
        None,
        &[],
        None,
        error(403, "API rate limit exceeded for installation ID 1."),
    )
    .await;
    let workflow = Workflow::new(server.uri());
    let out = run(&workflow, Dbgate::fixture("rollback-leaves-rls").args(["check", "--comment"])).await;
    out.code(1);
    out.stdout_has("::warning title=dbgate comment::GitHub's rate limit was hit (403: API rate limit exceeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn github_enterprise_api_urls_and_the_comment_command_work_from_a_saved_report() {
    let server = MockServer::start().await;
    // With a personal token, /user says who we are.
    route(
        &server,
        "GET",
        Some("/api/v3/user"),
        &[],
        None,
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"login": "ci-bot", "id": 9})),
    )
    .await;
    route(
        &server,
        "GET",
        Some("/api/v3/repos/acme/shop/issues/12/comments"),
        &[],
        Some(1),
        ResponseTemplate::new(200).set_body_json(serde_json::json!([
            comment(40, "github-actions[bot]", &format!("{MARKER} written by another bot")),
            comment(41, "ci-bot", &format!("{MARKER}\nold"))
        ])),
    )
    .await;
    route(
        &server,
        "PATCH",
        Some("/api/v3/repos/acme/shop/issues/comments/41"),
        &[],
        Some(1),
        ResponseTemplate::new(200).set_body_json(comment(41, "ci-bot", "x")),
    )
    .await;

    let saved = support::TempRepo::new();
    let json = saved.path().join("report.json");
    Dbgate::fixture("rollback-leaves-policy")
        .args(["check", "--json"])
        .arg(&json)
        .run()
        .code(1);
    let api = format!("{}/api/v3", server.uri());
    let out = tokio::task::spawn_blocking(move || {
        Dbgate::at(saved.path())
            .args(["comment", "--from", "report.json", "--pr", "12", "--repo", "acme/shop"])
            .env("GITHUB_API_URL", api)
            .env("GITHUB_TOKEN", "pat")
            .run()
    })
    .await
    .unwrap();
    out.code(0);
    out.stdout_has("updated its pull request comment: https://github.com/acme/shop/pull/7#issuecomment-41");
    let requests = server.received_requests().await.unwrap();
    let body = posted_body(requests.iter().find(|r| r.method.as_str() == "PATCH").unwrap());
    assert!(
        body.contains("policy documents\\_owner\\_only on public.documents is still there"),
        "{body}"
    );
}

#[test]
fn repo_text_in_the_comment_cannot_mention_or_inject() {
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_x.sql",
        "DO $$ BEGIN RAISE EXCEPTION '@octocat <script>alert(1)</script> | **bold**'; END $$;\n",
    );
    let summary = repo.path().join("summary.md");
    let out = Dbgate::at(repo.path())
        .args(["check", "--github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    out.code(1);
    let text = fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains("@&#8203;octocat &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*\\*bold\\*\\*"),
        "{text}"
    );
    // Outside fenced code (where GitHub renders nothing and mentions nobody), nothing raw.
    let outside_code: String = text.split("```").step_by(2).collect();
    assert!(!outside_code.contains("<script>") && !outside_code.contains("@octocat"), "{text}");
}

#[test]
fn junit_is_valid_against_the_common_schema_without_ansi_or_control_characters() {
    let repo = support::TempRepo::new();
    repo.write(
        "migrations/001_x.sql",
        "DO $$ BEGIN RAISE EXCEPTION E'bad \\x1b[31mred\\x1b[0m and a \\x07 bell ]]> \\uFFFE\\n::error::injected'; END $$;\n",
    );
    // A test whose description holds control characters and U+FFFF, which XML 1.0 cannot hold.

    let junit = repo.path().join("junit.xml");
    let out = Dbgate::at(repo.path())
        .args(["check", "--junit"])
        .arg(&junit)
        .env("GITHUB_ACTIONS", "true")
        .run();
    out.code(1);
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("bad red and a  bell ]]&gt; "), "{xml}");

    assert!(
        !xml.chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}'),
        "{xml}"
    );
    // A line of the console that a workflow would read as a command is inside stop-commands.
    let token = out
        .stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("::stop-commands::"))
        .expect("stop-commands first")
        .to_string();
    let (inside, after) = out.stdout.split_once(&format!("::{token}::\n")).expect("commands resume");
    // A line break in a message is indented under it: no line of the console starts with it.
    assert!(inside.contains("\n            ::error::injected"), "{}", out.stdout);
    assert!(!out.stdout.lines().any(|l| l.starts_with("::error::injected")), "{}", out.stdout);
    assert!(
        !after.lines().any(|l| l.starts_with("::error::injected")) && after.contains("::error file=migrations/001_x.sql"),
        "{after}"
    );
    // The console and the annotations write the escape sequence out instead of sending it.
    out.stdout_has("bad \\x1b[31mred\\x1b[0m and a \\x07 bell");
    assert!(!out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'), "{}", out.stdout);
    // A failing statement that holds `]]>` (which would end a CDATA section), and a check not
    // checked, with its reason.
    let cdata = {
        let repo = support::TempRepo::new();
        repo.write("migrations/001_a.sql", "CREATE TABLE a (m int[]);\n");
        repo.write(
            "migrations/001_a_rollback.sql",
            "ALTER TABLE a ADD CONSTRAINT c CHECK (m[m[1]]>0 AND nope > 0);\n",
        );
        let path = repo.path().join("cdata.xml");
        Dbgate::at(repo.path()).args(["check", "--junit"]).arg(&path).run().code(1);
        let xml = fs::read_to_string(&path).unwrap();
        assert!(xml.contains("<skipped message=\"not checked: the rollback failed\"/>"), "{xml}");
        (repo, path)
    };
    // A test whose description holds a control character and U+FFFF, which XML 1.0 cannot hold.
    let odd = {
        let repo = support::TempRepo::new();
        repo.write("migrations/001_a.sql", "CREATE TABLE a (id int);\n");
        repo.write(
            "smoke/odd.sql",
            "SELECT plan(1);\nSELECT ok(true, E'odd\\x01name \\uFFFF');\nSELECT * FROM finish();\n",
        );
        let path = repo.path().join("odd.xml");
        Dbgate::at(repo.path()).args(["check", "--junit"]).arg(&path).run().code(0);
        let xml = fs::read_to_string(&path).unwrap();
        assert!(xml.contains("name=\"1 - oddname \""), "{xml}");
        (repo, path)
    };
    for xml_path in [junit.clone(), cdata.1.clone(), odd.1.clone(), {
        let passing = repo.path().join("passing.xml");
        Dbgate::fixture("supabase-project")
            .args(["check", "--junit"])
            .arg(&passing)
            .run()
            .code(0);
        passing
    }] {
        let lint = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit.xsd"))
            .arg(&xml_path)
            .output()
            .expect("xmllint (libxml2-utils) runs");
        assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));
    }
}
#[test]
fn the_action_s_check_step_runs_the_gate_as_its_inputs_say() {
    let work = support::TempRepo::new();
    work.write("check.sh", &action_step_script("check"));
    work.write("event.json", r#"{"pull_request": {"number": 3}}"#);
    work.write("output.txt", "");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dbgate")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let p = |name: &str| work.path().join(name);
    let out = support::Output::from(
        std::process::Command::new("bash")
            .arg(p("check.sh"))
            .current_dir(fixture("rollback-leaves-rls"))
            // The fixture is the checkout (it lives inside dbgate's own repository).
            .env("GITHUB_WORKSPACE", fixture("rollback-leaves-rls"))
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_PATH", p("event.json"))
            .env("GITHUB_OUTPUT", p("output.txt"))
            .env("GITHUB_STEP_SUMMARY", p("summary.md"))
            .env("INPUT_CONFIG", "")
            .env("INPUT_PROVIDER", "local")
            .env("INPUT_IMAGE", "")
            .env("INPUT_COMMENT", "false")
            .env("INPUT_JUNIT_PATH", p("junit.xml"))
            .env("INPUT_JSON_PATH", p("report.json"))
            .env("INPUT_SARIF_PATH", p("dbgate.sarif"))
            .env("INPUT_FAIL_ON", "never")
            .output()
            .unwrap(),
    );
    // fail-on: never reports without failing the step.
    out.code(0);
    out.stdout_has("::error file=migrations/002_ledger_tenant_rls_rollback.sql,line=1,col=1,title=dbgate rollback%3A migrations/002_ledger_tenant_rls.sql::row level security of table public.ledger is enabled, was disabled");
    let outputs = fs::read_to_string(p("output.txt")).unwrap();
    assert!(outputs.starts_with("verdict=failed\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("json-path={}\n", p("report.json").display())),
        "{outputs}"
    );
    assert!(p("junit.xml").is_file() && p("report.json").is_file());
    let summary = fs::read_to_string(p("summary.md")).unwrap();
    assert!(
        summary.contains("row level security of table public.ledger is enabled, was disabled"),
        "{summary}"
    );
}
