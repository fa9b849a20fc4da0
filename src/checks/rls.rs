//! The RLS matrix: named users, rows to insert first, and for each table, user and command the
//! outcome expected. Each cell runs as the user's role with the user's JWT claims, in a savepoint
//! that is rolled back. The file format is documented in the README.

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::checks::outcome::{Suite, TestCaseResult};
use crate::discovery::rls_matrix::{user_id, Cell, Command, Expected, Matrix, Word};
use crate::failure::Failure;
use crate::script::{quote_ident, quote_literal};

impl Matrix {
    /// The setup SQL with `{user}` replaced by that user's id as a literal.
    pub fn setup(&self) -> Option<String> {
        self.setup.as_ref().map(|sql| self.substitute(sql))
    }

    /// `{user}` replaced by the user's id: as a quoted literal in SQL, bare in a setting.
    fn substitute_with(&self, text: &str, quoted: bool) -> String {
        let mut out = text.to_string();
        for (name, user) in &self.users {
            let id = user_id(name, user);
            out = out.replace(&format!("{{{name}}}"), &if quoted { quote_literal(&id) } else { id });
        }
        out
    }

    fn substitute(&self, text: &str) -> String {
        self.substitute_with(text, true)
    }

    /// Runs every cell; the caller has made a savepoint to return to after each.
    /// A cell that runs longer than `timeout` (a `where` that sleeps, a lock) is cancelled.
    pub async fn run_cells(&self, client: &Client, savepoint: &str, timeout: std::time::Duration) -> Vec<TestCaseResult> {
        let mut cases = Vec::new();
        for (cell, offset) in &self.cells {
            let user = &self.users[&cell.user];
            let what = format!("{} ({}) {} on {}", cell.user, user.role, cell.command.name(), cell.table);
            let mut case = TestCaseResult::new(Suite::Rls, what.clone(), self.path.clone());
            let started = std::time::Instant::now();
            let outcome = self.run_cell(client, cell, timeout).await;
            let rollback = format!("ROLLBACK TO SAVEPOINT {savepoint}");
            let _ = crate::execute::within(client, timeout, client.batch_execute(&rollback)).await;
            case.duration_ms = started.elapsed().as_millis() as u64;
            if let Some(problem) = judge(&cell.expect, &outcome) {
                let condition = cell.condition.as_ref().map(|c| format!(" where {c}")).unwrap_or_default();
                let mut failure = Failure::new(format!("{what}{condition}: {problem}"), Some(self.location(*offset)));
                failure.details.push(format!("statement: {}", self.statement(cell)));
                case.fail(failure);
            }
            cases.push(case);
        }
        cases
    }

    async fn run_cell(&self, client: &Client, cell: &Cell, timeout: std::time::Duration) -> Result<u64, (String, String)> {
        let user = &self.users[&cell.user];
        let id = user_id(&cell.user, user);
        let mut claims = toml::Table::new();
        claims.insert("sub".into(), id.clone().into());
        claims.insert("role".into(), user.role.clone().into());
        if let Some(email) = &user.email {
            claims.insert("email".into(), email.clone().into());
        }
        claims.extend(user.claims.clone());
        let claims_json = serde_json::to_string(&claims).unwrap_or_default();
        let mut prelude = format!("SELECT set_config('request.jwt.claims', {}, true)", quote_literal(&claims_json));
        for (claim, value) in [("sub", Some(&id)), ("role", Some(&user.role)), ("email", user.email.as_ref())] {
            if let Some(value) = value {
                prelude.push_str(&format!(
                    ", set_config('request.jwt.claim.{claim}', {}, true)",
                    quote_literal(value)
                ));
            }
        }
        for (name, value) in &user.settings {
            let value = match value {
                toml::Value::String(s) => self.substitute_with(s, false),
                other => other.to_string(),
            };
            prelude.push_str(&format!(", set_config({}, {}, true)", quote_literal(name), quote_literal(&value)));
        }
        prelude.push_str(&format!("; SET LOCAL ROLE {}", quote_ident(&user.role)));
        let run = async {
            client.batch_execute(&prelude).await?;
            client.simple_query(&self.statement(cell)).await
        };
        match crate::execute::within(client, timeout, run).await {
            Err(crate::execute::WaitError::Database(e)) => Err(match e.as_db_error() {
                Some(db) => (db.code().code().to_string(), db.message().to_string()),
                None => (String::new(), e.to_string()),
            }),
            // 57014: query_canceled, as a statement_timeout reports it.
            Err(waited) => Err(("57014".to_string(), format!("the cell's statement: {waited}"))),
            Ok(messages) => Ok(messages
                .iter()
                .find_map(|m| match m {
                    SimpleQueryMessage::Row(row) if cell.command == Command::Select => row.get(0).and_then(|n| n.parse().ok()),
                    SimpleQueryMessage::CommandComplete(n) if cell.command != Command::Select => Some(*n),
                    _ => None,
                })
                .unwrap_or(0)),
        }
    }

    fn statement(&self, cell: &Cell) -> String {
        let condition = cell
            .condition
            .as_ref()
            .map(|c| format!(" WHERE {}", self.substitute(c)))
            .unwrap_or_default();
        let value = |v: &toml::Value| self.literal(v);
        match cell.command {
            Command::Select => format!("SELECT count(*) FROM {}{condition}", cell.table),
            Command::Insert => {
                let columns: Vec<String> = cell.values.keys().map(|k| quote_ident(k)).collect();
                let values: Vec<String> = cell.values.values().map(value).collect();
                if columns.is_empty() {
                    format!("INSERT INTO {} DEFAULT VALUES", cell.table)
                } else {
                    format!("INSERT INTO {} ({}) VALUES ({})", cell.table, columns.join(", "), values.join(", "))
                }
            }
            Command::Update => {
                let sets: Vec<String> = cell
                    .values
                    .iter()
                    .map(|(k, v)| format!("{} = {}", quote_ident(k), value(v)))
                    .collect();
                format!("UPDATE {} SET {}{condition}", cell.table, sets.join(", "))
            }
            Command::Delete => format!("DELETE FROM {}{condition}", cell.table),
        }
    }

    fn literal(&self, value: &toml::Value) -> String {
        match value {
            toml::Value::String(s) => match self.users.iter().find(|(name, _)| *s == format!("{{{name}}}")) {
                Some((name, user)) => quote_literal(&user_id(name, user)),
                None => quote_literal(s),
            },
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => quote_literal(&serde_json::to_string(other).unwrap_or_default()),
        }
    }
}

/// What is wrong with the outcome, if anything.
fn judge(expected: &Expected, outcome: &Result<u64, (String, String)>) -> Option<String> {
    let rows = |n: u64| if n == 1 { "1 row".to_string() } else { format!("{n} rows") };
    match (expected, outcome) {
        (Expected::Word(Word::Allowed), Ok(_)) => None,
        (Expected::Word(Word::Denied), Err((code, _))) if code == "42501" => None,
        (Expected::Rows(want), Ok(got)) if want == got => None,
        (Expected::Word(Word::Denied), Ok(n)) => Some(format!(
            "expected denied, but it was allowed ({}){}",
            rows(*n),
            if *n == 0 {
                "; row level security hides rows rather than refusing: expect = 0 says it sees or changes none"
            } else {
                ""
            }
        )),
        (Expected::Rows(want), Ok(got)) => Some(format!("expected {}, got {}", rows(*want), rows(*got))),
        (expected, Err((code, message))) => {
            let want = match expected {
                Expected::Rows(n) => rows(*n),
                Expected::Word(Word::Allowed) => "allowed".to_string(),
                Expected::Word(Word::Denied) => "denied (SQLSTATE 42501)".to_string(),
            };
            Some(format!("expected {want}, but it failed: {message} (SQLSTATE {code})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_names_its_users_and_cells() {
        let source = r#"
setup = "insert into notes (owner) values ({alice})"

[users.alice]
role = "authenticated"
[users.visitor]
role = "anon"

[[cell]]
user = "alice"
table = "public.notes"
command = "update"
where = "owner = {alice}"
values = { body = "x", owner = "{alice}" }
expect = 1

[[cell]]
user = "visitor"
table = "public.notes"
command = "select"
expect = "denied"
"#;
        let matrix = Matrix::parse("m.rls.toml".into(), source.into()).unwrap();
        let alice = quote_literal(&user_id("alice", &matrix.users["alice"]));
        assert_eq!(matrix.setup().unwrap(), format!("insert into notes (owner) values ({alice})"));
        assert_eq!(
            matrix.statement(&matrix.cells[0].0),
            format!("UPDATE public.notes SET \"body\" = 'x', \"owner\" = {alice} WHERE owner = {alice}")
        );
        assert_eq!(matrix.location(matrix.cells[1].1).line, 17);
        let err = Matrix::parse(
            "m.rls.toml".into(),
            "[[cell]]\nuser = \"bob\"\ntable = \"t\"\ncommand = \"select\"\nexpect = 1\n".into(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.rls.toml:1: cell names user `bob`, which [users] does not define"
        );
        let err = Matrix::parse(
            "m.rls.toml".into(),
            "[[cell]]\nuser = \"bob\"\ntable = \"t\"\ncommand = \"upsert\"\nexpect = 1\n".into(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
    }

    #[test]
    fn outcomes_are_judged_against_the_expectation() {
        assert_eq!(judge(&Expected::Rows(1), &Ok(1)), None);
        assert_eq!(judge(&Expected::Rows(1), &Ok(2)).unwrap(), "expected 1 row, got 2 rows");
        assert_eq!(
            judge(
                &Expected::Word(Word::Denied),
                &Err(("42501".into(), "new row violates row-level security policy".into()))
            ),
            None
        );
        assert!(judge(&Expected::Word(Word::Denied), &Ok(0)).unwrap().contains("expect = 0"));
        assert!(judge(&Expected::Word(Word::Allowed), &Err(("23502".into(), "null value".into())))
            .unwrap()
            .contains("SQLSTATE 23502"));
    }
}
