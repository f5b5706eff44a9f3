//! `evidence-present`: the packet shows its work.
//!
//! Tasks ask for evidence next to the deliverable (test output, screenshots,
//! logs) so a reviewer can confirm the work without redoing it. This checker
//! looks in the evidence directory (`evidence/` by default) and requires at
//! least `min_files` non-empty files there, plus one match for each
//! `required` item. Zero-byte files never count: an empty log proves
//! nothing.
//!
//! Codes (all `error`): `evidence_missing` (too few files),
//! `evidence_item_missing` (a required item has no non-empty match).

use serde::Deserialize;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, Glob, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory that holds the evidence; empty for the whole packet.
    pub dir: String,
    /// Fewest non-empty files required there.
    pub min_files: usize,
    /// Globs, relative to `dir`, that must each match a non-empty file.
    pub required: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            dir: "evidence/".to_owned(),
            min_files: 1,
            required: Vec::new(),
        }
    }
}

/// The checker.
pub struct EvidencePresent;

impl Checker for EvidencePresent {
    const NAME: &'static str = "evidence-present";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that the packet's evidence directory holds enough non-empty \
        files and every evidence item the task requires.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let dir = config.dir.trim_matches('/');
        let shown_dir = if dir.is_empty() {
            "the packet".to_owned()
        } else {
            format!("{dir}/")
        };
        let evidence: Vec<_> = ctx
            .manifest()
            .under(dir)
            .filter(|entry| entry.size > 0)
            .collect();

        if evidence.len() < config.min_files {
            out.error(
                "evidence_missing",
                format!(
                    "The task asks for at least {} non-empty evidence file(s) in {shown_dir}; the packet has {}.",
                    config.min_files,
                    evidence.len()
                ),
            )
            .fix(format!(
                "Add the evidence the task asks for (for example test output, logs or screenshots) under \
                 {shown_dir} and upload again."
            ));
        }

        for item in &config.required {
            let pattern = if dir.is_empty() {
                item.clone()
            } else {
                format!("{dir}/{}", item.trim_start_matches('/'))
            };
            let glob = Glob::new(&pattern)
                .map_err(|err| CheckError::new(format!("invalid `required` item: {err}")))?;
            if evidence.iter().any(|entry| glob.matches(&entry.path)) {
                continue;
            }
            let finding = out.error(
                "evidence_item_missing",
                format!("The required evidence {pattern} is missing or empty."),
            );
            let finding = if glob.is_literal() {
                finding.path(pattern.as_str())
            } else {
                finding
            };
            finding.fix(format!(
                "Add a non-empty file at {pattern} and upload again."
            ));
        }

        out.set_summary(format!(
            "{} evidence file(s) in {shown_dir}",
            evidence.len()
        ));
        Ok(())
    }
}

export_checker!(EvidencePresent);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    fn check(files: &[(&str, &str)], config: &str) -> Report {
        let dir = TempDir::new();
        for (path, content) in files {
            dir.write(path, content.as_bytes());
        }
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .config(config)
            .build();
        run::<EvidencePresent>(input, dir.packet()).unwrap()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<EvidencePresent>(&[
            "{}",
            r#"{"dir": "proof", "min_files": 2, "required": ["tests.log", "shots/*.png"]}"#,
        ]);
    }

    #[test]
    fn default_needs_one_file_in_evidence() {
        assert!(
            check(&[("evidence/test.log", "ok")], "{}")
                .findings
                .is_empty()
        );
        let report = check(&[("answer.md", "x"), ("evidence/empty.log", "")], "{}");
        assert_eq!(codes(&report), ["evidence_missing"]);
        assert!(
            report.findings[0]
                .message
                .contains("evidence/; the packet has 0")
        );
        let report = check(&[("evidence.txt", "x")], "{}");
        assert_eq!(
            codes(&report),
            ["evidence_missing"],
            "a sibling with the same prefix is not inside"
        );
    }

    #[test]
    fn required_items_are_relative_to_dir() {
        let files = [("proof/tests.log", "ok"), ("proof/shots/a.png", "png")];
        let config = r#"{"dir": "proof/", "min_files": 2, "required": ["tests.log", "shots/*.png", "coverage.txt"]}"#;
        let report = check(&files, config);
        assert_eq!(codes(&report), ["evidence_item_missing"]);
        assert_eq!(
            report.findings[0].path.as_deref(),
            Some("proof/coverage.txt")
        );
        assert_eq!(
            report.summary.as_deref(),
            Some("2 evidence file(s) in proof/")
        );
    }

    #[test]
    fn whole_packet_when_dir_is_empty() {
        let report = check(
            &[("a.txt", "x"), ("b/c.txt", "y")],
            r#"{"dir": "", "min_files": 3}"#,
        );
        assert_eq!(codes(&report), ["evidence_missing"]);
        assert!(
            report.findings[0]
                .message
                .contains("in the packet; the packet has 2")
        );
    }
}
