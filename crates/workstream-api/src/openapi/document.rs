//! Assembles the OpenAPI 3.1 document from the mounted [`Operation`]s.
//!
//! Each operation's parameters, body and responses come from its [`RequestShape`]
//! (what the handler reads) and its [`Doc`](super::Doc) (what the author states). The
//! document adds what every operation of a shape has in common, so no route has to
//! restate it: a bearer-authenticated operation can answer 401 and 403 for the
//! identity rules and 503 when tokens cannot be verified; one with path ids can answer
//! 422 `malformed_id` and the concealed 404; one with a body 422 `invalid_request` and
//! 413; a mutation behind `Idempotency-Key` 422 for a missing or invalid key and 409
//! `idempotency_mismatch`. Every error has the same envelope, and each error response
//! lists its stable codes in `x-error-codes`, grouped by the status the catalogue gives
//! them; the whole catalogue ([`ErrorCode`], with each code's status, meaning and fix)
//! is the document's `x-error-catalogue`, and the envelope's `code` is its enum.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};
use workstream_domain::ErrorCode;
use workstream_domain::policy::schema as policy_schemas;

use super::Operation;
use super::request::{Body, RequestShape};

/// Where named schemas live in the document.
const SCHEMAS: &str = "#/components/schemas/";

/// The codes the identity rules answer with, for every bearer-authenticated route.
const UNAUTHENTICATED: &[ErrorCode] = &[ErrorCode::MissingToken, ErrorCode::InvalidToken];
const IDENTITY_REFUSED: &[ErrorCode] = &[
    ErrorCode::UnsupportedSubjectKind,
    ErrorCode::ServiceActorNotProvisioned,
    ErrorCode::IdentityLinkRevoked,
    ErrorCode::ActorSuspended,
    ErrorCode::ActorDeactivated,
    ErrorCode::SubjectKindMismatch,
];

/// The document for `operations`, as served at `/api/v1/openapi.json`.
pub fn build(operations: &[Operation]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
        })
        .into_generator();

    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags: Vec<&'static str> = Vec::new();
    for operation in operations {
        if !tags.contains(&operation.tag) {
            tags.push(operation.tag);
        }
        let described = describe(operation, &mut generator);
        paths
            .entry(openapi_path(operation.path))
            .or_default()
            .insert(operation.method.as_str().to_ascii_lowercase(), described);
    }

    let mut schemas = generator.take_definitions(true);
    schemas.insert("ErrorEnvelope".into(), error_envelope());
    schemas.insert(
        "ErrorCode".into(),
        generator.root_schema_for::<ErrorCode>().to_value(),
    );
    for (name, text) in policy_documents() {
        let schema: Value = serde_json::from_str(text).expect("the policy schemas are JSON");
        hoist_defs(schema, name, &mut schemas);
    }
    link_bundle_parts(&mut schemas);

    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Workstream API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Measure, certify and coordinate human-agent work.",
            "description": INTRODUCTION,
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{ "url": "/api/v1", "description": "this server" }],
        "tags": tags.iter().map(|tag| json!({ "name": tag })).collect::<Vec<_>>(),
        "paths": paths,
        "x-error-catalogue": error_catalogue(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Flow token (or, in `local`/`test`, a local HS256 token from `workstream token`). Tokens prove identity only; authority comes from grants stored here.",
                }
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": true,
                    "description": "A UUID naming this mutation. A retry with the same key and the same request answers the stored response (with `Idempotency-Replayed: true`) without running again; the same key with another request is 409 `idempotency_mismatch`.",
                    "schema": { "type": "string", "format": "uuid" },
                }
            },
        },
    });
    drop_defaults_the_schema_refuses(&mut document);
    spell_out_any(&mut document);
    document
}

/// A field of any JSON (a `serde_json::Value`, an audit payload) has the schema `true`,
/// which JSON Schema allows but client generators refuse where they expect a schema
/// object: such schemas are written `{}`, which means the same.
fn spell_out_any(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for property in properties.values_mut() {
                    if *property == Value::Bool(true) {
                        *property = json!({});
                    }
                }
            }
            for key in ["items", "additionalItems"] {
                if map.get(key) == Some(&Value::Bool(true)) {
                    map.insert(key.into(), json!({}));
                }
            }
            map.values_mut().for_each(spell_out_any);
        }
        Value::Array(items) => items.iter_mut().for_each(spell_out_any),
        _ => {}
    }
}

/// serde's `#[serde(default)]` on an optional field means "may be left out", and
/// schemars writes it as `"default": null` (or `""`), which the field's own schema may
/// refuse (an object, an enum of names). A generator would then offer a default that
/// the server rejects; such defaults are dropped: leaving the field out is the default.
fn drop_defaults_the_schema_refuses(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let refused = match map.get("default") {
                Some(Value::Null) => !admits_null(map),
                Some(default) => map
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|names| !names.contains(default)),
                None => false,
            };
            if refused {
                map.remove("default");
            }
            map.values_mut().for_each(drop_defaults_the_schema_refuses);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_defaults_the_schema_refuses),
        _ => {}
    }
}

/// Whether a schema object lets `null` through by its `type` (or has no `type`).
fn admits_null(schema: &Map<String, Value>) -> bool {
    let in_enum = schema
        .get("enum")
        .and_then(Value::as_array)
        .is_none_or(|names| names.contains(&Value::Null));
    let typed = match schema.get("type") {
        None => !schema.contains_key("$ref"),
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.contains(&json!("null")),
        Some(_) => false,
    };
    typed && in_enum
}

/// What the document says before the operations.
const INTRODUCTION: &str = "Every route but the health probes and this document takes \
`Authorization: Bearer <JWT>`. JSON bodies are strict: unknown fields, wrong types and missing \
fields are 422 `invalid_request` with the reason in `details.reason`. Every mutation carries \
an `Idempotency-Key`. Every error is the envelope `{\"error\": {code, message, details, \
correlation_id, retryable}}` with a stable `code`; a resource the caller may not see answers \
the concealed 404 `not_found`, the same as one that does not exist. Lists are cursor-paged \
(`?limit=&cursor=`).";

/// `{*path}` (axum's catch-all) is `{path}` in OpenAPI.
pub fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The names of the path's parameters, in order.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.trim_start_matches('*'))
        .collect()
}

fn describe(operation: &Operation, generator: &mut SchemaGenerator) -> Value {
    let doc = &operation.doc;
    let mut shape = RequestShape::default();
    (operation.describe)(&mut shape, generator);
    if let Some(body) = doc.body {
        shape.body = Some(Body::Json(body(generator)));
    }

    let mut parameters = path_parameter_objects(operation.path, shape.path.as_ref());
    if let Some(query) = &shape.query {
        parameters.extend(query_parameter_objects(query));
    }
    if shape.idempotency_key {
        parameters.push(json!({ "$ref": "#/components/parameters/IdempotencyKey" }));
    }

    let mut description = String::new();
    if let Some(who) = doc.who {
        description.push_str(&format!("**Who:** {who}."));
    } else if !shape.authenticated {
        description.push_str("**Who:** anyone; no token is needed.");
    }
    for note in &doc.notes {
        description.push_str("\n\n");
        description.push_str(note);
    }

    let mut described = json!({
        "operationId": operation.operation_id(),
        "summary": doc.summary,
        "description": description,
        "tags": [operation.tag],
        "security": if shape.authenticated { json!([{ "bearer": [] }]) } else { json!([]) },
        "responses": responses(operation, &shape, generator),
    });
    let object = described.as_object_mut().expect("an object");
    if !parameters.is_empty() {
        object.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = request_body(&shape, doc) {
        object.insert("requestBody".into(), body);
    }
    described
}

fn path_parameter_objects(path: &str, ids: Option<&Schema>) -> Vec<Value> {
    let names = path_parameters(path);
    let positional = ids
        .and_then(|schema| schema.get("prefixItems"))
        .and_then(Value::as_array);
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let schema = match (positional, ids) {
                (Some(items), _) => items.get(index).cloned(),
                (None, Some(single)) if names.len() == 1 => Some(single.as_value().clone()),
                _ => None,
            }
            .unwrap_or_else(|| json!({ "type": "string" }));
            let schema = strip_annotations(schema);
            json!({ "name": name, "in": "path", "required": true, "schema": schema })
        })
        .collect()
}

fn query_parameter_objects(query: &Schema) -> Vec<Value> {
    let required: Vec<&str> = query
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = query.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, schema)| {
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": strip_annotations(schema.clone()),
            });
            if let Some(text) = schema.get("description") {
                parameter["description"] = text.clone();
            }
            parameter
        })
        .collect()
}

/// A parameter's description belongs on the parameter, not on its schema.
fn strip_annotations(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.remove("description");
        object.remove("title");
        object.remove("$schema");
    }
    schema
}

fn request_body(shape: &RequestShape, doc: &super::Doc) -> Option<Value> {
    let content = match shape.body.as_ref()? {
        Body::Json(schema) => json!({ "application/json": { "schema": schema } }),
        Body::Multipart => {
            let properties: Map<String, Value> = doc
                .parts
                .iter()
                .map(|(name, about)| {
                    // The file parts: `contentMediaType` is OpenAPI 3.1's way to say
                    // bytes, `format: binary` the way generators still read.
                    let file = match *name {
                        "packet" => Some("application/zip"),
                        "component" => Some("application/wasm"),
                        _ => None,
                    };
                    let schema = match file {
                        Some(media) => json!({
                            "type": "string", "format": "binary", "contentMediaType": media,
                            "description": about,
                        }),
                        None => json!({ "type": "string", "description": about }),
                    };
                    ((*name).to_owned(), schema)
                })
                .collect();
            let names: Vec<&str> = doc.parts.iter().map(|(name, _)| *name).collect();
            json!({ "multipart/form-data": { "schema": {
                "type": "object",
                "properties": properties,
                "required": names,
            } } })
        }
        // A raw body with no stated type is any JSON.
        Body::Raw => json!({ "application/json": { "schema": {} } }),
    };
    Some(json!({ "required": !doc.body_optional, "content": content }))
}

fn responses(
    operation: &Operation,
    shape: &RequestShape,
    generator: &mut SchemaGenerator,
) -> Value {
    let doc = &operation.doc;
    let mut errors: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    let mut add = |codes: &[ErrorCode]| {
        for code in codes {
            let entry = errors.entry(code.status()).or_default();
            if !entry.contains(&code.as_str()) {
                entry.push(code.as_str());
            }
        }
    };
    // The text gate in front of every route: a NUL in the path, the query or the body.
    add(&[ErrorCode::InvalidRequest]);
    if shape.authenticated {
        add(UNAUTHENTICATED);
        // A first request makes the caller's profile, under the issuer's rate limit.
        add(&[ErrorCode::RateLimitExceeded]);
        add(IDENTITY_REFUSED);
        add(&[ErrorCode::IdentityVerificationUnavailable]);
    }
    if shape.path.is_some() {
        add(&[ErrorCode::MalformedId]);
        add(&[ErrorCode::NotFound]);
    }
    if shape.body.is_some() {
        // A value the record's own rules refuse (a length, a range) that no earlier
        // check named.
        add(&[ErrorCode::InvalidRequest, ErrorCode::ConstraintViolated]);
        add(&[ErrorCode::PayloadTooLarge]);
    }
    if shape.query.is_some() {
        add(&[ErrorCode::InvalidRequest]);
    }
    if shape.idempotency_key {
        add(&[
            ErrorCode::IdempotencyKeyRequired,
            ErrorCode::IdempotencyKeyInvalid,
        ]);
        add(&[ErrorCode::IdempotencyMismatch]);
    }
    for codes in &doc.refusals {
        add(codes);
    }
    add(&[ErrorCode::InternalError]);

    let (status, about) = doc.success;
    // Every JSON answer of the API is an object; a handler that answers an untyped
    // value (`Json<Value>`, whose schema is `true`) says no more than that.
    let success_schema = if let Some(schema) = (operation.answers)(generator)
        && schema.as_bool() != Some(true)
    {
        schema.to_value()
    } else if doc.success_media_type == "application/json" {
        json!({ "type": "object" })
    } else {
        json!({})
    };
    let mut responses = Map::new();
    for (status, about) in std::iter::once((status, about)).chain(doc.also.iter().copied()) {
        responses.insert(
            status.as_u16().to_string(),
            json!({
                "description": about,
                "content": { doc.success_media_type: { "schema": success_schema } },
            }),
        );
    }
    for (status, codes) in errors {
        let listed: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        responses.insert(
            status.to_string(),
            json!({
                "description": format!("{reason}: {}", listed.join(", ")),
                "x-error-codes": codes,
                "content": { "application/json": { "schema": { "$ref": format!("{SCHEMAS}ErrorEnvelope") } } },
            }),
        );
    }
    Value::Object(responses)
}

/// Every code of the catalogue with its status, meaning and fix, in the catalogue's order.
fn error_catalogue() -> Value {
    ErrorCode::ALL
        .iter()
        .map(|code| {
            json!({
                "code": code.as_str(),
                "status": code.status(),
                "message": code.message(),
                "fix": code.fix(),
            })
        })
        .collect()
}

fn error_envelope() -> Value {
    json!({
        "type": "object",
        "description": "Every error the API answers with.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details", "correlation_id", "retryable"],
                "properties": {
                    "code": { "$ref": format!("{SCHEMAS}ErrorCode"), "description": "Stable and machine-readable; each response lists its own in `x-error-codes`, and `x-error-catalogue` says what every code means and how to fix it." },
                    "message": { "type": "string", "description": "For humans; may change." },
                    "details": { "type": "object", "description": "Structured details: field errors (`errors[{path, message, code}]`), limits, reasons." },
                    "correlation_id": { "type": "string", "description": "The request's `X-Correlation-ID`: quote it when reporting a problem." },
                    "retryable": { "type": "boolean", "description": "True for 429 and 503: the same request may succeed later (see `Retry-After`)." },
                },
            }
        },
    })
}

/// The JSON Schemas of `policies/`, under the names request types refer to them by.
fn policy_documents() -> [(&'static str, &'static str); 6] {
    [
        ("PolicyBundle", policy_schemas::POLICY_BUNDLE_SCHEMA),
        ("ArtifactPolicy", policy_schemas::ARTIFACT_POLICY_SCHEMA),
        ("CheckerPolicy", policy_schemas::CHECKER_POLICY_SCHEMA),
        ("ReviewPolicy", policy_schemas::REVIEW_POLICY_SCHEMA),
        ("RevisionPolicy", policy_schemas::REVISION_POLICY_SCHEMA),
        (
            "ContributionPolicy",
            policy_schemas::CONTRIBUTION_POLICY_SCHEMA,
        ),
    ]
}

/// A policy schema's own references (`#/$defs/key`) resolve against its `$id` under
/// JSON Schema, but OpenAPI tools resolve every `#` against the document, and client
/// generators only follow references to whole components: each `$defs` entry becomes a
/// component of its own (`ArtifactPolicy`'s `key` is `ArtifactPolicyKey`), the
/// references point there, and the `$id` goes.
fn hoist_defs(mut schema: Value, name: &str, schemas: &mut Map<String, Value>) {
    fn component(name: &str, def: &str) -> String {
        let mut out = name.to_owned();
        for word in def.split(['_', '-']).filter(|w| !w.is_empty()) {
            let mut chars = word.chars();
            out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(chars.as_str());
        }
        out
    }
    fn walk(value: &mut Value, name: &str) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref")
                    && let Some(def) = reference.strip_prefix("#/$defs/")
                {
                    *reference = format!("{SCHEMAS}{}", component(name, def));
                }
                map.values_mut().for_each(|v| walk(v, name));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, name)),
            _ => {}
        }
    }
    walk(&mut schema, name);
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    object.remove("$id");
    object.remove("$schema");
    if let Some(Value::Object(defs)) = object.remove("$defs") {
        for (def, body) in defs {
            let hoisted = component(name, &def);
            assert!(
                !schemas.contains_key(&hoisted),
                "{hoisted} is already a component"
            );
            schemas.insert(hoisted, body);
        }
    }
    schemas.insert(name.into(), schema);
}

/// The bundle's schema names its parts only in comments (each part is validated
/// against its own file); in the document they are references.
fn link_bundle_parts(schemas: &mut Map<String, Value>) {
    let Some(bundle) = schemas
        .get_mut("PolicyBundle")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    bundle.remove("$id");
    bundle.remove("$schema");
    let parts = [
        ("artifact_policy", "ArtifactPolicy"),
        ("checker_policy", "CheckerPolicy"),
        ("review_policy", "ReviewPolicy"),
        ("revision_policy", "RevisionPolicy"),
    ];
    if let Some(properties) = bundle.get_mut("properties").and_then(Value::as_object_mut) {
        for (field, name) in parts {
            properties.insert(field.into(), json!({ "$ref": format!("{SCHEMAS}{name}") }));
        }
    }
}

/// A `$ref` to one of the policy schemas, for `#[schemars(schema_with = ..)]` on a
/// request field that carries a policy as a JSON value.
pub fn policy_ref(name: &str) -> Schema {
    Schema::new_ref(format!("{SCHEMAS}{name}"))
}
