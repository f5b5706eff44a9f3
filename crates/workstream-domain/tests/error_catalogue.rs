//! `docs/error-codes.md` is the catalogue, written out: this test renders the page from
//! [`ErrorCode::ALL`] and fails when the committed page differs, so the page cannot
//! fall behind the code. `WORKSTREAM_WRITE_DOCS=1` rewrites it instead.

use std::fmt::Write as _;
use std::path::Path;

use workstream_domain::ErrorCode;

fn render() -> String {
    let mut page = String::from(
        "# Error codes\n\n\
         <!-- Written from crates/workstream-domain/src/error_code.rs by \
         `WORKSTREAM_WRITE_DOCS=1 cargo test -p workstream-domain --test error_catalogue`; \
         edit the catalogue, not this page. -->\n\n\
         Every failure a Workstream server answers carries one of these codes in its error \
         envelope (`{\"error\": {code, message, details, correlation_id, retryable}}`), \
         always with the status given here; `retryable` is true for 429 and 503. The \
         message of an answer may say more than the meaning below (which field, which \
         limit); programs match the code. The CLI prints the fix under an error \
         (`fix: ...`), the UI shows it as \"What to do\", and the API document \
         (`GET /api/v1/openapi.json`) carries the same catalogue as `x-error-catalogue` \
         and lists each operation's codes in `x-error-codes`.\n\n\
         Codes are stable: a code is never renamed or given another status.\n",
    );
    for group in ErrorCode::GROUPS {
        write!(
            page,
            "\n## {group}\n\n| code | status | meaning | what to do |\n|---|---:|---|---|\n"
        )
        .unwrap();
        for code in ErrorCode::ALL.iter().filter(|c| c.group() == *group) {
            writeln!(
                page,
                "| `{}` | {} | {} | {} |",
                code.as_str(),
                code.status(),
                cell(code.message()),
                cell(code.fix())
            )
            .unwrap();
        }
    }
    page
}

/// Table cells: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[test]
fn the_error_codes_page_is_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/error-codes.md");
    let page = render();
    if std::env::var_os("WORKSTREAM_WRITE_DOCS").is_some() {
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "docs/error-codes.md differs from the catalogue: run \
         `WORKSTREAM_WRITE_DOCS=1 cargo test -p workstream-domain --test error_catalogue`"
    );
}

#[test]
fn every_code_is_in_a_group() {
    for code in ErrorCode::ALL {
        assert!(ErrorCode::GROUPS.contains(&code.group()), "{code}");
    }
    let listed: usize = ErrorCode::GROUPS
        .iter()
        .map(|g| ErrorCode::ALL.iter().filter(|c| c.group() == *g).count())
        .sum();
    assert_eq!(listed, ErrorCode::ALL.len());
}
