//! `required-files`: the files the task asks for are in the packet.
//!
//! Each configured path or glob must match at least one file of the
//! manifest, comparing whole paths, case-sensitively (a reviewer opening
//! `Answer.md` when the task said `answer.md` is exactly the confusion this
//! prevents). A match that is only zero-byte files does not count unless
//! `allow_empty` says so: an empty `answer.md` is not an answer.
//!
//! Codes (all `error`): `required_file_missing`, `required_file_empty`.
//! The report summary says how many requirements are met.

use std::collections::BTreeMap;

use serde::Deserialize;
use workstream_checker_sdk::{
    CheckError, Checker, Context, FileEntry, Findings, config, export_checker,
};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Paths or globs that must each match a file.
    pub paths: Vec<String>,
    /// Whether a zero-byte file satisfies a requirement.
    pub allow_empty: bool,
}

/// The checker.
pub struct RequiredFiles;

impl Checker for RequiredFiles {
    const NAME: &'static str = "required-files";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that every path or glob the task requires matches a non-empty \
        file in the packet.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let globs = config::globs("paths", &config.paths, false)?;
        let manifest = ctx.manifest();
        // Literal paths (most requirements) are looked up, not matched against every
        // file: 200 required paths on a 200-file packet are 200 lookups, not 40,000
        // glob matches. A BTreeMap needs no random seed inside the sandbox.
        let by_path: BTreeMap<&str, &FileEntry> = manifest
            .iter()
            .map(|entry| (entry.path.as_str(), entry))
            .collect();
        let mut met = 0;
        for glob in &globs {
            let matched: Vec<&FileEntry> = match glob.literal_path() {
                Some(path) => by_path.get(path).copied().into_iter().collect(),
                None => manifest.matching(glob).collect(),
            };
            if matched.is_empty() {
                missing(out, glob);
                continue;
            }
            if config.allow_empty || matched.iter().any(|entry| entry.size > 0) {
                met += 1;
                continue;
            }
            let finding = out.error(
                "required_file_empty",
                if glob.is_literal() {
                    format!("The required file {glob} is empty.")
                } else {
                    format!("Every file matching the required pattern {glob} is empty.")
                },
            );
            let finding = if glob.is_literal() {
                finding.path(glob.as_str())
            } else {
                finding
            };
            finding.fix("Put the required content in the file and upload the packet again.");
        }
        if !globs.is_empty() {
            out.set_summary(format!("{met} of {} required files present", globs.len()));
        }
        Ok(())
    }
}

fn missing(out: &mut Findings, glob: &workstream_checker_sdk::Glob) {
    if glob.is_literal() {
        out.error(
            "required_file_missing",
            format!("The packet has no file {glob}, which the task requires."),
        )
        .path(glob.as_str())
        .fix(format!(
            "Add {glob} at exactly this path (names are case-sensitive) and upload again."
        ));
    } else {
        out.error(
            "required_file_missing",
            format!("No file in the packet matches {glob}, which the task requires."),
        )
        .fix(format!(
            "Add a file whose path matches {glob} and upload again."
        ));
    }
}

export_checker!(RequiredFiles);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    fn check(config: &str) -> Report {
        let dir = TempDir::new();
        dir.write("answer.md", b"42");
        dir.write("src/lib.rs", b"fn main() {}");
        dir.write("notes/empty.txt", b"");
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .config(config)
            .build();
        run::<RequiredFiles>(input, dir.packet()).unwrap()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<RequiredFiles>(&[
            "{}",
            r#"{"paths": ["a", "b/**"], "allow_empty": true}"#,
        ]);
    }

    #[test]
    fn present_paths_and_globs_pass() {
        let report = check(r#"{"paths": ["answer.md", "src/**/*.rs", "src/"]}"#);
        assert!(report.findings.is_empty());
        assert_eq!(
            report.summary.as_deref(),
            Some("3 of 3 required files present")
        );
    }

    #[test]
    fn a_literal_path_is_looked_up_whole_and_case_sensitively() {
        let report = check(r#"{"paths": ["/answer.md", "src/lib.rs"]}"#);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        let report = check(r#"{"paths": ["src/LIB.rs", "lib.rs", "src"]}"#);
        assert_eq!(
            codes(&report),
            [
                "required_file_missing",
                "required_file_missing",
                "required_file_missing"
            ]
        );
    }

    #[test]
    fn missing_files_are_errors() {
        let report = check(r#"{"paths": ["Answer.md", "tests/**/*.rs", "answer.md"]}"#);
        assert_eq!(
            codes(&report),
            ["required_file_missing", "required_file_missing"]
        );
        assert_eq!(report.findings[0].path.as_deref(), Some("Answer.md"));
        assert_eq!(report.findings[1].path, None, "a glob is not a path");
        assert_eq!(
            report.summary.as_deref(),
            Some("1 of 3 required files present")
        );
    }

    #[test]
    fn empty_files_do_not_count_unless_allowed() {
        let report = check(r#"{"paths": ["notes/empty.txt", "notes/"]}"#);
        assert_eq!(
            codes(&report),
            ["required_file_empty", "required_file_empty"]
        );
        assert!(
            check(r#"{"paths": ["notes/empty.txt"], "allow_empty": true}"#)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn no_requirements_no_findings() {
        let report = check("{}");
        assert!(report.findings.is_empty());
        assert_eq!(report.summary, None);
    }

    #[test]
    fn bad_patterns_are_configuration_errors() {
        let dir = TempDir::new();
        let input = InputBuilder::new().config(r#"{"paths": ["a//b"]}"#).build();
        assert!(run::<RequiredFiles>(input, dir.packet()).is_err());
    }
}
