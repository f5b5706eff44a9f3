//! Packet intake against real ZIP archives (docs/checkers.md scenarios 4-11
//! and 13). Clean archives come from the `zip` writer; hostile ones it refuses to
//! write (CRC and name mismatches, encryption flags, symlink modes, lying sizes) are
//! written byte by byte by [`RawZip`].

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;
use workstream_engine::packets::{InspectedPacket, IntakeError, PacketLimits, codes, inspect};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

// ---------------------------------------------------------------------------------
// Harness

/// Inspects `bytes` (written to a temp file) into a fresh tree.
fn run(bytes: &[u8], limits: &PacketLimits) -> (Result<InspectedPacket, IntakeError>, TempDir) {
    let dir = TempDir::new().unwrap();
    let archive = dir.path().join("packet.zip");
    std::fs::write(&archive, bytes).unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let result = inspect(&archive, &tree, limits);
    (result, dir)
}

fn accept(bytes: &[u8]) -> (InspectedPacket, TempDir) {
    let (result, dir) = run(bytes, &PacketLimits::platform_defaults());
    (result.expect("the packet is accepted"), dir)
}

/// The refusal, after checking that nothing was left in the tree.
fn refuse_with(bytes: &[u8], limits: &PacketLimits) -> IntakeError {
    let (result, dir) = run(bytes, limits);
    let error = result.expect_err("the packet is refused");
    assert_tree_empty(&dir.path().join("tree"));
    error
}

fn refuse(bytes: &[u8]) -> IntakeError {
    refuse_with(bytes, &PacketLimits::platform_defaults())
}

fn assert_tree_empty(tree: &Path) {
    let left: Vec<_> = std::fs::read_dir(tree).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A clean archive from the `zip` writer: (name, contents, unix mode); names ending in
/// `/` are directories.
fn zip_of(files: &[(&str, &[u8], u32)], method: CompressionMethod, year: u16) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents, mode) in files {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .unix_permissions(*mode)
            .last_modified_time(DateTime::from_date_and_time(year, 6, 1, 12, 30, 0).unwrap());
        if name.ends_with('/') {
            writer.add_directory(*name, options).unwrap();
        } else {
            writer.start_file(*name, options).unwrap();
            writer.write_all(contents).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Deterministic incompressible bytes (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// One entry of a hand-written archive; every field can lie.
#[derive(Clone)]
struct RawEntry {
    name: Vec<u8>,
    local_name: Option<Vec<u8>>,
    /// The bytes stored in the archive (already compressed when `method` is 8).
    payload: Vec<u8>,
    method: u16,
    flags: u16,
    crc: u32,
    local_crc: Option<u32>,
    compressed: u32,
    uncompressed: u32,
    version_made_by: u16,
    external: u32,
    /// Write CRC and sizes in a data descriptor (flag bit 3, zeros in the local header).
    descriptor: bool,
}

impl RawEntry {
    fn stored(name: &str, data: &[u8]) -> Self {
        RawEntry {
            name: name.as_bytes().to_vec(),
            local_name: None,
            payload: data.to_vec(),
            method: 0,
            flags: 0x0800,
            crc: crc32fast::hash(data),
            local_crc: None,
            compressed: data.len() as u32,
            uncompressed: data.len() as u32,
            version_made_by: (3 << 8) | 20,
            external: 0o100644 << 16,
            descriptor: false,
        }
    }

    fn deflated(name: &str, data: &[u8]) -> Self {
        let payload = deflate(data);
        RawEntry {
            method: 8,
            compressed: payload.len() as u32,
            payload,
            ..RawEntry::stored(name, data)
        }
    }
}

/// Writes entries as local records, a central directory and an end record, with
/// `gap` bytes of junk before each local record after the first.
struct RawZip {
    entries: Vec<RawEntry>,
    gap: usize,
    trailing: Vec<u8>,
}

impl RawZip {
    fn of(entries: Vec<RawEntry>) -> Vec<u8> {
        RawZip {
            entries,
            gap: 0,
            trailing: Vec::new(),
        }
        .bytes()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.extend(std::iter::repeat_n(0xAA, self.gap));
            }
            offsets.push(out.len() as u32);
            let flags = e.flags | if e.descriptor { 0x0008 } else { 0 };
            let local_name = e.local_name.as_ref().unwrap_or(&e.name);
            let (crc, csize, usize) = if e.descriptor {
                (0, 0, 0)
            } else {
                (e.local_crc.unwrap_or(e.crc), e.compressed, e.uncompressed)
            };
            out.extend(0x0403_4b50u32.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(flags.to_le_bytes());
            out.extend(e.method.to_le_bytes());
            out.extend(0u16.to_le_bytes()); // time
            out.extend(0x21u16.to_le_bytes()); // date: 1980-01-01
            out.extend(crc.to_le_bytes());
            out.extend(csize.to_le_bytes());
            out.extend(usize.to_le_bytes());
            out.extend((local_name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(local_name);
            out.extend(&e.payload);
            if e.descriptor {
                out.extend(0x0807_4b50u32.to_le_bytes());
                out.extend(e.crc.to_le_bytes());
                out.extend(e.compressed.to_le_bytes());
                out.extend(e.uncompressed.to_le_bytes());
            }
        }
        let cd_offset = out.len() as u32;
        for (e, offset) in self.entries.iter().zip(&offsets) {
            let flags = e.flags | if e.descriptor { 0x0008 } else { 0 };
            out.extend(0x0201_4b50u32.to_le_bytes());
            out.extend(e.version_made_by.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(flags.to_le_bytes());
            out.extend(e.method.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(0x21u16.to_le_bytes());
            out.extend(e.crc.to_le_bytes());
            out.extend(e.compressed.to_le_bytes());
            out.extend(e.uncompressed.to_le_bytes());
            out.extend((e.name.len() as u16).to_le_bytes());
            out.extend([0u8; 4]); // extra and comment lengths
            out.extend([0u8; 4]); // disk start, internal attributes
            out.extend(e.external.to_le_bytes());
            out.extend(offset.to_le_bytes());
            out.extend(&e.name);
        }
        let cd_size = out.len() as u32 - cd_offset;
        let count = self.entries.len() as u16;
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend(count.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(cd_size.to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(&self.trailing);
        out
    }
}

fn reason(error: &IntakeError) -> &str {
    error.details["reason"].as_str().unwrap()
}

// ---------------------------------------------------------------------------------
// A clean packet

const CLEAN: &[(&str, &[u8], u32)] = &[
    ("docs/answer.md", b"# Answer\n\n42\n", 0o644),
    ("run.sh", b"#!/bin/sh\necho ok\n", 0o755),
    ("evidence/", b"", 0o755),
    ("evidence/log.txt", b"all checks passed\n", 0o600),
];

#[test]
fn a_clean_packet_yields_its_tree_and_a_pinned_manifest() {
    let bytes = zip_of(CLEAN, CompressionMethod::Deflated, 2024);
    let (packet, dir) = accept(&bytes);

    assert_eq!(packet.archive_sha256.to_string(), sha256(&bytes));
    assert_eq!(packet.archive_bytes, bytes.len() as u64);
    assert_eq!(
        packet.manifest,
        json!({
            "schema_version": "workstream.submission_bundle_manifest.v1",
            "entries": [
                {"normalized_path": "docs", "entry_type": "directory"},
                {"normalized_path": "docs/answer.md", "entry_type": "file",
                 "sha256": sha256(b"# Answer\n\n42\n"), "byte_count": 13, "executable": false},
                {"normalized_path": "evidence", "entry_type": "directory"},
                {"normalized_path": "evidence/log.txt", "entry_type": "file",
                 "sha256": sha256(b"all checks passed\n"), "byte_count": 18, "executable": false},
                {"normalized_path": "run.sh", "entry_type": "file",
                 "sha256": sha256(b"#!/bin/sh\necho ok\n"), "byte_count": 18, "executable": true},
            ]
        })
    );
    // Pinned (cross-checked with Python's `json.dumps(sort_keys=True,
    // separators=(",", ":"), ensure_ascii=False)`): a change here changes every stored
    // manifest digest.
    assert_eq!(
        packet.manifest_digest.to_string(),
        "sha256:3d5796297d89f2fa59b31537199bad09b0727b27922d79f39b02c65a45bf6e24"
    );
    let paths: Vec<_> = packet.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/answer.md", "evidence/log.txt", "run.sh"]);
    assert!(packet.files[2].executable);
    assert_eq!(packet.totals.entry_count, 5);
    assert_eq!(packet.totals.file_count, 3);
    assert_eq!(packet.totals.directory_count, 2);
    assert_eq!(packet.totals.total_expanded_bytes, 13 + 18 + 18);

    let tree = dir.path().join("tree");
    assert_eq!(
        std::fs::read(tree.join("docs/answer.md")).unwrap(),
        b"# Answer\n\n42\n"
    );
    // Archive modes are never applied: the executable intent is in the manifest only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(tree.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0);
}

#[test]
fn a_data_descriptor_archive_is_accepted_and_checked() {
    let mut entry = RawEntry::deflated("notes.txt", b"streamed by a writer that could not seek");
    entry.descriptor = true;
    let (packet, _dir) = accept(&RawZip::of(vec![entry.clone()]));
    assert_eq!(packet.files[0].bytes, 40);

    // A descriptor that disagrees with the central directory.
    let mut bytes = RawZip::of(vec![entry]);
    let at = bytes
        .windows(4)
        .position(|w| w == 0x0807_4b50u32.to_le_bytes())
        .unwrap();
    bytes[at + 4] ^= 0xff;
    let error = refuse(&bytes);
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "data_descriptor_mismatch");
}

// ---------------------------------------------------------------------------------
// Scenario 4: traversal, absolute, drive-letter (and backslash) names

#[test]
fn scenario_4_escaping_names_are_unsafe_entries() {
    for name in [
        "../etc/passwd",
        "/abs.txt",
        "C:x",
        "docs/../../x",
        "docs\\..\\x",
        "a/./b",
        "nul\0byte",
    ] {
        let error = refuse(&RawZip::of(vec![RawEntry::stored(name, b"x")]));
        assert_eq!(error.code, codes::UNSAFE_ENTRY, "{name:?}");
        assert_eq!(error.details["entry_index"], 0);
    }
}

// ---------------------------------------------------------------------------------
// Scenario 5: symlinks

#[test]
fn scenario_5_a_symlink_is_unsafe_and_never_followed() {
    let outside = TempDir::new().unwrap();
    let target = outside.path().join("secret");
    std::fs::write(&target, b"do not read").unwrap();
    let mut link = RawEntry::stored("link", target.to_str().unwrap().as_bytes());
    link.external = 0o120777 << 16;
    let entries = vec![
        RawEntry::stored("a.txt", b"fine"),
        link,
        // A file "through" the link, as an extractor following it would write.
        RawEntry::stored("link/owned", b"pwned"),
    ];
    let error = refuse(&RawZip::of(entries));
    assert_eq!(error.code, codes::UNSAFE_ENTRY);
    assert_eq!(reason(&error), "symlink");
    assert_eq!(std::fs::read(&target).unwrap(), b"do not read");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);

    // Other non-regular types (a FIFO) are refused the same way.
    let mut fifo = RawEntry::stored("pipe", b"");
    fifo.external = 0o010644 << 16;
    assert_eq!(refuse(&RawZip::of(vec![fifo])).code, codes::UNSAFE_ENTRY);
}

// ---------------------------------------------------------------------------------
// Scenario 6: encryption

#[test]
fn scenario_6_an_encrypted_entry_is_refused() {
    let mut entry = RawEntry::stored("secret.txt", b"ciphertext-ish");
    entry.flags |= 0x0001;
    assert_eq!(refuse(&RawZip::of(vec![entry])).code, codes::ENCRYPTED);

    let mut aes = RawEntry::stored("aes.txt", b"x");
    aes.method = 99;
    assert_eq!(refuse(&RawZip::of(vec![aes])).code, codes::ENCRYPTED);
}

// ---------------------------------------------------------------------------------
// Scenario 7: collisions

#[test]
fn scenario_7_case_and_normalization_collisions() {
    let cases: &[(&str, &str)] = &[
        ("A.txt", "a.txt"),
        ("caf\u{e9}.txt", "cafe\u{301}.txt"),
        ("Docs/x.md", "docs/y.md"),
        ("same.txt", "same.txt"),
        ("a", "a/b"),
        ("dir/", "DIR/"),
    ];
    for (first, second) in cases {
        let entry = |name: &str| {
            let data: &[u8] = if name.ends_with('/') { b"" } else { b"x" };
            RawEntry::stored(name, data)
        };
        let error = refuse(&RawZip::of(vec![entry(first), entry(second)]));
        assert_eq!(error.code, codes::COLLISION, "{first:?} / {second:?}");
    }
}

#[test]
fn nfd_names_are_stored_nfc() {
    let (packet, dir) = accept(&RawZip::of(vec![RawEntry::stored("cafe\u{301}.txt", b"x")]));
    assert_eq!(packet.files[0].path, "caf\u{e9}.txt");
    assert!(dir.path().join("tree/caf\u{e9}.txt").exists());
}

// ---------------------------------------------------------------------------------
// Scenario 8: bombs and budgets, refused before expansion

#[test]
fn scenario_8_a_ratio_bomb_is_refused_before_expansion() {
    // A real bomb: 64 MiB of zeros deflate to about 64 KiB (ratio ~1000).
    let zeros = vec![0u8; 64 << 20];
    let bomb = RawEntry::deflated("zeros.bin", &zeros);
    drop(zeros);
    let error = refuse(&RawZip::of(vec![bomb]));
    assert_eq!(error.code, codes::LIMIT_EXCEEDED);
    assert_eq!(error.details["limit"], "maximum_compression_ratio");

    // 1 KiB of data claiming 1 GiB: over the per-entry budget whatever its ratio.
    let mut liar = RawEntry::deflated("big.bin", &noise(1024, 7));
    liar.uncompressed = 1 << 30;
    let error = refuse(&RawZip::of(vec![liar.clone()]));
    assert_eq!(error.code, codes::LIMIT_EXCEEDED);
    assert_eq!(error.details["limit"], "maximum_entry_bytes");
    assert_eq!(error.details["value"], 1u64 << 30);

    // The same claim under a per-entry budget that allows it: the ratio refuses it.
    let mut generous = PacketLimits::platform_defaults();
    generous.maximum_entry_bytes = 2 << 30;
    generous.maximum_expanded_bytes = 2 << 30;
    let error = refuse_with(&RawZip::of(vec![liar]), &generous);
    assert_eq!(error.details["limit"], "maximum_compression_ratio");

    // A zero compressed size for non-empty data.
    let mut empty = RawEntry::deflated("z.bin", b"");
    empty.payload.clear();
    empty.compressed = 0;
    empty.uncompressed = 10;
    let error = refuse(&RawZip::of(vec![empty]));
    assert_eq!(error.details["limit"], "maximum_compression_ratio");
}

#[test]
fn scenario_8_a_total_over_512_mib_is_refused_before_expansion() {
    // Five entries each claiming 120 MiB from 1.25 MiB of data (ratio 96): every
    // entry passes alone, the sum (600 MiB) does not.
    let payload = noise(1_310_720, 11);
    let entries = (0..5)
        .map(|i| {
            let mut e = RawEntry::stored(&format!("part{i}.bin"), &payload);
            e.method = 8;
            e.uncompressed = 120 << 20;
            e
        })
        .collect();
    let error = refuse(&RawZip::of(entries));
    assert_eq!(error.code, codes::LIMIT_EXCEEDED);
    assert_eq!(error.details["limit"], "maximum_expanded_bytes");
    assert_eq!(error.details["entry_index"], 4);
}

#[test]
fn declared_size_lies_are_caught_while_streaming() {
    let data = noise(5000, 3);
    // Declares 100 bytes, expands to 5000: stopped at the declared size.
    let mut short = RawEntry::deflated("short.bin", &data);
    short.uncompressed = 100;
    let error = refuse(&RawZip::of(vec![short]));
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "expanded_size_mismatch");

    // Declares more than it has.
    let mut long = RawEntry::deflated("long.bin", &data);
    long.uncompressed = 6000;
    let error = refuse(&RawZip::of(vec![long]));
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "expanded_size_mismatch");

    // A stored entry whose two sizes differ.
    let mut stored = RawEntry::stored("s.bin", &data);
    stored.uncompressed = 10;
    assert_eq!(
        refuse(&RawZip::of(vec![stored])).code,
        codes::INTEGRITY_FAILURE
    );
}

#[test]
fn a_file_over_the_per_file_limit_is_refused() {
    let bytes = zip_of(
        &[
            ("small.txt", &[b'a'; 1000], 0o644),
            ("big.txt", &[b'b'; 1001], 0o644),
        ],
        CompressionMethod::Stored,
        2024,
    );
    let limits = PacketLimits::for_artifact_policy(&json!({"maximum_file_size_bytes": 1000}));
    let error = refuse_with(&bytes, &limits);
    assert_eq!(error.code, codes::LIMIT_EXCEEDED);
    assert_eq!(error.details["limit"], "maximum_entry_bytes");
    assert_eq!(error.details["maximum"], 1000);
    assert_eq!(error.details["value"], 1001);
    assert_eq!(error.details["entry_index"], 1);

    let limits = PacketLimits::for_artifact_policy(&json!({"maximum_package_size_bytes": 2000}));
    let error = refuse_with(&bytes, &limits);
    assert_eq!(error.details["limit"], "maximum_expanded_bytes");
}

#[test]
fn an_archive_over_its_byte_limit_is_refused_unread() {
    let bytes = zip_of(CLEAN, CompressionMethod::Stored, 2024);
    let mut limits = PacketLimits::platform_defaults();
    limits.maximum_archive_bytes = bytes.len() as u64 - 1;
    let error = refuse_with(&bytes, &limits);
    assert_eq!(error.details["limit"], "maximum_archive_bytes");
}

// ---------------------------------------------------------------------------------
// Scenario 9: entry count, implied parents included

#[test]
fn scenario_9_2001_entries_counting_implied_parents() {
    // 1,000 files each in its own directory that the archive never names: 2,000
    // entries in the tree from 1,000 in the ZIP.
    let names: Vec<String> = (0..1000).map(|i| format!("d{i:04}/f.txt")).collect();
    let mut files: Vec<(&str, &[u8], u32)> = names
        .iter()
        .map(|n| (n.as_str(), &b"x"[..], 0o644))
        .collect();
    let (packet, _dir) = accept(&zip_of(&files, CompressionMethod::Stored, 2024));
    assert_eq!(packet.totals.entry_count, 2000);
    assert_eq!(packet.totals.directory_count, 1000);

    files.push(("one-more.txt", b"x", 0o644));
    let error = refuse(&zip_of(&files, CompressionMethod::Stored, 2024));
    assert_eq!(error.code, codes::LIMIT_EXCEEDED);
    assert_eq!(error.details["limit"], "maximum_entries");
    assert_eq!(error.details["maximum"], 2000);
    assert_eq!(error.details["value"], 2001);
}

#[test]
fn path_depth_and_length_are_bounded() {
    let deep_ok = vec!["d"; 32].join("/");
    accept(&RawZip::of(vec![RawEntry::stored(&deep_ok, b"x")]));

    let too_deep = vec!["d"; 33].join("/");
    let error = refuse(&RawZip::of(vec![RawEntry::stored(&too_deep, b"x")]));
    assert_eq!(error.code, codes::UNSAFE_ENTRY);
    assert_eq!(error.details["limit"], "maximum_path_depth");
    assert_eq!(error.details["value"], 33);

    let too_long = vec!["x".repeat(250); 5].join("/");
    let error = refuse(&RawZip::of(vec![RawEntry::stored(&too_long, b"x")]));
    assert_eq!(error.code, codes::UNSAFE_ENTRY);
    assert_eq!(error.details["limit"], "maximum_path_bytes");

    // A file name longer than any file system takes is the archive's fault, refused
    // before extraction (it used to surface as the host failing to create the file).
    let name_ok = format!("outputs/{}", "n".repeat(255));
    accept(&RawZip::of(vec![RawEntry::stored(&name_ok, b"x")]));
    let name_too_long = format!("outputs/{}", "n".repeat(256));
    let error = refuse(&RawZip::of(vec![RawEntry::stored(&name_too_long, b"x")]));
    assert_eq!(error.code, codes::UNSAFE_ENTRY);
    assert_eq!(error.details["limit"], "maximum_segment_bytes");
    assert_eq!(error.details["value"], 256);
}

// ---------------------------------------------------------------------------------
// Scenario 10: local records that disagree

#[test]
fn scenario_10_crc_mismatches_are_integrity_failures() {
    // Both headers agree on a wrong CRC: caught after expansion.
    let mut wrong = RawEntry::stored("a.txt", b"hello");
    wrong.crc ^= 1;
    let error = refuse(&RawZip::of(vec![
        RawEntry::stored("first.txt", b"ok"),
        wrong,
    ]));
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "crc_mismatch");

    // The local CRC differs from the central one.
    let mut split = RawEntry::stored("a.txt", b"hello");
    split.local_crc = Some(split.crc ^ 1);
    let error = refuse(&RawZip::of(vec![split]));
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "local_header_mismatch");
}

#[test]
fn scenario_10_a_local_name_differing_from_the_central_one_is_an_integrity_failure() {
    // The central name is harmless; the local one is what a lenient extractor uses.
    let mut entry = RawEntry::stored("safe.txt", b"x");
    entry.local_name = Some(b"../evil".to_vec());
    let error = refuse(&RawZip::of(vec![entry]));
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "local_header_mismatch");
}

#[test]
fn records_must_tile_the_archive() {
    let error = refuse(
        &RawZip {
            entries: vec![RawEntry::stored("a", b"1"), RawEntry::stored("b", b"2")],
            gap: 7,
            trailing: Vec::new(),
        }
        .bytes(),
    );
    assert_eq!(error.code, codes::INTEGRITY_FAILURE);
    assert_eq!(reason(&error), "records_gap_or_overlap");
}

// ---------------------------------------------------------------------------------
// Malformed archives

#[test]
fn malformed_archives() {
    let clean = RawZip::of(vec![RawEntry::stored("a.txt", b"a")]);

    assert_eq!(refuse(b"").code, codes::MALFORMED);
    assert_eq!(refuse(&noise(4096, 5)).code, codes::MALFORMED);

    // Trailing bytes after the end record.
    let error = refuse(
        &RawZip {
            entries: vec![RawEntry::stored("a.txt", b"a")],
            gap: 0,
            trailing: b"junk".to_vec(),
        }
        .bytes(),
    );
    assert_eq!(error.code, codes::MALFORMED);
    assert_eq!(reason(&error), "end_record_missing");

    // Truncated: the end record is gone.
    assert_eq!(refuse(&clean[..clean.len() - 10]).code, codes::MALFORMED);

    // A central directory offset that points elsewhere.
    let mut moved = clean.clone();
    let end = moved.len() - 22;
    moved[end + 16] = moved[end + 16].wrapping_add(1);
    let error = refuse(&moved);
    assert_eq!(error.code, codes::MALFORMED);
    assert_eq!(reason(&error), "central_directory_offset");

    // Multi-disk.
    let mut split = clean.clone();
    split[end + 4] = 1;
    assert_eq!(refuse(&split).code, codes::MALFORMED);

    // An unsupported compression method (bzip2).
    let mut bzip = RawEntry::stored("a.bz2", b"x");
    bzip.method = 12;
    assert_eq!(refuse(&RawZip::of(vec![bzip])).code, codes::MALFORMED);

    // Corrupt deflate data.
    let mut corrupt = RawEntry::deflated("c.txt", b"some text that deflates");
    corrupt.payload = vec![0xff; corrupt.payload.len()];
    assert_eq!(
        refuse(&RawZip::of(vec![corrupt])).code,
        codes::INTEGRITY_FAILURE
    );
}

#[test]
fn an_empty_archive_is_an_empty_manifest() {
    let (packet, _dir) = accept(&RawZip::of(vec![]));
    assert_eq!(packet.manifest["entries"], json!([]));
    assert!(packet.files.is_empty());
}

// ---------------------------------------------------------------------------------
// Scenario 11: the deadline

#[test]
fn scenario_11_the_deadline_fires_and_scratch_is_cleaned() {
    let bytes = zip_of(CLEAN, CompressionMethod::Deflated, 2024);
    let mut limits = PacketLimits::platform_defaults();
    limits.maximum_inspection_time = Duration::ZERO;
    let error = refuse_with(&bytes, &limits);
    assert_eq!(error.code, codes::TIMEOUT);
}

#[test]
fn the_tree_must_start_empty() {
    let dir = TempDir::new().unwrap();
    let archive = dir.path().join("p.zip");
    std::fs::write(&archive, zip_of(CLEAN, CompressionMethod::Stored, 2024)).unwrap();
    std::fs::write(dir.path().join("mine"), b"caller's file").unwrap();
    let error = inspect(&archive, dir.path(), &PacketLimits::platform_defaults()).unwrap_err();
    assert_eq!(error.code, codes::INFRASTRUCTURE_UNAVAILABLE);
    assert!(dir.path().join("mine").exists());
}

// ---------------------------------------------------------------------------------
// Scenario 13: the manifest digest is the tree's identity, not the archive's

#[test]
fn scenario_13_manifest_digest_ignores_order_timestamps_and_compression() {
    let (first, _d1) = accept(&zip_of(CLEAN, CompressionMethod::Deflated, 2024));
    let mut reordered = CLEAN.to_vec();
    reordered.reverse();
    let (second, _d2) = accept(&zip_of(&reordered, CompressionMethod::Stored, 1999));
    assert_ne!(first.archive_sha256, second.archive_sha256);
    assert_eq!(first.manifest_digest, second.manifest_digest);
    assert_eq!(first.manifest, second.manifest);

    // Same tree with the directory implied rather than named: same identity.
    let implied: Vec<_> = CLEAN
        .iter()
        .copied()
        .filter(|f| f.0 != "evidence/")
        .collect();
    let (third, _d3) = accept(&zip_of(&implied, CompressionMethod::Deflated, 2024));
    assert_eq!(first.manifest_digest, third.manifest_digest);

    // One byte of one file changes it; so does the executable intent.
    let mut changed = CLEAN.to_vec();
    changed[0].1 = b"# Answer\n\n43\n";
    let (fourth, _d4) = accept(&zip_of(&changed, CompressionMethod::Deflated, 2024));
    assert_ne!(first.manifest_digest, fourth.manifest_digest);
    let mut chmod = CLEAN.to_vec();
    chmod[1].2 = 0o644;
    let (fifth, _d5) = accept(&zip_of(&chmod, CompressionMethod::Deflated, 2024));
    assert_ne!(first.manifest_digest, fifth.manifest_digest);
}
