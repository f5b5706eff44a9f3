//! Hostile test guest: returns a report of about 10 MiB.
//!
//! It implements the generated `Guest` trait directly instead of going
//! through [`workstream_checker_sdk::Checker`], because the SDK's
//! [`Findings`](workstream_checker_sdk::Findings) would cap the report. By
//! default: 10 240 `info` findings with 1 KiB messages. Every finding is
//! `info`, so a host that accepted the report would record a pass; it must
//! instead reject it (`invalid_output`) before storing anything. The size is
//! configurable, `{"findings": N, "message_chars": M}`, for tests of the
//! exact cap. Never registered outside tests.

use serde::Deserialize;
use workstream_checker_sdk::bindings::{CheckInput, CheckerInfo, Finding, Guest, Level, Report};

/// Configuration: how big a report to return.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Number of findings.
    pub findings: u32,
    /// Characters in each finding's message.
    pub message_chars: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            findings: 10 * 1024,
            message_chars: 1024,
        }
    }
}

/// The component.
pub struct OversizedReport;

impl Guest for OversizedReport {
    fn info() -> CheckerInfo {
        CheckerInfo {
            name: "hostile-oversized-report".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "Test guest: returns a report of about 10 MiB.".to_owned(),
            config_schema: r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,"properties":{"findings":{"type":"integer","minimum":0},"message_chars":{"type":"integer","minimum":0}}}"#.to_owned(),
        }
    }

    fn check(input: CheckInput) -> Result<Report, String> {
        let config: Config = workstream_checker_sdk::config::parse(&input.configuration)
            .map_err(|err| err.to_string())?;
        let message = "x".repeat(config.message_chars as usize);
        let findings = (0..config.findings)
            .map(|index| Finding {
                code: "oversized_report".to_owned(),
                level: Level::Info,
                message: message.clone(),
                path: Some(format!("file-{index}.txt")),
                line: Some(index),
                suggested_fix: None,
            })
            .collect();
        Ok(Report {
            findings,
            summary: Some("oversized on purpose".to_owned()),
        })
    }
}

workstream_checker_sdk::bindings::__export_checker_world!(OversizedReport with_types_in workstream_checker_sdk::bindings);
