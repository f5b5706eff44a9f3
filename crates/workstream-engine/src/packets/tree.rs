//! Entry names and the normalized tree they form.
//!
//! A packet is judged as the tree a case-insensitive, normalizing file system would
//! make of it, because that is where it may end up (a reviewer's laptop, a checker's
//! scratch): names that would land outside the tree, or two names that would land on
//! the same file, are refused before a byte is expanded.

use std::collections::BTreeMap;

use unicode_normalization::UnicodeNormalization;

use super::error::{IntakeError, codes};
use super::limits::PacketLimits;

/// Validates a raw entry name and returns its NFC form without the trailing `/` of a
/// directory entry, and whether it had one.
pub(super) fn normalize_name(
    raw: &[u8],
    limits: &PacketLimits,
) -> Result<(String, bool), IntakeError> {
    if raw.is_empty() {
        return Err(IntakeError::unsafe_entry(
            "empty_name",
            "an entry has an empty name",
        ));
    }
    // Names without the UTF-8 flag are CP437 by the letter of APPNOTE; packets come
    // from tools that write UTF-8 (or ASCII, which is both), so anything that is not
    // UTF-8 is refused rather than guessed at.
    let name = std::str::from_utf8(raw)
        .map_err(|_| IntakeError::unsafe_entry("name_not_utf8", "an entry name is not UTF-8"))?;
    if name.contains('\\') {
        return Err(IntakeError::unsafe_entry(
            "backslash",
            "an entry name contains a backslash",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(IntakeError::unsafe_entry(
            "control_character",
            "an entry name contains a control character",
        ));
    }
    if name.starts_with('/') {
        return Err(IntakeError::unsafe_entry(
            "absolute_path",
            "an entry name is an absolute path",
        ));
    }
    let (name, is_directory) = match name.strip_suffix('/') {
        Some(stripped) => (stripped, true),
        None => (name, false),
    };
    let normalized: String = name.nfc().collect();
    let mut depth = 0usize;
    for (i, segment) in normalized.split('/').enumerate() {
        depth += 1;
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(IntakeError::unsafe_entry(
                "dot_or_empty_segment",
                "an entry name has an empty, `.` or `..` segment",
            ));
        }
        // Windows strips a trailing dot or space, so `a.` and `a` are one file there.
        if segment.ends_with(' ') || segment.ends_with('.') {
            return Err(IntakeError::unsafe_entry(
                "segment_trailing_dot_or_space",
                "an entry name has a segment ending in a dot or a space",
            ));
        }
        // No file system the tree is written to takes a longer file name (NAME_MAX).
        if segment.len() > MAXIMUM_SEGMENT_BYTES {
            return Err(path_limit(
                "maximum_segment_bytes",
                MAXIMUM_SEGMENT_BYTES,
                segment.len(),
            ));
        }
        if i == 0 && segment.contains(':') {
            return Err(IntakeError::unsafe_entry(
                "drive_prefix",
                "an entry name starts with a drive prefix",
            ));
        }
    }
    // docs/checkers.md files path length and depth under unsafe entries; the details still name
    // the limit and the value.
    if normalized.len() > limits.maximum_path_bytes {
        return Err(path_limit(
            "maximum_path_bytes",
            limits.maximum_path_bytes,
            normalized.len(),
        ));
    }
    if depth > limits.maximum_path_depth {
        return Err(path_limit(
            "maximum_path_depth",
            limits.maximum_path_depth,
            depth,
        ));
    }
    Ok((normalized, is_directory))
}

/// The longest segment of a path, in UTF-8 bytes: the longest file name Linux file
/// systems take (`NAME_MAX`). A longer one would fail to extract, which is the
/// archive's fault, not the host's.
pub const MAXIMUM_SEGMENT_BYTES: usize = 255;

fn path_limit(limit: &str, maximum: usize, value: usize) -> IntakeError {
    let mut error = IntakeError::limit(limit, maximum as u64, value as u64);
    error.code = codes::UNSAFE_ENTRY;
    error
}

/// The key two paths collide on: NFC, then lower case, then NFC again (lowering can
/// leave a decomposed sequence, e.g. `İ`).
fn fold(path: &str) -> String {
    path.nfc()
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect()
}

/// What a node of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeKind {
    /// A directory; `explicit` when the archive has an entry for it.
    Directory {
        /// Whether a ZIP entry named it (rather than only implied by a file's path).
        explicit: bool,
    },
    /// A file, with its index in the central directory.
    File {
        /// Central-directory index.
        entry: usize,
    },
}

/// The normalized tree: every file and directory, implied parents included.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// Fold key -> (NFC path, kind).
    nodes: BTreeMap<String, (String, NodeKind)>,
}

impl Tree {
    /// Adds an entry and its implied parents; refuses collisions and a tree larger than
    /// `maximum_entries`.
    pub(super) fn add(
        &mut self,
        path: &str,
        kind: NodeKind,
        limits: &PacketLimits,
    ) -> Result<(), IntakeError> {
        for (at, _) in path.match_indices('/') {
            self.insert(&path[..at], NodeKind::Directory { explicit: false }, limits)?;
        }
        self.insert(path, kind, limits)
    }

    fn insert(
        &mut self,
        path: &str,
        kind: NodeKind,
        limits: &PacketLimits,
    ) -> Result<(), IntakeError> {
        let key = fold(path);
        if let Some((existing_path, existing_kind)) = self.nodes.get_mut(&key) {
            let same_directory = existing_path == path
                && matches!(*existing_kind, NodeKind::Directory { .. })
                && matches!(kind, NodeKind::Directory { .. });
            return match (same_directory, *existing_kind, kind) {
                // One directory named by an entry and implied by a file: the same node.
                (true, NodeKind::Directory { explicit: false }, new)
                | (true, new, NodeKind::Directory { explicit: false }) => {
                    *existing_kind = new;
                    Ok(())
                }
                _ => Err(IntakeError::new(
                    codes::COLLISION,
                    "collision",
                    "two entries name the same path once case and Unicode normalization are ignored",
                )),
            };
        }
        if self.nodes.len() as u64 >= limits.maximum_entries {
            return Err(IntakeError::limit(
                "maximum_entries",
                limits.maximum_entries,
                self.nodes.len() as u64 + 1,
            ));
        }
        self.nodes.insert(key, (path.to_owned(), kind));
        Ok(())
    }

    /// Every node as (NFC path, kind), sorted by path (UTF-8 byte order, so a
    /// directory always comes before what it holds).
    pub(super) fn sorted(&self) -> Vec<(&str, NodeKind)> {
        let mut nodes: Vec<(&str, NodeKind)> = self
            .nodes
            .values()
            .map(|(path, kind)| (path.as_str(), *kind))
            .collect();
        nodes.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_domain::ErrorCode;

    fn name(raw: &str) -> Result<(String, bool), ErrorCode> {
        normalize_name(raw.as_bytes(), &PacketLimits::platform_defaults()).map_err(|e| e.code)
    }

    #[test]
    fn hostile_names_are_unsafe() {
        for raw in [
            "",
            "/abs.txt",
            "../etc/passwd",
            "a/../b",
            "a//b",
            "./a",
            "C:x",
            "c:/x",
            "a\\b",
            "a\0b",
            "a\nb",
            "dir./x",
            "x ",
            "/",
        ] {
            assert_eq!(name(raw), Err(codes::UNSAFE_ENTRY), "{raw:?}");
        }
    }

    #[test]
    fn names_are_nfc_and_directories_lose_their_slash() {
        assert_eq!(name("docs/"), Ok(("docs".into(), true)));
        assert_eq!(name("cafe\u{301}.md"), Ok(("caf\u{e9}.md".into(), false)));
        assert_eq!(name("a/b:c"), Ok(("a/b:c".into(), false)));
    }

    #[test]
    fn a_file_cannot_also_be_a_directory() {
        let limits = PacketLimits::platform_defaults();
        let mut tree = Tree::default();
        tree.add("a", NodeKind::File { entry: 0 }, &limits).unwrap();
        let err = tree
            .add("A/b", NodeKind::File { entry: 1 }, &limits)
            .unwrap_err();
        assert_eq!(err.code, codes::COLLISION);
    }

    #[test]
    fn an_explicit_directory_merges_with_its_implied_self() {
        let limits = PacketLimits::platform_defaults();
        let mut tree = Tree::default();
        tree.add("d/x", NodeKind::File { entry: 0 }, &limits)
            .unwrap();
        tree.add("d", NodeKind::Directory { explicit: true }, &limits)
            .unwrap();
        assert_eq!(tree.sorted().len(), 2);
        let err = tree
            .add("d", NodeKind::Directory { explicit: true }, &limits)
            .unwrap_err();
        assert_eq!(err.code, codes::COLLISION);
    }
}
