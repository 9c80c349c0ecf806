//! The layout `describe` prints: `Label:  value` lines whose values line up
//! within each run of consecutive fields, section headings, multi-line
//! values (labels, annotations) continued under the value column, and small
//! tables (conditions, events).

use crate::printers::table::{line, widen};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Line {
    Field { indent: usize, label: String, value: String },
    Heading { indent: usize, text: String },
    Raw(String),
}

/// A describe page being built.
#[derive(Debug, Default, Clone)]
pub struct Doc {
    lines: Vec<Line>,
}

const GAP: usize = 2;

impl Doc {
    /// `Label:  value` at the top level.
    pub fn field(&mut self, label: &str, value: impl Into<String>) {
        self.field_at(0, label, value);
    }

    pub fn field_at(&mut self, indent: usize, label: &str, value: impl Into<String>) {
        self.lines.push(Line::Field { indent, label: label.to_string(), value: value.into() });
    }

    /// `Label:` on its own line, opening a section.
    pub fn heading(&mut self, indent: usize, text: &str) {
        self.lines.push(Line::Heading { indent, text: text.to_string() });
    }

    /// One `key=value` per line, or `<none>`.
    pub fn map_field(&mut self, indent: usize, label: &str, map: &BTreeMap<String, String>) {
        let value = if map.is_empty() {
            "<none>".to_string()
        } else {
            map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
        };
        self.field_at(indent, label, value);
    }

    /// A line of text as it is, indented (list items such as HPA policies).
    pub fn text(&mut self, indent: usize, text: &str) {
        self.lines.push(Line::Raw(format!("{}{text}", " ".repeat(indent))));
    }

    /// A table under a header and a rule of dashes, indented.
    pub fn table(&mut self, indent: usize, header: &[&str], rows: &[Vec<String>]) {
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        let rule: Vec<String> = header.iter().map(|h| "-".repeat(h.chars().count())).collect();
        let mut widths = Vec::new();
        widen(&mut widths, &header);
        for row in rows {
            widen(&mut widths, row);
        }
        let pad = " ".repeat(indent);
        for cells in std::iter::once(&header).chain(std::iter::once(&rule)).chain(rows) {
            let text = line(cells, &widths);
            self.lines.push(Line::Raw(format!("{pad}{}", text.trim_end_matches('\n'))));
        }
    }

    /// The page's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.lines.len() {
            match &self.lines[i] {
                Line::Heading { indent, text } => out.push_str(&format!("{}{text}:\n", " ".repeat(*indent))),
                Line::Raw(text) => out.push_str(&format!("{text}\n")),
                Line::Field { .. } => {
                    let end = self.block_end(i);
                    self.render_block(&self.lines[i..end], &mut out);
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        out
    }

    /// The end of the run of fields starting at `start`.
    fn block_end(&self, start: usize) -> usize {
        let mut end = start;
        while matches!(self.lines.get(end), Some(Line::Field { .. })) {
            end += 1;
        }
        end
    }

    /// A run of fields, their values in one column (as kubectl's tab writer
    /// aligns consecutive lines, whatever their indent).
    fn render_block(&self, block: &[Line], out: &mut String) {
        let fields: Vec<(usize, &String, &String)> = block
            .iter()
            .filter_map(|l| match l {
                Line::Field { indent, label, value } => Some((*indent, label, value)),
                _ => None,
            })
            .collect();
        let column = fields.iter().map(|(i, l, _)| i + l.chars().count() + 1).max().unwrap_or(0) + GAP;
        for (indent, label, value) in fields {
            let mut values = value.lines();
            let first = values.next().unwrap_or("");
            let head = format!("{}{label}:", " ".repeat(indent));
            if first.is_empty() {
                out.push_str(&format!("{head}\n"));
            } else {
                out.push_str(&format!("{head:<column$}{first}\n"));
            }
            for more in values {
                out.push_str(&format!("{}{more}\n", " ".repeat(column)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_align_per_run_and_continue_under_the_value() {
        let mut doc = Doc::default();
        doc.field("Name", "web-1");
        doc.field("Namespace", "default");
        doc.map_field(
            0,
            "Labels",
            &[("app".to_string(), "web".to_string()), ("tier".to_string(), "a".to_string())].into(),
        );
        doc.heading(0, "Containers");
        doc.heading(2, "nginx");
        doc.field_at(4, "Image", "nginx:1");
        doc.field_at(6, "Started", "now");
        doc.field_at(4, "Ready", "True");
        doc.heading(0, "Conditions");
        doc.table(2, &["Type", "Status"], &[vec!["Ready".into(), "True".into()]]);
        assert_eq!(
            doc.render(),
            "Name:       web-1\n\
             Namespace:  default\n\
             Labels:     app=web\n\
             \x20           tier=a\n\
             Containers:\n\
             \x20 nginx:\n\
             \x20   Image:      nginx:1\n\
             \x20     Started:  now\n\
             \x20   Ready:      True\n\
             Conditions:\n\
             \x20 Type    Status\n\
             \x20 ----    ------\n\
             \x20 Ready   True\n"
        );
    }
}
