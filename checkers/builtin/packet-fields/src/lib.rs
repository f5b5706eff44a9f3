//! `packet-fields`: the packet's own text fields are present and bounded.
//!
//! A packet is more than its files: the contributor's summary says what was
//! done and the attestation vouches for the content. Review cannot start
//! without them, and unbounded text is a way to smuggle a document past
//! file-level checks, so both must be non-blank and within limits. A packet
//! with no file at all fails too (upstream `check_submission_packet`).
//!
//! Codes (all `error`):
//! - `packet_summary_missing`, `packet_summary_too_short`,
//!   `packet_summary_too_long`
//! - `packet_attestation_missing`, `packet_attestation_too_long`
//! - `packet_files_missing`
//!
//! Whether the attestation says the right things is the job of
//! `confidentiality-attestation`; this checker only wants it there.

use serde::Deserialize;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Fewest characters the trimmed summary may have.
    pub min_summary_chars: usize,
    /// Most characters the trimmed summary may have.
    pub max_summary_chars: usize,
    /// Most characters the trimmed attestation may have.
    pub max_attestation_chars: usize,
    /// Whether a packet without any file fails.
    pub require_files: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_summary_chars: 1,
            max_summary_chars: 10_000,
            max_attestation_chars: 4_000,
            require_files: true,
        }
    }
}

/// The checker.
pub struct PacketFields;

impl Checker for PacketFields {
    const NAME: &'static str = "packet-fields";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that the packet has a non-blank summary and attestation within \
        length limits, and at least one file.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let summary = ctx.summary().trim().chars().count();
        if summary == 0 {
            out.error("packet_summary_missing", "The packet has no summary.")
                .fix("Write a summary of what the packet contains and how it answers the task.");
        } else if summary < config.min_summary_chars {
            out.error(
                "packet_summary_too_short",
                format!(
                    "The summary has {summary} characters; this task asks for at least {}.",
                    config.min_summary_chars
                ),
            )
            .fix("Expand the summary: say what you delivered, where it is in the packet and how you checked it.");
        } else if summary > config.max_summary_chars {
            out.error(
                "packet_summary_too_long",
                format!(
                    "The summary has {summary} characters; the limit is {}.",
                    config.max_summary_chars
                ),
            )
            .fix("Shorten the summary and put longer explanations in a file inside the packet.");
        }

        let attestation = ctx.attestation().trim().chars().count();
        if attestation == 0 {
            out.error(
                "packet_attestation_missing",
                "The packet has no attestation.",
            )
            .fix("Write the attestation the task asks for, in your own words.");
        } else if attestation > config.max_attestation_chars {
            out.error(
                "packet_attestation_too_long",
                format!(
                    "The attestation has {attestation} characters; the limit is {}.",
                    config.max_attestation_chars
                ),
            )
            .fix("Keep the attestation to the statements it needs to make; put other notes in the summary.");
        }

        if config.require_files && ctx.manifest().is_empty() {
            out.error("packet_files_missing", "The packet contains no files.")
                .fix("Add your work to the packet (as files in the ZIP) and upload it again.");
        }
        Ok(())
    }
}

export_checker!(PacketFields);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::run;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};

    fn check(input: InputBuilder) -> Vec<String> {
        let dir = TempDir::new();
        let report = run::<PacketFields>(input.build(), dir.packet()).unwrap();
        codes(&report).into_iter().map(str::to_owned).collect()
    }

    fn complete() -> InputBuilder {
        InputBuilder::new()
            .summary("Implemented the parser; see src/.")
            .attestation("No confidential data.")
            .entry("a.txt", 1, "sha256:x")
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<PacketFields>(&[
            "{}",
            r#"{"min_summary_chars": 5, "max_summary_chars": 10, "max_attestation_chars": 10, "require_files": false}"#,
        ]);
    }

    #[test]
    fn complete_packet_passes() {
        assert!(check(complete()).is_empty());
    }

    #[test]
    fn blank_fields_and_no_files_fail() {
        let input = InputBuilder::new().summary("  \n ").attestation("");
        assert_eq!(
            check(input),
            [
                "packet_summary_missing",
                "packet_attestation_missing",
                "packet_files_missing"
            ]
        );
        assert!(
            check(
                InputBuilder::new()
                    .summary("s")
                    .attestation("a")
                    .config(r#"{"require_files": false}"#)
            )
            .is_empty()
        );
    }

    #[test]
    fn lengths_are_bounded() {
        let config = r#"{"min_summary_chars": 10, "max_attestation_chars": 5}"#;
        assert_eq!(
            check(
                complete()
                    .summary("short")
                    .attestation("too long")
                    .config(config)
            ),
            ["packet_summary_too_short", "packet_attestation_too_long"]
        );
        let long = "x".repeat(10_001);
        assert_eq!(
            check(complete().summary(&long)),
            ["packet_summary_too_long"]
        );
    }
}
