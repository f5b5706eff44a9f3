//! {{name}}: a Workstream checker written in Rust.
//!
//! The sample rule: every line of a Markdown output (`outputs/**/*.md`, or the
//! globs configured in `paths`) that contains `MARKER` is an `error` finding
//! with code `marker_found`, the file's path and the line number. Change the
//! rule in [`MarkerCheck::check`]; change what it looks for in `MARKER`.
//!
//! The configuration's schema is `config.schema.json` (what `info()` returns);
//! [`Config`] is the same thing as a Rust type. A configuration that does not
//! fit it makes `check` return `err`.

use serde::Deserialize;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, config, export_checker};

/// The text the sample rule looks for.
const MARKER: &str = "TODO";

/// Only the first `MAX_SCAN_BYTES` of each file are read: bounded work on a
/// huge file.
const MAX_SCAN_BYTES: u64 = 1 << 20;

/// The configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Globs of the packet files to scan.
    pub paths: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            paths: vec!["outputs/**/*.md".to_owned()],
        }
    }
}

/// The checker.
pub struct MarkerCheck;

impl Checker for MarkerCheck {
    const NAME: &'static str = "{{name}}";
    // Bump the version in Cargo.toml whenever the findings for some input could change.
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Flags every line of the packet's Markdown outputs that still contains a marker.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let globs = config::globs("paths", &config.paths, false)?;
        let mut scanned = 0;
        for entry in ctx.manifest() {
            if !globs.iter().any(|glob| glob.matches(&entry.path)) {
                continue;
            }
            scanned += 1;
            // `None`: binary content, nothing to read.
            let Some(file) = ctx.packet().read_text(&entry.path, MAX_SCAN_BYTES)? else {
                continue;
            };
            for (number, line) in (1u32..).zip(file.text.lines()) {
                if line.contains(MARKER) {
                    out.error(
                        "marker_found",
                        format!(
                            "Line {number} of {} still contains \"{MARKER}\".",
                            entry.path
                        ),
                    )
                    .path(entry.path.clone())
                    .line(number)
                    .fix(format!(
                        "Finish that part of the text and remove \"{MARKER}\"."
                    ));
                }
            }
        }
        let found = out.len();
        out.set_summary(format!(
            "{} scanned, {} found",
            plural(scanned, "file"),
            plural(found, "marker")
        ));
        Ok(())
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

export_checker!(MarkerCheck);

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Level, Report, run};

    /// Runs the checker on a packet holding `files`.
    fn check(files: &[(&str, &str)], config: &str) -> Result<Report, CheckError> {
        let dir = TempDir::new();
        for (path, text) in files {
            dir.write(path, text.as_bytes());
        }
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .config(config)
            .build();
        run::<MarkerCheck>(input, dir.packet())
    }

    /// Runs the checker on a copy of the packet directory `tests/<name>`.
    fn check_packet(name: &str) -> Report {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(name);
        let dir = TempDir::new();
        copy_into(&dir, &root, "");
        let input = InputBuilder::new().manifest_from(&dir).build();
        run::<MarkerCheck>(input, dir.packet()).unwrap()
    }

    fn copy_into(dir: &TempDir, from: &Path, prefix: &str) {
        for item in std::fs::read_dir(from).unwrap() {
            let item = item.unwrap();
            let name = item.file_name().into_string().unwrap();
            let path = format!("{prefix}{name}");
            if item.file_type().unwrap().is_dir() {
                copy_into(dir, &item.path(), &format!("{path}/"));
            } else {
                dir.write(&path, &std::fs::read(item.path()).unwrap());
            }
        }
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<MarkerCheck>(&["{}", r#"{"paths": ["**/*.md", "docs/"]}"#]);
    }

    #[test]
    fn the_pass_packet_passes() {
        let report = check_packet("pass");
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn the_fail_packet_fails_at_the_marker() {
        let report = check_packet("fail");
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fail/outputs/answer.md"),
        )
        .unwrap();
        let expected: Vec<_> = (1u32..)
            .zip(text.lines())
            .filter(|(_, line)| line.contains(MARKER))
            .map(|(number, _)| ("marker_found", Some("outputs/answer.md"), Some(number)))
            .collect();
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.path.as_deref(), f.line))
            .collect();
        assert_eq!(found, expected);
        assert!(report.findings.iter().all(|f| f.level == Level::Error));
    }

    #[test]
    fn every_marked_line_of_a_markdown_output_is_a_finding() {
        let answer = format!("# Title\n{MARKER} one\nfine\r\nand {MARKER} two\n");
        let notes = format!("{MARKER} (not Markdown)\n");
        let draft = format!("{MARKER} (not an output)\n");
        let report = check(
            &[
                ("outputs/answer.md", &answer),
                ("outputs/deep/more.md", MARKER),
                ("outputs/notes.txt", &notes),
                ("drafts/answer.md", &draft),
            ],
            "{}",
        )
        .unwrap();
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.path.as_deref().unwrap(), f.line.unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                ("outputs/answer.md", 2),
                ("outputs/answer.md", 4),
                ("outputs/deep/more.md", 1)
            ]
        );
        assert!(
            report.findings[0]
                .message
                .contains(&format!("\"{MARKER}\""))
        );
        assert!(report.findings[0].suggested_fix.is_some());
    }

    #[test]
    fn paths_are_configurable() {
        let draft = format!("{MARKER}\n");
        let report = check(
            &[("drafts/answer.md", &draft)],
            r#"{"paths": ["drafts/*.md"]}"#,
        )
        .unwrap();
        assert_eq!(codes(&report), ["marker_found"]);
        assert_eq!(report.findings[0].line, Some(1));
    }

    #[test]
    fn a_bad_configuration_is_err() {
        for config in [
            r#"{"paths": "x"}"#,
            r#"{"unknown": 1}"#,
            r#"{"paths": ["a**"]}"#,
            "[]",
        ] {
            assert!(check(&[], config).is_err(), "{config}");
        }
    }
}
