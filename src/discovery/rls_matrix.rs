//! An RLS matrix file (`*.rls.toml`): named users, rows to insert first, and for each table, user
//! and command the outcome expected. Read and checked here, with its errors at their line; run by
//! the RLS check. The file format is documented in the README.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::failure::Location;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    #[serde(default)]
    users: BTreeMap<String, User>,
    /// SQL run first, as the migration user (the table owner, whom RLS does not restrict).
    setup: Option<String>,
    #[serde(default, rename = "cell")]
    cells: Vec<Spanned<Cell>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The database role the user's cells run as.
    pub role: String,
    /// The user's id, the JWT `sub`; by default one derived from the name.
    pub id: Option<String>,
    pub email: Option<String>,
    /// More JWT claims, merged over `sub`, `role` and `email`.
    #[serde(default)]
    pub claims: toml::Table,
    /// Settings made for the user's cells (`set_config(name, value, true)`), for apps that read
    /// the user from a setting of their own, e.g. `app.user_id = "{alice}"`.
    #[serde(default)]
    pub settings: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Select => "select",
            Command::Insert => "insert",
            Command::Update => "update",
            Command::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cell {
    pub(crate) user: String,
    pub(crate) table: String,
    pub(crate) command: Command,
    /// A condition, for select, update and delete.
    #[serde(rename = "where")]
    pub(crate) condition: Option<String>,
    /// The row to insert, or the columns to set.
    #[serde(default)]
    pub(crate) values: toml::Table,
    pub(crate) expect: Expected,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Expected {
    Rows(u64),
    Word(Word),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Word {
    Allowed,
    Denied,
}

/// A matrix file that cannot be used, with the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("{}: {}", path.display(), source.to_string().trim_end())]
    Invalid {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{}:{line}: cell names user `{user}`, which [users] does not define", path.display())]
    UnknownUser { path: PathBuf, line: usize, user: String },
    /// A fragment that would be more than the part of one statement it is meant to be.
    #[error("{}:{line}: {key} = {value:?}: {why}", path.display())]
    Fragment {
        path: PathBuf,
        line: usize,
        key: &'static str,
        value: String,
        why: String,
    },
}

/// A matrix file, read and checked.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub path: PathBuf,
    source: Arc<str>,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) setup: Option<String>,
    /// Each cell with its byte offset in the file.
    pub(crate) cells: Vec<(Cell, usize)>,
}

impl Matrix {
    /// Parses a matrix file; errors name the file, line and key.
    pub fn parse(path: PathBuf, source: Arc<str>) -> Result<Matrix, MatrixError> {
        let file: MatrixFile = toml::from_str(&source).map_err(|e| MatrixError::Invalid {
            path: path.clone(),
            source: Box::new(e),
        })?;
        let mut cells = Vec::new();
        for cell in file.cells {
            let span = cell.span();
            let offset = span.start;
            let cell = cell.into_inner();
            if !file.users.contains_key(&cell.user) {
                return Err(MatrixError::UnknownUser {
                    line: crate::script::position_at(&source, offset).line,
                    user: cell.user,
                    path,
                });
            }
            let fragment_error = |key: &'static str, value: &str, why: String| MatrixError::Fragment {
                path: path.clone(),
                line: crate::script::position_at(&source, key_offset(&source, span.clone(), key).unwrap_or(offset)).line,
                key,
                value: value.to_string(),
                why,
            };
            if let Err(why) = one_name(&cell.table) {
                return Err(fragment_error("table", &cell.table, why));
            }
            if let Some(condition) = &cell.condition {
                if let Err(why) = one_expression(condition) {
                    return Err(fragment_error("where", condition, why));
                }
            }
            cells.push((cell, offset));
        }
        Ok(Matrix {
            path,
            source,
            users: file.users,
            setup: file.setup,
            cells,
        })
    }

    /// The users, each with its id.
    pub fn users(&self) -> impl Iterator<Item = (&String, &User, String)> {
        self.users.iter().map(|(name, user)| (name, user, user_id(name, user)))
    }

    /// (table, role, command) for every cell, for the coverage matrix.
    pub fn exercised(&self) -> impl Iterator<Item = (&str, &str, Command)> {
        self.cells
            .iter()
            .map(|(cell, _)| (cell.table.as_str(), self.users[&cell.user].role.as_str(), cell.command))
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let at = crate::script::position_at(&self.source, offset);
        Location {
            file: self.path.clone(),
            line: at.line,
            column: at.column,
        }
    }
}

/// Where `key = ...` starts within a cell's span, for an error at the key's own line.
fn key_offset(source: &str, span: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let text = source.get(span.clone())?;
    let mut at = span.start;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let rest = trimmed
            .strip_prefix(key)
            .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")))
            .or_else(|| trimmed.strip_prefix(&format!("'{key}'")));
        if rest.is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return Some(at + line.len() - trimmed.len());
        }
        at += line.len();
    }
    None
}

/// A cell's `where`: part of one statement, as the RLS check writes it after `WHERE`. A `;`
/// outside quotes would end that statement and let the next one end dbgate's transaction.
fn one_expression(text: &str) -> Result<(), String> {
    let tokens = crate::script::scanner::tokens(text).map_err(|e| format!("{} (a condition must scan as SQL)", e.message))?;
    if tokens.iter().any(|t| &text[t.start as usize..t.end as usize] == ";") {
        return Err(
            "a condition is part of one statement: no `;` (it would end the statement, and the next could end the test transaction)"
                .to_string(),
        );
    }
    Ok(())
}

/// A cell's `table`: a name, maybe schema-qualified and quoted.
fn one_name(text: &str) -> Result<(), String> {
    use pg_query::protobuf::Token;
    let tokens = crate::script::scanner::tokens(text).map_err(|e| e.message)?;
    let name_like = !tokens.is_empty()
        && tokens.iter().enumerate().all(|(i, t)| {
            let word = &text[t.start as usize..t.end as usize];
            if i % 2 == 1 {
                word == "."
            } else {
                // An identifier, quoted or not (keywords such as `user` are names too when quoted).
                t.token() == Token::Ident || t.keyword_kind != 0 && word.chars().all(|c| c.is_alphanumeric() || c == '_')
            }
        })
        && tokens.len() % 2 == 1;
    if name_like {
        Ok(())
    } else {
        Err("a table is a name (`notes`, `public.notes`, `\"Odd Name\"`), nothing more".to_string())
    }
}

/// A user's id: the one given, or a fixed one derived from the name, so that reruns agree.
pub(crate) fn user_id(name: &str, user: &User) -> String {
    if let Some(id) = &user.id {
        return id.clone();
    }
    // FNV-1a over the name, spread into a version-4-shaped uuid.
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for byte in name.bytes() {
        hash ^= byte as u128;
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let hex = format!("{hash:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::{one_expression, one_name};

    #[test]
    fn fragments_stay_inside_their_statement() {
        assert!(one_expression("owner = '{alice}' AND body <> ';'").is_ok());
        assert!(one_expression("true; COMMIT; SELECT 1").is_err());
        assert!(one_expression("owner = {alice}").is_ok());
        assert!(one_expression("true /* ; */").is_ok());
        assert!(one_expression("'open").is_err());
        assert!(one_name("notes").is_ok());
        assert!(one_name("public.notes").is_ok());
        assert!(one_name("\"Odd; Name\"").is_ok());
        assert!(one_name("notes; COMMIT").is_err());
        assert!(one_name("notes n").is_err());
        assert!(one_name("").is_err());
    }
}
