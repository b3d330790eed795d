//! QuoteWerks' text rows → texts on the order (pure; unit-tested natively).
//!
//! QuoteWerks has no text *on* a line: comments, headings and group headers are rows of their
//! own. An ERP order keeps text on its head or on a line, before or after it, so each text row
//! goes to the order line it belongs to:
//! - a heading (256) or a group header (8) introduces what follows: pre-text of the next order
//!   line (a group header: of its first member that is sent);
//! - a comment (2) remarks on what precedes it: post-text of the order line above;
//! - a comment before any order line is head pre-text; a heading with no order line after it
//!   is head post-text.
//!
//! Excluded rows (attribute 1) carry no text; nor do unselected options or the rows of a group
//! that is not sent. A row's `Notes` follows its `Description` when both are filled.

use std::collections::BTreeMap;

use crate::lines::{EXCLUDE, GROUP_HEADER, OrderLine, RawLine};

pub const COMMENT: i64 = 2;
pub const HEADING: i64 = 256;

/// Where the texts go: by order line index (into `Lines::lines`), and on the head.
#[derive(Debug, Default, PartialEq)]
pub struct Texts {
    pub head_pre: Vec<String>,
    pub head_post: Vec<String>,
    pub line_pre: BTreeMap<usize, Vec<String>>,
    pub line_post: BTreeMap<usize, Vec<String>>,
}

/// A text row's words: its description, then its notes; None when both are blank.
fn text_of(row: &RawLine, notes: &str) -> Option<String> {
    let parts: Vec<&str> = [row.description.trim(), notes.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// `notes[i]` is row i's `Notes` column (empty when absent).
pub fn attach(rows: &[RawLine], notes: &[String], lines: &[OrderLine]) -> Texts {
    let mut t = Texts::default();
    // Source row → order line index.
    let by_source: BTreeMap<usize, usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.source, i))
        .collect();
    let next_line = |from: usize| by_source.range(from..).next().map(|(_, &i)| i);
    let prev_line = |before: usize| by_source.range(..before).next_back().map(|(_, &i)| i);
    for (i, row) in rows.iter().enumerate() {
        if row.attributes & EXCLUDE != 0 {
            continue;
        }
        let note = notes.get(i).map(String::as_str).unwrap_or("");
        match row.line_type {
            HEADING => {
                let Some(text) = text_of(row, note) else {
                    continue;
                };
                match next_line(i + 1) {
                    Some(l) => t.line_pre.entry(l).or_default().push(text),
                    None => t.head_post.push(text),
                }
            }
            COMMENT => {
                let Some(text) = text_of(row, note) else {
                    continue;
                };
                match prev_line(i) {
                    Some(l) => t.line_post.entry(l).or_default().push(text),
                    None => t.head_pre.push(text),
                }
            }
            GROUP_HEADER => {
                // The group's first member that is sent; a group sending none has no text.
                if let Some((idx, _)) = lines.iter().enumerate().find(|(_, l)| l.group == Some(i))
                    && let Some(text) = text_of(row, note)
                {
                    t.line_pre.entry(idx).or_default().push(text);
                }
            }
            _ => {}
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::{GROUP_MEMBER, PRODUCT, order_lines};
    use rust_decimal::Decimal;

    fn row(line_type: i64, attributes: i64, description: &str) -> RawLine {
        RawLine {
            line_type,
            attributes,
            description: description.into(),
            qty_total: Decimal::ONE,
            qty_group_multiplier: Decimal::ONE,
            unit_price: Decimal::TEN,
            ..RawLine::default()
        }
    }

    #[test]
    fn each_text_row_goes_to_the_order_line_it_belongs_to() {
        let rows = vec![
            row(COMMENT, 0, "Thank you for your order"),
            row(HEADING, 0, "Hardware"),
            row(PRODUCT, 0, "Server"),
            row(COMMENT, 0, "Delivered to the loading dock"),
            row(COMMENT, EXCLUDE, "not for the customer"),
            row(GROUP_HEADER, 0, "Starter kit"),
            row(PRODUCT, GROUP_MEMBER, "Cable"),
            row(PRODUCT, GROUP_MEMBER, "Rack"),
            row(HEADING, 0, "Terms apply"),
        ];
        let notes: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if i == 3 {
                    "Call ahead".into()
                } else {
                    String::new()
                }
            })
            .collect();
        let lines = order_lines(&rows, &[]).lines;
        assert_eq!(lines.len(), 3);
        let t = attach(&rows, &notes, &lines);
        assert_eq!(t.head_pre, vec!["Thank you for your order"]);
        assert_eq!(t.head_post, vec!["Terms apply"]);
        assert_eq!(t.line_pre[&0], vec!["Hardware"]);
        assert_eq!(
            t.line_post[&0],
            vec!["Delivered to the loading dock\nCall ahead"]
        );
        assert_eq!(t.line_pre[&1], vec!["Starter kit"]);
        assert!(!t.line_pre.contains_key(&2) && !t.line_post.contains_key(&1));
    }

    #[test]
    fn an_excluded_group_has_no_text() {
        let rows = vec![
            row(PRODUCT, 0, "Server"),
            row(GROUP_HEADER, EXCLUDE, "Optional kit"),
            row(PRODUCT, GROUP_MEMBER, "Cable"),
        ];
        let lines = order_lines(&rows, &[]).lines;
        let t = attach(&rows, &[], &lines);
        assert_eq!(t, Texts::default());
    }
}
