//! A small document printer with prettier's line-fitting rules (its `group`, `indent`, `align`,
//! `line`, `softline`, `hardline`, `ifBreak`, and its `fits` look-ahead), so that the TypeScript
//! dbgate writes breaks where prettier 3 would break it: the text Supabase's generator commits is
//! prettier's output, printed 80 columns wide.

/// The width prettier prints to by default.
pub const WIDTH: usize = 80;

#[derive(Debug, Clone)]
pub enum Doc {
    Text(String),
    Concat(Vec<Doc>),
    /// Printed flat when it fits on the line, else broken; `broken` when it holds a hard line.
    Group {
        contents: Box<Doc>,
        broken: bool,
    },
    Indent(Box<Doc>),
    Align(usize, Box<Doc>),
    Line(LineKind),
    IfBreak {
        broken: Box<Doc>,
        flat: Box<Doc>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A space when flat.
    Line,
    /// Nothing when flat.
    Soft,
    /// Always a new line; breaks every group around it.
    Hard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

pub fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub fn concat(parts: Vec<Doc>) -> Doc {
    Doc::Concat(parts)
}

pub fn line() -> Doc {
    Doc::Line(LineKind::Line)
}

pub fn softline() -> Doc {
    Doc::Line(LineKind::Soft)
}

pub fn hardline() -> Doc {
    Doc::Line(LineKind::Hard)
}

pub fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub fn align(width: usize, doc: Doc) -> Doc {
    Doc::Align(width, Box::new(doc))
}

pub fn if_break(broken: Doc, flat: Doc) -> Doc {
    Doc::IfBreak {
        broken: Box::new(broken),
        flat: Box::new(flat),
    }
}

/// A group; `force` breaks it whatever fits (prettier's `shouldBreak`). A hard line inside breaks
/// it too, as prettier's `propagateBreaks` does.
pub fn group(contents: Doc, force: bool) -> Doc {
    let broken = force || has_hard_break(&contents);
    Doc::Group {
        contents: Box::new(contents),
        broken,
    }
}

/// `parts` with `separator` between them.
pub fn join(separator: Doc, parts: Vec<Doc>) -> Doc {
    let mut out = Vec::with_capacity(parts.len() * 2);
    for (index, part) in parts.into_iter().enumerate() {
        if index > 0 {
            out.push(separator.clone());
        }
        out.push(part);
    }
    Doc::Concat(out)
}

fn has_hard_break(doc: &Doc) -> bool {
    match doc {
        Doc::Text(_) => false,
        Doc::Concat(parts) => parts.iter().any(has_hard_break),
        Doc::Group { broken, .. } => *broken,
        Doc::Indent(inner) | Doc::Align(_, inner) => has_hard_break(inner),
        Doc::Line(kind) => *kind == LineKind::Hard,
        Doc::IfBreak { broken, flat } => has_hard_break(broken) || has_hard_break(flat),
    }
}

/// The document as text, `WIDTH` columns wide.
pub fn print(doc: &Doc) -> String {
    let mut out = String::new();
    let mut position = 0usize;
    let mut commands: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((indentation, mode, doc)) = commands.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                position += s.chars().count();
            }
            Doc::Concat(parts) => commands.extend(parts.iter().rev().map(|part| (indentation, mode, part))),
            Doc::Indent(inner) => commands.push((indentation + 2, mode, inner)),
            Doc::Align(width, inner) => commands.push((indentation + width, mode, inner)),
            Doc::Group { contents, broken } => match mode {
                Mode::Flat => commands.push((indentation, if *broken { Mode::Break } else { Mode::Flat }, contents)),
                Mode::Break => {
                    let flat = (indentation, Mode::Flat, contents.as_ref());
                    let room = WIDTH as isize - position as isize;
                    if !*broken && fits(flat, &commands, room) {
                        commands.push(flat);
                    } else {
                        commands.push((indentation, Mode::Break, contents));
                    }
                }
            },
            Doc::IfBreak { broken, flat } => commands.push((indentation, mode, if mode == Mode::Break { broken } else { flat })),
            Doc::Line(kind) => {
                if mode == Mode::Flat && *kind != LineKind::Hard {
                    if *kind == LineKind::Line {
                        out.push(' ');
                        position += 1;
                    }
                } else {
                    // Prettier trims the spaces a line ends with.
                    let kept = out.trim_end_matches([' ', '\t']).len();
                    out.truncate(kept);
                    out.push('\n');
                    out.push_str(&" ".repeat(indentation));
                    position = indentation;
                }
            }
        }
    }
    out
}

/// Whether `next`, flat, and what follows it up to the next line break, fit in `room` columns.
fn fits(next: (usize, Mode, &Doc), rest: &[(usize, Mode, &Doc)], mut room: isize) -> bool {
    let mut rest_index = rest.len();
    let mut stack: Vec<(Mode, &Doc)> = vec![(next.1, next.2)];
    while room >= 0 {
        let Some((mode, doc)) = stack.pop() else {
            if rest_index == 0 {
                return true;
            }
            rest_index -= 1;
            stack.push((rest[rest_index].1, rest[rest_index].2));
            continue;
        };
        match doc {
            Doc::Text(s) => room -= s.chars().count() as isize,
            Doc::Concat(parts) => stack.extend(parts.iter().rev().map(|part| (mode, part))),
            Doc::Indent(inner) | Doc::Align(_, inner) => stack.push((mode, inner)),
            Doc::Group { contents, broken } => stack.push((if *broken { Mode::Break } else { mode }, contents)),
            Doc::IfBreak { broken, flat } => stack.push((mode, if mode == Mode::Break { broken } else { flat })),
            Doc::Line(kind) => {
                if mode == Mode::Break || *kind == LineKind::Hard {
                    return true;
                }
                if *kind == LineKind::Line {
                    room -= 1;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(members: Vec<Doc>) -> Doc {
        group(
            concat(vec![
                text("{"),
                indent(concat(vec![
                    line(),
                    join(concat(vec![if_break(text(""), text(";")), line()]), members),
                ])),
                line(),
                text("}"),
            ]),
            false,
        )
    }

    #[test]
    fn a_group_stays_flat_when_it_fits_and_breaks_when_it_does_not() {
        let short = object(vec![text("Args: never"), text("Returns: number")]);
        assert_eq!(print(&short), "{ Args: never; Returns: number }");
        let long = object(vec![text("Args: never"), text("x".repeat(80))]);
        assert_eq!(print(&long), format!("{{\n  Args: never\n  {}\n}}", "x".repeat(80)));
    }

    #[test]
    fn a_hard_line_breaks_the_groups_around_it() {
        let doc = group(
            concat(vec![
                text("a"),
                line(),
                group(concat(vec![text("b"), hardline(), text("c")]), false),
            ]),
            false,
        );
        assert_eq!(print(&doc), "a\nb\nc");
    }

    #[test]
    fn what_follows_a_group_on_its_line_counts() {
        // 76 columns of group and 5 after it: the group breaks; 2 after it: it fits.
        let doc = concat(vec![object(vec![text("x".repeat(72))]), text(" & \"\""), hardline()]);
        assert!(print(&doc).starts_with("{\n"));
        let doc = concat(vec![object(vec![text("x".repeat(72))]), text(" &"), hardline()]);
        assert!(print(&doc).starts_with("{ x"));
    }
}
