//! dbgate: a PostgreSQL migration gate. Discovers a repo's migrations, replays them on a
//! throwaway PostgreSQL, proves every rollback restores the catalog, and reports.
//!
//! Data flows one way: discovery -> provider -> checks -> report model -> renderers.

// A failure carries everything a user needs (file, line, details); it is built once per failing
// statement, so its size is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod error;
pub mod execute;
pub mod failure;
pub mod generate;
pub mod github;
pub mod history;
pub mod object;
pub mod preset;
pub mod provider;
pub mod report;
pub mod script;

pub use error::{exit, Error};

/// Runs the command line and returns the process exit code. Everything is cleaned up by the
/// time this returns.
pub fn run(cli: cli::Cli) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dbgate: cannot start the async runtime: {e}");
            return exit::ENVIRONMENT;
        }
    };
    let result = match cli.command {
        cli::Command::Check(args) => match config::check_settings(&args) {
            Ok(settings) => runtime.block_on(app::check(settings)),
            Err(e) => Err(e.into()),
        },
        cli::Command::List(args) => app::list(&args).map(|text| {
            print!("{text}");
            exit::PASSED
        }),
        cli::Command::Gc(args) => runtime.block_on(app::gc(&args)).map(|text| {
            print!("{text}");
            exit::PASSED
        }),
        cli::Command::Rules => {
            print!("{}", app::rules());
            Ok(exit::PASSED)
        }
        cli::Command::Snapshot(args) => match config::check_settings(&args.as_check()) {
            Ok(settings) => runtime.block_on(app::snapshot(settings, args.write)),
            Err(e) => Err(e.into()),
        },
        cli::Command::Types(args) => match config::check_settings(&args.as_check()) {
            Ok(settings) => runtime.block_on(app::types(settings, args.write)),
            Err(e) => Err(e.into()),
        },
        cli::Command::Comment(args) => runtime.block_on(app::comment(&args)).map(|text| {
            print!("{text}");
            exit::PASSED
        }),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dbgate: error: {error}");
            error.exit_code()
        }
    }
}
