//! The one integration test binary: it drives the real `dbgate` binary against the fixture repos
//! under tests/fixtures/, on real PostgreSQL servers started from the machine's server binaries.
//! One module per topic; what they share is in support/.

mod support;

mod bad_input;
mod budgets;
mod data;
mod database_tests;
mod docker;
mod errors;
mod github;
mod history;
mod hostile;
mod incremental;
mod layouts;
mod lint;
mod lint_copy;
mod providers;
mod recovery;
mod renderers;
mod repo_defects;
mod reports;
mod rollbacks;
mod severity;
mod snapshots_sql;
mod sql;
mod tls;
mod tools;
mod types;

#[test]
fn fixture_paths_exist() {
    assert!(support::fixture("layout-flyway")
        .join("migrations/V1.10__add_product_store.sql")
        .is_file());
}
