use clap::Parser;

fn main() {
    let code = dbgate::run(dbgate::cli::Cli::parse());
    std::process::exit(code);
}
