//! The packet's files, mounted read-only at `/packet`.
//!
//! Inside the component, `std::fs` works on the WASI preopen the host gives
//! (`/packet`, read-only); nothing else is visible. Natively (tests) a
//! [`Packet`] points at any directory. Every path a checker passes here is
//! a packet path (relative, `/`-separated) and is validated with
//! [`check_path`] before it touches the file
//! system, so a checker cannot be tricked into reading outside the packet by
//! a manifest entry such as `../x`.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::manifest::check_path;

/// Where the host mounts the packet inside the component.
pub const MOUNT_POINT: &str = "/packet";

/// Deepest directory nesting [`Packet::walk`] descends into. The host
/// limits depth to 32 when it unpacks a packet; this only stops a runaway.
pub const MAX_WALK_DEPTH: usize = 256;

/// Bytes inspected to tell text from binary content.
const SNIFF_BYTES: usize = 8192;

/// The packet directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    root: PathBuf,
}

/// One thing found under the packet root by [`Packet::walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    /// Packet path (relative, `/`-separated). Names that are not UTF-8 are
    /// converted lossily; the host never produces them.
    pub path: String,
    /// What kind of entry it is.
    pub kind: EntryKind,
}

/// The kind of a [`WalkEntry`]. Symbolic links are reported, never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file of the given size in bytes.
    File {
        /// Size in bytes.
        size: u64,
    },
    /// A directory.
    Directory,
    /// A symbolic link (the host never materializes one).
    Symlink,
    /// Anything else (device, socket, pipe).
    Other,
}

/// The start of a file read as text by [`Packet::read_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    /// The text (at most the requested number of bytes).
    pub text: String,
    /// True when the file is longer than what was read.
    pub truncated: bool,
}

impl Packet {
    /// The packet as the host mounts it, at [`MOUNT_POINT`].
    pub fn mounted() -> Self {
        Self::at(MOUNT_POINT)
    }

    /// A packet rooted at `root` (used by tests).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The packet root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file-system path of packet path `path`, after checking that it
    /// is a well-formed packet path.
    pub fn path_of(&self, path: &str) -> io::Result<PathBuf> {
        check_path(path).map_err(|problem| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a packet path ({}): {path:?}", problem.describe()),
            )
        })?;
        Ok(self.root.join(path))
    }

    /// Metadata of `path`, without following a symbolic link.
    pub fn metadata(&self, path: &str) -> io::Result<fs::Metadata> {
        fs::symlink_metadata(self.path_of(path)?)
    }

    /// True when `path` is a regular file in the packet.
    pub fn is_file(&self, path: &str) -> bool {
        self.metadata(path).is_ok_and(|meta| meta.is_file())
    }

    /// Opens `path` for reading.
    pub fn open(&self, path: &str) -> io::Result<File> {
        File::open(self.path_of(path)?)
    }

    /// Reads at most `max_bytes` bytes from the start of `path`.
    pub fn read_prefix(&self, path: &str, max_bytes: u64) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open(path)?.take(max_bytes).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Reads at most `max_bytes` bytes of `path` as UTF-8 text.
    ///
    /// Returns `Ok(None)` when the content looks binary: a NUL byte near
    /// the start, or bytes that are not UTF-8 (a multi-byte character cut
    /// by the `max_bytes` limit does not count).
    pub fn read_text(&self, path: &str, max_bytes: u64) -> io::Result<Option<TextFile>> {
        // One byte more than asked tells whether the file goes on.
        let mut bytes = self.read_prefix(path, max_bytes.saturating_add(1))?;
        let truncated = bytes.len() as u64 > max_bytes;
        if truncated {
            bytes.truncate(max_bytes as usize);
        }
        Ok(decode_text(bytes, truncated).map(|text| TextFile { text, truncated }))
    }

    /// Lists everything under the packet root, depth first, sorted by path
    /// (byte order, like the manifest). Directories are listed as well as
    /// their contents.
    pub fn walk(&self) -> io::Result<Vec<WalkEntry>> {
        let mut found = Vec::new();
        walk_into(&self.root, "", 0, &mut found)?;
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }
}

fn walk_into(dir: &Path, prefix: &str, depth: usize, found: &mut Vec<WalkEntry>) -> io::Result<()> {
    if depth > MAX_WALK_DEPTH {
        return Err(io::Error::other("packet directory tree is too deep"));
    }
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // `DirEntry::file_type` does not follow symbolic links.
        let file_type = item.file_type()?;
        let kind = if file_type.is_symlink() {
            EntryKind::Symlink
        } else if file_type.is_dir() {
            EntryKind::Directory
        } else if file_type.is_file() {
            EntryKind::File {
                size: item.metadata()?.len(),
            }
        } else {
            EntryKind::Other
        };
        found.push(WalkEntry {
            path: path.clone(),
            kind,
        });
        if kind == EntryKind::Directory {
            walk_into(&item.path(), &path, depth + 1, found)?;
        }
    }
    Ok(())
}

/// Decodes `bytes` as text, or `None` when they look binary.
fn decode_text(bytes: Vec<u8>, truncated: bool) -> Option<String> {
    if bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) {
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(err) => {
            let utf8 = err.utf8_error();
            // `error_len() == None` means the input ended inside a
            // character: expected when we cut the file short.
            if truncated && utf8.error_len().is_none() {
                let valid = utf8.valid_up_to();
                let mut bytes = err.into_bytes();
                bytes.truncate(valid);
                String::from_utf8(bytes).ok()
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;

    fn sample() -> (TempDir, Packet) {
        let dir = TempDir::new();
        dir.write("README.md", b"# Hello\n");
        dir.write("docs/answer.md", "caf\u{e9}".as_bytes());
        dir.write("docs/deep/x.bin", &[0, 1, 2]);
        dir.write("empty.txt", b"");
        let packet = Packet::at(dir.path());
        (dir, packet)
    }

    #[test]
    fn walk_lists_everything_sorted() {
        let (_dir, packet) = sample();
        let listed: Vec<_> = packet
            .walk()
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.kind))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("README.md".to_owned(), EntryKind::File { size: 8 }),
                ("docs".to_owned(), EntryKind::Directory),
                ("docs/answer.md".to_owned(), EntryKind::File { size: 5 }),
                ("docs/deep".to_owned(), EntryKind::Directory),
                ("docs/deep/x.bin".to_owned(), EntryKind::File { size: 3 }),
                ("empty.txt".to_owned(), EntryKind::File { size: 0 }),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn walk_reports_symlinks_without_following() {
        let (dir, packet) = sample();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        let walk = packet.walk().unwrap();
        let link = walk.iter().find(|e| e.path == "link").unwrap();
        assert_eq!(link.kind, EntryKind::Symlink);
        assert!(!walk.iter().any(|e| e.path.starts_with("link/")));
        assert!(!packet.is_file("link"));
    }

    #[test]
    fn read_text_handles_binary_and_truncation() {
        let (_dir, packet) = sample();
        let text = packet.read_text("README.md", 1024).unwrap().unwrap();
        assert_eq!(
            text,
            TextFile {
                text: "# Hello\n".to_owned(),
                truncated: false
            }
        );
        assert_eq!(packet.read_text("docs/deep/x.bin", 1024).unwrap(), None);
        // "café" is 5 bytes; cutting after 4 splits the "é".
        let cut = packet.read_text("docs/answer.md", 4).unwrap().unwrap();
        assert_eq!(
            cut,
            TextFile {
                text: "caf".to_owned(),
                truncated: true
            }
        );
        let empty = packet.read_text("empty.txt", 10).unwrap().unwrap();
        assert_eq!(empty.text, "");
    }

    #[test]
    fn paths_cannot_escape_the_root() {
        let (_dir, packet) = sample();
        for bad in ["../etc/passwd", "/etc/passwd", "docs/../../x", ""] {
            let err = packet.open(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        assert!(packet.is_file("docs/answer.md"));
        assert!(!packet.is_file("docs"));
        assert!(!packet.is_file("missing"));
    }

    #[test]
    fn read_prefix_limits_bytes() {
        let (_dir, packet) = sample();
        assert_eq!(packet.read_prefix("README.md", 3).unwrap(), b"# H");
    }
}
