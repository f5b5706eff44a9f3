//! ZIP intake (`workstream_engine::packets::inspect`) on arbitrary bytes.
//!
//! Never a panic; on success every manifest file is in the tree with its size and
//! hash, and nothing else is; on refusal the tree is left empty and the refusal has a
//! stable `submission_archive_*` code (bytes alone never make our side fail). The limits are tight so an
//! iteration stays cheap; the rules are the same as in production.
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use workstream_engine::packets::{PacketLimits, inspect};

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap().keep())
}

fn limits() -> PacketLimits {
    PacketLimits {
        maximum_archive_bytes: 1 << 20,
        maximum_entries: 64,
        maximum_path_bytes: 256,
        maximum_path_depth: 8,
        maximum_central_directory_bytes: 64 << 10,
        maximum_entry_bytes: 1 << 20,
        maximum_expanded_bytes: 4 << 20,
        maximum_compression_ratio: 100,
        maximum_inspection_time: Duration::from_secs(10),
    }
}

/// Checks one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let dir = scratch();
    let archive = dir.join("packet.zip");
    let tree = dir.join("tree");
    std::fs::write(&archive, data).unwrap();
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir(&tree).unwrap();
    match inspect(&archive, &tree, &limits()) {
        Ok(packet) => {
            assert_eq!(packet.archive_bytes, data.len() as u64);
            for file in &packet.files {
                let bytes =
                    std::fs::read(tree.join(&file.path)).expect("a manifest file is in the tree");
                assert_eq!(bytes.len() as u64, file.bytes, "{}", file.path);
                assert_eq!(
                    workstream_domain::Digest::of_bytes(&bytes),
                    file.sha256,
                    "{}",
                    file.path
                );
            }
            let on_disk = count_files(&tree);
            assert_eq!(
                on_disk,
                packet.files.len(),
                "the tree holds exactly the manifest's files"
            );
        }
        Err(err) => {
            // Bytes alone never make our side fail: every refusal is the packet's.
            let code = err.code;
            assert!(
                code.as_str().starts_with("submission_archive_"),
                "unexpected {err}"
            );
            assert_eq!(
                count_files(&tree),
                0,
                "a refused packet leaves the tree empty ({code})"
            );
        }
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { count_files(&p) } else { 1 })
            .sum()
    })
}
