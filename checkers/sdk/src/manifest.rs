//! The packet manifest: the server's list of the packet's files.
//!
//! The manifest is what the packet *claims* to contain; [`crate::packet`]
//! reads what is actually there. Most checkers only need the manifest
//! (names and sizes); reading bytes is for checkers that look inside files.

use crate::bindings::FileEntry;
use crate::glob::Glob;

/// A read-only view of the manifest with lookups.
///
/// The host sorts entries by path, but a view does not rely on it: a
/// checker must not misbehave on input that breaks the contract.
#[derive(Debug, Clone, Copy)]
pub struct Manifest<'a> {
    entries: &'a [FileEntry],
}

impl<'a> Manifest<'a> {
    /// A view over `entries`.
    pub fn new(entries: &'a [FileEntry]) -> Self {
        Self { entries }
    }

    /// All entries, in the host's order.
    pub fn entries(&self) -> &'a [FileEntry] {
        self.entries
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> std::slice::Iter<'a, FileEntry> {
        self.entries.iter()
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the packet has no files.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry whose path is exactly `path`.
    pub fn get(&self, path: &str) -> Option<&'a FileEntry> {
        self.entries.iter().find(|entry| entry.path == path)
    }

    /// Entries whose whole path matches `glob`.
    pub fn matching<'g>(&self, glob: &'g Glob) -> impl Iterator<Item = &'a FileEntry> + 'g
    where
        'a: 'g,
    {
        self.entries
            .iter()
            .filter(move |entry| glob.matches(&entry.path))
    }

    /// Entries inside directory `dir` (given with or without a trailing
    /// `/`; an empty `dir` means the whole packet).
    pub fn under<'d>(&self, dir: &'d str) -> impl Iterator<Item = &'a FileEntry> + 'd
    where
        'a: 'd,
    {
        let dir = dir.trim_matches('/');
        self.entries.iter().filter(move |entry| {
            dir.is_empty()
                || entry
                    .path
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Sum of the declared sizes of all files (saturating, so that a
    /// hostile manifest cannot overflow it).
    pub fn total_size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |total, entry| total.saturating_add(entry.size))
    }
}

impl<'a> IntoIterator for Manifest<'a> {
    type Item = &'a FileEntry;
    type IntoIter = std::slice::Iter<'a, FileEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Why a path is not a well-formed packet path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// The path is empty.
    Empty,
    /// The path starts with `/`.
    Absolute,
    /// The path contains a backslash.
    Backslash,
    /// The path has an empty, `.` or `..` segment.
    BadSegment,
    /// The path contains a NUL or another control character.
    ControlCharacter,
}

impl PathProblem {
    /// A contributor-safe description of the problem.
    pub fn describe(self) -> &'static str {
        match self {
            PathProblem::Empty => "the path is empty",
            PathProblem::Absolute => "the path is absolute (starts with `/`)",
            PathProblem::Backslash => "the path contains a backslash",
            PathProblem::BadSegment => "the path has an empty, `.` or `..` segment",
            PathProblem::ControlCharacter => "the path contains a control character",
        }
    }
}

/// Checks that `path` has the form the contract promises for manifest
/// paths: relative, `/`-separated, no empty, `.` or `..` segments, no
/// backslashes or control characters. Such a path cannot leave the packet
/// root when joined to it.
pub fn check_path(path: &str) -> Result<(), PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    if path.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    if path.chars().any(char::is_control) {
        return Err(PathProblem::ControlCharacter);
    }
    if path
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err(PathProblem::BadSegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            size,
            sha256: String::new(),
            executable: false,
        }
    }

    #[test]
    fn lookups() {
        let entries = vec![
            entry("README.md", 10),
            entry("evidence/a.png", 20),
            entry("evidence/sub/b.log", 30),
            entry("evidence.txt", 5),
        ];
        let manifest = Manifest::new(&entries);
        assert_eq!(manifest.len(), 4);
        assert_eq!(manifest.get("README.md").unwrap().size, 10);
        assert!(manifest.get("readme.md").is_none());
        assert_eq!(manifest.total_size(), 65);
        let under: Vec<_> = manifest
            .under("evidence/")
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(under, ["evidence/a.png", "evidence/sub/b.log"]);
        assert_eq!(manifest.under("evidence").count(), 2);
        assert_eq!(manifest.under("").count(), 4);
        let glob = Glob::new("**/*.png").unwrap();
        assert_eq!(manifest.matching(&glob).count(), 1);
    }

    #[test]
    fn total_size_saturates() {
        let entries = vec![entry("a", u64::MAX), entry("b", 1)];
        assert_eq!(Manifest::new(&entries).total_size(), u64::MAX);
    }

    #[test]
    fn path_rules() {
        assert_eq!(check_path("docs/answer.md"), Ok(()));
        assert_eq!(check_path(".env"), Ok(()));
        assert_eq!(check_path(""), Err(PathProblem::Empty));
        assert_eq!(check_path("/etc/passwd"), Err(PathProblem::Absolute));
        assert_eq!(check_path("a\\b"), Err(PathProblem::Backslash));
        assert_eq!(check_path("a/../b"), Err(PathProblem::BadSegment));
        assert_eq!(check_path("a//b"), Err(PathProblem::BadSegment));
        assert_eq!(check_path("a/"), Err(PathProblem::BadSegment));
        assert_eq!(check_path("./a"), Err(PathProblem::BadSegment));
        assert_eq!(check_path("a\nb"), Err(PathProblem::ControlCharacter));
    }
}
