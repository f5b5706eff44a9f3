//! The JSON Schemas of `policies/`, embedded, and validation against them.
//!
//! The schema files are the contract a project manager writes against; they are
//! compiled into the binary so validation needs no file system and cannot drift from
//! the shipped version. Parts are validated one by one with their path prefixed, so an
//! error reads `/artifact_policy/maximum_file_size_bytes`, not a path into a `$ref`.

use std::sync::LazyLock;

use jsonschema::Validator;
use serde::Serialize;
use serde_json::{Value, json};

use super::types::PolicyBundle;

/// `policies/policy-bundle.schema.json`: the bundle's top level.
pub const POLICY_BUNDLE_SCHEMA: &str =
    include_str!("../../../../policies/policy-bundle.schema.json");
/// `policies/artifact-policy.schema.json`.
pub const ARTIFACT_POLICY_SCHEMA: &str =
    include_str!("../../../../policies/artifact-policy.schema.json");
/// `policies/checker-policy.schema.json`.
pub const CHECKER_POLICY_SCHEMA: &str =
    include_str!("../../../../policies/checker-policy.schema.json");
/// `policies/review-policy.schema.json`.
pub const REVIEW_POLICY_SCHEMA: &str =
    include_str!("../../../../policies/review-policy.schema.json");
/// `policies/revision-policy.schema.json`.
pub const REVISION_POLICY_SCHEMA: &str =
    include_str!("../../../../policies/revision-policy.schema.json");
/// `policies/contribution-policy.schema.json`: the rules of a contribution policy version.
pub const CONTRIBUTION_POLICY_SCHEMA: &str =
    include_str!("../../../../policies/contribution-policy.schema.json");
/// `policies/platform-defaults.json`: the defaults merged into every bundle.
pub const PLATFORM_DEFAULTS_JSON: &str =
    include_str!("../../../../policies/platform-defaults.json");

/// Most errors reported for one document; the rest are dropped (the first ones are
/// enough to act on, and the response stays small).
pub const MAX_ERRORS: usize = 50;

/// One validation problem: where (a JSON Pointer into the submitted document) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901); empty for the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// A stable code for problems found after the schema (R8 defects, quantity
    /// rules); absent for plain schema errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl FieldError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
            code: None,
        }
    }

    /// A problem at `path` with a stable code.
    pub fn coded(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
            code: Some(code),
        }
    }
}

/// Errors as the `details` object of an API error: `{"errors": [{path, message}]}`.
pub fn details(errors: &[FieldError]) -> Value {
    json!({ "errors": errors })
}

fn compile(text: &str) -> Validator {
    let schema: Value = serde_json::from_str(text).expect("embedded schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("embedded schema compiles")
}

static BUNDLE: LazyLock<Validator> = LazyLock::new(|| compile(POLICY_BUNDLE_SCHEMA));
static ARTIFACT: LazyLock<Validator> = LazyLock::new(|| compile(ARTIFACT_POLICY_SCHEMA));
static CHECKER: LazyLock<Validator> = LazyLock::new(|| compile(CHECKER_POLICY_SCHEMA));
static REVIEW: LazyLock<Validator> = LazyLock::new(|| compile(REVIEW_POLICY_SCHEMA));
static REVISION: LazyLock<Validator> = LazyLock::new(|| compile(REVISION_POLICY_SCHEMA));
static CONTRIBUTION: LazyLock<Validator> = LazyLock::new(|| compile(CONTRIBUTION_POLICY_SCHEMA));

static DEFAULTS: LazyLock<PolicyBundleDefaults> = LazyLock::new(|| {
    let value: Value = serde_json::from_str(PLATFORM_DEFAULTS_JSON).expect("defaults are JSON");
    serde_json::from_value(value).expect("defaults match the bundle types")
});

/// The platform defaults: an artifact policy and a checker policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBundleDefaults {
    /// Only documentation.
    #[serde(rename = "$comment", default)]
    pub comment: String,
    /// The default artifact policy (every optional field set).
    pub artifact_policy: super::types::ArtifactPolicy,
    /// The default checkers, in their fixed order.
    pub checker_policy: super::types::CheckerPolicy,
}

/// The parsed platform defaults.
pub fn platform_defaults() -> &'static PolicyBundleDefaults {
    &DEFAULTS
}

fn collect(validator: &Validator, value: &Value, prefix: &str, out: &mut Vec<FieldError>) {
    for error in validator.iter_errors(value) {
        if out.len() >= MAX_ERRORS {
            return;
        }
        out.push(FieldError::new(
            format!("{prefix}{}", error.instance_path()),
            error.to_string(),
        ));
    }
}

/// Every schema error of a submitted bundle: the top level, then each present part.
pub fn validate_bundle(bundle: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    collect(&BUNDLE, bundle, "", &mut errors);
    let parts: [(&str, &LazyLock<Validator>); 4] = [
        ("artifact_policy", &ARTIFACT),
        ("checker_policy", &CHECKER),
        ("review_policy", &REVIEW),
        ("revision_policy", &REVISION),
    ];
    for (name, validator) in parts {
        if let Some(part) = bundle.get(name).filter(|p| p.is_object()) {
            collect(validator, part, &format!("/{name}"), &mut errors);
        }
    }
    errors
}

/// Whether `error` concerns the part `name`: it points into it, or it says the part
/// itself is missing from the bundle.
pub fn is_under(error: &FieldError, name: &str) -> bool {
    let prefix = format!("/{name}");
    error.path == prefix
        || error.path.starts_with(&format!("{prefix}/"))
        || (error.path.is_empty() && error.message.contains(&format!("\"{name}\"")))
}

/// Schema errors of contribution policy terms (`{"rules": [...]}`).
pub fn validate_contribution_terms(terms: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    collect(&CONTRIBUTION, terms, "", &mut errors);
    errors
}

/// Schema errors of `instance` against a checker's declared configuration schema;
/// `Err` when the schema itself does not compile.
pub fn validate_against(schema: &Value, instance: &Value) -> Result<Vec<FieldError>, String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .map_err(|err| err.to_string())?;
    let mut errors = Vec::new();
    collect(&validator, instance, "", &mut errors);
    Ok(errors)
}

/// Checks that a bundle document parses as the typed [`PolicyBundle`] (used by tests
/// to keep the schemas and the types in step).
pub fn parse_bundle(value: &Value) -> Result<PolicyBundle, serde_json::Error> {
    serde_json::from_value(value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles_and_defaults_parse() {
        LazyLock::force(&BUNDLE);
        LazyLock::force(&ARTIFACT);
        LazyLock::force(&CHECKER);
        LazyLock::force(&REVIEW);
        LazyLock::force(&REVISION);
        LazyLock::force(&CONTRIBUTION);
        let defaults = platform_defaults();
        assert_eq!(defaults.checker_policy.checkers.len(), 7);
        // The defaults satisfy the part schemas they are merged under.
        let value: Value = serde_json::from_str(PLATFORM_DEFAULTS_JSON).unwrap();
        let mut errors = Vec::new();
        collect(
            &ARTIFACT,
            &value["artifact_policy"],
            "/artifact_policy",
            &mut errors,
        );
        collect(
            &CHECKER,
            &value["checker_policy"],
            "/checker_policy",
            &mut errors,
        );
        assert_eq!(errors, vec![]);
    }

    #[test]
    fn errors_carry_the_path_of_the_field() {
        let bundle = json!({
            "artifact_policy": { "maximum_file_size_bytes": 0, "artifact_hash_algorithm": "md5" },
            "checker_policy": { "checkers": [], "blocking_severities": ["critical"] },
            "review_policy": {},
            "revision_policy": {},
            "surprise": true
        });
        let errors = validate_bundle(&bundle);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&""), "{paths:?}");
        assert!(paths.contains(&"/artifact_policy/maximum_file_size_bytes"));
        assert!(paths.contains(&"/artifact_policy/artifact_hash_algorithm"));
        assert!(paths.contains(&"/checker_policy/blocking_severities"));
        assert!(paths.contains(&"/review_policy"));
    }
}
