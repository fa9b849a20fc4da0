//! The url provider over TLS, as libpq's `sslmode` and `sslrootcert` ask: against a server of the
//! test's own that takes TCP connections over TLS only, with a certificate for `localhost` signed
//! by a CA of the test's own.

use std::fs;

use crate::support::{tls_certificates, Dbgate, TempRepo, TestServer};

struct Setup {
    server: TestServer,
    repo: TempRepo,
    ca: std::path::PathBuf,
    other_ca: std::path::PathBuf,
}

fn setup() -> Setup {
    let (ca, certificate, key) = tls_certificates();
    let (other_ca, _, _) = tls_certificates();
    let server = TestServer::start_tls(&certificate, &key);
    let repo = TempRepo::from_fixture("layout-golang-migrate");
    repo.write("ca.pem", &ca);
    repo.write("other-ca.pem", &other_ca);
    Setup {
        ca: repo.path().join("ca.pem"),
        other_ca: repo.path().join("other-ca.pem"),
        server,
        repo,
    }
}

impl Setup {
    fn check(&self, url: &str) -> crate::support::Output {
        Dbgate::at(self.repo.path())
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .args(["check", "--provider", "url", "--database-url", url, "--json"])
            .arg(self.report())
            .run()
    }

    fn report(&self) -> std::path::PathBuf {
        self.repo.path().join("report.json")
    }

    /// Where the last run says it ran (the report's environment.server).
    fn server_said(&self) -> String {
        let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(self.report()).unwrap()).unwrap();
        report["environment"]["server"].as_str().unwrap().to_string()
    }

    fn tcp(&self, host: &str, options: &str) -> String {
        format!(
            "host={host} port={} user=dbgate dbname=postgres {options}",
            self.server.tls_port.unwrap()
        )
    }
}

#[test]
fn sslmode_require_runs_the_gate_over_tls_and_disable_is_refused_by_such_a_server() {
    let s = setup();
    let out = s.check(&s.tcp("127.0.0.1", "sslmode=require"));
    out.code(0);
    assert!(
        s.server_said().ends_with("(TLS, sslmode=require), dropped at the end"),
        "{}",
        s.server_said()
    );
    // The near miss: without TLS the server's pg_hba.conf refuses the connection.
    let out = s.check(&s.tcp("127.0.0.1", "sslmode=disable"));
    out.code(3).stderr_has("no encryption");
    // libpq's default, prefer, takes TLS when the server offers it.
    s.check(&s.tcp("127.0.0.1", "")).code(0);
    // The server saw TLS sessions only, and dbgate left no database behind.
    assert_eq!(
        s.server
            .sql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbgate_%'"),
        "0"
    );
}

#[test]
fn verify_full_checks_the_chain_and_the_name_and_verify_ca_the_chain_only() {
    let s = setup();
    let ca = format!("sslrootcert={}", s.ca.display());
    s.check(&s.tcp("localhost", &format!("sslmode=verify-full {ca}"))).code(0);
    // The certificate is for localhost, not 127.0.0.1.
    let out = s.check(&s.tcp("127.0.0.1", &format!("sslmode=verify-full {ca}")));
    out.code(3).stderr_has("cannot connect to");
    out.stderr_has("invalid peer certificate");
    s.check(&s.tcp("127.0.0.1", &format!("sslmode=verify-ca {ca}"))).code(0);
    // Signed by another CA: refused by verify-ca, and by require given that root (libpq's
    // require with a root certificate is verify-ca).
    let other = format!("sslrootcert={}", s.other_ca.display());
    s.check(&s.tcp("127.0.0.1", &format!("sslmode=verify-ca {other}")))
        .code(3)
        .stderr_has("certificate");
    s.check(&s.tcp("127.0.0.1", &format!("sslmode=require {other}"))).code(3);
    // A URI says the same in its query, percent-encoded.
    let uri = format!(
        "postgres://dbgate@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        s.server.tls_port.unwrap(),
        s.ca.display().to_string().replace('/', "%2F")
    );
    s.check(&uri).code(0);
    assert!(s.server_said().contains("(TLS, sslmode=verify-full)"), "{}", s.server_said());
}

#[test]
fn pgsslmode_and_pgsslrootcert_are_read_when_the_url_says_nothing() {
    let s = setup();
    let url = s.tcp("localhost", "");
    let run = |mode: &str| {
        Dbgate::at(s.repo.path())
            .env("PGSSLMODE", mode)
            .env("PGSSLROOTCERT", &s.ca)
            .args(["check", "--provider", "url", "--database-url", &url, "--json"])
            .arg(s.report())
            .run()
    };
    run("verify-full").code(0);
    assert!(s.server_said().contains("(TLS, sslmode=verify-full)"), "{}", s.server_said());
    run("disable").code(3);
}

#[test]
fn tls_settings_that_cannot_be_used_are_input_errors() {
    let s = setup();
    s.check(&s.tcp("localhost", "sslmode=verify_full"))
        .code(2)
        .stderr_has("sslmode \"verify_full\" is not one of disable, allow, prefer, require, verify-ca, verify-full");
    let missing = s.repo.path().join("nowhere.pem");
    s.check(&s.tcp("localhost", &format!("sslmode=verify-full sslrootcert={}", missing.display())))
        .code(2)
        .stderr_has("cannot read the root certificates in");
    fs::write(s.repo.path().join("empty.pem"), "not a certificate\n").unwrap();
    let empty = s.repo.path().join("empty.pem");
    s.check(&s.tcp("localhost", &format!("sslmode=verify-ca sslrootcert={}", empty.display())))
        .code(2)
        .stderr_has("no PEM certificate in it");
}
