//! `dbgate list`: what was found and how each migration will run; no database.

use crate::cli::ListArgs;
use crate::config;
use crate::discovery::discover;
use crate::error::Error;
use crate::report;

pub fn list(args: &ListArgs) -> Result<String, Error> {
    let (root, sources) = config::sources(&args.source)?;
    let discovery = discover(&root, &sources)?;
    Ok(report::list::render(&discovery))
}
