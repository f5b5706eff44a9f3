//! `evidence-integrity`: the packet on disk is exactly the manifest.
//!
//! Every other checker trusts the manifest (names, sizes, digests) and the
//! files under `/packet` to agree. The host hashes every byte as it writes
//! the tree and runs no checker on a tree whose digests differ from the
//! submitted manifest, so this checker does not hash again by default: doing
//! the host's work a second time inside the sandbox cost about 110 fuel per
//! byte and put a ceiling on the packets a run could finish. What it proves
//! in the stored result is everything else about the tree the checkers saw.
//!
//! For each manifest entry: the path is well-formed and unique (also
//! ignoring case, since packets move between file systems), the digest is a
//! `sha256:<64 hex>` token, and the file under `/packet` exists with that
//! size (and, with `rehash`, that SHA-256). Then the other way round:
//! nothing is under `/packet` that the manifest does not list, and nothing
//! there is a symbolic link or special file.
//!
//! Codes (all `error`): `manifest_path_invalid`, `manifest_path_duplicate`,
//! `manifest_path_case_collision`, `manifest_digest_invalid`,
//! `packet_file_missing`, `packet_file_size_mismatch`,
//! `packet_file_digest_mismatch`, `packet_file_unlisted`,
//! `packet_entry_unsupported`. A packet directory that cannot be read at
//! all is an `err` (the host reports `material_unavailable`), not a finding.

// B-tree collections, not hash maps: hash maps seed themselves from WASI
// randomness, an import this checker has no other reason to need.
use std::collections::{BTreeMap, BTreeSet};
use std::io;

use serde::Deserialize;
use workstream_checker_sdk::digest::{is_sha256, sha256_reader};
use workstream_checker_sdk::manifest::check_path;
use workstream_checker_sdk::packet::EntryKind;
use workstream_checker_sdk::{CheckError, Checker, Context, FileEntry, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Re-hash every file inside the sandbox as well as the host did.
    pub rehash: bool,
}

/// What to tell a contributor whose packet no longer matches what was
/// uploaded: nothing they did wrong, but they can fix it.
const REUPLOAD: &str =
    "Upload the packet again. If this keeps happening, contact support and quote this check.";

/// The checker.
pub struct EvidenceIntegrity;

impl Checker for EvidenceIntegrity {
    const NAME: &'static str = "evidence-integrity";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that the files under /packet are exactly those of the manifest: \
        well-formed unique paths, matching sizes and SHA-256 digests, nothing unlisted.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let manifest = ctx.manifest();
        let mut listed: BTreeSet<&str> = BTreeSet::new();
        let mut folded: BTreeMap<String, &str> = BTreeMap::new();
        let mut verified = 0usize;

        for entry in manifest {
            if let Err(problem) = check_path(&entry.path) {
                out.error(
                    "manifest_path_invalid",
                    format!(
                        "A manifest entry has an invalid path: {}.",
                        problem.describe()
                    ),
                )
                .fix(REUPLOAD);
                continue;
            }
            if !listed.insert(&entry.path) {
                out.error(
                    "manifest_path_duplicate",
                    "The manifest lists this path more than once.",
                )
                .path(entry.path.as_str())
                .fix(REUPLOAD);
                continue;
            }
            if let Some(first) = folded.insert(entry.path.to_lowercase(), &entry.path) {
                out.error(
                    "manifest_path_case_collision",
                    format!("This path differs from {first} only in letter case; they collide on many file systems."),
                )
                .path(entry.path.as_str())
                .fix("Rename one of the two files so that their names differ by more than letter case.");
            }
            if verify(ctx, entry, config.rehash, out)? {
                verified += 1;
            }
        }

        let walk = ctx
            .packet()
            .walk()
            .map_err(|err| CheckError::new(format!("packet directory unreadable: {err}")))?;
        for found in walk {
            match found.kind {
                EntryKind::Directory => {}
                EntryKind::File { .. } if listed.contains(found.path.as_str()) => {}
                EntryKind::File { .. } => {
                    out.error(
                        "packet_file_unlisted",
                        "This file is in the packet but not in its manifest.",
                    )
                    .path(found.path)
                    .fix(REUPLOAD);
                }
                EntryKind::Symlink | EntryKind::Other => {
                    out.error(
                        "packet_entry_unsupported",
                        "This packet entry is not a regular file or directory (for example a symbolic link).",
                    )
                    .path(found.path)
                    .fix("Replace links and special files with the regular files they stand for.");
                }
            }
        }

        out.set_summary(format!("{verified} of {} files verified", manifest.len()));
        Ok(())
    }
}

/// Checks one well-formed entry against the file on disk (its bytes too with
/// `rehash`). Returns whether it matched completely.
fn verify(
    ctx: &Context,
    entry: &FileEntry,
    rehash: bool,
    out: &mut Findings,
) -> Result<bool, CheckError> {
    let digest_ok = is_sha256(&entry.sha256);
    if !digest_ok {
        out.error(
            "manifest_digest_invalid",
            "The manifest's digest for this file is not of the form sha256:<64 lowercase hex digits>.",
        )
        .path(entry.path.as_str())
        .fix(REUPLOAD);
    }
    let metadata = match ctx.packet().metadata(&entry.path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            missing(
                out,
                entry,
                "This file is in the manifest but not in the packet.",
            );
            return Ok(false);
        }
        Err(err) => return Err(err.into()),
    };
    if !metadata.is_file() {
        missing(
            out,
            entry,
            "The manifest lists this path as a file, but in the packet it is not a regular file.",
        );
        return Ok(false);
    }
    if metadata.len() != entry.size {
        out.error(
            "packet_file_size_mismatch",
            format!(
                "This file has {} bytes, but the manifest says {}.",
                metadata.len(),
                entry.size
            ),
        )
        .path(entry.path.as_str())
        .fix(REUPLOAD);
        return Ok(false);
    }
    if !digest_ok {
        return Ok(false);
    }
    if !rehash {
        return Ok(true);
    }
    let (actual, _) = sha256_reader(ctx.packet().open(&entry.path)?)?;
    if actual != entry.sha256 {
        out.error(
            "packet_file_digest_mismatch",
            "This file's content does not match its manifest digest.",
        )
        .path(entry.path.as_str())
        .fix(REUPLOAD);
        return Ok(false);
    }
    Ok(true)
}

fn missing(out: &mut Findings, entry: &FileEntry, message: &str) {
    out.error("packet_file_missing", message)
        .path(entry.path.as_str())
        .fix(REUPLOAD);
}

export_checker!(EvidenceIntegrity);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::digest::sha256_bytes;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    fn packet() -> TempDir {
        let dir = TempDir::new();
        dir.write("answer.md", b"42\n");
        dir.write("evidence/test.log", b"all green\n");
        dir
    }

    fn check(dir: &TempDir, input: InputBuilder) -> Report {
        run::<EvidenceIntegrity>(input.build(), dir.packet()).unwrap()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<EvidenceIntegrity>(&["{}", r#"{"rehash": true}"#]);
    }

    #[test]
    fn matching_packet_passes() {
        let dir = packet();
        let report = check(&dir, InputBuilder::new().manifest_from(&dir));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.summary.as_deref(), Some("2 of 2 files verified"));
    }

    #[test]
    fn content_and_size_changes_are_caught() {
        let dir = packet();
        let input = InputBuilder::new().manifest_from(&dir);
        dir.write("answer.md", b"43\n"); // same size, other bytes
        dir.write("evidence/test.log", b"red\n");
        // By default the host's digests are trusted: only the size change shows.
        let report = check(&dir, input.clone());
        assert_eq!(codes(&report), ["packet_file_size_mismatch"]);
        let report = check(&dir, input.config(r#"{"rehash": true}"#));
        assert_eq!(
            codes(&report),
            ["packet_file_digest_mismatch", "packet_file_size_mismatch"]
        );
        assert_eq!(report.findings[0].path.as_deref(), Some("answer.md"));
    }

    #[test]
    fn missing_and_unlisted_files_are_caught() {
        let dir = packet();
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .entry("ghost.md", 1, &sha256_bytes(b"x"))
            .edit_manifest(|manifest| manifest.retain(|entry| entry.path != "answer.md"));
        let report = check(&dir, input);
        assert_eq!(
            codes(&report),
            ["packet_file_missing", "packet_file_unlisted"]
        );
        assert_eq!(report.findings[1].path.as_deref(), Some("answer.md"));
    }

    #[test]
    fn malformed_manifest_entries_are_caught() {
        let dir = packet();
        let input = InputBuilder::new()
            .manifest_from(&dir)
            .entry("../etc/passwd", 1, &sha256_bytes(b"x"))
            .entry("answer.md", 3, &sha256_bytes(b"42\n"))
            .entry("Answer.MD", 3, "sha256:TOKEN")
            .entry("evidence", 0, &sha256_bytes(b""));
        let report = check(&dir, input);
        assert_eq!(
            codes(&report),
            [
                "manifest_path_invalid",
                "manifest_path_duplicate",
                "manifest_path_case_collision",
                "manifest_digest_invalid",
                "packet_file_missing",
                "packet_file_missing",
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_unsupported() {
        let dir = packet();
        let input = InputBuilder::new().manifest_from(&dir);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let report = check(&dir, input);
        assert_eq!(codes(&report), ["packet_entry_unsupported"]);
    }

    #[test]
    fn unreadable_packet_is_an_error() {
        let input = InputBuilder::new().build();
        let missing = workstream_checker_sdk::Packet::at("/nonexistent/workstream/packet");
        assert!(run::<EvidenceIntegrity>(input, missing).is_err());
    }
}
