//! The bundle manifest (`workstream.submission_bundle_manifest.v1`, docs/checkers.md): the packet's semantic identity.
//!
//! Only what a checker or reviewer can observe goes in: normalized paths, entry types,
//! content digests, sizes and the executable intent. ZIP order, timestamps, comments,
//! compression and owner/permission bits stay out, so two archives of the same tree
//! have one manifest digest however they were zipped.

use serde_json::{Value, json};
use workstream_domain::Digest;

use super::error::IntakeError;

/// The schema version the manifest body carries.
pub const MANIFEST_SCHEMA_VERSION: &str = "workstream.submission_bundle_manifest.v1";

/// One extracted, verified file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFile {
    /// Normalized (NFC, `/`-separated, relative) path.
    pub path: String,
    /// SHA-256 of the expanded bytes.
    pub sha256: Digest,
    /// Expanded size.
    pub bytes: u64,
    /// Whether the archive marked it executable (valid Unix mode with an execute bit).
    /// Intent only: it never authorizes running the file, and the extracted file does
    /// not get the bit.
    pub executable: bool,
}

/// The manifest's aggregates, kept beside it (they are derived from the entries, so
/// they are not part of the hashed body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketTotals {
    /// Files plus directories, implied parents included.
    pub entry_count: u64,
    /// Regular files.
    pub file_count: u64,
    /// Directories, implied parents included.
    pub directory_count: u64,
    /// Sum of the files' expanded sizes.
    pub total_expanded_bytes: u64,
}

/// Builds the manifest body from the sorted directories and files, and its digest
/// (canonical JSON, see `workstream_domain::canonical`).
pub(super) fn build(
    directories: &[&str],
    files: &[PacketFile],
) -> Result<(Value, Digest, PacketTotals), IntakeError> {
    let mut entries: Vec<(&str, Value)> = directories
        .iter()
        .map(|path| {
            (
                *path,
                json!({ "normalized_path": path, "entry_type": "directory" }),
            )
        })
        .chain(files.iter().map(|file| {
            (
                file.path.as_str(),
                json!({
                    "normalized_path": file.path,
                    "entry_type": "file",
                    "sha256": file.sha256,
                    "byte_count": file.bytes,
                    "executable": file.executable,
                }),
            )
        }))
        .collect();
    // Code-point order of the NFC path (= UTF-8 byte order), as upstream sorts.
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let manifest = json!({
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "entries": entries.into_iter().map(|(_, entry)| entry).collect::<Vec<_>>(),
    });
    let digest = Digest::of_canonical_json(&manifest)
        .map_err(|e| IntakeError::infrastructure(format!("hashing the manifest: {e}")))?;
    let totals = PacketTotals {
        entry_count: (directories.len() + files.len()) as u64,
        file_count: files.len() as u64,
        directory_count: directories.len() as u64,
        total_expanded_bytes: files.iter().map(|f| f.bytes).sum(),
    };
    Ok((manifest, digest, totals))
}
