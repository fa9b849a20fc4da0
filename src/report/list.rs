//! The text of `dbgate list`: the migrations found, in the order they run, with their rollbacks
//! and how each runs.

use crate::discovery::Discovery;
use crate::script::{Script, SyntaxError};

pub fn render(discovery: &Discovery) -> String {
    let mut out = String::new();
    out.push_str(&format!("migrations: {}\n", discovery.migrations_dir.display()));
    if let Some(dir) = &discovery.rollbacks_dir {
        out.push_str(&format!("rollbacks:  {}\n", dir.display()));
    }
    let mut orders: Vec<&str> = Vec::new();
    for migration in &discovery.migrations {
        let order = discovery.order_rule(migration);
        if !orders.contains(&order) {
            orders.push(order);
        }
    }
    if !orders.is_empty() {
        out.push_str(&format!("order:      {}\n", orders.join("; ")));
    }
    out.push_str(&format!(
        "tool:       {} ({}): {}\n",
        discovery.tool.tool.name(),
        discovery.tool.why,
        discovery.tool.tool.transactions()
    ));
    for warning in &discovery.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    for finding in &discovery.findings {
        out.push_str(&format!("defect: {}: {}\n", finding.location, finding.message));
    }
    out.push('\n');
    for (index, migration) in discovery.migrations.iter().enumerate() {
        out.push_str(&format!(
            "{:>4}. {} {}  [{}]\n",
            index + 1,
            migration.version,
            migration.name,
            migration.layout.describe()
        ));
        out.push_str(&format!(
            "        up:       {}  {}\n",
            migration.up.path.display(),
            how_it_runs(&migration.up)
        ));
        match &migration.down {
            Some(down) => {
                let section = if down.path == migration.up.path {
                    format!(", the down section from line {}", down.position(down.body().start).line)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "        rollback: {}{section}  {}\n",
                    down.path.display(),
                    how_it_runs(down)
                ))
            }
            None => out.push_str("        rollback: none\n"),
        }
    }
    let with_rollback = discovery.migrations.iter().filter(|m| m.down.is_some()).count();
    out.push_str(&format!(
        "\n{} migrations, {} with a rollback\n",
        discovery.migrations.len(),
        with_rollback
    ));
    out
}

fn how_it_runs(script: &Script) -> String {
    if script.not_utf8 {
        return "(cannot run: not valid UTF-8)".to_string();
    }
    match script.statements() {
        Ok([]) => "(no statements)".to_string(),
        Ok(statements) => match script.refusal(statements) {
            Some((offset, _)) => format!(
                "(refused by its tool: statements that can and cannot run in a transaction, from line {})",
                script.position(offset).line
            ),
            None => format!("(runs {})", script.run_mode(statements).describe()),
        },
        Err(SyntaxError::MetaCommand { command, offset }) => {
            format!(
                "(cannot run: psql meta-command `{command}` at line {})",
                script.position(*offset).line
            )
        }
        Err(SyntaxError::Scan { message, offset }) => {
            format!("(cannot run: {message} at line {})", script.position(*offset).line)
        }
    }
}
