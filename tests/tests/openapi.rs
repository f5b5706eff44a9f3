//! The OpenAPI document: it validates, it lists exactly the routes the router serves,
//! and what it says about them is true of the running server.
//!
//! * The served `/api/v1/openapi.json` validates against the OpenAPI Initiative's
//!   schema for 3.1 documents (vendored in `tests/fixtures/openapi/`), and every schema
//!   in it is a valid JSON Schema 2020-12.
//! * Its operations are exactly the ones `workstream_api::api_routes()` mounts, and no
//!   API module mounts a route any other way (a source scan for `.route(`).
//! * Every documented operation is served: called without a token, an authenticated
//!   one answers 401 `missing_token` (the router's fallback would answer 404), a public
//!   one 200; another method on a documented path answers 405.
//! * Every error code the document names is a string the code base can produce.
//! * The docs page renders every operation.
//! * An external validator accepts it: `openapi-spec-validator` (PyPI, pinned in
//!   `tests/fixtures/openapi/requirements.txt`, installed into `target/` on first use).

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_e2e::TestServer;
use workstream_e2e::toolchains::{or_skip, pip_packages};

const OAS_SCHEMA: &str = include_str!("../fixtures/openapi/oas-3.1-schema-2022-10-07.json");

async fn document(server: &TestServer) -> Value {
    let response = server
        .client
        .get(format!("{}/api/v1/openapi.json", server.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.expect("JSON")
}

/// `(METHOD, /path)` of every operation in the document.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            operations.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    operations
}

#[tokio::test]
async fn the_document_validates_against_the_openapi_3_1_schema() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    assert_eq!(document["openapi"], "3.1.0");

    let schema: Value = serde_json::from_str(OAS_SCHEMA).expect("the OAS schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("the OAS schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the document is not OpenAPI 3.1: {errors:#?}"
    );

    // The OAS schema checks schema objects only loosely; check each one in full.
    for (name, component) in document["components"]["schemas"].as_object().unwrap() {
        if let Err(error) = jsonschema::draft202012::meta::validate(component) {
            panic!("components.schemas.{name} is not a JSON Schema 2020-12: {error}");
        }
    }
    // A field of any JSON is `{}`, never the bare `true` generators refuse.
    let mut bare = Vec::new();
    find_bare_true(&document, "", &mut bare);
    assert!(bare.is_empty(), "schemas written as `true`: {bare:#?}");

    // Two types of one name would be told apart by a number (`Claimed2`): every
    // component has a name of its own.
    let numbered: Vec<&String> = document["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|name| name.ends_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(
        numbered.is_empty(),
        "components named apart by a number: {numbered:?}"
    );

    // Every `$ref` resolves against the document itself (as OpenAPI tools resolve it).
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = &reference[..reference.find('"').unwrap()];
        let pointer = target.strip_prefix('#').expect("a local $ref");
        assert!(
            document.pointer(pointer).is_some(),
            "dangling $ref {target}"
        );
    }

    // Every JSON success answer has the schema of the type the handler serializes; the
    // one bare object is this document itself (its own schema is the OpenAPI one).
    let mut untyped = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(schema) = response["content"]["application/json"].get("schema") else {
                    continue;
                };
                let bare = schema == &serde_json::json!({ "type": "object" })
                    || schema == &serde_json::json!({});
                if status.starts_with('2') && bare && path != "/openapi.json" {
                    untyped.push(format!("{method} {path} {status}"));
                }
            }
        }
    }
    assert!(
        untyped.is_empty(),
        "success answers without a type: {untyped:#?}"
    );

    let ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|operation| operation["operationId"].as_str().expect("operationId"))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds must be unique");
}

#[tokio::test]
async fn openapi_spec_validator_accepts_the_document() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openapi");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-tools/openapi-venv");
    let Some(bin) = or_skip(
        "openapi_spec_validator_accepts_the_document",
        pip_packages(&target, &fixtures.join("requirements.txt")),
    ) else {
        return;
    };
    let server = TestServer::start().await;
    let document = document(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let out = std::process::Command::new(bin.join("openapi-spec-validator"))
        .arg(&file)
        .output()
        .expect("openapi-spec-validator runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_mounts() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let mounted: BTreeSet<(String, String)> = workstream_api::api_routes()
        .operations()
        .iter()
        .map(|op| (op.method.to_string(), op.path.replace("{*", "{")))
        .collect();
    assert_eq!(documented(&document), mounted);
    assert!(mounted.len() >= 90, "only {} operations", mounted.len());

    // No module mounts a route around `ApiRoutes`: the only `.route(` calls in the API
    // crate are `ApiRoutes`'s own and the process-level ones beside the API (the
    // liveness probe and the Prometheus scrape, on the main address and on the metrics
    // address).
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/workstream-api/src");
    let mut bypasses = Vec::new();
    scan(&source, &mut |file, text| {
        let name = file.strip_prefix(&source).unwrap().display().to_string();
        // The web UI (`ui/`) is mounted beside the API, under `/ui`, not in it.
        if name.starts_with("ui/") {
            return;
        }
        for (number, line) in text.lines().enumerate() {
            let allowed = (name == "openapi/mod.rs"
                && line.contains("self.router.route(path, route)"))
                || (name == "lib.rs"
                    && (line.contains(".route(\"/health\", get(health::liveness))")
                        || line.contains(".route(\"/metrics\", get(telemetry::metrics))")))
                || (name == "telemetry.rs" && line.trim() == ".route(");
            if line.contains(".route(") && !allowed {
                bypasses.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    });
    assert!(
        bypasses.is_empty(),
        "routes mounted outside ApiRoutes: {bypasses:#?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served_as_documented() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let placeholder = Uuid::now_v7().to_string();
    for (method, path) in documented(&document) {
        let operation = &document["paths"][&path][method.to_ascii_lowercase()];
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment == "{path}" {
                    "outputs/answer.md".to_owned()
                } else if segment.starts_with('{') {
                    placeholder.clone()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}/api/v1{concrete}", server.base_url);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = server
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .expect("request");
        let public = operation["security"] == serde_json::json!([]);
        if public {
            assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        } else {
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "missing_token", "{method} {path}");
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path} does not document its 401"
            );
        }

        // A method the path does not serve is 405, not the fallback 404.
        let item = document["paths"][&path].as_object().unwrap();
        if let Some(other) = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .find(|m| !item.contains_key(*m))
        {
            let other = Method::from_bytes(other.to_ascii_uppercase().as_bytes()).unwrap();
            let response = server
                .client
                .request(other.clone(), &url)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{other} {path}"
            );
        }
    }
    // And the fallback really is what an undocumented path gets.
    let response = server
        .client
        .get(format!("{}/api/v1/no-such-route", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_the_document_says_of_requests_matches_the_handlers() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let schemas = &document["components"]["schemas"];
    let operation = |method: &str, path: &str| document["paths"][path][method].clone();

    // A typed JSON body: the schema of the type serde reads, strict as serde is.
    let create = operation("post", "/projects");
    let reference = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("a named body schema")
        .trim_start_matches("#/components/schemas/")
        .to_owned();
    let body = &schemas[&reference];
    assert_eq!(body["additionalProperties"], false);
    let required: BTreeSet<&str> = body["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, BTreeSet::from(["name", "slug"]));
    assert_eq!(create["security"], serde_json::json!([{ "bearer": [] }]));
    assert!(create["responses"]["201"].is_object());
    assert_eq!(
        create["responses"]["409"]["x-error-codes"],
        serde_json::json!(["idempotency_mismatch", "project_slug_conflict"])
    );

    // Path ids come from the handler's `Ids<(Uuid, Uuid)>`, in order.
    let detail = operation("get", "/projects/{pid}/tasks/{tid}");
    let names: Vec<&str> = detail["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pid", "tid"]);
    for parameter in detail["parameters"].as_array().unwrap() {
        assert_eq!(parameter["schema"]["format"], "uuid");
        assert_eq!(parameter["in"], "path");
    }

    // Mutations need the idempotency key; the decision body names its enums.
    let decide = operation("post", "/reviews/leases/{lid}/decision");
    assert!(
        decide["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey")
    );
    let input = &schemas["DecisionInput"];
    assert_eq!(
        input["properties"]["decision"]["enum"],
        serde_json::json!(["accept", "needs_revision", "reject"])
    );
    // A policy travels as its schema of `policies/`.
    let guide = operation("post", "/projects/{project_id}/guides");
    let name = guide["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .trim_start_matches("#/components/schemas/")
        .to_owned();
    assert_eq!(
        schemas[&name]["properties"]["policy_bundle"]["$ref"],
        "#/components/schemas/PolicyBundle"
    );
    assert_eq!(
        schemas["PolicyBundle"]["properties"]["checker_policy"]["$ref"],
        "#/components/schemas/CheckerPolicy"
    );

    // The packet upload is multipart, with its three parts.
    let upload = operation("post", "/tasks/{tid}/packets");
    let parts = &upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"];
    assert_eq!(
        *parts,
        serde_json::json!(["summary", "attestation", "packet"])
    );

    // Query parameters from the handler's `Query<PageQuery>`.
    let list = operation("get", "/projects");
    let query: BTreeSet<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, BTreeSet::from(["cursor", "limit"]));
}

#[tokio::test]
async fn every_documented_error_code_is_one_the_code_can_produce() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let mut sources = String::new();
    for crate_dir in [
        "workstream-api",
        "workstream-engine",
        "workstream-domain",
        "workstream-store",
        "workstream-sandbox",
    ] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates")
            .join(crate_dir)
            .join("src");
        scan(&root, &mut |file, text| {
            // The catalogue itself and the document's own tables of shared codes do
            // not count as producers.
            if !file.ends_with("error_code.rs") && !file.to_string_lossy().contains("openapi/") {
                sources.push_str(text);
            }
        });
    }
    let mut unknown = BTreeSet::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                for code in response["x-error-codes"].as_array().into_iter().flatten() {
                    let text = code.as_str().unwrap();
                    let code = ErrorCode::from_code(text)
                        .unwrap_or_else(|| panic!("{text} is not in the catalogue"));
                    // Listed under the one status the catalogue gives it.
                    assert_eq!(status, &code.status().to_string(), "{text}");
                    if !sources.contains(&format!("ErrorCode::{code:?}")) {
                        unknown.insert(text.to_owned());
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "documented codes nothing produces: {unknown:?}"
    );
}

#[tokio::test]
async fn the_document_carries_the_whole_error_catalogue() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let catalogue = document["x-error-catalogue"].as_array().unwrap();
    assert_eq!(catalogue.len(), ErrorCode::ALL.len());
    for (entry, code) in catalogue.iter().zip(ErrorCode::ALL) {
        assert_eq!(entry["code"], code.as_str());
        assert_eq!(entry["status"], code.status());
        assert_eq!(entry["message"], code.message());
        assert_eq!(entry["fix"], code.fix());
    }
    // The envelope's code is the catalogue's enum, so a response with any other code
    // fails the conformance check every test server runs.
    let codes = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), ErrorCode::ALL.len());
    assert_eq!(
        document["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["properties"]["code"]
            ["$ref"],
        "#/components/schemas/ErrorCode"
    );
}

#[tokio::test]
async fn the_docs_page_shows_every_operation() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let response = server
        .client
        .get(format!("{}/api/v1/docs", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(page.contains(&format!("<code>{id}</code>")), "{id} missing");
        }
    }
    assert!(page.contains("id=\"schema-policybundle\""));
}

/// Calls `visit` with every `.rs` file under `dir` and its text.
fn scan(dir: &Path, visit: &mut dyn FnMut(&Path, &str)) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scan(&path, visit);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            visit(&path, &text);
        }
    }
}

/// Schema positions (a property, `items`) holding the bare `true`.
fn find_bare_true(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                for (name, property) in properties {
                    if *property == Value::Bool(true) {
                        found.push(format!("{at}/properties/{name}"));
                    }
                }
            }
            if map.get("items") == Some(&Value::Bool(true)) {
                found.push(format!("{at}/items"));
            }
            for (key, child) in map {
                find_bare_true(child, &format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                find_bare_true(child, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}
