//! `size-limits`: the packet stays within the task's size budget.
//!
//! Upload already enforces the platform's ceilings; a project tightens them
//! per task (a one-page answer should not arrive with a 100 MiB dataset).
//! Sizes come from the manifest: `evidence-integrity` is what proves they
//! match the bytes.
//!
//! Codes (all `error`): `file_too_large` (one per file, with its path),
//! `packet_too_large`, `packet_too_many_files`.

use serde::Deserialize;
use workstream_checker_sdk::text::format_bytes;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Largest size of one file, in bytes.
    pub max_file_bytes: u64,
    /// Largest sum of all file sizes, in bytes.
    pub max_total_bytes: u64,
    /// Most files in the packet.
    pub max_file_count: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_file_bytes: 128 << 20,
            max_total_bytes: 512 << 20,
            max_file_count: 2000,
        }
    }
}

/// The checker.
pub struct SizeLimits;

impl Checker for SizeLimits {
    const NAME: &'static str = "size-limits";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks each file's size, the packet's total size and its number of files \
        against the task's limits.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let manifest = ctx.manifest();
        for entry in manifest
            .iter()
            .filter(|entry| entry.size > config.max_file_bytes)
        {
            out.error(
                "file_too_large",
                format!(
                    "This file is {}; the limit for one file is {}.",
                    format_bytes(entry.size),
                    format_bytes(config.max_file_bytes)
                ),
            )
            .path(entry.path.as_str())
            .fix("Reduce the file (compress images, trim logs to the relevant part) or leave it out.");
        }
        let total = manifest.total_size();
        if total > config.max_total_bytes {
            out.error(
                "packet_too_large",
                format!(
                    "The packet's files add up to {}; the limit is {}.",
                    format_bytes(total),
                    format_bytes(config.max_total_bytes)
                ),
            )
            .fix("Leave out generated or downloaded files (build output, dependencies, datasets) and keep what the task asks for.");
        }
        if manifest.len() > config.max_file_count {
            out.error(
                "packet_too_many_files",
                format!("The packet has {} files; the limit is {}.", manifest.len(), config.max_file_count),
            )
            .fix("Leave out generated or vendored files, or combine small files as the task's guidelines allow.");
        }
        out.set_summary(format!("{} files, {}", manifest.len(), format_bytes(total)));
        Ok(())
    }
}

export_checker!(SizeLimits);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    fn check(input: InputBuilder) -> Report {
        let dir = TempDir::new();
        run::<SizeLimits>(input.build(), dir.packet()).unwrap()
    }

    fn packet() -> InputBuilder {
        InputBuilder::new()
            .entry("a.bin", 600, "sha256:x")
            .entry("b.txt", 300, "sha256:x")
            .entry("c.txt", 100, "sha256:x")
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<SizeLimits>(&[
            "{}",
            r#"{"max_file_bytes": 1, "max_total_bytes": 2, "max_file_count": 3}"#,
        ]);
    }

    #[test]
    fn within_limits() {
        let report = check(packet());
        assert!(report.findings.is_empty());
        assert_eq!(report.summary.as_deref(), Some("3 files, 1000 bytes"));
    }

    #[test]
    fn every_limit_is_enforced() {
        let report = check(
            packet()
                .config(r#"{"max_file_bytes": 500, "max_total_bytes": 999, "max_file_count": 2}"#),
        );
        assert_eq!(
            codes(&report),
            [
                "file_too_large",
                "packet_too_large",
                "packet_too_many_files"
            ]
        );
        assert_eq!(report.findings[0].path.as_deref(), Some("a.bin"));
        assert_eq!(
            report.findings[0].message,
            "This file is 600 bytes; the limit for one file is 500 bytes."
        );
    }
}
