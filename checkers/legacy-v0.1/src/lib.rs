//! `legacy-v0.1`: a checker built against `workstream:checker@0.1.0`.
//!
//! Raw `wit-bindgen` bindings of `wit/v0.1.0/checker.wit`, no SDK (the SDK
//! follows the newest contract). It reports one `info` finding per prior
//! finding, quoting its id, area and response, and one `error` finding when
//! the manifest is empty: enough for a test to see that the host passes a
//! 0.1.0 input (without the 0.2.0 fields) and reads a 0.1.0 report. Never
//! registered outside tests.

#![allow(missing_docs, unsafe_code, clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../../wit/v0.1.0/checker.wit",
    world: "checker",
});

struct Legacy;

impl Guest for Legacy {
    fn info() -> CheckerInfo {
        CheckerInfo {
            name: "legacy-v0-1".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Test guest built against workstream:checker@0.1.0.".into(),
            config_schema: r#"{"type":"object"}"#.into(),
        }
    }

    fn check(input: CheckInput) -> Result<Report, String> {
        let mut findings: Vec<Finding> = input
            .prior_findings
            .iter()
            .map(|p| Finding {
                code: "prior_finding_seen".into(),
                level: Level::Info,
                message: format!(
                    "{} ({}): {}",
                    p.finding_id,
                    p.area,
                    p.response.as_deref().unwrap_or("no response")
                ),
                path: None,
                line: None,
                suggested_fix: None,
            })
            .collect();
        if input.manifest.is_empty() {
            findings.push(Finding {
                code: "packet_empty".into(),
                level: Level::Error,
                message: "The packet has no files.".into(),
                path: None,
                line: None,
                suggested_fix: Some("Add the work's files.".into()),
            });
        }
        Ok(Report {
            summary: Some(format!("{} files", input.manifest.len())),
            findings,
        })
    }
}

export!(Legacy);
