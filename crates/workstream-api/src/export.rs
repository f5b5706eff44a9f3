//! Exports: a whole list, streamed as CSV or JSON lines.
//!
//! An export walks the same keyset pages as its list route ([`EXPORT_PAGE`] rows at a
//! time, each page on a pooled connection held only while it is read), so memory stays
//! flat however long the list, and the first bytes leave before the last row is read.
//! Authority is checked before the stream starts; a fault after it ends the body early
//! (the client sees a cut transfer, never a complete-looking file), and is logged.
//!
//! CSV follows RFC 4180 (the `csv` crate) with a header row of the list's column names.
//! Nested values (a payload) are written as compact JSON. A text cell that a spreadsheet
//! would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) is prefixed with `'`: tasks, reasons and findings are written by people the
//! reader of the file does not control (OWASP's CSV injection advice). JSON lines carry
//! each item exactly as the list route answers it.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Rows read per page of an export.
pub const EXPORT_PAGE: u32 = 1000;

/// The format an export is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row (`text/csv`).
    #[default]
    Csv,
    /// One JSON object per line (`application/x-ndjson`).
    Jsonl,
}

impl Format {
    fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// One export: its format, the file name offered to the client (without extension),
/// and the CSV columns, in order.
#[derive(Debug, Clone)]
pub struct Export {
    /// CSV or JSON lines.
    pub format: Format,
    /// The download's base name (`project-audit-events`, say).
    pub name: String,
    /// The CSV columns: the header, and the item's key it shows (dotted for a nested
    /// one: `projection.delivery_status`).
    pub columns: &'static [(&'static str, &'static str)],
}

/// Where a page ends: the last item's id, or the end of the list.
type PageResult = Result<Vec<(Uuid, Value)>, ApiError>;

impl Export {
    /// Streams every item `fetch` yields, page after page: `fetch(after)` answers the
    /// items after the id `after` (the first page for `None`), at most
    /// [`EXPORT_PAGE`]; a shorter page is the last.
    pub fn stream<F, Fut>(self, fetch: F) -> Response
    where
        F: FnMut(Option<Uuid>) -> Fut + Send + 'static,
        Fut: Future<Output = PageResult> + Send + 'static,
    {
        let disposition = format!(
            "attachment; filename=\"{}.{}\"",
            self.name,
            self.format.extension()
        );
        let media_type = self.format.media_type();
        let state = Walk {
            export: self,
            fetch,
            after: None,
            header_written: false,
            done: false,
        };
        let stream = futures_util::stream::unfold(state, |mut walk| async move {
            let chunk = walk.next_chunk().await?;
            Some((chunk, walk))
        });
        let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        response
    }
}

/// The walk through an export's pages.
struct Walk<F> {
    export: Export,
    fetch: F,
    after: Option<Uuid>,
    header_written: bool,
    done: bool,
}

impl<F, Fut> Walk<F>
where
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: Future<Output = PageResult>,
{
    /// The next chunk of the body, `None` at the end. A failed page ends the stream with
    /// an error, so the transfer is cut rather than looking complete.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let page = match (self.fetch)(self.after).await {
            Ok(page) => page,
            Err(error) => {
                self.done = true;
                tracing::error!(export = %self.export.name, ?error, "an export stopped part-way");
                return Some(Err(std::io::Error::other(
                    "the export could not be completed",
                )));
            }
        };
        if page.len() < EXPORT_PAGE as usize {
            self.done = true;
        }
        self.after = page.last().map(|(id, _)| *id);
        let mut out = Vec::new();
        if !self.header_written && self.export.format == Format::Csv {
            self.header_written = true;
            out.extend(csv_line(
                self.export
                    .columns
                    .iter()
                    .map(|(name, _)| (*name).to_owned()),
            ));
        }
        for (_, item) in &page {
            match self.export.format {
                Format::Csv => out.extend(csv_line(
                    self.export.columns.iter().map(|(_, path)| cell(item, path)),
                )),
                Format::Jsonl => {
                    out.extend(serde_json::to_vec(item).unwrap_or_default());
                    out.push(b'\n');
                }
            }
        }
        if out.is_empty() && self.done {
            return None;
        }
        Some(Ok(Bytes::from(out)))
    }
}

/// One CSV record, with its line end.
fn csv_line(cells: impl Iterator<Item = String>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let cells: Vec<String> = cells.collect();
    // Writing into memory cannot fail.
    let _ = writer.write_record(&cells);
    writer.into_inner().unwrap_or_default()
}

/// The CSV cell of `item` for `column` (dotted for nested keys): text as is (guarded
/// against formulas), numbers and booleans printed, null empty, anything else JSON.
pub fn cell(item: &Value, column: &str) -> String {
    let mut value = item;
    for key in column.split('.') {
        value = match value.get(key) {
            Some(v) => v,
            None => return String::new(),
        };
    }
    match value {
        Value::Null => String::new(),
        Value::String(text) => guarded(text),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => guarded(&other.to_string()),
    }
}

/// `text`, with a leading `'` if a spreadsheet would run it as a formula.
fn guarded(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_text_numbers_or_json_and_never_a_formula() {
        let item = json!({
            "title": "=HYPERLINK(\"http://x\")", "n": 3, "ok": true, "none": null,
            "payload": {"a": 1}, "projection": {"status": "fulfilled"}, "plain": "Prove it",
            "negative": "-1", "at": "@SUM(A1)",
        });
        assert_eq!(cell(&item, "title"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(cell(&item, "n"), "3");
        assert_eq!(cell(&item, "ok"), "true");
        assert_eq!(cell(&item, "none"), "");
        assert_eq!(cell(&item, "missing"), "");
        assert_eq!(cell(&item, "payload"), "{\"a\":1}");
        assert_eq!(cell(&item, "projection.status"), "fulfilled");
        assert_eq!(cell(&item, "plain"), "Prove it");
        assert_eq!(cell(&item, "negative"), "'-1");
        assert_eq!(cell(&item, "at"), "'@SUM(A1)");
    }

    #[test]
    fn a_csv_line_quotes_what_needs_quoting() {
        let line =
            csv_line(["a,b".to_owned(), "say \"hi\"".to_owned(), "x".to_owned()].into_iter());
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",x\r\n"
        );
    }
}
