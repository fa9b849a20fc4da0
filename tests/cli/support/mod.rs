//! The test builder: run the real binary in a fixture repo and assert on what it printed, plus
//! real PostgreSQL servers for the url provider.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub struct Dbgate {
    command: Command,
}

impl Dbgate {
    pub fn at(dir: impl AsRef<Path>) -> Dbgate {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbgate"));
        // The local provider unless a test names another: most tests are about the gate, not
        // about where its server comes from.
        // The repository root is where the test runs, unless a test says otherwise (the fixtures
        // live inside dbgate's own git repository).
        command
            .current_dir(&dir)
            .env("GITHUB_WORKSPACE", dir.as_ref())
            .env_remove("DBGATE_DATABASE_URL")
            .env("DBGATE_PROVIDER", "local")
            // The fixtures live inside dbgate's own repository: no history checks against its
            // base, unless a test (history.rs) asks for them.
            .env("DBGATE_BASE", "none")
            .env_remove("GITHUB_BASE_REF")
            .env("NO_COLOR", "1");
        Dbgate { command }
    }

    pub fn fixture(name: &str) -> Dbgate {
        Dbgate::at(fixture(name))
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Dbgate {
        self.command.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Dbgate {
        self.command.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Dbgate {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Dbgate {
        self.command.env_remove(key);
        self
    }

    pub fn run(mut self) -> Output {
        Output::from(self.command.output().expect("dbgate runs"))
    }

    pub fn spawn(mut self) -> Child {
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dbgate starts")
    }
}

pub struct Output {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    fn show(&self) -> String {
        format!(
            "--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn code(&self, expected: i32) -> &Output {
        assert_eq!(self.status, Some(expected), "unexpected exit code\n{}", self.show());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Output {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{}", self.show());
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Output {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{}", self.show());
        self
    }

    /// Each needle appears in stdout after the one before it.
    #[track_caller]
    pub fn in_order(&self, needles: &[&str]) -> &Output {
        let mut from = 0;
        for needle in needles {
            match self.stdout[from..].find(needle) {
                Some(at) => from += at + needle.len(),
                None => panic!("stdout lacks {needle:?} after byte {from}\n{}", self.show()),
            }
        }
        self
    }
}

/// A scratch directory, removed at the end of the test.
pub struct TempRepo(Scratch);

enum Scratch {
    Owned(tempfile::TempDir),
    Borrowed(PathBuf),
}

impl TempRepo {
    pub fn new() -> TempRepo {
        TempRepo(Scratch::Owned(tempfile::Builder::new().prefix("dbgate-test-").tempdir().unwrap()))
    }

    pub fn path(&self) -> &Path {
        match &self.0 {
            Scratch::Owned(dir) => dir.path(),
            Scratch::Borrowed(path) => path,
        }
    }

    /// A view of a directory another TempRepo owns (it is not removed by this one).
    pub fn at(path: PathBuf) -> TempRepo {
        TempRepo(Scratch::Borrowed(path))
    }

    pub fn write(&self, relative: &str, text: &str) {
        self.write_bytes(relative, text.as_bytes());
    }

    /// A copy of a fixture repo, for a test that changes it (a near miss).
    pub fn from_fixture(name: &str) -> TempRepo {
        let repo = TempRepo::new();
        repo.copy_fixture(name, "");
        repo
    }

    /// Copies a fixture repo into `folder` of this one (a service in a monorepo, say).
    pub fn copy_fixture(&self, name: &str, folder: &str) {
        let from = fixture(name);
        for entry in walkdir::WalkDir::new(&from).min_depth(1) {
            let entry = entry.unwrap();
            let relative = Path::new(folder).join(entry.path().strip_prefix(&from).unwrap());
            if entry.file_type().is_file() {
                self.write_bytes(&relative.to_string_lossy(), &std::fs::read(entry.path()).unwrap());
            }
        }
    }

    /// Writes `migrations/<name>.sql` and `migrations/<name>_rollback.sql` for each (name, up, down).
    pub fn migrations(&self, migrations: &[(&str, &str, &str)]) {
        for (name, up, down) in migrations {
            self.write(&format!("migrations/{name}.sql"), up);
            self.write(&format!("migrations/{name}_rollback.sql"), down);
        }
    }

    pub fn write_bytes(&self, relative: &str, bytes: &[u8]) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A postgres process whose command line mentions `dir` (its data or socket directory).
pub fn postgres_running_under(dir: &Path) -> bool {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        cmdline.contains("postgres") && cmdline.contains(&needle)
    })
}

pub fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not met within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to a running dbgate and collects what it printed.
pub fn interrupt(child: Child, signal: nix::sys::signal::Signal) -> Output {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    Output::from(child.wait_with_output().unwrap())
}

/// Durations and versions vary from run to run; snapshots keep the rest.
pub fn normalize(text: &str) -> String {
    let rules = [
        (r" *\d+ ms\b", " N ms"),
        (r"in \d+\.\d s", "in N s"),
        (r#"time="[0-9.e-]+""#, r#"time="N""#),
        (r#"timestamp="[^"]*""#, r#"timestamp="T""#),
        (r#"hostname="[^"]*""#, r#"hostname="H""#),
        (r"PostgreSQL \d+\.\d+[^·\n<]*", "PostgreSQL X "),
        (r"dbgate \d+\.\d+\.\d+", "dbgate X"),
        (r"\d+\.\d s\b", "N s"),
    ];
    let mut out = text.to_string();
    for (pattern, replacement) in rules {
        out = regex::Regex::new(pattern).unwrap().replace_all(&out, replacement).into_owned();
    }
    out
}

/// A real PostgreSQL server of the test's own, on a unix socket in a temp dir (and, with TLS, on
/// 127.0.0.1); stopped on drop.
pub struct TestServer {
    dir: tempfile::TempDir,
    server: Child,
    /// The TCP port of a server started with TLS.
    pub tls_port: Option<u16>,
}

/// A certificate authority and a server certificate it signed for `localhost`: (CA, server
/// certificate, server key), as PEM.
pub fn tls_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

/// The server binaries, found as dbgate's local provider finds them.
fn bin_dir() -> PathBuf {
    dbgate::provider::local::find_server_binaries(None).expect("PostgreSQL server binaries for the tests")
}

fn psql() -> PathBuf {
    let beside = bin_dir().join("psql");
    if beside.is_file() {
        beside
    } else {
        PathBuf::from("psql")
    }
}

/// PostgreSQL refuses to run as root: the test server then runs as `postgres` or `nobody`.
fn server_user() -> Option<nix::unistd::User> {
    let lookup = |name| nix::unistd::User::from_name(name).ok().flatten();
    nix::unistd::geteuid()
        .is_root()
        .then(|| lookup("postgres").or_else(|| lookup("nobody")).expect("a postgres or nobody user"))
}

fn as_server_user(command: &mut Command) {
    if let Some(user) = server_user() {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(None)
    }

    /// A server that takes TCP connections on 127.0.0.1 over TLS only (`hostssl`; plain TCP is
    /// rejected), with this certificate and key.
    pub fn start_tls(certificate: &str, key: &str) -> TestServer {
        TestServer::start_with(Some((certificate, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> TestServer {
        let dir = tempfile::Builder::new().prefix("dbgate-test-server-").tempdir().unwrap();
        if let Some(user) = server_user() {
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
        }
        let mut initdb = Command::new(bin_dir().join("initdb"));
        initdb
            .current_dir(dir.path())
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-A", "trust", "-U", "dbgate", "--no-sync"]);
        initdb.stdout(Stdio::null()).stderr(Stdio::null());
        as_server_user(&mut initdb);
        assert!(initdb.status().unwrap().success(), "initdb failed");
        let mut settings = vec!["listen_addresses=".to_string()];
        let mut tls_port = None;
        if let Some((certificate, key)) = tls {
            let data = dir.path().join("data");
            fs::write(data.join("server.crt"), certificate).unwrap();
            fs::write(data.join("server.key"), key).unwrap();
            std::fs::set_permissions(data.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n",
            )
            .unwrap();
            if let Some(user) = server_user() {
                for file in ["server.crt", "server.key", "pg_hba.conf"] {
                    std::os::unix::fs::chown(data.join(file), Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
                }
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            settings = vec![
                "listen_addresses=127.0.0.1".to_string(),
                format!("port={port}"),
                "ssl=on".to_string(),
            ];
            tls_port = Some(port);
        }
        let mut postgres = Command::new(bin_dir().join("postgres"));
        postgres
            .current_dir(dir.path())
            .arg("-D")
            .arg(dir.path().join("data"))
            .arg("-k")
            .arg(dir.path());
        for setting in &settings {
            postgres.args(["-c", setting]);
        }
        postgres.args(["-c", "fsync=off"]).stdout(Stdio::null()).stderr(Stdio::null());
        postgres.process_group(0);
        as_server_user(&mut postgres);
        let server = postgres.spawn().unwrap();
        let test_server = TestServer { dir, server, tls_port };
        wait_for(|| test_server.try_sql("postgres", "SELECT 1").is_some());
        test_server
    }

    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=dbgate dbname=postgres",
            self.dir.path().display(),
            self.port()
        )
    }

    fn port(&self) -> u16 {
        self.tls_port.unwrap_or(5432)
    }

    fn try_sql(&self, database: &str, sql: &str) -> Option<String> {
        let out = Command::new(psql())
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args(["-p", &self.port().to_string()])
            .args(["-U", "dbgate", "-d", database, "-c", sql])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    pub fn sql(&self, database: &str, sql: &str) -> String {
        self.try_sql(database, sql)
            .unwrap_or_else(|| panic!("SQL failed on {database}: {sql}"))
    }

    /// Everything cluster-wide on the server, read independently of dbgate's own reading:
    /// databases with their owners, settings and privileges, roles with every attribute,
    /// memberships and settings, ALTER SYSTEM settings, tablespaces. Privileges as in effect: a
    /// grant and its revoke leave the default ones written out, which is the same.
    pub fn inventory(&self) -> String {
        let queries = [
            ("databases", "SELECT string_agg(concat_ws(':', datname, pg_get_userbyid(datdba), datconnlimit, datallowconn, datistemplate, coalesce(datacl, acldefault('d', datdba))::text), ', ' ORDER BY datname) FROM pg_database"),
            ("roles", "SELECT string_agg(concat_ws(':', rolname, rolsuper, rolcanlogin, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil), ', ' ORDER BY rolname) FROM pg_roles"),
            ("memberships", "SELECT string_agg(m.roleid::regrole || '>' || m.member::regrole || ':' || m.admin_option, ', ' ORDER BY m.roleid, m.member) FROM pg_auth_members m"),
            ("role settings", "SELECT string_agg(setrole || '/' || setdatabase || ':' || setconfig::text, ', ' ORDER BY setrole, setdatabase) FROM pg_db_role_setting"),
            ("ALTER SYSTEM", "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_file_settings WHERE sourcefile LIKE '%auto.conf'"),
            ("tablespaces", "SELECT string_agg(concat_ws(':', spcname, pg_get_userbyid(spcowner), coalesce(spcacl, acldefault('t', spcowner))::text, spcoptions::text), ', ' ORDER BY spcname) FROM pg_tablespace"),
            ("comments", "SELECT string_agg(classoid::regclass || ':' || objoid || ':' || description, ', ' ORDER BY classoid, objoid) FROM pg_shdescription"),
            // A parameter's row stays, empty, after its last grant is revoked: the same privileges.
            ("parameter privileges", "SELECT string_agg(parname || ':' || paracl::text, ', ' ORDER BY parname) FROM pg_parameter_acl WHERE paracl <> '{}'"),
            ("replication slots", "SELECT string_agg(slot_name, ', ' ORDER BY slot_name) FROM pg_replication_slots"),
            ("role oids", "SELECT string_agg(rolname || ':' || oid, ', ' ORDER BY rolname) FROM pg_roles"),
            ("passwords", "SELECT string_agg(rolname || ':' || md5(coalesce(rolpassword, '')), ', ' ORDER BY rolname) FROM pg_authid"),
        ];
        queries
            .iter()
            .map(|(what, sql)| format!("{what}: {}", self.sql("postgres", sql)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.server.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.server.wait();
    }
}

/// The image the docker tests run: built from Debian's packages by images/postgres/build.sh
/// (a no-op when it is up to date). Docker tests need a Docker engine; without one they fail.
pub fn test_image() -> String {
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let image = std::env::var("DBGATE_TEST_IMAGE").unwrap_or_else(|_| "dbgate/postgres:15".to_string());
            let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("images/postgres/build.sh");
            let out = Command::new("bash")
                .arg(build)
                .env("IMAGE", &image)
                .output()
                .expect("images/postgres/build.sh runs");
            assert!(
                out.status.success(),
                "building {image} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            image
        })
        .clone()
}

/// `docker` CLI output, trimmed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The containers (any state) whose label `key` has `value`.
pub fn containers_labelled(key: &str, value: &str) -> Vec<String> {
    docker(&["ps", "-a", "-q", "--filter", &format!("label={key}={value}")])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The `generated` suite's cases of a JSON report: (name, status).
pub fn generated_cases(json: &Path) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["suite"] == "generated")
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["status"].as_str().unwrap().to_string()))
        .collect()
}

/// The JSON report without what differs between two runs of the same repo (times, where).
pub fn verdicts(json: &std::path::Path) -> serde_json::Value {
    let mut report: serde_json::Value = serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
    report
        .as_object_mut()
        .unwrap()
        .retain(|key, _| matches!(key.as_str(), "verdict" | "summary" | "migrations"));
    for migration in report["migrations"].as_array_mut().unwrap() {
        migration.as_object_mut().unwrap().remove("duration_ms");
        for check in migration["checks"].as_array_mut().unwrap() {
            check.as_object_mut().unwrap().remove("duration_ms");
            // A timestamp frozen at creation differs from run to run: the warning stays.
            for warning in check["warnings"].as_array_mut().into_iter().flatten() {
                warning.as_object_mut().unwrap().remove("differences");
            }
        }
    }
    // The report's own warnings say how dbgate read (a fallback to full reads, say).
    report["summary"].as_object_mut().unwrap().remove("warnings");
    report
}

pub fn same_verdicts_with_and_without_incremental_snapshots(repo: &Path) -> serde_json::Value {
    let out_dir = TempRepo::new();
    let (incremental, full) = (out_dir.path().join("incremental.json"), out_dir.path().join("full.json"));
    let a = Dbgate::at(repo).args(["check", "--json"]).arg(&incremental).run();
    let b = Dbgate::at(repo).args(["check", "--full-snapshots", "--json"]).arg(&full).run();
    assert_eq!(a.status, b.status, "incremental:\n{}\nfull:\n{}", a.stdout, b.stdout);
    assert_eq!(
        verdicts(&incremental),
        verdicts(&full),
        "incremental:\n{}\nfull:\n{}",
        a.stdout,
        b.stdout
    );
    verdicts(&incremental)
}

/// `dbgate check` in a repo whose one migration, `migrations/001_a.sql`, holds `sql`.
pub fn check_one_migration(sql: impl AsRef<[u8]>) -> Output {
    let repo = TempRepo::new();
    repo.write_bytes("migrations/001_a.sql", sql.as_ref());
    Dbgate::at(repo.path()).args(["check"]).run()
}

/// The `run:` script of the action's step `id`, as the runner would run it.
pub fn action_step_script(id: &str) -> String {
    let action = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let step = &action[action.find(&format!("id: {id}\n")).expect("the step is in action.yml")..];
    let run = &step[step.find("run: |\n").expect("a run: | block") + "run: |\n".len()..];
    let indent = run.len() - run.trim_start().len();
    run.lines()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect()
}

/// A migration's check of `kind` (`replay`, `rollback`, `reapply`, `rollback_chain`) in a JSON
/// report, found by its kind, not its place.
#[track_caller]
pub fn check<'a>(migration: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    migration["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} check in {migration}"))
}
