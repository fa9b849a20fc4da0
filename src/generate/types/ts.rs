//! TypeScript type expressions, printed as prettier 3 prints them (its defaults, `semi: false`):
//! object types, unions, intersections, arrays and tuples, and the JavaScript object and array
//! literals of `Constants`.

use super::doc::{self, align, concat, group, if_break, indent, join, line, softline, text, Doc};

/// A type expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ts {
    /// A keyword or a reference: `number`, `Json`, `Database["public"]["Enums"]["status"]`.
    Raw(String),
    /// A string literal type.
    Str(String),
    Array(Box<Ts>),
    Union(Vec<Ts>),
    Intersection(Vec<Ts>),
    Tuple(Vec<Ts>),
    /// A type literal; `expanded` when the generator's template opened it on its own line,
    /// which prettier keeps broken.
    Object {
        members: Vec<Member>,
        expanded: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Lines written above the member (comments).
    pub comments: Vec<String>,
    pub key: Key,
    pub optional: bool,
    pub ty: Ts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A property name, quoted only when it must be.
    Name(String),
    /// Written as is: `[_ in never]`.
    Raw(String),
}

impl Member {
    pub fn new(name: &str, optional: bool, ty: Ts) -> Member {
        Member {
            comments: Vec::new(),
            key: Key::Name(name.to_string()),
            optional,
            ty,
        }
    }
}

pub fn raw(s: &str) -> Ts {
    Ts::Raw(s.to_string())
}

/// `T | null`, flattened as TypeScript reads it.
pub fn or_null(ty: Ts) -> Ts {
    match ty {
        Ts::Union(mut types) => {
            types.push(raw("null"));
            Ts::Union(types)
        }
        other => Ts::Union(vec![other, raw("null")]),
    }
}

pub fn object(members: Vec<Member>, expanded: bool) -> Ts {
    Ts::Object { members, expanded }
}

/// The empty mapped type the generator writes for an empty section.
pub fn never_section() -> Ts {
    object(
        vec![Member {
            comments: Vec::new(),
            key: Key::Raw("[_ in never]".to_string()),
            optional: false,
            ty: raw("never"),
        }],
        true,
    )
}

impl Ts {
    pub fn doc(&self) -> Doc {
        match self {
            Ts::Raw(s) => text(s.clone()),
            Ts::Str(s) => text(string_literal(s)),
            Ts::Array(element) => match element.as_ref() {
                Ts::Union(_) | Ts::Intersection(_) => concat(vec![text("("), element.union_doc(true), text(")[]")]),
                other => concat(vec![other.doc(), text("[]")]),
            },
            Ts::Union(_) => self.union_doc(false),
            Ts::Intersection(types) => {
                let mut parts = Vec::new();
                for (index, ty) in types.iter().enumerate() {
                    if index > 0 {
                        let objects = (types[index - 1].is_object(), ty.is_object());
                        if objects == (false, false) {
                            parts.push(indent(concat(vec![text(" &"), line(), ty.doc()])));
                            continue;
                        }
                        parts.push(text(" & "));
                        if index > 1 && objects.0 != objects.1 {
                            parts.push(indent(ty.doc()));
                            continue;
                        }
                    }
                    parts.push(ty.doc());
                }
                group(concat(parts), false)
            }
            Ts::Tuple(items) => {
                if items.is_empty() {
                    return text("[]");
                }
                bracketed("[", "]", items.iter().map(|t| t.doc()).collect(), false)
            }
            Ts::Object { members, expanded } => {
                if members.is_empty() {
                    return text("{}");
                }
                let members: Vec<Doc> = members.iter().map(Member::doc).collect();
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
                    *expanded,
                )
            }
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, Ts::Object { .. })
    }

    /// Prettier's union: `A | B` when it fits, else one member a line after a leading `|`;
    /// `{ … } | null` hugged.
    fn union_doc(&self, in_parentheses: bool) -> Doc {
        let types = match self {
            Ts::Union(types) => types,
            other => return other.doc(),
        };
        let nulls = types.iter().filter(|t| **t == raw("null")).count();
        let hug = types.len() - 1 == nulls && types.iter().any(Ts::is_object);
        if hug {
            return join(text(" | "), types.iter().map(Ts::doc).collect());
        }
        let members: Vec<Doc> = types.iter().map(|t| align(2, t.doc())).collect();
        let code = concat(vec![
            if_break(concat(vec![line(), text("| ")]), text("")),
            join(concat(vec![line(), text("| ")]), members),
        ]);
        if in_parentheses {
            group(concat(vec![indent(code), softline()]), false)
        } else {
            group(indent(code), false)
        }
    }
}

impl Member {
    fn doc(&self) -> Doc {
        let mut parts = Vec::new();
        for comment in &self.comments {
            parts.push(text(comment.clone()));
            parts.push(doc::hardline());
        }
        parts.push(text(match &self.key {
            Key::Name(name) => property_key(name),
            Key::Raw(raw) => raw.clone(),
        }));
        if self.optional {
            parts.push(text("?"));
        }
        parts.push(text(": "));
        parts.push(self.ty.doc());
        group(concat(parts), false)
    }
}

/// `[a, b]` or `{ a, b }` broken one item a line, with a trailing comma when broken.
fn bracketed(open: &str, close: &str, items: Vec<Doc>, expanded: bool) -> Doc {
    let (inner, outer) = if open == "{" { (line(), line()) } else { (softline(), softline()) };
    group(
        concat(vec![
            text(open),
            indent(concat(vec![inner, join(concat(vec![text(","), line()]), items)])),
            if_break(text(","), text("")),
            outer,
            text(close),
        ]),
        expanded,
    )
}

/// A JavaScript object literal whose values are arrays of strings (`Constants`), or objects of
/// such.
#[derive(Debug, Clone)]
pub enum Js {
    Strings(Vec<String>),
    Object(Vec<(String, Js)>),
}

impl Js {
    /// Objects are written opened on their own line (kept broken); arrays fit or break.
    pub fn doc(&self) -> Doc {
        match self {
            Js::Strings(items) => {
                if items.is_empty() {
                    return text("[]");
                }
                bracketed("[", "]", items.iter().map(|s| text(string_literal(s))).collect(), false)
            }
            Js::Object(entries) => {
                if entries.is_empty() {
                    return text("{}");
                }
                let items = entries
                    .iter()
                    .map(|(key, value)| group(concat(vec![text(property_key(key)), text(": "), value.doc()]), false))
                    .collect();
                bracketed("{", "}", items, true)
            }
        }
    }
}

/// A property name as prettier writes it (`quoteProps: "as-needed"`): bare when it is an
/// identifier name, else a string.
pub fn property_key(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = match chars.next() {
        Some(first) => {
            (first == '$' || first == '_' || first.is_alphabetic()) && chars.all(|c| c == '$' || c == '_' || c.is_alphanumeric())
        }
        None => false,
    };
    if identifier {
        name.to_string()
    } else {
        string_literal(name)
    }
}

/// A string as `JSON.stringify` writes it and prettier re-quotes it: double quotes unless the
/// text holds more double quotes than single ones.
pub fn string_literal(value: &str) -> String {
    let json = serde_json::to_string(value).expect("a string serializes");
    let content = &json[1..json.len() - 1];
    let (doubles, singles) = (content.matches('"').count(), content.matches('\'').count());
    let quote = if doubles > singles { '\'' } else { '"' };
    let mut out = String::with_capacity(content.len() + 2);
    out.push(quote);
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // An escaped quote that no longer needs it.
                Some(q @ ('"' | '\'')) if q != quote => out.push(q),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::types::doc::print;

    fn at(depth: usize, ty: &Ts) -> String {
        // A member `depth` levels deep, as in the generated file.
        let mut wrapped = ty.clone();
        for _ in 0..depth {
            wrapped = object(vec![Member::new("k", false, wrapped)], true);
        }
        print(&wrapped.doc())
    }

    #[test]
    fn keys_are_quoted_only_when_they_must_be() {
        assert_eq!(property_key("user_id"), "user_id");
        assert_eq!(property_key("user-id"), "\"user-id\"");
        assert_eq!(property_key(""), "\"\"");
        assert_eq!(property_key("1st"), "\"1st\"");
        assert_eq!(string_literal("it's"), "\"it's\"");
        assert_eq!(string_literal("say \"hi\""), "'say \"hi\"'");
    }

    #[test]
    fn a_long_union_breaks_with_leading_bars_and_an_object_or_null_hugs() {
        let long = or_null(raw(
            "Database[\"public\"][\"CompositeTypes\"][\"composite_type_with_array_attribute\"]",
        ));
        let row = object(vec![Member::new("test_unnamed_row_composite", false, long)], true);
        assert_eq!(
            at(0, &row),
            "{\n  test_unnamed_row_composite:\n    | Database[\"public\"][\"CompositeTypes\"][\"composite_type_with_array_attribute\"]\n    | null\n}"
        );
        let hugged = or_null(object(vec![Member::new("id", false, raw("number"))], true));
        let row = object(vec![Member::new("f", false, hugged)], true);
        assert_eq!(at(0, &row), "{\n  f: {\n    id: number\n  } | null\n}");
    }

    #[test]
    fn arrays_of_unions_keep_their_parentheses() {
        let ty = Ts::Array(Box::new(Ts::Union(vec![Ts::Str("a".into()), Ts::Str("b".into())])));
        assert_eq!(print(&ty.doc()), "(\"a\" | \"b\")[]");
        assert_eq!(print(&Ts::Array(Box::new(raw("number"))).doc()), "number[]");
    }
}
