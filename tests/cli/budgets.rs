//! Budgets: the session's statement and lock timeouts, and per-migration time thresholds.

use crate::support::{self, Dbgate};

#[test]
fn statement_timeout_and_time_budgets_come_from_the_config() {
    let repo = support::TempRepo::new();
    repo.write("migrations/001_quick.sql", "CREATE TABLE t (id int);\n");
    repo.write("migrations/002_slow.sql", "-- a slow data fix\nSELECT pg_sleep(0.6);\n");
    repo.write("dbgate.toml", "[migrations]\nwarn_seconds = 0.3\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(0);
    out.stdout_has("warning: migrations/002_slow.sql took 0.");
    out.stdout_has("over the 0.3 s warning threshold ([migrations] warn_seconds)");

    repo.write("dbgate.toml", "[migrations]\nfail_seconds = 0.3\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/002_slow.sql:1:1: migrations/002_slow.sql took 0.");
    out.stdout_has("over its 0.3 s budget ([migrations] fail_seconds)");

    repo.write(
        "dbgate.toml",
        "[migrations]\nstatement_timeout = \"200ms\"\nlock_timeout = \"1s\"\n",
    );
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(1);
    out.stdout_has("migrations/002_slow.sql:2:1: canceling statement due to statement timeout");

    repo.write("dbgate.toml", "[migrations]\nstatement_timeout = \"soon\"\n");
    let out = Dbgate::at(repo.path()).args(["check"]).run();
    out.code(2);
    out.stderr_has("dbgate.toml: line 2, [migrations] statement_timeout = \"soon\": not a duration");
}
