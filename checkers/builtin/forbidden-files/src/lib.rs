//! `forbidden-files`: no secrets-bearing files in the packet.
//!
//! Packets are read by reviewers and kept for years, so a committed `.env`
//! or private key leaks a credential to everyone downstream. The platform
//! patterns below are high-confidence (a match is almost never legitimate);
//! broad words such as `secret` or `token` are deliberately not here, they
//! belong in a project's own `patterns` or in the placeholder/quality
//! advisory. A project adds patterns and, where it genuinely needs a
//! sensitive-looking name, exempts paths with `allow`.
//!
//! Matching is case-insensitive and "anywhere": a pattern matches a file
//! when it matches the whole path, the file name or a directory on the way
//! (`*.pem` matches `keys/prod.pem`; `.git/` matches `lib/.git/HEAD`). Two
//! files are judged by content as well as name: `.npmrc` and `.pypirc` are
//! only forbidden when they carry a token or password.
//!
//! Findings (code `forbidden_path_present`, `error`) are one per category
//! and name the category, not the file, unless `report_paths` is set: the
//! upstream rule is that a contributor message never echoes the path or the
//! detection pattern.

use serde::Deserialize;
use workstream_checker_sdk::{
    CheckError, Checker, Context, FileEntry, Findings, Glob, config, export_checker,
};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Additional forbidden globs.
    pub patterns: Vec<String>,
    /// Globs of files exempt from every pattern.
    pub allow: Vec<String>,
    /// Whether findings name the offending files.
    pub report_paths: bool,
}

/// A family of forbidden files, reported together.
struct Category {
    /// What the contributor is told the files are.
    what: &'static str,
    patterns: &'static [&'static str],
    /// Names that match `patterns` but are conventionally harmless.
    exempt: &'static [&'static str],
    /// When set, a matching file is only forbidden if its text (lowercased)
    /// contains one of these markers.
    content_markers: &'static [&'static str],
    fix: &'static str,
}

const CATEGORIES: &[Category] = &[
    Category {
        what: "environment files (such as .env)",
        patterns: &[".env", ".env.*"],
        exempt: &[".env.example", ".env.sample", ".env.template", ".env.dist"],
        content_markers: &[],
        fix: "Remove the environment files; if the project needs one, include a .env.example with placeholder values only.",
    },
    Category {
        what: "version-control metadata (such as a .git directory)",
        patterns: &[".git/", ".svn/", ".hg/"],
        exempt: &[],
        content_markers: &[],
        fix: "Package your working files only: export them without the .git (or .svn/.hg) directory.",
    },
    Category {
        what: "private key files (such as *.pem, *.key or id_rsa)",
        patterns: &[
            "*.pem",
            "*.key",
            "*.ppk",
            "id_rsa*",
            "id_dsa*",
            "id_ecdsa*",
            "id_ed25519*",
        ],
        exempt: &["*.pub"],
        content_markers: &[],
        fix: "Remove the key files and treat the keys as exposed: revoke or rotate them.",
    },
    Category {
        what: "key or certificate stores (such as *.p12 or *.pfx)",
        patterns: &["*.p12", "*.pfx", "*.jks", "*.keystore"],
        exempt: &[],
        content_markers: &[],
        fix: "Remove the key stores from the packet and rotate the keys they contain.",
    },
    Category {
        what: "credential files (such as .aws/credentials or .netrc)",
        patterns: &[
            ".aws/credentials",
            ".git-credentials",
            ".netrc",
            "_netrc",
            ".pgpass",
            "application_default_credentials.json",
        ],
        exempt: &[],
        content_markers: &[],
        fix: "Remove the credential files and rotate the credentials they contain.",
    },
    Category {
        what: "package registry settings containing a token or password (.npmrc, .pypirc)",
        patterns: &[".npmrc", ".pypirc"],
        exempt: &[],
        content_markers: &["_authtoken", "_auth", "_password", "password"],
        fix: "Remove the token or password from the file (or the file itself) and revoke the token.",
    },
];

/// How much of a file is read to look for `content_markers`.
const CONTENT_SCAN_BYTES: u64 = 64 * 1024;

/// The checker.
pub struct ForbiddenFiles;

impl Checker for ForbiddenFiles {
    const NAME: &'static str = "forbidden-files";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Rejects packets containing secrets-bearing files (.env, private keys, \
        key stores, credential files, .git/) or files matching the project's forbidden patterns.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let project = config::globs("patterns", &config.patterns, true)?;
        let allow = config::globs("allow", &config.allow, true)?;
        let manifest = ctx.manifest();
        let allowed =
            |entry: &FileEntry| allow.iter().any(|glob| glob.matches_anywhere(&entry.path));

        for category in CATEGORIES {
            let patterns = compile(category.patterns);
            let exempt = compile(category.exempt);
            let hits: Vec<&FileEntry> = manifest
                .iter()
                .filter(|entry| !allowed(entry))
                .filter(|entry| {
                    patterns
                        .iter()
                        .any(|glob| glob.matches_anywhere(&entry.path))
                })
                .filter(|entry| !exempt.iter().any(|glob| glob.matches_anywhere(&entry.path)))
                .filter(|entry| has_marker(ctx, entry, category.content_markers))
                .collect();
            report(out, config, category.what, category.fix, &hits);
        }

        let hits: Vec<&FileEntry> = manifest
            .iter()
            .filter(|entry| !allowed(entry))
            .filter(|entry| {
                project
                    .iter()
                    .any(|glob| glob.matches_anywhere(&entry.path))
            })
            .collect();
        report(
            out,
            config,
            "files this project does not allow",
            "Remove the files the project's guidelines exclude and upload the packet again.",
            &hits,
        );
        Ok(())
    }
}

fn compile(patterns: &[&str]) -> Vec<Glob> {
    patterns
        .iter()
        .map(|pattern| {
            Glob::new(pattern)
                .expect("built-in pattern is valid")
                .case_insensitive(true)
        })
        .collect()
}

/// True when `markers` is empty or the file's text contains one of them.
/// An unreadable or binary file has no markers: content rules only ever
/// narrow a name match, so erring towards "not forbidden" is their intent.
fn has_marker(ctx: &Context, entry: &FileEntry, markers: &[&str]) -> bool {
    if markers.is_empty() {
        return true;
    }
    match ctx.packet().read_text(&entry.path, CONTENT_SCAN_BYTES) {
        Ok(Some(file)) => {
            let text = file.text.to_lowercase();
            markers.iter().any(|marker| text.contains(marker))
        }
        _ => false,
    }
}

fn report(out: &mut Findings, config: &Config, what: &str, fix: &str, hits: &[&FileEntry]) {
    if hits.is_empty() {
        return;
    }
    if config.report_paths {
        for entry in hits {
            out.error(
                "forbidden_path_present",
                format!("Packets must not contain {what}; this file is one of them."),
            )
            .path(entry.path.as_str())
            .fix(fix);
        }
    } else {
        out.error(
            "forbidden_path_present",
            format!(
                "Packets must not contain {what}; this packet has {}.",
                hits.len()
            ),
        )
        .fix(fix);
    }
}

export_checker!(ForbiddenFiles);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema};
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
        run::<ForbiddenFiles>(input, dir.packet()).unwrap()
    }

    fn flagged(path: &str) -> bool {
        !check(&[(path, "x")], "{}").findings.is_empty()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<ForbiddenFiles>(&[
            "{}",
            r#"{"patterns": ["*.sqlite"], "allow": ["fixtures/test.pem"], "report_paths": true}"#,
        ]);
    }

    #[test]
    fn platform_patterns() {
        for path in [
            ".env",
            "app/.env.production",
            ".ENV",
            ".git/config",
            "vendor/lib/.git/HEAD",
            "keys/server.pem",
            "tls.KEY",
            "home/.ssh/id_rsa",
            "id_ed25519",
            "store.p12",
            "cert.pfx",
            ".aws/credentials",
            "home/user/.aws/credentials",
            ".git-credentials",
            ".netrc",
        ] {
            assert!(flagged(path), "{path} should be forbidden");
        }
        for path in [
            ".env.example",
            "environment.md",
            ".github/workflows/ci.yml",
            "docs/keys.md",
            "id_rsa.pub",
            ".aws/config",
            "monkey.txt",
            "src/key.rs",
            ".npmrc",
        ] {
            assert!(!flagged(path), "{path} should be allowed");
        }
    }

    #[test]
    fn registry_settings_are_judged_by_content() {
        let token = "//registry.npmjs.org/:_authToken=abc123\n";
        assert!(!check(&[(".npmrc", token)], "{}").findings.is_empty());
        assert!(
            check(&[(".npmrc", "save-exact=true\n")], "{}")
                .findings
                .is_empty()
        );
        assert!(
            !check(&[("pkg/.pypirc", "[pypi]\npassword = hunter2\n")], "{}")
                .findings
                .is_empty()
        );
    }

    #[test]
    fn one_finding_per_category_without_paths() {
        let report = check(
            &[
                (".env", "A=1"),
                ("a/.env", "B=2"),
                ("k.pem", "x"),
                ("ok.txt", "x"),
            ],
            "{}",
        );
        assert_eq!(report.findings.len(), 2);
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.code == "forbidden_path_present" && f.path.is_none())
        );
        assert!(
            report.findings[0].message.ends_with("this packet has 2."),
            "{}",
            report.findings[0].message
        );
        assert!(!report.findings[0].message.contains("a/.env"));
    }

    #[test]
    fn paths_are_reported_when_configured() {
        let report = check(
            &[(".env", "A=1"), ("a/.env", "B=2")],
            r#"{"report_paths": true}"#,
        );
        let paths: Vec<_> = report.findings.iter().map(|f| f.path.as_deref()).collect();
        assert_eq!(paths, [Some(".env"), Some("a/.env")]);
    }

    #[test]
    fn project_patterns_and_exemptions() {
        let files = [
            ("data/raw/users.csv", "x"),
            ("db.SQLite", "x"),
            ("fixtures/test.pem", "x"),
        ];
        let report = check(
            &files,
            r#"{"patterns": ["*.sqlite", "data/raw/"], "allow": ["fixtures/*.pem"]}"#,
        );
        assert_eq!(report.findings.len(), 1);
        assert!(
            report.findings[0]
                .message
                .contains("files this project does not allow; this packet has 2.")
        );
        assert!(
            !report.findings[0].message.contains("sqlite"),
            "patterns are not echoed"
        );
    }
}
