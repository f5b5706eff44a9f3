//! Packet intake benchmark: peak memory and throughput of `packets::inspect` on a
//! ~1 GiB packet, beside `sha256sum` on the same file.
//!
//! `cargo bench -p workstream-engine --bench packet_ingest`
//!
//! The packet is 256 files of 4 MiB of pseudo-random (incompressible) bytes, deflated
//! at level 1 by the `zip` writer, so the archive is ~1 GiB and expands to 1 GiB. It is
//! written once under `$CARGO_TARGET_DIR/bench-data/` and reused. Inspection runs in a
//! child process (this binary re-executed with `--child`) so that building the packet
//! does not count toward the peak RSS (VmHWM) the child reports. The report goes to
//! stdout and to `$CARGO_TARGET_DIR/bench-reports/packet_ingest.md`.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use workstream_engine::packets::{PacketLimits, inspect};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const FILES: usize = 256;
const FILE_BYTES: usize = 4 << 20;
const RSS_TARGET_MB: f64 = 150.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[at + 1]), Path::new(&args[at + 2]));
        return;
    }
    // `cargo test --benches` runs this with no `--bench` flag: do nothing there.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    parent();
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn parent() {
    let data = target_dir().join("bench-data");
    fs::create_dir_all(&data).unwrap();
    let archive = data.join(format!("packet-{FILES}x{FILE_BYTES}-deflate1.zip"));
    if !archive.exists() {
        let started = Instant::now();
        create_packet(&archive);
        eprintln!("created {} in {:.1?}", archive.display(), started.elapsed());
    }
    let archive_bytes = fs::metadata(&archive).unwrap().len();

    // Warm the page cache the same way for both contenders.
    let sha = time(|| {
        let out = Command::new("sha256sum").arg(&archive).output().unwrap();
        assert!(out.status.success());
    });

    let tree = data.join("tree");
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir(&tree).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(&archive)
        .arg(&tree)
        .output()
        .unwrap();
    fs::remove_dir_all(&tree).unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (seconds, hwm_kb, expanded) = (field("seconds"), field("vmhwm_kb"), field("expanded"));
    let sha_seconds = sha.as_secs_f64();
    let mb = |bytes: f64| bytes / 1e6;
    let peak_mb = hwm_kb * 1024.0 / 1e6;

    let report = format!(
        "# Packet intake benchmark\n\n\
         Packet: {FILES} files x {} MiB of pseudo-random bytes, deflate level 1 \
         (incompressible, so stored blocks inside deflate streams): {:.1} MB archive, \
         {:.1} MB expanded.\n\n\
         | measure | value |\n|---|---|\n\
         | `inspect` wall time (parse, inflate, SHA-256 of archive and files, CRC-32, write tree) | {seconds:.2} s |\n\
         | `inspect` throughput (archive bytes / s) | {:.0} MB/s |\n\
         | `inspect` peak RSS of the child process (VmHWM) | {peak_mb:.1} MB (target < {RSS_TARGET_MB} MB: {}) |\n\
         | `sha256sum` of the same file | {sha_seconds:.2} s, {:.0} MB/s |\n\n\
         Command: `CARGO_TARGET_DIR={} cargo bench -p workstream-engine --bench packet_ingest`\n",
        FILE_BYTES >> 20,
        mb(archive_bytes as f64),
        mb(expanded),
        mb(archive_bytes as f64) / seconds,
        if peak_mb < RSS_TARGET_MB {
            "met"
        } else {
            "MISSED"
        },
        mb(archive_bytes as f64) / sha_seconds,
        target_dir().display(),
    );
    print!("{report}");
    let reports = target_dir().join("bench-reports");
    fs::create_dir_all(&reports).unwrap();
    fs::write(reports.join("packet_ingest.md"), &report).unwrap();
    // The same figures for `workstream-bench`, which puts them beside the other benchmarks.
    let json = format!(
        "{{\"archive_bytes\": {archive_bytes}, \"expanded_bytes\": {expanded}, \
         \"inspect_seconds\": {seconds}, \"sha256sum_seconds\": {sha_seconds}, \
         \"peak_rss_bytes\": {}, \"files\": {FILES}}}\n",
        hwm_kb * 1024.0
    );
    fs::write(reports.join("packet_ingest.json"), json).unwrap();
}

/// Runs in the re-executed process: inspect, then report time and peak RSS.
fn child(archive: &Path, tree: &Path) {
    let mut limits = PacketLimits::platform_defaults();
    // Above the platform defaults on purpose: the point is a 1 GiB packet.
    limits.maximum_archive_bytes = 4 << 30;
    limits.maximum_entry_bytes = 1 << 30;
    limits.maximum_expanded_bytes = 4 << 30;
    limits.maximum_inspection_time = Duration::from_secs(3600);
    let started = Instant::now();
    let packet = inspect(archive, tree, &limits).expect("the bench packet is accepted");
    let seconds = started.elapsed().as_secs_f64();
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    println!(
        "seconds={seconds} vmhwm_kb={hwm_kb} expanded={} files={}",
        packet.totals.total_expanded_bytes,
        packet.files.len()
    );
}

fn create_packet(path: &Path) {
    let partial = path.with_extension("partial");
    let mut writer = ZipWriter::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&partial).unwrap(),
    ));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .unix_permissions(0o644);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    for i in 0..FILES {
        writer
            .start_file(format!("data/part-{:03}/{i:04}.bin", i / 16), options)
            .unwrap();
        for _ in 0..FILE_BYTES / chunk.len() {
            for word in chunk.chunks_exact_mut(8) {
                // xorshift64: fast, deterministic, incompressible enough for deflate.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                word.copy_from_slice(&seed.to_le_bytes());
            }
            writer.write_all(&chunk).unwrap();
        }
    }
    writer.finish().unwrap().flush().unwrap();
    fs::rename(&partial, path).unwrap();
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}
