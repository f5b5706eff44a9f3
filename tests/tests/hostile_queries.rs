//! Refusals are always the error envelope, with a stable code, never a plain-text body
//! or a 500: bad and unknown query parameters, numbers out of range, a multipart body
//! without its boundary, unknown routes and methods under `/api/v1`. And the server
//! accepts what its OpenAPI document allows (`cursor=` is the first page).

mod projects_support;

use projects_support::*;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

async fn raw(
    s: &workstream_e2e::TestServer,
    method: Method,
    path: &str,
    who: &workstream_e2e::TestActor,
    content_type: Option<&str>,
    body: &'static str,
) -> (u16, Value, String) {
    let mut request = s
        .client
        .request(method, s.url(path))
        .header("authorization", who.auth())
        .header("idempotency-key", Uuid::now_v7().to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body, content_type)
}

/// A request (method, path, content type, body) and the status and code it must get.
type Case = (
    Method,
    String,
    Option<&'static str>,
    &'static str,
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_is_an_envelope_with_a_code() {
    let server = workstream_e2e::TestServer::start_with_pipeline().await;
    let pm = manager(&server, "queries-pm").await;
    let project = create_project(&server, &pm, "hostile-queries").await;
    let tasks = format!("/api/v1/projects/{project}/tasks");
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            format!("{tasks}?limit=-1"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?limit=x"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?limit=0"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?limit=101"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?limit=99999999999999999999"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?unknown=1"),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{tasks}?cursor=not-a-cursor"),
            None,
            "",
            422,
            "invalid_cursor",
        ),
        (
            Method::GET,
            "/api/v1/me/assignments?limit=-1".into(),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/me/assignments?sort=name".into(),
            None,
            "",
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("/api/v1/tasks/{}/packets", Uuid::now_v7()),
            Some("multipart/form-data"),
            "no boundary",
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some("application/json"),
            "{not json",
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some("text/plain"),
            "{}",
            422,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/no-such-route".into(),
            None,
            "",
            404,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/projects".into(),
            None,
            "",
            405,
            "method_not_allowed",
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, content_type, body, status, code) in cases {
        let (got, answer, media) =
            raw(&server, method.clone(), &path, &pm, content_type, body).await;
        if got != status
            || answer["error"]["code"] != code
            || !media.starts_with("application/json")
        {
            wrong.push(format!(
                "{method} {path}: {got} {media} {answer}, expected {status} {code}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Finance's reconciliation with an SLA past anything a date can hold.
    let fin = finance(&server, "queries-fin", project).await;
    for sla in ["9223372036854775807", "-1", "315360001"] {
        let path = format!(
            "/api/v1/projects/{project}/compensation/reconciliation?pending_sla_seconds={sla}"
        );
        let (status, answer, _) = raw(&server, Method::GET, &path, &fin, None, "").await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (422, &serde_json::json!("invalid_request")),
            "{sla}: {answer}"
        );
    }

    // The document says what the server takes: every page size is 1..=100.
    let document: Value = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut limits = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" {
                    limits += 1;
                    let schema = &parameter["schema"];
                    assert_eq!(
                        (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
                        (Some(1), Some(100)),
                        "{path}: {schema}"
                    );
                }
            }
        }
    }
    assert!(limits >= 10, "only {limits} paged operations");

    // What the document allows is accepted: an empty cursor is the first page.
    let (status, page, _) = raw(
        &server,
        Method::GET,
        &format!("{tasks}?cursor="),
        &pm,
        None,
        "",
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, page, _) = raw(
        &server,
        Method::GET,
        &format!("{tasks}?limit=1&cursor="),
        &pm,
        None,
        "",
    )
    .await;
    assert_eq!(status, 200, "{page}");
}
