//! Text from the repo and the server (file names, identifiers, messages, test descriptions) may
//! hold control characters: an escape sequence in a migration's RAISE can repaint a reviewer's
//! terminal or forge a workflow command. The console and the annotations render a copy of the
//! report in which every such character is written out (`\x1b`), in one place; line breaks and
//! tabs stay.

use super::Report;

impl Report {
    /// The report with every control character but line breaks and tabs written out.
    pub fn without_control_characters(&self) -> Report {
        let Ok(mut value) = serde_json::to_value(self) else {
            return self.clone();
        };
        let mut changed = false;
        escape_strings(&mut value, &mut changed);
        if !changed {
            return self.clone();
        }
        serde_json::from_value(value).unwrap_or_else(|_| self.clone())
    }
}

fn escape_strings(value: &mut serde_json::Value, changed: &mut bool) {
    match value {
        serde_json::Value::String(text) if text.chars().any(is_hostile) => {
            *text = escape(text);
            *changed = true;
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| escape_strings(v, changed)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| escape_strings(v, changed)),
        _ => {}
    }
}

/// A control character other than a line break or tab, or a bidirectional override.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_override(c)
}

/// One of Unicode's bidirectional embeddings, overrides and isolates: they reorder what a
/// terminal or a page shows.
pub(super) fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hostile(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(
            super::escape("bad \u{1b}[31mred\u{7}\r\nnext\tx"),
            "bad \\x1b[31mred\\x07\\x0d\nnext\tx"
        );
        assert_eq!(super::escape("a\u{202e}b"), "a\\u{202e}b");
    }
}
