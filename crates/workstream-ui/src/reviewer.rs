//! The reviewer's pages: the current lease or offer, the review packet, the decision.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/review` | `GET /reviews/current`: the active lease (redirects to it), one offer (with a claim button), or nothing; and `GET /reviews/calibration/current`: a calibration offer or the one held ([`super::calibration`]) |
//! | `POST /ui/review/claim` | `POST /reviews/claim {queue_entry_id}` |
//! | `GET /ui/review/leases/{lid}?file=` | `GET /reviews/leases/{lid}` and the shown file's bytes, `GET /reviews/leases/{lid}/files/{path}` |
//! | `POST /ui/review/leases/{lid}/decision` | `POST /reviews/leases/{lid}/decision` |
//! | `POST /ui/review/leases/{lid}/release` | `POST /reviews/leases/{lid}/release` |
//!
//! The file viewer numbers the lines and puts each checker finding of the file
//! directly under the line it names (a finding with a path but no line heads the
//! file), marked new or persisting since the previous version; the evidence of prior
//! review findings that cites the file is marked the same way. Findings whose path is
//! another file link to that file and line. A binary file is described, not shown.
//!
//! The decision form posts `decision`, `summary`, `confidence`, `reject_reason`,
//! findings as `finding.<n>.{kind, area, issue, rationale, required_fix, path, line}`
//! (rows with no issue are left out), acceptance evidence as
//! `evidence.<n>.{path, line, note}`, and one `resolution.<finding id>.{result,
//! rationale}` per open prior finding; the handler turns that into the API's body
//! and nothing else, so every rule (evidence required, resolutions complete, no
//! self-review) is the API's, shown inline with what was typed if it refuses.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::lifecycle::{FindingKind, FindingStatus};

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::file_views;
use super::form::{FormData, Ids};
use super::home::{Viewer, page_with};
use super::session::Session;
use super::templates::s;
use super::urls::encode_path;
use super::worker::{Done, notice};

/// Most bytes of a file the viewer shows, and most lines.
pub(super) const MAX_SHOWN_BYTES: usize = 2 * 1024 * 1024;
pub(super) const MAX_SHOWN_LINES: usize = 20_000;

/// The reviewer routes.
pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/review", get(current))
        .route("/ui/review/claim", post(claim))
        .route("/ui/review/leases/{lid}", get(lease))
        .route("/ui/review/leases/{lid}/decision", post(decide))
        .route("/ui/review/leases/{lid}/release", post(release))
}

pub(super) async fn current_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    notice: Option<&str>,
    error: Option<ApiFailure>,
) -> Result<Response, Failure> {
    let current = ui.get(session, "/reviews/current").await.json()?;
    let calibration = ui
        .get(session, "/reviews/calibration/current")
        .await
        .json()?;
    if error.is_none()
        && let Some(lease) = current["lease"]["id"].as_str()
    {
        return Ok(Redirect::to(&format!("/ui/review/leases/{lease}")).into_response());
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with(
        status,
        "review.html",
        viewer,
        context! { current => s(current), calibration => s(calibration), notice => s(notice), error => s(error) },
    ))
}

async fn current(
    State(ui): State<Ui>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    current_page(&ui, &session, &viewer, notice(done.done.as_deref()), None).await
}

async fn claim(
    State(ui): State<Ui>,
    session: Session,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({});
    if let Some(entry) = form.text("queue_entry_id") {
        body["queue_entry_id"] = json!(entry);
    }
    let answer = ui
        .post(&session, "/reviews/claim", &body, &form.key())
        .await;
    match answer.failure() {
        None => {
            let lease = answer.body["lease"]["id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/ui/review/leases/{lease}")).into_response())
        }
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            current_page(&ui, &session, &viewer, None, Some(error)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    #[serde(default)]
    file: Option<String>,
    /// `source` (the default), `rendered` (Markdown) or `changes` (since the version
    /// this one revises).
    #[serde(default)]
    view: Option<String>,
    /// A checker finding's fingerprint: the first finding row starts filled from it.
    #[serde(default)]
    cite: Option<String>,
}

/// How the file viewer shows the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileView {
    /// Numbered source lines with their notes.
    Source,
    /// Markdown rendered block by block, each labelled with its first line.
    Rendered,
    /// The line diff against the previous version.
    Changes,
}

impl FileView {
    fn parse(view: Option<&str>) -> FileView {
        match view {
            Some("rendered") => FileView::Rendered,
            Some("changes") => FileView::Changes,
            _ => FileView::Source,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            FileView::Source => "source",
            FileView::Rendered => "rendered",
            FileView::Changes => "changes",
        }
    }
}

/// Whether `path` is Markdown.
fn is_markdown(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}

/// The draft of a review finding that cites checker finding `f`: the checker as the
/// area, its message as the issue, its fix as the required fix, its place as evidence;
/// blocking when the finding blocks review under the policy.
fn cite_checker_finding(f: &Value) -> BTreeMap<String, String> {
    let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
    let mut values = BTreeMap::new();
    let kind = if f["blocks_review"] == true {
        FindingKind::Blocking
    } else {
        FindingKind::Advisory
    };
    values.insert("finding.0.kind".into(), kind.as_str().into());
    values.insert("finding.0.area".into(), text("checker"));
    values.insert(
        "finding.0.issue".into(),
        format!("{} ({})", text("message"), text("code")),
    );
    values.insert("finding.0.required_fix".into(), text("suggested_fix"));
    values.insert("finding.0.path".into(), text("path"));
    if let Some(line) = f["line"].as_u64() {
        values.insert("finding.0.line".into(), line.to_string());
    }
    values
}

/// One line of the viewer with the notes that belong under it.
pub(super) fn lines_of(text: &str, notes: &BTreeMap<u64, Vec<Value>>) -> Vec<Value> {
    text.lines()
        .take(MAX_SHOWN_LINES)
        .enumerate()
        .map(|(i, line)| {
            let n = i as u64 + 1;
            json!({ "n": n, "text": line, "notes": notes.get(&n).cloned().unwrap_or_default() })
        })
        .collect()
}

/// `new` or `persisting`, by the finding's fingerprint.
fn change_mark(changes: &Value, fingerprint: &Value) -> &'static str {
    let within = |list: &str| {
        changes[list]
            .as_array()
            .is_some_and(|l| l.iter().any(|f| &f["fingerprint"] == fingerprint))
    };
    if within("persisting") {
        "persisting"
    } else if within("new") {
        "new"
    } else {
        ""
    }
}

/// What the lease page shows after a refused decision: the form as it was typed.
#[derive(Default)]
struct Draft {
    values: BTreeMap<String, String>,
    finding_rows: usize,
    evidence_rows: usize,
    error: Option<ApiFailure>,
}

async fn lease_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    lease_id: Uuid,
    query: FileQuery,
    mut draft: Draft,
) -> Result<Response, Failure> {
    let FileQuery { file, view, cite } = query;
    let packet = ui
        .get(session, &format!("/reviews/leases/{lease_id}"))
        .await
        .json()?;
    let version = packet["submission"]["version"].as_u64().unwrap_or(1);
    // "Cite this checker finding": the first finding row starts filled from it (a
    // refused decision keeps what was typed instead).
    if let Some(fingerprint) = cite.filter(|_| draft.values.is_empty()) {
        let every = packet["files"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|f| f["checker_findings"].as_array().into_iter().flatten())
            .chain(packet["packet_findings"].as_array().into_iter().flatten());
        let mut every = every;
        if let Some(f) = every.find(|f| f["fingerprint"] == fingerprint.as_str()) {
            draft.values = cite_checker_finding(f);
        }
    }
    let files = packet["files"].as_array().cloned().unwrap_or_default();
    let changes = packet["checker_finding_changes"].clone();
    // The file shown: the one asked for, else the first with checker findings, else
    // the first an open prior finding cites, else the first output, else the first.
    let has_findings = |f: &&Value| {
        f["checker_findings"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    };
    let cited: Vec<&str> = packet["prior_findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"] == FindingStatus::Open.as_str())
        .filter_map(|f| f["evidence_ref"]["path"].as_str())
        .collect();
    let shown = file
        .filter(|f| files.iter().any(|x| x["path"] == f.as_str()))
        .or_else(|| {
            files
                .iter()
                .find(has_findings)
                .or_else(|| {
                    files
                        .iter()
                        .find(|f| f["path"].as_str().is_some_and(|p| cited.contains(&p)))
                })
                .or_else(|| {
                    files.iter().find(|f| {
                        f["path"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("outputs/"))
                    })
                })
                .or(files.first())
                .and_then(|f| f["path"].as_str().map(str::to_owned))
        });
    let mut viewer_file = Value::Null;
    if let Some(path) = &shown {
        let entry = files.iter().find(|f| f["path"] == path.as_str()).cloned();
        let entry = entry.unwrap_or(Value::Null);
        // Checker findings are about the reviewed version's lines; prior review
        // findings about the lines of the version they were raised on.
        let mut checker_notes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        let mut review_notes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        let mut head_notes = Vec::new();
        for f in entry["checker_findings"].as_array().into_iter().flatten() {
            let mut note = f.clone();
            note["source"] = json!("checker");
            note["change"] = json!(change_mark(&changes, &f["fingerprint"]));
            match f["line"].as_u64() {
                Some(n) => checker_notes.entry(n).or_default().push(note),
                None => head_notes.push(note),
            }
        }
        for f in packet["prior_findings"].as_array().into_iter().flatten() {
            if f["evidence_ref"]["path"] == path.as_str() {
                let note = json!({ "source": "review", "kind": f["kind"], "area": f["area"],
                    "issue": f["issue"], "status": f["status"], "id": f["id"],
                    "version": f["raised_on_version"] });
                match f["evidence_ref"]["line"].as_u64() {
                    Some(n) => review_notes.entry(n).or_default().push(note),
                    None => head_notes.push(note),
                }
            }
        }
        let mut notes = checker_notes.clone();
        for (n, list) in &review_notes {
            notes.entry(*n).or_default().extend(list.iter().cloned());
        }
        let answer = ui
            .get(
                session,
                &format!("/reviews/leases/{lease_id}/files/{}", encode_path(path)),
            )
            .await;
        let markdown = is_markdown(path);
        let shown_view = match FileView::parse(view.as_deref()) {
            FileView::Rendered if !markdown => FileView::Source,
            FileView::Changes if version < 2 => FileView::Source,
            other => other,
        };
        let content = if answer.ok() {
            let bytes = &answer.bytes;
            match std::str::from_utf8(&bytes[..bytes.len().min(MAX_SHOWN_BYTES)]) {
                Ok(text) => {
                    let mut content = json!({
                        "text": true,
                        "lines": lines_of(text, &notes),
                        "truncated": bytes.len() > MAX_SHOWN_BYTES
                            || text.lines().count() > MAX_SHOWN_LINES,
                    });
                    match shown_view {
                        FileView::Rendered => {
                            content["blocks"] = json!(file_views::markdown_blocks(text, &notes));
                        }
                        FileView::Changes => {
                            content["diff"] = changes_since_previous(
                                ui,
                                session,
                                lease_id,
                                path,
                                version,
                                text,
                                &checker_notes,
                                &review_notes,
                            )
                            .await;
                        }
                        FileView::Source => {}
                    }
                    content
                }
                Err(_) if bytes.len() > MAX_SHOWN_BYTES && std::str::from_utf8(bytes).is_ok() => {
                    json!({ "text": false, "reason": "too large to show here" })
                }
                Err(_) => json!({ "text": false, "reason": "binary file" }),
            }
        } else {
            json!({ "text": false, "error": answer.failure() })
        };
        let line_count = content["lines"].as_array().map_or(0, Vec::len) as u64;
        // Findings past the end of what is shown still need to be seen.
        let beyond: Vec<Value> = notes
            .iter()
            .filter(|(n, _)| **n > line_count)
            .flat_map(|(_, v)| v.clone())
            .collect();
        head_notes.extend(beyond);
        let href = |view: FileView| {
            format!(
                "/ui/review/leases/{lease_id}?file={}&view={}",
                super::urls::encode_segment(path),
                view.as_str()
            )
        };
        let mut views = vec![json!({ "name": "Source", "href": href(FileView::Source),
                                     "current": shown_view == FileView::Source })];
        if markdown {
            views.push(
                json!({ "name": "Rendered", "href": href(FileView::Rendered),
                               "current": shown_view == FileView::Rendered }),
            );
        }
        if version > 1 {
            views.push(json!({ "name": format!("Changes since v{}", version - 1),
                               "href": href(FileView::Changes),
                               "current": shown_view == FileView::Changes }));
        }
        viewer_file = json!({ "path": path, "entry": entry, "content": content,
                              "head_notes": head_notes, "view": shown_view.as_str(),
                              "views": views,
                              "cite_base": format!("/ui/review/leases/{lease_id}?file={}&view={}&cite=",
                                  super::urls::encode_segment(path), shown_view.as_str()) });
    }
    // Files by path, with a heading where a directory starts.
    let mut previous_dir: Option<String> = None;
    let tree: Vec<Value> = files
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap_or_default();
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let heading = (previous_dir.as_deref() != Some(dir)).then(|| dir.to_owned());
            previous_dir = Some(dir.to_owned());
            json!({ "path": path, "dir": dir, "name": name, "heading": heading,
                    "href": format!("/ui/review/leases/{lease_id}?file={}", super::urls::encode_segment(path)),
                    "findings": f["checker_findings"].as_array().map_or(0, Vec::len),
                    "byte_count": f["byte_count"], "selected": Some(path) == shown.as_deref() })
        })
        .collect();
    let open_prior: Vec<Value> = packet["prior_findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"] == FindingStatus::Open.as_str())
        .cloned()
        .collect();
    let finding_rows = draft.finding_rows.max(1);
    let evidence_rows = draft.evidence_rows.max(1);
    let status = if draft.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with(
        status,
        "lease.html",
        viewer,
        context! {
            lease_id => s(lease_id),
            packet => s(packet),
            tree => s(tree),
            file => s(viewer_file),
            open_prior => s(open_prior),
            draft => s(&draft.values),
            finding_rows => s(finding_rows),
            evidence_rows => s(evidence_rows),
            error => s(draft.error),
        },
    ))
}

/// The diff of `path` from the version this one revises to `text` (the reviewed
/// version): `{rows, previous_version, added}`; `added` when the previous version had
/// no such file, `error` when it could not be read.
#[allow(clippy::too_many_arguments)]
async fn changes_since_previous(
    ui: &Ui,
    session: &Session,
    lease_id: Uuid,
    path: &str,
    version: u64,
    text: &str,
    checker_notes: &BTreeMap<u64, Vec<Value>>,
    review_notes: &BTreeMap<u64, Vec<Value>>,
) -> Value {
    let previous = version - 1;
    let answer = ui
        .get(
            session,
            &format!(
                "/reviews/leases/{lease_id}/previous-files/{}",
                encode_path(path)
            ),
        )
        .await;
    let (old, added) = if answer.ok() {
        match std::str::from_utf8(&answer.bytes) {
            Ok(old) => (old.to_owned(), false),
            Err(_) => {
                return json!({ "previous_version": previous, "binary": true });
            }
        }
    } else if answer.status == StatusCode::NOT_FOUND.as_u16() {
        (String::new(), true)
    } else {
        return json!({ "previous_version": previous, "error": answer.failure() });
    };
    // Prior findings raised on the previous version cite its lines: they sit beside
    // those lines in the diff. Older ones stay where the source view puts them.
    let mut old_notes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    let mut new_notes = checker_notes.clone();
    for (n, list) in review_notes {
        for note in list {
            let target = if note["version"].as_u64() == Some(previous) {
                &mut old_notes
            } else {
                &mut new_notes
            };
            target.entry(*n).or_default().push(note.clone());
        }
    }
    json!({
        "previous_version": previous,
        "added": added,
        "rows": file_views::diff_rows(&old, text, &old_notes, &new_notes),
    })
}

async fn lease(
    State(ui): State<Ui>,
    session: Session,
    Ids(lease_id): Ids<Uuid>,
    Query(query): Query<FileQuery>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    lease_page(&ui, &session, &viewer, lease_id, query, Draft::default()).await
}

/// `{path, line?, note?}` from a row's fields, if it names a path.
fn evidence(row: &BTreeMap<String, String>) -> Option<Value> {
    let path = row
        .get("path")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())?;
    let mut out = json!({ "path": path });
    if let Some(line) = row.get("line").map(|l| l.trim()).filter(|l| !l.is_empty()) {
        // A line that is not a number goes to the API as written, which refuses it.
        out["line"] = line
            .parse::<u64>()
            .map_or_else(|_| json!(line), |n| json!(n));
    }
    if let Some(note) = row.get("note").map(|n| n.trim()).filter(|n| !n.is_empty()) {
        out["note"] = json!(note);
    }
    Some(out)
}

/// The API's decision body from the form (see the module docs).
pub(super) fn decision_body(form: &FormData) -> Value {
    let text = |row: &BTreeMap<String, String>, k: &str| {
        row.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut rows: Vec<(usize, BTreeMap<String, String>)> = form
        .groups("finding")
        .into_iter()
        .filter_map(|(k, row)| k.parse().ok().map(|n| (n, row)))
        .collect();
    rows.sort_by_key(|(n, _)| *n);
    let findings: Vec<Value> = rows
        .iter()
        .filter(|(_, row)| text(row, "issue").is_some())
        .map(|(_, row)| {
            let mut f = json!({
                "kind": text(row, "kind").unwrap_or_else(|| FindingKind::Blocking.as_str().into()),
                "area": text(row, "area").unwrap_or_default(),
                "issue": text(row, "issue"),
            });
            for k in ["rationale", "required_fix"] {
                if let Some(v) = text(row, k) {
                    f[k] = json!(v);
                }
            }
            if let Some(e) = evidence(row) {
                f["evidence_ref"] = e;
            }
            f
        })
        .collect();
    let resolutions: Vec<Value> = form
        .groups("resolution")
        .into_iter()
        .filter_map(|(finding, row)| {
            let result = text(&row, "result")?;
            Some(json!({ "finding_id": finding, "result": result,
                         "rationale": text(&row, "rationale").unwrap_or_default() }))
        })
        .collect();
    let evidence_refs: Vec<Value> = form
        .groups("evidence")
        .values()
        .filter_map(evidence)
        .collect();
    let decision = form.text("decision").unwrap_or_default();
    let mut body = json!({
        "decision": decision,
        "summary": form.text("summary").unwrap_or_default(),
        "findings": findings,
        "resolutions": resolutions,
        "acceptance_evidence_refs": evidence_refs,
    });
    if let Some(confidence) = form.text("confidence") {
        body["confidence"] = json!(confidence);
    }
    if let Some(reason) = form.text("reject_reason") {
        body["reject_reason"] = json!(reason);
    }
    body
}

async fn decide(
    State(ui): State<Ui>,
    session: Session,
    Ids(lease_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let body = decision_body(&form);
    let answer = ui
        .post(
            &session,
            &format!("/reviews/leases/{lease_id}/decision"),
            &body,
            &form.key(),
        )
        .await;
    match answer.failure() {
        None => Ok(Redirect::to("/ui/review?done=decided").into_response()),
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let draft = Draft {
                finding_rows: form.groups("finding").len(),
                evidence_rows: form.groups("evidence").len(),
                values: form.values(),
                error: Some(error),
            };
            let query = FileQuery {
                file: form.text("file"),
                view: form.text("view"),
                cite: None,
            };
            lease_page(&ui, &session, &viewer, lease_id, query, draft).await
        }
    }
}

async fn release(
    State(ui): State<Ui>,
    session: Session,
    Ids(lease_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let answer = ui
        .post(
            &session,
            &format!("/reviews/leases/{lease_id}/release"),
            &json!({}),
            &form.key(),
        )
        .await;
    match answer.failure() {
        None => Ok(Redirect::to("/ui/review?done=released_lease").into_response()),
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => Err(Failure::Api(Box::new(error))),
    }
}
