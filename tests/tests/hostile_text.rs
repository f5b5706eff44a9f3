//! NUL anywhere answers 4xx: for every operation of the served OpenAPI document, a NUL
//! character in each string field of its JSON body, in each query parameter and in
//! each string path parameter is refused with 422 `invalid_request` naming the field,
//! by the one text gate in front of the API (`crates/workstream-api/src/text_gate.rs`);
//! a multipart text field with NUL and a token whose subject holds NUL are refused too.
//! No answer is a 5xx, and nothing reaches the database.

use reqwest::Method;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use workstream_api::auth::LocalToken;
use workstream_e2e::TestServer;

/// Where a string can be in a JSON body: the JSON pointers of its string fields, from
/// the schema (`$ref`s into the document's components resolved, nested objects and
/// arrays followed, at most a few levels deep).
fn string_fields(document: &Value, schema: &Value, at: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 6 {
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolvable {reference}"));
        return string_fields(document, target, at, depth + 1, out);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            for option in options {
                string_fields(document, option, at, depth + 1, out);
            }
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"string") && !at.is_empty() {
        out.push(at.to_owned());
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            string_fields(document, property, &format!("{at}/{name}"), depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        string_fields(document, items, &format!("{at}/0"), depth + 1, out);
    }
}

/// A body holding only `value` at `pointer` (objects and one-element arrays on the way).
fn body_at(pointer: &str, value: Value) -> Value {
    let mut parts: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut body = value;
    while let Some(part) = parts.pop() {
        body = if part == "0" {
            Value::Array(vec![body])
        } else {
            let mut map = Map::new();
            map.insert(part.to_owned(), body);
            Value::Object(map)
        };
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_in_every_string_of_every_route_is_refused_before_it_is_stored() {
    let server = TestServer::start_with_pipeline().await;
    let prober = server.actor("nul-prober").await;
    let document: Value = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(server.database.pool())
        .await
        .unwrap();

    let mut sent = 0;
    let mut wrong = Vec::new();
    let mut check = |what: String, status: u16, body: &Value, gated: bool| {
        sent += 1;
        let ok = if gated {
            status == 422
                && body["error"]["code"] == "invalid_request"
                && body["error"]["details"]["reason"] == "nul_character"
        } else {
            (400..500).contains(&status) && body["error"]["code"].is_string()
        };
        if !ok {
            wrong.push(format!("{what}: {status} {body}"));
        }
    };

    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method: Method = method.to_ascii_uppercase().parse().unwrap();
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // Ids are fresh UUIDs; a string parameter gets a plain value, or the NUL
            // when it is the one probed.
            let mut ids = format!("/api/v1{path}");
            let mut string_params = Vec::new();
            for p in &parameters {
                if p["in"] != "path" {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                if p["schema"]["format"] == "uuid" {
                    ids = ids.replace(&format!("{{{name}}}"), &Uuid::now_v7().to_string());
                } else {
                    string_params.push(name.to_owned());
                }
            }
            let with = |probed: Option<&str>| {
                string_params.iter().fold(ids.clone(), |url, name| {
                    let value = if Some(name.as_str()) == probed {
                        "x%00y"
                    } else {
                        "x"
                    };
                    url.replace(&format!("{{{name}}}"), value)
                })
            };
            let concrete = with(None);
            let call = async |url: String, body: Option<Value>| {
                let mut request = server
                    .client
                    .request(method.clone(), server.url(&url))
                    .header("authorization", prober.auth());
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body)
            };

            // Each string path parameter.
            for name in &string_params {
                let (status, body) = call(with(Some(name)), None).await;
                check(format!("{method} {path} path {name}"), status, &body, true);
            }
            // Each query parameter.
            for p in &parameters {
                if p["in"] != "query" {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                let (status, body) = call(format!("{concrete}?{name}=x%00y"), None).await;
                check(format!("{method} {path} query {name}"), status, &body, true);
            }
            // Each string field of a JSON body, and a key holding NUL.
            if let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema")
            {
                let mut fields = Vec::new();
                string_fields(&document, schema, "", 0, &mut fields);
                fields.sort();
                fields.dedup();
                for field in &fields {
                    let (status, body) =
                        call(concrete.clone(), Some(body_at(field, json!("x\u{0}y")))).await;
                    check(format!("{method} {path} body {field}"), status, &body, true);
                }
                let (status, body) = call(concrete.clone(), Some(json!({"k\u{0}": 1}))).await;
                check(format!("{method} {path} body key"), status, &body, true);
            }
            // Every operation answers with a 4xx for a NUL in its query string, even one
            // it does not declare.
            let (status, body) = call(format!("{concrete}?q=%00"), None).await;
            check(
                format!("{method} {path} undeclared query"),
                status,
                &body,
                true,
            );
        }
    }

    // A multipart text field: the packet upload's summary.
    let form = reqwest::multipart::Form::new()
        .text("summary", "a\u{0}b")
        .text("attestation", "mine")
        .part(
            "packet",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("p.zip"),
        );
    let response = server
        .client
        .post(server.url(&format!("/api/v1/tasks/{}/packets", Uuid::now_v7())))
        .header("authorization", prober.auth())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    check("multipart summary".into(), status, &body, false);

    // A validly signed token whose subject holds NUL.
    let token = server.mint(&LocalToken::human("nul\u{0}subject"));
    let response = server
        .client
        .get(server.url("/api/v1/me/assignments"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("invalid_token")),
        "{body}"
    );

    assert!(
        wrong.is_empty(),
        "{} of {sent} answers were wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        sent > 300,
        "only {sent} probes: the document was not walked"
    );
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    // The prober's own first access is the only event.
    assert!(
        events_after - events_before <= 1,
        "{events_before} -> {events_after}"
    );
}
