//! How the review page shows a text file besides its numbered source: Markdown
//! rendered block by block, and the changes since the version it revises.
//!
//! ([`markdown_html`] renders a guide's review texts the same way, in one piece.)
//!
//! Both keep every line citable, because a review finding cites a path and a line of
//! the reviewed version:
//!
//! * [`markdown_blocks`] renders each top-level block (paragraph, heading, list,
//!   table, code block) on its own, labelled with the source line it starts on and
//!   followed by the notes (checker findings, prior review findings) of the lines it
//!   spans. The Markdown is a contributor's: raw HTML is shown as text, links keep only
//!   `http`, `https`, `mailto` and in-page targets, and images become links (the page's
//!   content security policy would not load them anyway).
//! * [`diff_rows`] is a line diff (`similar`) with three lines of context around each
//!   change; rows carry the old and the new line numbers, the reviewed version's notes
//!   under its lines, and the previous version's findings under the lines they cited.

use std::collections::BTreeMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};

/// Lines of unchanged context kept around each change.
const CONTEXT_LINES: usize = 3;

/// The 1-based line of byte `offset`, given the byte offsets where lines start.
fn line_of(line_starts: &[usize], offset: usize) -> u64 {
    (line_starts.partition_point(|&start| start <= offset)) as u64
}

/// A link target a contributor's Markdown may keep.
fn safe_target(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('#')
}

/// `event` made harmless: raw HTML as text, unsafe link targets dropped, images as links.
fn sanitize(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        })
        | Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if safe_target(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("#")
            };
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    }
}

/// `text` rendered as sanitized HTML (see the module docs), in one piece.
pub(super) fn markdown_html(text: &str) -> String {
    markdown_blocks(text, &BTreeMap::new())
        .iter()
        .filter_map(|block| block["html"].as_str())
        .collect()
}

/// `text`'s top-level Markdown blocks: `{line, end_line, html, notes}`, `html` already
/// sanitized (see the module docs), `notes` those of `notes` on the lines the block spans.
pub(super) fn markdown_blocks(text: &str, notes: &BTreeMap<u64, Vec<Value>>) -> Vec<Value> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut current: Vec<Event<'_>> = Vec::new();
    let mut start = 0usize;
    let mut finish = |events: &mut Vec<Event<'_>>, from: usize, to: usize| {
        let mut rendered = String::new();
        html::push_html(&mut rendered, events.drain(..).map(sanitize));
        let line = line_of(&line_starts, from);
        // The block's last line: the one holding its last byte that is not blank space
        // (a list's range runs on into the blank line after it).
        let last = from + text.get(from..to).map_or(0, |b| b.trim_end().len());
        let end_line = line_of(&line_starts, last.saturating_sub(1).max(from));
        let block_notes: Vec<Value> = notes
            .range(line..=end_line)
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        blocks.push(json!({
            "line": line, "end_line": end_line, "html": rendered, "notes": block_notes,
        }));
    };
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match &event {
            Event::Start(_) => {
                if depth == 0 {
                    start = range.start;
                }
                depth += 1;
                current.push(event);
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                current.push(event);
                if depth == 0 {
                    finish(&mut current, start, range.end);
                }
            }
            _ if depth == 0 => {
                // A block that is a single event (a rule).
                current.push(event);
                finish(&mut current, range.start, range.end);
            }
            _ => current.push(event),
        }
    }
    blocks
}

/// The rows of the diff from `old` to `new`: hunks of changes with their context, each
/// row `{tag: equal|delete|insert|skip, old_n, new_n, text, notes}`. A `skip` row
/// stands for unchanged lines left out between hunks (`text` says how many). Notes:
/// `new_notes` under the reviewed version's lines, `old_notes` under the previous
/// version's deleted or unchanged lines.
pub(super) fn diff_rows(
    old: &str,
    new: &str,
    old_notes: &BTreeMap<u64, Vec<Value>>,
    new_notes: &BTreeMap<u64, Vec<Value>>,
) -> Vec<Value> {
    let diff = TextDiff::from_lines(old, new);
    let mut rows = Vec::new();
    let mut shown_to_old = 0usize;
    for group in diff.grouped_ops(CONTEXT_LINES) {
        let Some(first) = group.first() else { continue };
        let skipped = first.old_range().start - shown_to_old;
        if skipped > 0 {
            rows.push(
                json!({ "tag": "skip", "text": format!("{skipped} unchanged lines"),
                              "notes": [] }),
            );
        }
        for op in &group {
            for change in diff.iter_changes(op) {
                let old_n = change.old_index().map(|i| i as u64 + 1);
                let new_n = change.new_index().map(|i| i as u64 + 1);
                let tag = match change.tag() {
                    ChangeTag::Equal => "equal",
                    ChangeTag::Delete => "delete",
                    ChangeTag::Insert => "insert",
                };
                let mut row_notes: Vec<Value> = Vec::new();
                if let Some(n) = new_n {
                    row_notes.extend(new_notes.get(&n).into_iter().flatten().cloned());
                }
                if let Some(n) = old_n.filter(|_| tag != "insert") {
                    row_notes.extend(old_notes.get(&n).into_iter().flatten().cloned());
                }
                let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
                rows.push(json!({ "tag": tag, "old_n": old_n, "new_n": new_n,
                                  "text": text, "notes": row_notes }));
            }
        }
        if let Some(last) = group.last() {
            shown_to_old = last.old_range().end;
        }
    }
    let old_lines = diff.old_slices().len();
    if !rows.is_empty() && shown_to_old < old_lines {
        rows.push(json!({ "tag": "skip",
                          "text": format!("{} unchanged lines", old_lines - shown_to_old),
                          "notes": [] }));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_blocks_keep_their_source_lines_and_their_notes() {
        let text = "# Proof\n\nBy induction\non n.\n\n- base\n- step\n\n---\n";
        let mut notes = BTreeMap::new();
        notes.insert(4, vec![json!({"code": "placeholder_signal"})]);
        let blocks = markdown_blocks(text, &notes);
        let lines: Vec<(u64, u64)> = blocks
            .iter()
            .map(|b| (b["line"].as_u64().unwrap(), b["end_line"].as_u64().unwrap()))
            .collect();
        assert_eq!(lines, [(1, 1), (3, 4), (6, 7), (9, 9)]);
        assert_eq!(blocks[0]["html"], "<h1>Proof</h1>\n");
        assert_eq!(blocks[1]["notes"], json!([{"code": "placeholder_signal"}]));
        assert!(blocks[2]["html"].as_str().unwrap().starts_with("<ul>"));
        assert_eq!(blocks[3]["html"], "<hr />\n");
    }

    #[test]
    fn a_contributors_markdown_cannot_bring_html_scripts_or_images() {
        let text = "<script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](https://example.org) \
                    ![pic](https://tracker.example/p.png) <b onclick=\"x()\">b</b>\n";
        let html: String = markdown_blocks(text, &BTreeMap::new())
            .iter()
            .map(|b| b["html"].as_str().unwrap().to_owned())
            .collect();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.org">ok</a>"#),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b onclick"), "{html}");
    }

    #[test]
    fn a_diff_numbers_both_sides_keeps_context_and_anchors_notes() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line ten\n");
        let mut old_notes = BTreeMap::new();
        old_notes.insert(10, vec![json!({"issue": "a prior finding on line 10"})]);
        let mut new_notes = BTreeMap::new();
        new_notes.insert(10, vec![json!({"code": "checker_on_new_line_10"})]);
        let rows = diff_rows(&old, &new, &old_notes, &new_notes);
        let tags: Vec<&str> = rows.iter().map(|r| r["tag"].as_str().unwrap()).collect();
        assert_eq!(
            tags,
            [
                "skip", "equal", "equal", "equal", "delete", "insert", "equal", "equal", "equal",
                "skip"
            ]
        );
        assert_eq!(rows[0]["text"], "6 unchanged lines");
        assert_eq!(rows[9]["text"], "7 unchanged lines");
        assert_eq!(
            (rows[4]["old_n"].clone(), rows[4]["new_n"].clone()),
            (json!(10), Value::Null)
        );
        assert_eq!(
            rows[4]["notes"],
            json!([{"issue": "a prior finding on line 10"}])
        );
        assert_eq!(
            (rows[5]["old_n"].clone(), rows[5]["new_n"].clone()),
            (Value::Null, json!(10))
        );
        assert_eq!(
            rows[5]["notes"],
            json!([{"code": "checker_on_new_line_10"}])
        );
        assert_eq!(rows[5]["text"], "line ten");
    }

    #[test]
    fn identical_files_have_no_rows() {
        assert!(diff_rows("a\nb\n", "a\nb\n", &BTreeMap::new(), &BTreeMap::new()).is_empty());
    }
}
