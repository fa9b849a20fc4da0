//! How Supabase suites load supabase-test-helpers (basejump's, from database.dev):
//! `create extension "basejump-supabase_test_helpers" [version '...']` after
//! `select dbdev.install('basejump-supabase_test_helpers')`. dbgate serves the same helpers
//! itself (helpers.sql, in the test transaction), offline: those statements are recognised from
//! the parse tree and not sent, so that nothing is installed on the server's disk and a suite
//! written for `supabase test db` runs unchanged.

use pg_query::NodeEnum;

/// The names the helpers' extension goes by.
const EXTENSIONS: [&str; 2] = ["basejump-supabase_test_helpers", "supabase_test_helpers"];

/// Whether a statement only loads supabase-test-helpers (which dbgate provides).
pub fn loads_test_helpers(statement: &str) -> bool {
    // Cheap first: every such statement names the helpers.
    if !statement.to_ascii_lowercase().contains("supabase_test_helpers") {
        return false;
    }
    let Ok(parsed) = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT) else {
        return false;
    };
    let [raw] = parsed.protobuf.stmts.as_slice() else { return false };
    match raw.stmt.as_ref().and_then(|s| s.node.as_ref()) {
        Some(NodeEnum::CreateExtensionStmt(create)) => EXTENSIONS.contains(&create.extname.as_str()),
        Some(NodeEnum::SelectStmt(select)) => {
            // `select dbdev.install('basejump-supabase_test_helpers')`, nothing else.
            let plain = select.from_clause.is_empty() && select.where_clause.is_none() && select.target_list.len() == 1;
            plain && select.target_list.iter().all(installs_helpers)
        }
        _ => false,
    }
}

fn installs_helpers(target: &pg_query::Node) -> bool {
    let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
        return false;
    };
    let Some(NodeEnum::FuncCall(call)) = target.val.as_ref().and_then(|v| v.node.as_ref()) else {
        return false;
    };
    let name: Vec<&str> = call
        .funcname
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    let argument = match call.args.as_slice() {
        [only] => match only.node.as_ref() {
            Some(NodeEnum::AConst(constant)) => match constant.val.as_ref() {
                Some(pg_query::protobuf::a_const::Val::Sval(s)) => Some(s.sval.as_str()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    name == ["dbdev", "install"] && argument.is_some_and(|a| EXTENSIONS.contains(&a))
}

#[cfg(test)]
mod tests {
    use super::loads_test_helpers;

    #[test]
    fn recognises_the_ways_suites_load_the_helpers() {
        for statement in [
            "create extension \"basejump-supabase_test_helpers\"",
            "CREATE EXTENSION IF NOT EXISTS \"basejump-supabase_test_helpers\" version '0.0.6'",
            "create extension supabase_test_helpers schema extensions",
            "select dbdev.install('basejump-supabase_test_helpers')",
            "SELECT dbdev.install( 'basejump-supabase_test_helpers' )",
        ] {
            assert!(loads_test_helpers(statement), "{statement}");
        }
        for statement in [
            "create extension pgtap",
            "select dbdev.install('olirice-index_advisor')",
            "select dbdev.install('basejump-supabase_test_helpers'), 1",
            "select 'supabase_test_helpers'",
            "create table supabase_test_helpers (id int)",
        ] {
            assert!(!loads_test_helpers(statement), "{statement}");
        }
    }
}
