//! Differences between two snapshots, object by object, attribute by attribute.

use super::{Change, Difference, ObjectId, ObjectKind, Snapshot};

pub(super) fn differences(expected: &Snapshot, actual: &Snapshot) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut expected_objects = expected.objects.iter().peekable();
    let mut actual_objects = actual.objects.iter().peekable();
    // Both maps are sorted: walk them together.
    loop {
        match (expected_objects.peek(), actual_objects.peek()) {
            (None, None) => break,
            (Some((id, _)), None) => {
                out.push(Difference {
                    object: ObjectId::clone(id),
                    change: Change::Removed,
                });
                expected_objects.next();
            }
            (None, Some((id, _))) => {
                out.push(Difference {
                    object: ObjectId::clone(id),
                    change: Change::Added,
                });
                actual_objects.next();
            }
            (Some((e_id, e_attrs)), Some((a_id, a_attrs))) => match e_id.cmp(a_id) {
                std::cmp::Ordering::Less => {
                    out.push(Difference {
                        object: ObjectId::clone(e_id),
                        change: Change::Removed,
                    });
                    expected_objects.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push(Difference {
                        object: ObjectId::clone(a_id),
                        change: Change::Added,
                    });
                    actual_objects.next();
                }
                std::cmp::Ordering::Equal => {
                    if !e_attrs.same(a_attrs) {
                        let (e_attrs, a_attrs) = (e_attrs.attributes(), a_attrs.attributes());
                        let keys: std::collections::BTreeSet<&String> = e_attrs.keys().chain(a_attrs.keys()).collect();
                        for key in keys {
                            let (e, a) = (e_attrs.get(key), a_attrs.get(key));
                            if e != a {
                                out.push(Difference {
                                    object: ObjectId::clone(e_id),
                                    change: Change::Changed {
                                        attribute: key.clone(),
                                        expected: e.cloned(),
                                        actual: a.cloned(),
                                    },
                                });
                            }
                        }
                    }
                    expected_objects.next();
                    actual_objects.next();
                }
            },
        }
    }
    // An object that is added or removed takes its columns, privileges and the like with it:
    // name the object, not each of its parts.
    let gone: Vec<ObjectId> = out
        .iter()
        .filter(|d| {
            matches!(d.change, Change::Added | Change::Removed) && !matches!(d.object.kind, ObjectKind::Privilege | ObjectKind::Column)
        })
        .map(|d| d.object.clone())
        .collect();
    let gone: Vec<&ObjectId> = gone.iter().collect();
    out.retain(|d| match d.change {
        Change::Added | Change::Removed => !is_part_of(&d.object, &gone),
        Change::Changed { .. } => true,
    });
    out
}

/// A column of a table, a privilege on an object, an index on a table... that is itself listed.
fn is_part_of(object: &ObjectId, listed: &[&ObjectId]) -> bool {
    listed.iter().any(|whole| {
        let name = &whole.name;
        match object.kind {
            ObjectKind::Column => {
                object.name.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('.')) && whole.kind.is_relation()
            }
            ObjectKind::Privilege => {
                object.name.contains(&format!(" on {whole} to ")) || object.name.contains(&format!(" on column {name}."))
            }
            ObjectKind::Index | ObjectKind::Constraint | ObjectKind::Trigger | ObjectKind::Policy | ObjectKind::Rule => {
                object.name.ends_with(&format!(" on {name}")) && whole.kind.is_relation()
            }
            _ => false,
        }
    })
}

/// How the differences of one comparison are put into words.
pub struct Wording {
    /// What an object that should not be there "is" ("is still there", "is new").
    pub added: &'static str,
    /// When the state was seen ("after 002_x_rollback.sql").
    pub after: String,
    /// When the expected state was seen ("before 002_x.sql").
    pub before: String,
}

impl Difference {
    /// One sentence, and for long values the two versions to show under it.
    pub fn describe(&self, wording: &Wording) -> (String, Option<String>) {
        let object = &self.object;
        match &self.change {
            Change::Added => (format!("{object} {} {}", wording.added, wording.after), None),
            Change::Removed => (
                format!("{object} is missing {} (it existed {})", wording.after, wording.before),
                None,
            ),
            Change::Changed {
                attribute,
                expected,
                actual,
            } => {
                if is_long(expected) || is_long(actual) {
                    let detail = format!("{}:\n{}\n{}:\n{}", wording.before, indent(expected), wording.after, indent(actual));
                    (format!("{attribute} of {object} differs"), Some(detail))
                } else {
                    (format!("{attribute} of {object} is {}, was {}", show(actual), show(expected)), None)
                }
            }
        }
    }
}

impl crate::failure::Ignored {
    /// "view public.v differs (ignored by view:* at dbgate.toml:3:12)".
    pub fn describe(&self) -> String {
        let object = &self.difference.object;
        let what = match &self.difference.change {
            Change::Added => format!("{object} is left over"),
            Change::Removed => format!("{object} is missing"),
            Change::Changed { attribute, .. } => format!("{attribute} of {object} differs"),
        };
        format!("{what} (ignored by {} at {})", self.pattern, self.source)
    }
}

/// A value too long for a sentence: several lines, or over 60 characters.
pub(super) fn is_long(value: &Option<String>) -> bool {
    value.as_ref().is_some_and(|v| v.contains('\n') || v.chars().count() > 60)
}

fn show(value: &Option<String>) -> &str {
    // Function bodies usually carry the white space around them; it says nothing.
    value.as_deref().map_or("not set", str::trim)
}

fn indent(value: &Option<String>) -> String {
    const MAX_LINES: usize = 20;
    let text = show(value);
    let mut lines: Vec<String> = text.lines().take(MAX_LINES).map(|l| format!("    {l}")).collect();
    if text.lines().count() > MAX_LINES {
        lines.push(format!("    ... ({} more lines)", text.lines().count() - MAX_LINES));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    type Object<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    fn snapshot(objects: &[Object]) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for (kind, name, attrs) in objects {
            let attrs: super::super::Attributes = attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            snapshot.insert_for_test(
                ObjectId {
                    kind: ObjectKind::from_word(kind).expect("a kind's word"),
                    name: name.to_string(),
                    schema: None,
                },
                attrs,
            );
        }
        snapshot
    }

    #[test]
    fn the_parts_of_a_materialized_view_or_foreign_table_go_with_it() {
        // Two-word kinds: their indexes and columns are named with them, not each on its own.
        let before = snapshot(&[]);
        let after = snapshot(&[
            ("materialized view", "s.mv", &[]),
            ("index", "mv_idx on s.mv", &[]),
            ("foreign table", "s.ft", &[]),
            ("column", "s.ft.x", &[]),
        ]);
        let differences = differences(&before, &after);
        let named: Vec<String> = differences.iter().map(|d| d.object.to_string()).collect();
        assert_eq!(named, vec!["foreign table s.ft", "materialized view s.mv"]);
    }

    #[test]
    fn names_what_was_added_removed_and_changed() {
        let before = snapshot(&[
            ("column", "public.t.status", &[("default", "'draft'::text")]),
            ("function", "public.f()", &[]),
        ]);
        let after = snapshot(&[
            ("column", "public.t.status", &[("default", "'old'::text")]),
            (
                "index",
                "i on public.t",
                &[("definition", "CREATE INDEX i ON public.t USING btree (x)")],
            ),
        ]);
        let wording = Wording {
            added: "is still there",
            after: "after r.sql".into(),
            before: "before m.sql".into(),
        };
        let sentences: Vec<String> = after.differences_from(&before).iter().map(|d| d.describe(&wording).0).collect();
        assert_eq!(
            sentences,
            vec![
                "default of column public.t.status is 'old'::text, was 'draft'::text",
                "function public.f() is missing after r.sql (it existed before m.sql)",
                "index i on public.t is still there after r.sql",
            ]
        );
    }

    #[test]
    fn a_table_left_behind_is_named_once_not_with_every_part() {
        let before = snapshot(&[]);
        let after = snapshot(&[
            ("table", "public.t", &[]),
            ("column", "public.t.id", &[]),
            ("privilege", "SELECT on table public.t to bob", &[]),
            ("index", "t_pkey on public.t", &[]),
        ]);
        let diffs = after.differences_from(&before);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(diffs[0].object.to_string(), "table public.t");
    }
}
