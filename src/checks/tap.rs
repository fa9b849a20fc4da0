//! TAP, as pgTAP writes it and pg_prove reads it: a plan (`1..N`), `ok`/`not ok` lines with a
//! description and an optional `# TODO`/`# SKIP` directive, and `#` diagnostics under them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    Todo(String),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub number: usize,
    pub ok: bool,
    pub description: String,
    pub directive: Option<Directive>,
    pub diagnostics: Vec<String>,
    /// Which output line it came from, for placing it in the file: the caller's tag.
    pub origin: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tap {
    /// `1..N`; with `# SKIP` after it, the whole file is skipped.
    pub plan: Option<(usize, Option<String>)>,
    pub assertions: Vec<Assertion>,
    /// Diagnostics before the first assertion.
    pub preamble: Vec<String>,
}

impl Tap {
    /// Reads TAP lines, each tagged with where it came from.
    pub fn parse<'a>(lines: impl IntoIterator<Item = (usize, &'a str)>) -> Tap {
        let mut tap = Tap::default();
        for (origin, line) in lines {
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix("1..") {
                let (count, comment) = rest.split_once('#').map_or((rest, None), |(c, r)| (c, Some(r.trim())));
                if let Ok(count) = count.trim().parse() {
                    let skip = comment.and_then(|c| strip_word(c, "skip")).map(|r| r.trim().to_string());
                    tap.plan = Some((count, skip));
                    continue;
                }
            }
            if let Some((ok, rest)) = line
                .strip_prefix("not ok")
                .map(|r| (false, r))
                .or_else(|| line.strip_prefix("ok").map(|r| (true, r)))
            {
                if rest.is_empty() || rest.starts_with(' ') {
                    tap.assertions.push(assertion(ok, rest.trim(), tap.assertions.len() + 1, origin));
                    continue;
                }
            }
            let trimmed = line.trim_start();
            if let Some(comment) = trimmed.strip_prefix('#') {
                let comment = comment.strip_prefix(' ').unwrap_or(comment).to_string();
                match tap.assertions.last_mut() {
                    Some(last) => last.diagnostics.push(comment),
                    None => tap.preamble.push(comment),
                }
            }
        }
        tap
    }

    /// Whether the text looks like TAP at all.
    pub fn is_tap(&self) -> bool {
        self.plan.is_some() || !self.assertions.is_empty()
    }
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &text[word.len()..])
}

fn assertion(ok: bool, rest: &str, next: usize, origin: usize) -> Assertion {
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let number = digits.parse().unwrap_or(next);
    let rest = rest[digits.len()..].trim_start();
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    // A directive follows an unescaped `#`.
    let (description, directive) = match rest.find(" # ").or_else(|| rest.starts_with("# ").then_some(0)) {
        Some(at) => {
            let comment = rest[at..].trim_start_matches([' ', '#']).trim();
            let directive = strip_word(comment, "todo")
                .map(|r| Directive::Todo(r.trim().to_string()))
                .or_else(|| strip_word(comment, "skip").map(|r| Directive::Skip(r.trim().to_string())));
            match directive {
                Some(d) => (rest[..at].trim(), Some(d)),
                None => (rest, None),
            }
        }
        None => (rest, None),
    };
    Assertion {
        number,
        ok,
        description: description.replace("\\#", "#"),
        directive,
        diagnostics: Vec::new(),
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Tap {
        Tap::parse(text.lines().enumerate())
    }

    #[test]
    fn reads_plans_assertions_directives_and_diagnostics() {
        let tap = parse(
            "1..4\nok 1 - profiles has RLS\nnot ok 2 - alice sees only her rows\n# Failed test 2: \"alice sees only her rows\"\n#         have: 2\n#         want: 1\nok 3 - later # SKIP no storage\nnot ok 4 - wip # TODO not yet",
        );
        assert_eq!(tap.plan, Some((4, None)));
        assert_eq!(tap.assertions.len(), 4);
        assert!(tap.assertions[0].ok);
        assert_eq!(tap.assertions[1].description, "alice sees only her rows");
        assert_eq!(
            tap.assertions[1].diagnostics,
            vec!["Failed test 2: \"alice sees only her rows\"", "        have: 2", "        want: 1"]
        );
        assert_eq!(tap.assertions[2].directive, Some(Directive::Skip("no storage".into())));
        assert_eq!(tap.assertions[3].directive, Some(Directive::Todo("not yet".into())));
        assert_eq!(tap.assertions[3].origin, 7);
    }

    #[test]
    fn a_whole_file_can_be_skipped_and_plain_output_is_not_tap() {
        assert_eq!(parse("1..0 # SKIP no pgsodium").plan, Some((0, Some("no pgsodium".into()))));
        assert!(!parse("42\nhello").is_tap());
        assert_eq!(
            parse("ok 1\nok\n").assertions.iter().map(|a| a.number).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
