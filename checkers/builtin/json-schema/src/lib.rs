//! `json-schema`: a structured output of the packet has the agreed shape.
//!
//! Tasks whose deliverable is data (a labels file, a results table as
//! JSON) name the file and its schema in the configuration; a reviewer then
//! never has to spot a missing field by eye. The full JSON Schema crates do
//! not fit a small component (they bring regex engines, URL resolution and
//! network loaders), so validation uses the subset in [`subset`], which
//! covers what data deliverables use. A schema with any other keyword is
//! refused as a configuration error: silently ignoring a `pattern` would
//! pass files the project meant to reject.
//!
//! Codes (all `error`, with the file's path): `json_file_missing`,
//! `json_file_too_large`, `json_invalid` (with the line of the syntax
//! error), `json_schema_violation` (one per violation, naming the location
//! in the document as a JSON pointer).

pub mod subset;

use serde::Deserialize;
use serde_json::Value;
use workstream_checker_sdk::manifest::check_path;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Packet path of the JSON file.
    pub path: String,
    /// The schema the file must satisfy.
    pub schema: Value,
    /// Whether a missing file fails.
    #[serde(default = "yes")]
    pub required: bool,
    /// Largest file parsed, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
}

fn yes() -> bool {
    true
}

fn default_max_bytes() -> u64 {
    16 << 20
}

/// The checker.
pub struct JsonSchema;

impl Checker for JsonSchema {
    const NAME: &'static str = "json-schema";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Validates one JSON file of the packet against a JSON Schema given in the \
        configuration (a documented subset of draft 2020-12).";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        check_path(&config.path).map_err(|problem| {
            CheckError::new(format!(
                "invalid checker configuration: `path`: {}",
                problem.describe()
            ))
        })?;
        subset::check_schema(&config.schema).map_err(|problem| {
            CheckError::new(format!(
                "invalid checker configuration: `schema`: {problem}"
            ))
        })?;
        let path = config.path.as_str();

        if ctx.manifest().get(path).is_none() {
            if config.required {
                out.error(
                    "json_file_missing",
                    format!("The packet has no file {path}, which must hold JSON."),
                )
                .path(path)
                .fix(format!(
                    "Add {path} with the JSON the task describes and upload again."
                ));
            }
            return Ok(());
        }
        let Some(file) = ctx.packet().read_text(path, config.max_bytes)? else {
            out.error(
                "json_invalid",
                "This file is not UTF-8 text, so it cannot be JSON.",
            )
            .path(path)
            .fix("Save the file as UTF-8 encoded JSON.");
            return Ok(());
        };
        if file.truncated {
            out.error(
                "json_file_too_large",
                format!(
                    "This file is larger than the {} bytes this check reads.",
                    config.max_bytes
                ),
            )
            .path(path)
            .fix("Reduce the file to what the task asks for.");
            return Ok(());
        }
        let document: Value = match serde_json::from_str(&file.text) {
            Ok(document) => document,
            Err(err) => {
                let finding = out
                    .error(
                        "json_invalid",
                        format!("This file is not valid JSON: {}.", describe(&err)),
                    )
                    .path(path);
                let finding = match u32::try_from(err.line()) {
                    Ok(line) if line > 0 => finding.line(line),
                    _ => finding,
                };
                finding.fix("Fix the JSON syntax at the indicated line (a JSON linter shows the exact spot).");
                return Ok(());
            }
        };

        let violations = subset::validate(&config.schema, &document, out.limit() + 1);
        for violation in &violations {
            out.error("json_schema_violation", violation.to_string())
                .path(path)
                .fix("Change the value at that location to match the schema the task specifies.");
        }
        out.set_summary(if violations.is_empty() {
            format!("{path} matches the schema")
        } else {
            format!("{path} does not match the schema")
        });
        Ok(())
    }
}

/// The parse error without serde_json's "at line x column y" suffix (the
/// line goes in the finding's `line`, the column in the text).
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text);
    format!("{message} (column {})", err.column())
}

export_checker!(JsonSchema);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    const SCHEMA: &str = r##"{"type": "object", "required": ["labels"], "properties": {
        "labels": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/label"}}},
        "$defs": {"label": {"type": "object", "required": ["id", "tag"], "additionalProperties": false,
            "properties": {"id": {"type": "integer", "minimum": 1}, "tag": {"enum": ["cat", "dog"]}}}}}"##;

    fn check(content: Option<&str>, extra: &str) -> Result<Report, CheckError> {
        let dir = TempDir::new();
        if let Some(content) = content {
            dir.write("out/labels.json", content.as_bytes());
        }
        let config = format!(r#"{{"path": "out/labels.json", "schema": {SCHEMA}{extra}}}"#);
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .config(&config)
            .build();
        run::<JsonSchema>(input, dir.packet())
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<JsonSchema>(&[
            r#"{"path": "a.json", "schema": true}"#,
            r#"{"path": "a.json", "schema": {}, "required": false, "max_bytes": 10}"#,
        ]);
        assert!(
            workstream_checker_sdk::config::parse::<Config>("{}").is_err(),
            "path and schema are required"
        );
    }

    #[test]
    fn conforming_file_passes() {
        let report = check(
            Some(r#"{"labels": [{"id": 1, "tag": "cat"}, {"id": 2, "tag": "dog"}]}"#),
            "",
        )
        .unwrap();
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(
            report.summary.as_deref(),
            Some("out/labels.json matches the schema")
        );
    }

    #[test]
    fn violations_are_listed_with_locations() {
        let report = check(
            Some(r#"{"labels": [{"id": 0, "tag": "cow", "x": 1}, {"tag": "cat"}]}"#),
            "",
        )
        .unwrap();
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "At /labels/0: property \"x\" is not allowed.",
                "At /labels/0/id: 0 is less than the minimum 1.",
                "At /labels/0/tag: the value is not one of the allowed values (\"cat\", \"dog\").",
                "At /labels/1: the required property \"id\" is missing.",
            ]
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.code == "json_schema_violation"
                    && f.path.as_deref() == Some("out/labels.json"))
        );
    }

    #[test]
    fn missing_invalid_and_large_files() {
        assert_eq!(codes(&check(None, "").unwrap()), ["json_file_missing"]);
        assert!(
            check(None, r#", "required": false"#)
                .unwrap()
                .findings
                .is_empty()
        );
        let report = check(Some("{\n  \"labels\": [1,,]\n}"), "").unwrap();
        assert_eq!(codes(&report), ["json_invalid"]);
        assert_eq!(report.findings[0].line, Some(2));
        assert_eq!(
            codes(&check(Some(r#"{"labels": []}"#), r#", "max_bytes": 5"#).unwrap()),
            ["json_file_too_large"]
        );
        assert_eq!(
            codes(&check(Some("\u{0}\u{1}"), "").unwrap()),
            ["json_invalid"]
        );
    }

    #[test]
    fn unsupported_keywords_are_configuration_errors() {
        let dir = TempDir::new();
        let config = r#"{"path": "a.json", "schema": {"type": "string", "pattern": "^a"}}"#;
        let err = run::<JsonSchema>(InputBuilder::new().config(config).build(), dir.packet())
            .unwrap_err();
        assert!(err.message().contains("pattern"), "{err}");
        let config = r#"{"path": "../a.json", "schema": {}}"#;
        assert!(
            run::<JsonSchema>(InputBuilder::new().config(config).build(), dir.packet()).is_err()
        );
    }
}
