//! Writing the packet tree a checker sees, through a directory capability.
//!
//! Intake expands a packet into a private scratch directory that becomes the `/packet`
//! preopen of every checker run. The names come from an uploaded archive, so the
//! writer does not trust them even after [`super::tree`] has judged them: every
//! directory and file is made through a `cap-std` [`Dir`] rooted at the scratch tree,
//! one path segment at a time, opening each parent without following a link
//! (`open_dir_nofollow`) and creating each file new (`create_new`, no link followed).
//! So no name can reach outside the root (`..`, an absolute path, a link planted in
//! the tree), nothing existing is overwritten, and nothing but directories and regular
//! files is ever created. A refusal is an [`io::Error`] the caller reports as an
//! intake failure; the archive rules have already refused such names with their own
//! codes, so reaching one here means a bug, not a hostile packet.

use std::io;
use std::path::Path;

use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// The root of one packet tree.
#[derive(Debug)]
pub struct TreeWriter {
    root: Dir,
}

impl TreeWriter {
    /// Opens the (existing, empty) scratch directory `root` as the tree's root.
    pub fn open(root: &Path) -> io::Result<TreeWriter> {
        Ok(TreeWriter {
            root: Dir::open_ambient_dir(root, ambient_authority())?,
        })
    }

    /// Creates the directory `path` (relative, `/`-separated); its parent must exist.
    pub fn create_dir(&self, path: &str) -> io::Result<()> {
        let (parent, name) = self.parent_of(path)?;
        parent.create_dir(name)
    }

    /// Creates the file `path` (relative, `/`-separated) for writing; its parent must
    /// exist and the name must be new.
    pub fn create_file(&self, path: &str) -> io::Result<std::fs::File> {
        let (parent, name) = self.parent_of(path)?;
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(FollowSymlinks::No);
        Ok(parent.open_with(name, &options)?.into_std())
    }

    /// The directory holding `path`'s last segment (opened segment by segment without
    /// following links), and that segment.
    fn parent_of<'p>(&self, path: &'p str) -> io::Result<(Dir, &'p str)> {
        let segments = segments(path)?;
        let (name, parents) = segments.split_last().expect("at least one segment");
        let mut dir = self.root.try_clone()?;
        for segment in parents {
            dir = dir.open_dir_nofollow(segment)?;
        }
        Ok((dir, name))
    }
}

/// The segments of a relative tree path; refuses anything that is not plain names.
fn segments(path: &str) -> io::Result<Vec<&str>> {
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("packet path {path:?}: {why}"),
        ))
    };
    if path.is_empty() {
        return refuse("empty");
    }
    if path.starts_with('/') {
        return refuse("absolute");
    }
    if path.contains(['\\', '\0']) {
        return refuse("a backslash or NUL");
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return refuse("an empty, `.` or `..` segment");
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn writer() -> (tempfile::TempDir, TreeWriter) {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        let writer = TreeWriter::open(&tree).unwrap();
        (dir, writer)
    }

    #[test]
    fn writes_directories_and_files_inside_the_root() {
        let (dir, tree) = writer();
        tree.create_dir("outputs").unwrap();
        tree.create_dir("outputs/docs").unwrap();
        tree.create_file("outputs/docs/a.md")
            .unwrap()
            .write_all(b"hello")
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("tree/outputs/docs/a.md")).unwrap(),
            b"hello"
        );
        // Never over an existing name.
        assert!(tree.create_file("outputs/docs/a.md").is_err());
        assert!(tree.create_dir("outputs").is_err());
    }

    #[test]
    fn escaping_names_are_refused() {
        let (dir, tree) = writer();
        tree.create_dir("a").unwrap();
        for name in [
            "",
            "/etc/passwd",
            "../escaped",
            "a/../../escaped",
            "a/./b",
            "a//b",
            "a\\..\\b",
            "a/\0",
            "..",
        ] {
            assert!(tree.create_file(name).is_err(), "{name:?}");
            assert!(tree.create_dir(name).is_err(), "{name:?}");
        }
        assert!(!dir.path().join("escaped").exists());
    }

    #[test]
    fn links_in_the_tree_are_never_followed() {
        let (dir, tree) = writer();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let root = dir.path().join("tree");
        // A directory link and a file link planted in the tree, pointing out of it,
        // and one pointing inside it.
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("f")).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("inside")).unwrap();

        assert!(tree.create_file("out/x").is_err());
        assert!(tree.create_dir("out/x").is_err());
        assert!(tree.create_file("f").is_err());
        assert!(tree.create_file("inside/x").is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(root.join("real")).unwrap().count(), 0);
    }
}
