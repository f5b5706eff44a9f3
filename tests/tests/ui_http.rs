//! The web UI over plain HTTP (no browser): signing in and out, the session cookie,
//! pages a role may not see, cross-site form posts refused, a double submit replayed,
//! the API's refusals rendered with their stable codes, a manager assigning a ready
//! task from its page, and the checker registry page:
//! publishing a real component from it, and each component's publisher, pinning guides
//! and runs.

mod projects_support;
mod review_support;
mod ui_support;

use projects_support::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;
use ui_support::*;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_sandbox::testing::component_bytes;

/// A client that keeps the session cookie itself and never follows redirects, so every
/// answer can be checked as it is.
struct Visitor {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

/// A page: status, headers, body.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn set_cookie(&self) -> String {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Visitor {
    fn new(server: &workstream_e2e::TestServer) -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base_url.clone(),
            cookie: None,
        }
    }

    /// The answer, with the body's HTML entities decoded (minijinja escapes `/` too),
    /// so assertions read as the page does.
    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body: unescape(&body),
        }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        }
    }

    async fn get(&self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        Visitor::read(self.with_cookie(request).send().await.unwrap()).await
    }

    /// Posts a form the way a browser on our own page does (`Sec-Fetch-Site:
    /// same-origin`), or with `headers` instead.
    async fn post(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if headers.is_empty() {
            request = request.header("sec-fetch-site", "same-origin");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Visitor::read(self.with_cookie(request).send().await.unwrap()).await
    }

    /// Posts a multipart `form` the way a browser on our own page does.
    async fn upload(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", "same-origin")
            .multipart(form);
        Visitor::read(self.with_cookie(request).send().await.unwrap()).await
    }

    /// Uploads `packet`, with the standard summary and attestation, through the task
    /// page's upload form (`task`'s, under a fresh key).
    async fn upload_packet(&self, task: Uuid, packet: Vec<u8>) -> Page {
        let form = reqwest::multipart::Form::new()
            .text("summary", review_support::SUMMARY)
            .text("attestation", review_support::ATTESTATION)
            .part(
                "packet",
                reqwest::multipart::Part::bytes(packet).file_name("packet.zip"),
            );
        self.upload(
            &format!("/ui/tasks/{task}/packets?key={}", Uuid::now_v7()),
            form,
        )
        .await
    }

    /// Publishes the test component `name` through the Checkers page's upload form.
    async fn publish(&self, name: &str) -> Page {
        let form = reqwest::multipart::Form::new().part(
            "component",
            reqwest::multipart::Part::bytes(component_bytes(name))
                .file_name(format!("{name}.wasm")),
        );
        self.upload(&format!("/ui/checkers?key={}", Uuid::now_v7()), form)
            .await
    }

    /// Signs in on the local sign-in page as `subject`; keeps the cookie.
    async fn sign_in(&mut self, subject: &str) -> Page {
        let page = self
            .post(
                "/ui/sign-in",
                &[
                    ("mode", "local"),
                    ("subject", subject),
                    ("kind", "human"),
                    ("next", "/ui/"),
                ],
                &[],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let cookie = page.set_cookie();
        let pair = cookie.split(';').next().unwrap().to_owned();
        self.cookie = Some(pair);
        page
    }
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn task_status(s: &UiSetup) -> String {
    sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_clears_it() {
    let s = ready_project("ui-signin").await;
    let mut visitor = Visitor::new(&s.server);

    let root = visitor.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/ui/");
    let anonymous = visitor.get("/ui/work").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location(), "/ui/sign-in?next=%2Fui%2Fwork");

    let form = visitor.get("/ui/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="subject""#), "{}", form.body);
    assert!(
        form.body.contains("test</strong> environment"),
        "{}",
        form.body
    );

    let signed_in = visitor.sign_in(SUBMITTER).await;
    assert_eq!(signed_in.location(), "/ui/");
    let cookie = signed_in.set_cookie();
    assert!(cookie.starts_with("workstream_session=ey"), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "no Secure in the test environment: {cookie}"
    );

    let home = visitor.get("/ui/").await;
    assert_eq!(home.status, StatusCode::OK);
    let policy = home.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(home.headers["x-frame-options"], "DENY");
    assert!(home.body.contains(r#"href="/ui/work""#), "{}", home.body);
    assert!(
        !home.body.contains(r#"href="/ui/finance""#),
        "{}",
        home.body
    );
    assert!(home.body.contains(&s.submitter.id.to_string()));
    // The work page lists the ready task with its terms.
    let work = visitor.get("/ui/work").await;
    assert_eq!(work.status, StatusCode::OK);
    assert!(work.body.contains(TASK_TITLE), "{}", work.body);
    assert!(work.body.contains("50 USD"), "{}", work.body);

    let out = visitor.post("/ui/sign-out", &[], &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookie().contains("workstream_session=;"),
        "{}",
        out.set_cookie()
    );
    assert!(out.set_cookie().contains("Max-Age=0"));

    // A token the API refuses is a session that ended: back to sign-in, cookie cleared.
    visitor.cookie = Some("workstream_session=not-a-token".into());
    let refused = visitor.get("/ui/work").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.location(),
        "/ui/sign-in?expired=1&next=%2Fui%2Fwork"
    );
    assert!(refused.set_cookie().contains("Max-Age=0"));

    // A pasted token is tried on the API before it becomes a cookie.
    visitor.cookie = None;
    let pasted = visitor
        .post(
            "/ui/sign-in",
            &[("mode", "token"), ("token", "garbage")],
            &[],
        )
        .await;
    assert_eq!(pasted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        pasted.body.contains(r#"data-api-error="invalid_token""#),
        "{}",
        pasted.body
    );
    assert!(pasted.set_cookie().is_empty());
    let good = s.server.token(REVIEWER);
    let pasted = visitor
        .post("/ui/sign-in", &[("mode", "token"), ("token", &good)], &[])
        .await;
    assert_eq!(pasted.status, StatusCode::SEE_OTHER, "{}", pasted.body);
    assert!(
        pasted
            .set_cookie()
            .starts_with(&format!("workstream_session={good};"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_does_not_see_another_roles_pages() {
    let s = ready_project("ui-roles").await;
    let (project, task) = (s.project, s.task);
    let mut submitter = Visitor::new(&s.server);
    submitter.sign_in(SUBMITTER).await;
    // What the API conceals is the 404 page; what it refuses to a caller who may see
    // the project is the refusal page with its code. Either way nothing of it shows.
    for (path, status, code) in [
        (format!("/ui/finance/projects/{project}"), 404, "not_found"),
        (format!("/ui/audit/tasks/{task}"), 404, "not_found"),
        (
            format!("/ui/review/leases/{}", Uuid::now_v7()),
            404,
            "not_found",
        ),
        ("/ui/tasks/not-a-uuid".to_owned(), 404, "not_found"),
        ("/ui/no-such-page".to_owned(), 404, "not_found"),
        (
            format!("/ui/projects/{project}/tasks/{task}"),
            403,
            "permission_not_granted",
        ),
        (
            format!("/ui/projects/{project}/lessons"),
            403,
            "permission_not_granted",
        ),
        ("/ui/checkers".to_owned(), 403, "permission_not_granted"),
    ] {
        let page = submitter.get(&path).await;
        assert_eq!(page.status.as_u16(), status, "{path}: {}", page.body);
        assert!(
            page.body
                .contains(&format!("<code class=\"code\">{code}</code>")),
            "{path}: {}",
            page.body
        );
        for private in ["Awards", "Locked context", "Lessons", "Checker registry"] {
            assert!(!page.body.contains(private), "{path} shows {private}");
        }
    }
    let mut finance = Visitor::new(&s.server);
    finance.sign_in(FINANCE).await;
    let page = finance
        .get(&format!("/ui/finance/projects/{project}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Awards") && page.body.contains("Paid terms"));
    // Finance sees the project but reads no task's management view.
    let page = finance
        .get(&format!("/ui/projects/{project}/tasks/{task}"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.body.contains("Locked context"));

    let mut auditor = Visitor::new(&s.server);
    auditor.sign_in(AUDITOR).await;
    s.server.seal_audit().await;
    let page = auditor.get(&format!("/ui/audit/tasks/{task}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(r#"data-ledger-verified="true""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("task released"), "{}", page.body);

    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;
    let page = manager.get("/ui/checkers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("required-files") && page.body.contains("built-in"));
    let page = manager
        .get(&format!("/ui/projects/{project}/tasks/{task}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Locked context"), "{}", page.body);
    // The reviewer has no lease and sees no packet.
    let mut reviewer = Visitor::new(&s.server);
    reviewer.sign_in(REVIEWER).await;
    let page = reviewer.get("/ui/review").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Nothing waits for your review"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_site_form_post_is_refused_and_a_double_submit_replays() {
    let s = ready_project("ui-csrf").await;
    let mut visitor = Visitor::new(&s.server);
    visitor.sign_in(SUBMITTER).await;
    let claim = format!("/ui/tasks/{}/claim", s.task);
    let key = Uuid::now_v7().to_string();
    let fields = [("idempotency_key", key.as_str())];
    let origin = s.server.base_url.clone();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("x-nothing", "neither header")],
    ] {
        let page = visitor.post(&claim, &fields, &headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            page.body.contains("cross_site_request_refused"),
            "{}",
            page.body
        );
    }
    assert_eq!(
        task_status(&s).await,
        "ready",
        "a refused post changed nothing"
    );

    // From our own origin (Origin naming this host), and again with the same key.
    let first = visitor.post(&claim, &fields, &[("origin", &origin)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(
        first.location(),
        format!("/ui/tasks/{}?done=claimed", s.task)
    );
    let again = visitor.post(&claim, &fields, &[]).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "a replay: {}",
        again.body
    );
    assert_eq!(task_status(&s).await, "claimed");
    let assignments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM task_assignments WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(assignments, 1);
    let page = visitor
        .get(&format!("/ui/tasks/{}?done=claimed", s.task))
        .await;
    assert!(page.body.contains("You claimed the task"), "{}", page.body);
    assert!(page.body.contains("Start work"));

    // A second claim with a fresh key is the API's refusal, shown on the task page.
    let other = Uuid::now_v7().to_string();
    let page = visitor
        .post(&claim, &[("idempotency_key", &other)], &[])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("data-api-error="), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_refusals_are_rendered_with_their_codes_and_field_errors() {
    let s = ready_project("ui-errors").await;
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;

    // A guide whose checker configuration breaks the checker's schema: activation is
    // refused and each field error is a row.
    let mut broken = bundle();
    broken["checker_policy"]["checkers"][0]["configuration"] = json!({ "allow_empty": "no" });
    let text = broken.to_string();
    let key = Uuid::now_v7().to_string();
    let created = manager
        .post(
            &format!("/ui/projects/{}/guides", s.project),
            &[
                ("idempotency_key", &key),
                ("version", "v2"),
                ("policy_bundle", &text),
            ],
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let guide_page = created.location().split('?').next().unwrap().to_owned();
    let refused = manager
        .post(
            &format!("{guide_page}/activate"),
            &[("idempotency_key", &Uuid::now_v7().to_string())],
            &[],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(r#"data-api-error="checker_configuration_invalid""#),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("<table class=\"field-errors\">"),
        "{}",
        refused.body
    );
    // The row names the field in the merged bundle (the platform defaults come first).
    assert!(
        refused.body.contains("<tr><td><code>/checker_policy/checkers/3/configuration/allow_empty</code></td><td>required-files: \"no\" is not of type \"boolean\"</td><td><code>checker_configuration_invalid</code></td></tr>"),
        "{}",
        refused.body
    );

    // Bundle text that is not JSON never reaches the API.
    let page = manager
        .post(
            &format!("/ui/projects/{}/guides", s.project),
            &[
                ("idempotency_key", &key),
                ("version", "v3"),
                ("policy_bundle", "{ nope"),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("policy_bundle_not_json"),
        "{}",
        page.body
    );
    assert!(page.body.contains("{ nope"), "what was typed is kept");

    // A release without a reason: the lifecycle's `reason_required`, inline.
    let created = manager
        .post(
            &format!("/ui/projects/{}/tasks", s.project),
            &[
                ("idempotency_key", &Uuid::now_v7().to_string()),
                ("title", "Second"),
                ("description", "Another task."),
                ("acceptance_criteria", "A complete answer with evidence."),
                ("rejection_criteria", "Gaps."),
            ],
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let task_page = created.location().split('?').next().unwrap().to_owned();
    let screened = manager
        .post(
            &format!("{task_page}/screen"),
            &[("idempotency_key", &Uuid::now_v7().to_string())],
            &[],
        )
        .await;
    assert_eq!(screened.status, StatusCode::SEE_OTHER, "{}", screened.body);
    let page = manager
        .post(
            &format!("{task_page}/release"),
            &[("idempotency_key", &Uuid::now_v7().to_string())],
            &[],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"data-api-error="reason_required""#),
        "{}",
        page.body
    );
    // With what to do about it: the catalogue's fix of the code.
    assert!(
        page.body.contains(&format!(
            "<strong>What to do:</strong> {}",
            workstream_domain::ErrorCode::ReasonRequired.fix()
        )),
        "{}",
        page.body
    );

    // A packet that fails a blocking pre-submit check: the checker's message, fix and
    // path beside the upload form, with the typed texts kept, and nothing admitted.
    for action in ["claim", "start"] {
        let answer = post(
            &s.server,
            &format!("/tasks/{}/{action}", s.task),
            &s.submitter,
            json!({}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let mut submitter = Visitor::new(&s.server);
    submitter.sign_in(SUBMITTER).await;
    let packet = review_support::zip(&[
        ("evidence/tests.log", "test lemma ... ok\n"),
        (
            "outputs/notes.md",
            "Notes on the lemma and the proof so far.\n",
        ),
    ]);
    let page = submitter.upload_packet(s.task, packet).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"data-api-error="pre_submission_checker_failed""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("required-files"));
    assert!(page.body.contains("outputs/final-answer.md"));
    assert!(
        page.body
            .contains("<strong>Fix:</strong> Add outputs/final-answer.md at exactly this path"),
        "the suggested fix: {}",
        page.body
    );
    assert!(
        page.body.contains(review_support::SUMMARY),
        "the summary is kept"
    );
    let admissions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM submission_bundle_admissions WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(admissions, 0);
    assert_eq!(
        audit_count(&s.server, s.task, "pre_submission_check_failed").await,
        1
    );

    // A packet of several MiB goes through the form too (the page is the checkers'
    // answer, not a body-size refusal).
    let mut noise = Vec::with_capacity(3 << 20);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while noise.len() < 3 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.extend_from_slice(&state.to_le_bytes());
    }
    let mut big = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write as _;
        let mut writer = zip::ZipWriter::new(&mut big);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        writer.start_file("evidence/tests.log", stored).unwrap();
        writer.write_all(b"test lemma ... ok\n").unwrap();
        writer.start_file("evidence/raw.bin", stored).unwrap();
        writer.write_all(&noise).unwrap();
        writer.finish().unwrap();
    }
    let page = submitter.upload_packet(s.task, big.into_inner()).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"data-api-error="pre_submission_checker_failed""#),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn static_assets_are_content_hashed_and_cached_for_a_year() {
    let s = ready_project("ui-assets").await;
    let mut visitor = Visitor::new(&s.server);
    let sign_in = visitor.get("/ui/sign-in").await;
    let css = sign_in
        .body
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|h| h.starts_with("/ui/static/app.") && h.ends_with(".css"))
        })
        .expect("the stylesheet link")
        .to_owned();
    assert!(
        css.ends_with(".css") && css.len() == "/ui/static/app.".len() + 12 + 4,
        "{css}"
    );
    let page = visitor.get(&css).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(page.headers["content-type"], "text/css; charset=utf-8");
    assert!(page.body.contains(".review-grid"));
    assert_eq!(
        visitor.get("/ui/static/app.000000000000.css").await.status,
        StatusCode::NOT_FOUND
    );
    visitor.sign_in(SUBMITTER).await;
    assert!(visitor.get("/ui/").await.body.contains(&css));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_page_says_when_an_event_changed_after_its_seal() {
    let s = ready_project("ui-broken-chain").await;
    let mut auditor = Visitor::new(&s.server);
    auditor.sign_in(AUDITOR).await;
    let page = auditor.get(&format!("/ui/audit/tasks/{}", s.task)).await;
    assert!(
        page.body.contains(r#"data-ledger-verified="true""#),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches(r#"data-status="pending""#).count(),
        3,
        "{}",
        page.body
    );
    s.server.seal_audit().await;
    let page = auditor.get(&format!("/ui/audit/tasks/{}", s.task)).await;
    assert_eq!(
        page.body.matches(r#"data-status="verified""#).count(),
        3,
        "{}",
        page.body
    );
    assert!(page.body.contains("signed"), "{}", page.body);
    // The screening event is edited behind the append-only trigger's back.
    let screened: Uuid = sqlx::query_scalar(
        "SELECT id FROM audit_events WHERE entity_id = $1 AND event_type = 'task_screened'",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    let mut tx = s.server.database.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET to_status = 'ready' WHERE id = $1")
        .bind(screened)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let page = auditor.get(&format!("/ui/audit/tasks/{}", s.task)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"data-ledger-verified="false""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("The trail does not verify"));
    assert!(
        page.body.contains("1 event no longer matches"),
        "{}",
        page.body
    );
    assert_eq!(
        page.body
            .matches("<span class=\"badge state-failed\">changed since sealed</span>")
            .count(),
        1
    );
}

/// The registry table's row for `digest` on a Checkers page.
fn checker_row<'a>(page: &'a Page, digest: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("<tr data-digest=\"{digest}\">"))
        .unwrap_or_else(|| panic!("no row for {digest}: {}", page.body));
    let row = &page.body[start..];
    &row[..row.find("</tr>").unwrap()]
}

/// How many components are registered with `name`.
async fn registered(server: &workstream_e2e::TestServer, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM checker_components WHERE name = $1")
        .bind(name)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_publishes_a_checker_component_from_the_checkers_page() {
    let s = ready_project("ui-publish").await;
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;
    let page = manager.get("/ui/checkers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"enctype="multipart/form-data""#)
            && page.body.contains(r#"action="/ui/checkers?key="#)
            && page.body.contains(r#"<input type="file" name="component""#),
        "{}",
        page.body
    );

    // A real component: published, the page says so and lists it with its publisher.
    let bytes = component_bytes("trivial");
    let digest = Digest::of_bytes(&bytes).to_string();
    let published = manager.publish("trivial").await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    assert_eq!(
        published.location(),
        format!(
            "/ui/checkers?done=published&digest={}",
            digest.replace(':', "%3A")
        )
    );
    let version: String =
        sqlx::query_scalar("SELECT version FROM checker_components WHERE digest = $1")
            .bind(&digest)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    let page = manager.get(published.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!(
            r#"<p class="notice" role="status">Published trivial {version} {digest}.</p>"#
        )),
        "{}",
        page.body
    );
    let row = checker_row(&page, &digest);
    assert!(
        row.contains(r#"<span class="checker-name">trivial</span>"#),
        "{row}"
    );
    assert!(
        row.contains(&format!(
            r#"<span title="actor {}">{MANAGER}</span>"#,
            s.pm.id
        )),
        "{row}"
    );
    assert!(row.contains("no active guide"), "{row}");
    assert!(row.contains(r#"<td class="num runs">0</td>"#), "{row}");

    // The same bytes again (a new form, so a new key): the record that exists.
    let again = manager.publish("trivial").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let page = manager.get(again.location()).await;
    assert!(
        page.body
            .contains(&format!("Already published trivial {version} {digest}")),
        "{}",
        page.body
    );
    assert_eq!(registered(&s.server, "trivial").await, 1);

    // A component that never finishes a check is refused with the API's code, on the
    // page, beside the form; nothing is registered.
    let refused = manager.publish("hostile_infinite_loop").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(r#"data-api-error="checker_smoke_check_failed""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"name="component""#));
    let hostile: i64 =
        sqlx::query_scalar("SELECT count(*) FROM checker_components WHERE name LIKE 'hostile%'")
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(hostile, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_those_who_may_publish_see_the_upload_form_and_publish() {
    let s = ready_project("ui-publish-who").await;
    // An operator of any scope may publish, like a project manager.
    let operator = s.server.actor("ui-operator").await;
    s.server
        .grant_admin(
            &operator,
            workstream_domain::roles::AdminRole::Operator,
            None,
        )
        .await;
    let mut visitor = Visitor::new(&s.server);
    visitor.sign_in("ui-operator").await;
    let page = visitor.get("/ui/checkers").await;
    assert!(page.body.contains(r#"name="component""#), "{}", page.body);

    // The auditor reads the registry but sees no form, and a post is the API's refusal.
    let mut auditor = Visitor::new(&s.server);
    auditor.sign_in(AUDITOR).await;
    let page = auditor.get("/ui/checkers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("required-files"));
    assert!(!page.body.contains(r#"name="component""#), "{}", page.body);
    let refused = auditor.publish("trivial").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains(r#"data-api-error="permission_not_granted""#),
        "{}",
        refused.body
    );

    // A submitter sees neither the registry nor the form, and cannot publish.
    let mut submitter = Visitor::new(&s.server);
    submitter.sign_in(SUBMITTER).await;
    let page = submitter.get("/ui/checkers").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.body.contains(r#"name="component""#));
    let refused = submitter.publish("trivial").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(r#"<code class="code">permission_not_granted</code>"#),
        "{}",
        refused.body
    );
    // A large body is read to its end before the refusal, so the browser gets the
    // page rather than a broken connection.
    let large = reqwest::multipart::Form::new().part(
        "component",
        reqwest::multipart::Part::bytes(vec![0; 16 << 20]).file_name("large.wasm"),
    );
    let refused = submitter
        .upload(&format!("/ui/checkers?key={}", Uuid::now_v7()), large)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(registered(&s.server, "trivial").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checkers_page_shows_the_guides_that_pin_a_component_and_its_runs() {
    // A publisher puts `trivial` on the registry through the page; the project's guide
    // pins it after the standard checkers, with a component whose finding holds a NUL
    // character (an errored result, `invalid_output`); a submission runs them.
    let digest = std::sync::OnceLock::new();
    let hostile = std::sync::OnceLock::new();
    let register = async |server: &workstream_e2e::TestServer| {
        let bytes = component_bytes("hostile_nul_finding");
        hostile
            .set(review_support::register_through_engine(server, &bytes).await)
            .unwrap();
        manager(server, "ui-publisher").await;
        let mut publisher = Visitor::new(server);
        publisher.sign_in("ui-publisher").await;
        let published = publisher.publish("trivial").await;
        assert_eq!(
            published.status,
            StatusCode::SEE_OTHER,
            "{}",
            published.body
        );
        digest
            .set(Digest::of_bytes(&component_bytes("trivial")).to_string())
            .unwrap();
    };
    let s = review_support::setup_registering(
        "ui-pins",
        review_support::Terms::Unpaid,
        register,
        |bundle| {
            let checkers = bundle["checker_policy"]["checkers"].as_array_mut().unwrap();
            checkers.push(json!({"name": "trivial", "digest": digest.get().unwrap(),
                                 "phase": "post_submit", "configuration": {},
                                 "blocking": false, "severity": "low"}));
            checkers.push(
                json!({"name": "hostile-nul-finding", "digest": hostile.get().unwrap(),
                                 "phase": "post_submit", "configuration": {},
                                 "blocking": true, "severity": "high"}),
            );
        },
    )
    .await;
    let (digest, hostile) = (
        digest.get().unwrap().clone(),
        hostile.get().unwrap().clone(),
    );
    let answer = s.submit(review_support::good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let (status, _, code) = s.run_finished().await;
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("invalid_output"))
    );

    let mut pm = Visitor::new(&s.server);
    pm.sign_in("ui-pins-pm").await;
    let page = pm.get("/ui/checkers").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let row = checker_row(&page, &digest);
    assert!(
        row.contains(&format!(
            r#"<a href="/ui/projects/{}/guides/{}">ui-pins v1</a>"#,
            s.project, s.guide
        )),
        "{row}"
    );
    assert!(row.contains(">ui-publisher</span>"), "{row}");
    assert!(row.contains(r#"<td class="num runs">1</td>"#), "{row}");
    assert!(row.contains(" ms / "), "p50 / p95 in ms: {row}");
    assert!(
        row.contains(r#"<td class="failures"><span class="muted">—</span></td>"#),
        "{row}"
    );
    // The errored result is counted by its code.
    let row = checker_row(&page, &hostile);
    assert!(row.contains(r#"<td class="num runs">1</td>"#), "{row}");
    assert!(
        row.contains(r#"<code>invalid_output</code> 1</span>"#),
        "{row}"
    );
    assert!(row.contains(">the platform</span>"), "{row}");
    // The built-in the guide pins ran too, and links to the same guide.
    let required: String = sqlx::query_scalar(
        "SELECT digest FROM checker_components WHERE name = 'required-files' AND builtin \
         ORDER BY registered_at DESC LIMIT 1",
    )
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    let row = checker_row(&page, &required);
    assert!(row.contains("ui-pins v1"), "{row}");
    assert!(!row.contains(r#"<td class="num runs">0</td>"#), "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_assigns_a_ready_task_from_its_page_and_the_worker_sees_it() {
    let s = ready_project("ui-assign").await;
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;
    let task_page = format!("/ui/projects/{}/tasks/{}", s.project, s.task);

    // The ready task offers the project's submitters, by name.
    let page = manager.get(&task_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(&format!(
            r#"<option value="{}">{SUBMITTER}</option>"#,
            s.submitter.id
        )),
        "{}",
        page.body
    );
    // Without a reason: the lifecycle's `reason_required`, inline, nothing assigned.
    let submitter = s.submitter.id.to_string();
    let refused = manager
        .post(
            &format!("{task_page}/assign"),
            &[
                ("idempotency_key", &Uuid::now_v7().to_string()),
                ("assignee_actor_id", &submitter),
            ],
            &[],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(r#"data-api-error="reason_required""#),
        "{}",
        refused.body
    );
    assert_eq!(task_status(&s).await, "ready");

    let assigned = manager
        .post(
            &format!("{task_page}/assign"),
            &[
                ("idempotency_key", &Uuid::now_v7().to_string()),
                ("assignee_actor_id", &submitter),
                ("reason", "wrote the last proof"),
            ],
            &[],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    assert_eq!(assigned.location(), format!("{task_page}?done=assigned"));
    assert_eq!(task_status(&s).await, "claimed");
    let page = manager.get(assigned.location()).await;
    assert!(page.body.contains("Assigned:"), "{}", page.body);
    // The holder is named, not shown as an id fragment.
    assert!(
        page.body.contains(&format!(
            r#"<strong class="holder" title="{}">{SUBMITTER}</strong>"#,
            s.submitter.id
        )),
        "{}",
        page.body
    );

    // The assignee finds it in their work.
    let mut worker = Visitor::new(&s.server);
    worker.sign_in(SUBMITTER).await;
    let work = worker.get("/ui/work").await;
    assert_eq!(work.status, StatusCode::OK, "{}", work.body);
    assert!(work.body.contains(TASK_TITLE), "{}", work.body);
}

/// A form post with a fresh idempotency key and `fields`.
async fn submit_form(visitor: &Visitor, path: &str, fields: &[(&str, &str)]) -> Page {
    let key = Uuid::now_v7().to_string();
    let mut all = vec![("idempotency_key", key.as_str())];
    all.extend_from_slice(fields);
    visitor.post(path, &all, &[]).await
}

#[tokio::test]
async fn a_manager_grants_and_revokes_project_roles_on_the_people_page() {
    let s = ready_project("ui-people").await;
    let newcomer = s.server.actor("ui-newcomer").await;
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;
    let people = format!("/ui/projects/{}/members", s.project);

    // Members by role, by name.
    let page = manager.get(&people).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (role, name, id) in [
        ("submitter", SUBMITTER, s.submitter.id),
        ("reviewer", REVIEWER, s.reviewer.id),
    ] {
        let section = page
            .body
            .split(&format!(r#"data-role="{role}""#))
            .nth(1)
            .unwrap();
        let section = section.split("</section>").next().unwrap();
        assert!(
            section.contains(&format!(
                r#"<span class="person" title="actor {id}">{name}</span>"#
            )),
            "{role}: {section}"
        );
    }

    // Someone nobody has seen sign in: said plainly, nothing granted.
    let refused = submit_form(
        &manager,
        &people,
        &[
            ("person", "never-signed-in"),
            ("role", "reviewer"),
            ("reason", "new reviewer"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(r#"data-api-error="target_actor_not_found""#),
        "{}",
        refused.body
    );

    // The newcomer, by the subject they signed in with.
    let granted = submit_form(
        &manager,
        &people,
        &[
            ("person", "ui-newcomer"),
            ("role", "reviewer"),
            ("reason", "joins the reviewers"),
        ],
    )
    .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_eq!(granted.location(), format!("{people}?done=granted"));
    let grant: Uuid = sqlx::query_scalar(
        "SELECT id FROM project_role_grants WHERE actor_id = $1 AND project_id = $2 \
         AND role = 'reviewer' AND status = 'active' AND grant_reason = 'joins the reviewers'",
    )
    .bind(newcomer.id)
    .bind(s.project)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    let page = manager.get(granted.location()).await;
    assert!(page.body.contains("Granted:"), "{}", page.body);
    assert!(
        page.body.contains(r#">ui-newcomer</span>"#),
        "{}",
        page.body
    );

    // A revocation needs its reason; with one, the role ends and the reason is audited.
    let revoke = format!("{people}/{grant}/revoke");
    let refused = submit_form(&manager, &revoke, &[]).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("data-api-error=\"invalid_reason\""),
        "{}",
        refused.body
    );
    let revoked = submit_form(&manager, &revoke, &[("reason", "left the team")]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, revoke_reason FROM project_role_grants WHERE id = $1")
            .bind(grant)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("revoked", Some("left the team"))
    );
    let page = manager.get(&people).await;
    assert!(!page.body.contains(">ui-newcomer</span>"), "{}", page.body);
}

#[tokio::test]
async fn an_access_administrator_grants_roles_and_creates_service_principals_in_the_ui() {
    let s = ready_project("ui-access").await;
    let admin = s.server.actor("ui-access-admin").await;
    s.server
        .grant_admin(
            &admin,
            workstream_domain::roles::AdminRole::AccessAdministrator,
            None,
        )
        .await;
    let newcomer = s.server.actor("ui-ops-newcomer").await;
    let mut visitor = Visitor::new(&s.server);
    visitor.sign_in("ui-access-admin").await;

    let home = visitor.get("/ui/").await;
    assert!(
        home.body.contains(r#"href="/ui/admin/grants""#),
        "{}",
        home.body
    );
    let page = visitor.get("/ui/admin/grants").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!(r#"title="actor {}">{MANAGER}</span>"#, s.pm.id)),
        "{}",
        page.body
    );

    let granted = submit_form(
        &visitor,
        "/ui/admin/grants",
        &[
            ("person", "ui-ops-newcomer"),
            ("role", "operator"),
            ("scope_type", "system"),
            ("reason", "on call from Monday"),
        ],
    )
    .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_role_grants WHERE target_actor_id = $1 AND role = 'operator' AND status = 'active'",
    )
    .bind(newcomer.id)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(held, 1);
    // A project-only role asked for system-wide: the API's refusal, inline.
    let refused = submit_form(
        &visitor,
        "/ui/admin/grants",
        &[
            ("person", "ui-ops-newcomer"),
            ("role", "access_administrator"),
            ("scope_type", "project"),
            ("scope_project_id", &s.project.to_string()),
            ("reason", "no"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("data-api-error=\"invalid_role_scope\""),
        "{}",
        refused.body
    );

    // Service principals: listed with the subject they sign in as; a new one created.
    let created = submit_form(
        &visitor,
        "/ui/admin/service-actors",
        &[
            ("service_identity", "workstream.checker.worker"),
            ("subject", "checker-worker-eu"),
            ("reason", "a second region"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = visitor.get("/ui/admin/service-actors").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<code>checker-worker-eu</code>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<code>ui-access-adapter</code>"),
        "{}",
        page.body
    );

    // A manager is not an access administrator: the API's refusal, as a page.
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(MANAGER).await;
    let page = manager.get("/ui/admin/service-actors").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
}

#[tokio::test]
async fn a_reviewer_reads_markdown_rendered_the_changes_since_v1_and_cites_a_checker_finding() {
    use review_support::{
        Terms, blocking, finding_ids, good_packet, needs_revision_body, setup_with,
    };
    // The guide carries its review texts.
    let s = setup_with("ui-workspace", Terms::Unpaid, |bundle| {
        bundle["review_templates"] = json!({
            "review_packet": "# Review packet\n\n- [ ] The proof covers the **base case**.\n",
            "prior_feedback_checklist": "# Prior feedback\n\n- [ ] Every finding has an answer.\n",
        });
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let lease = s.claim(&s.reviewer).await;
    let mut reviewer = Visitor::new(&s.server);
    reviewer.sign_in(&s.reviewer.subject).await;
    let page_of = |lease: Uuid, query: &str| {
        format!("/ui/review/leases/{lease}?file=outputs%2Ffinal-answer.md{query}")
    };

    // Version 1: the form starts with one empty finding row; Markdown may be rendered,
    // there is nothing to compare with yet.
    let page = reviewer.get(&page_of(lease, "")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(r#"name="finding.0.issue""#),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"name="finding.1.issue""#),
        "one empty row"
    );
    assert!(page.body.contains(">Rendered</a>"), "{}", page.body);
    assert!(!page.body.contains("Changes since"), "{}", page.body);
    // The guide's review packet template beside the packet, rendered.
    assert!(page.body.contains("Review checklist"), "{}", page.body);
    assert!(
        page.body.contains("<strong>base case</strong>"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("On a revision"),
        "not on a first version"
    );
    let rendered = reviewer.get(&page_of(lease, "&view=rendered")).await;
    assert_eq!(rendered.status, StatusCode::OK, "{}", rendered.body);
    assert!(
        rendered.body.contains("<h1>Proof</h1>"),
        "{}",
        rendered.body
    );
    // Each block keeps the line it starts on, citable like a source line.
    assert!(
        rendered.body.contains(r#"<div class="md-block" id="L3">"#)
            && rendered.body.contains(r#"data-line="3""#),
        "{}",
        rendered.body
    );

    // A revision, with a placeholder the checkers flag.
    let decided = s
        .decide(
            &s.reviewer,
            lease,
            needs_revision_body(json!([blocking("proof", "The base case is missing.")])),
        )
        .await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    let finding = finding_ids(&decided.body)[0].clone();
    let context = s.revision_context().await;
    // The worker sees the guide's prior-feedback checklist with the findings.
    assert_eq!(
        context["prior_feedback_checklist"],
        "# Prior feedback\n\n- [ ] Every finding has an answer.\n"
    );
    let mut worker = Visitor::new(&s.server);
    worker.sign_in(&s.submitter.subject).await;
    let task_page = worker.get(&format!("/ui/tasks/{}", s.task)).await;
    assert_eq!(task_page.status, StatusCode::OK, "{}", task_page.body);
    assert!(
        task_page
            .body
            .contains("The guide's prior-feedback checklist"),
        "{}",
        task_page.body
    );
    assert!(
        task_page.body.contains("Every finding has an answer."),
        "{}",
        task_page.body
    );
    let answer = s
        .submit(
            good_packet("TODO: the base case"),
            json!({
                "preparation_id": context["preparation"]["id"],
                "preparation_digest": context["preparation"]["context_digest"],
                "responses": [{"finding_id": finding, "response_text": "Added the base case."}],
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let lease = s.claim(&s.reviewer).await;

    // The changes since version 1: the old and the new line, the prior finding beside
    // the line of version 1 it cited.
    let changes = reviewer.get(&page_of(lease, "&view=changes")).await;
    assert_eq!(changes.status, StatusCode::OK, "{}", changes.body);
    assert!(
        changes.body.contains("Changes since v1"),
        "{}",
        changes.body
    );
    assert!(
        changes.body.contains(r#"<tr class="line diff-delete"#),
        "{}",
        changes.body
    );
    assert!(changes.body.contains("<pre>- v1</pre>"), "{}", changes.body);
    assert!(
        changes.body.contains("<pre>+ TODO: the base case</pre>"),
        "{}",
        changes.body
    );
    assert!(
        changes.body.contains("cited line 3 of v1"),
        "{}",
        changes.body
    );
    assert!(changes.body.contains("On a revision"), "{}", changes.body);

    // "Cite in a finding" fills the first row from the checker finding.
    let packet =
        projects_support::get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    let flagged = packet.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["checker_findings"].as_array().unwrap().iter())
        .find(|f| f["code"] == "placeholder_signal")
        .cloned()
        .expect("the placeholder is flagged");
    let fingerprint = flagged["fingerprint"].as_str().unwrap();
    let page = reviewer.get(&page_of(lease, "")).await;
    assert!(
        page.body.contains(&format!("cite={fingerprint}#decision")),
        "{}",
        page.body
    );
    let cited = reviewer
        .get(&page_of(lease, &format!("&cite={fingerprint}")))
        .await;
    assert_eq!(cited.status, StatusCode::OK, "{}", cited.body);
    assert!(
        cited
            .body
            .contains(r#"name="finding.0.area" value="placeholder-signal""#),
        "{}",
        cited.body
    );
    let issue = format!(
        "{} (placeholder_signal)",
        flagged["message"].as_str().unwrap()
    );
    assert!(
        cited.body.contains(&format!("{issue}</textarea>")),
        "{}",
        cited.body
    );
    let line = flagged["line"].as_u64().unwrap().to_string();
    assert!(
        cited
            .body
            .contains(&format!(r#"name="finding.0.line" value="{line}""#)),
        "{}",
        cited.body
    );
}

/// The part of `body` from `start` to the next `end` (inclusive of neither).
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} is not on the page:\n{body}"))
        + start.len();
    let to = body[from..].find(end).map_or(body.len(), |at| from + at);
    &body[from..to]
}

/// A figure of the preview summary, as the report page and the guide page print it.
fn stat(figure: &str, n: u32) -> String {
    format!(r#"data-figure="{figure}"><span class="n">{n}</span>"#)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_previews_a_draft_reads_its_report_and_activation_shows_it() {
    use review_support::{Terms, decided_submissions, setup_with, stricter_bundle};
    let s = setup_with("ui-preview", Terms::Unpaid, |_| {}).await;
    // Four decided submissions; the first and the third answer over the draft's limit.
    let longs = [true, false, true, false];
    let decided = decided_submissions(&s, &longs).await;
    let draft = create_guide(&s.server, &s.pm, s.project, "v2", Some(stricter_bundle())).await;
    let mut manager = Visitor::new(&s.server);
    manager.sign_in(&s.pm.subject).await;
    let guide_page = format!("/ui/projects/{}/guides/{draft}", s.project);

    // The v1 guide was activated without a preview.
    let v1 = manager
        .get(&format!("/ui/projects/{}/guides/{}", s.project, s.guide))
        .await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.body);
    assert!(
        v1.body.contains("Activated without a preview."),
        "{}",
        v1.body
    );
    assert!(!v1.body.contains("preview-form"), "{}", v1.body);

    // The draft offers a preview of the server's maximum by default.
    let page = manager.get(&guide_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let form = between(&page.body, r#"class="stack preview-form">"#, "</form>");
    assert!(
        form.contains(r#"name="submissions" min="1" max="200" value="200""#),
        "{form}"
    );
    assert!(page.body.contains("Not previewed."), "{}", page.body);

    // A number out of range comes back beside the form with the API's code.
    let refused = manager
        .post(
            &format!("{guide_page}/previews"),
            &[
                ("submissions", "0"),
                ("idempotency_key", &Uuid::now_v7().to_string()),
            ],
            &[],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(r#"data-api-error="policy_preview_limit_invalid""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="0""#), "{}", refused.body);

    // Started: the report page, which says it runs and reloads itself until it ends.
    let started = manager
        .post(
            &format!("{guide_page}/previews"),
            &[
                ("submissions", "10"),
                ("idempotency_key", &Uuid::now_v7().to_string()),
            ],
            &[],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let location = started.location().to_owned();
    let report_page = location
        .strip_suffix("?done=preview_started")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    let preview: Uuid = report_page.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(report_page, format!("{guide_page}/previews/{preview}"));
    {
        // While the test holds the preview's row, its job can store no result: the
        // page shows it unfinished. (A preview of four submissions is one job, which
        // stores every result at once, so unless it had already ended it has none.)
        let mut hold = s.server.database.pool().begin().await.unwrap();
        let (status, stored): (String, i64) = sqlx::query_as(
            "SELECT p.status, (SELECT count(*) FROM policy_preview_results r \
             WHERE r.preview_id = p.id) FROM policy_previews p WHERE p.id = $1 FOR UPDATE",
        )
        .bind(preview)
        .fetch_one(&mut *hold)
        .await
        .unwrap();
        if status == "completed" {
            eprintln!(
                "the preview ended before the page was read: its unfinished page is not checked"
            );
        } else {
            assert_eq!(stored, 0);
            let running = manager.get(&location).await;
            assert_eq!(running.status, StatusCode::OK, "{}", running.body);
            assert!(
                running.body.contains(&format!(
                    r#"<meta http-equiv="refresh" content="2; url={report_page}">"#
                )),
                "{}",
                running.body
            );
            assert!(
                running.body.contains(&format!(
                    "The preview is {status}: 0 of 4 submissions checked."
                )),
                "{}",
                running.body
            );
            assert!(
                running.body.contains("The preview started"),
                "{}",
                running.body
            );
            assert!(
                !running.body.contains("preview-summary"),
                "{}",
                running.body
            );
        }
        hold.rollback().await.unwrap();
    }
    let mut report = manager.get(&report_page).await;
    for _ in 0..600 {
        if report.body.contains("preview-summary") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        report = manager.get(&report_page).await;
    }
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let body = &report.body;
    assert!(!body.contains("http-equiv"), "an ended preview stays put");
    assert!(body.contains("badge state-completed"), "{body}");
    assert!(body.contains("4 submissions (of 10 asked)"), "{body}");
    for (figure, n) in [
        ("submissions", 4),
        ("route_changed", 2),
        ("checked", 4),
        ("intake_refused", 0),
        ("material_unavailable", 0),
        ("findings_appeared", 2),
        ("findings_disappeared", 0),
    ] {
        assert!(body.contains(&stat(figure, n)), "{figure} {n}:\n{body}");
    }
    let task_link = |task: Uuid| format!(r#"href="/ui/projects/{}/tasks/{task}""#, s.project);
    // The one flip: the two long answers, allowed to review before, sent back now.
    let flip = between(
        body,
        r#"<tr class="flip" data-from="allow_review" data-to="needs_revision">"#,
        "</tr>",
    );
    assert!(flip.contains(r#"<td class="num">2</td>"#), "{flip}");
    assert_eq!(body.matches(r#"<tr class="flip""#).count(), 1, "{body}");
    // Per checker: size-limits newly fails exactly those; no other checker changes.
    let size = between(body, r#"<tr data-checker="size-limits">"#, "</tr>");
    assert!(
        size.contains(
            r#"<td class="num newly-failing">2</td><td class="num newly-passing">0</td>"#
        ),
        "{size}"
    );
    for ((task, _), long) in decided.iter().zip(longs) {
        assert_eq!(flip.contains(&task_link(*task)), long, "{flip}");
        assert_eq!(size.contains(&task_link(*task)), long, "{size}");
    }
    assert_eq!(
        body.matches(r#"<td class="num newly-failing">0</td><td class="num newly-passing">0</td>"#)
            .count(),
        body.matches("<tr data-checker=").count() - 1,
        "{body}"
    );
    // Each submission's row: the recorded route and the draft's, in both phases.
    for ((task, submission), long) in decided.iter().zip(longs) {
        let (class, draft) = if long {
            ("result changed", "needs_revision")
        } else {
            ("result", "allow_review")
        };
        let row = between(
            body,
            &format!(
                r#"<tr class="{class}" data-submission="{submission}" data-recorded="allow_review" data-draft="{draft}">"#
            ),
            "</tr>",
        );
        assert!(row.contains(&task_link(*task)), "{row}");
        assert!(row.contains("v1</a>"), "{row}");
        assert_eq!(
            row.contains(r#"<span class="checker-name">size-limits</span> newly failing"#),
            long,
            "{row}"
        );
        let findings = if long { "+1 / −0" } else { "+0 / −0" };
        assert!(row.contains(findings), "{row}");
        assert_eq!(
            row.matches(&format!("<td>{}</td>", draft.replace('_', " ")))
                .count(),
            2,
            "both phases: {row}"
        );
        // The finding that appears is the stricter rule's, on the answer file.
        let change = format!(r#"<article class="finding-change" data-submission="{submission}">"#);
        assert_eq!(body.contains(&change), long, "{body}");
        if long {
            let appeared = between(body, &change, "</article>");
            assert!(
                appeared.contains(r#"<code class="code">file_too_large</code>"#)
                    && appeared.contains("outputs/final-answer.md"),
                "{appeared}"
            );
        }
    }

    // Back on the draft: the preview listed with its figures, and what activation
    // will record.
    let page = manager.get(&guide_page).await;
    let listed = between(
        &page.body,
        &format!(r#"<tr data-preview="{preview}" data-status="completed">"#),
        "</tr>",
    );
    assert!(
        listed.contains(r#"<td class="num">2 of 4</td>"#),
        "{listed}"
    );
    assert!(
        page.body
            .contains("2 of 4 submissions would meet another route."),
        "{}",
        page.body
    );

    // Activated: the guide page shows the preview the activation recorded.
    let activated = manager
        .post(
            &format!("{guide_page}/activate"),
            &[("idempotency_key", &Uuid::now_v7().to_string())],
            &[],
        )
        .await;
    assert_eq!(
        activated.status,
        StatusCode::SEE_OTHER,
        "{}",
        activated.body
    );
    assert_eq!(activated.location(), format!("{guide_page}?done=activated"));
    let active = manager.get(activated.location()).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    let recorded = between(
        &active.body,
        r#"<section class="card activation-preview">"#,
        "</section>",
    );
    assert!(
        recorded.contains(&format!(r#"href="{report_page}">its report</a>"#)),
        "{recorded}"
    );
    for (figure, n) in [
        ("submissions", 4),
        ("route_changed", 2),
        ("intake_refused", 0),
        ("findings_appeared", 2),
        ("findings_disappeared", 0),
    ] {
        assert!(
            recorded.contains(&format!(r#"data-figure="{figure}">{n}</dd>"#)),
            "{figure} {n}: {recorded}"
        );
    }
    assert!(
        recorded.contains(r#"data-from="allow_review" data-to="needs_revision">"#)
            && recorded.contains("<strong>2</strong>"),
        "{recorded}"
    );
    assert!(
        recorded.contains(
            r#"<span class="checker-name">size-limits</span> newly fails 2, newly passes 0"#
        ),
        "{recorded}"
    );
    assert!(!active.body.contains("preview-form"), "{}", active.body);

    // A lesson the stricter rule implements names the preview as its evidence.
    let lesson = post(
        &s.server,
        &format!("/projects/{}/lessons", s.project),
        &s.pm,
        json!({"source": "incident", "lesson_type": "checker_update",
               "summary": "Answers grew past a page; limit file sizes."}),
    )
    .await;
    assert_eq!(lesson.status, 201, "{}", lesson.body);
    let lesson = lesson.body["id"].as_str().unwrap().to_owned();
    let accepted = post(
        &s.server,
        &format!("/projects/{}/lessons/{lesson}/accept", s.project),
        &s.pm,
        json!({}),
    )
    .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let lessons_page = format!("/ui/projects/{}/lessons", s.project);
    let page = manager.get(&lessons_page).await;
    assert!(
        page.body
            .contains(&format!(r#"<option value="{preview}">guide v2, "#)),
        "{}",
        page.body
    );
    let implemented = manager
        .post(
            &format!("{lessons_page}/{lesson}/implement"),
            &[
                ("guide_id", &draft.to_string()),
                ("preview_id", &preview.to_string()),
                ("idempotency_key", &Uuid::now_v7().to_string()),
            ],
            &[],
        )
        .await;
    assert_eq!(
        implemented.status,
        StatusCode::SEE_OTHER,
        "{}",
        implemented.body
    );
    let page = manager.get(&lessons_page).await;
    assert!(
        page.body.contains(&format!(
            r#"<a href="{report_page}">the preview of guide v2</a>: 2 of 4 submissions change route"#
        )),
        "{}",
        page.body
    );
}
