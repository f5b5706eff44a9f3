//! [`inspect`]: from an uploaded ZIP to a verified tree on disk and its manifest.
//!
//! Two passes over the archive, each bounded:
//!
//! 1. **Judge** every entry from the central directory alone: encryption, compression
//!    method, name, type, declared sizes and ratio, collisions and the entry count.
//!    Nothing is expanded until the whole archive has passed, so a zip bomb or a
//!    hostile name costs a few kilobytes of metadata, not a decompression.
//! 2. **Expand** the entries in file order, reading the archive front to back exactly
//!    once: each local header must agree with its central record, records must tile
//!    the archive with no gap or overlap, and each entry streams through `io::copy`
//!    into its file while its SHA-256 and CRC-32 are computed, never past its declared
//!    size. Beside it, a second thread reads the archive once more for its own
//!    SHA-256 (from the page cache: the file was just written), so the two hashes of
//!    every byte, the archive's and the entry's, run on two cores instead of one after
//!    the other.
//!
//! Memory is bounded by the central directory (`maximum_central_directory_bytes`) and
//! a few fixed buffers, whatever the packet's size.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use workstream_domain::Digest;

use super::archive::{
    self, CentralEntry, FLAG_DATA_DESCRIPTOR, FLAG_ENCRYPTED, FLAG_MASKED_HEADERS,
    FLAG_STRONG_ENCRYPTION, LOCAL_HEADER_LEN, METHOD_AES, METHOD_DEFLATED, METHOD_STORED,
};
use super::error::{IntakeError, codes};
use super::limits::PacketLimits;
use super::manifest::{self, PacketFile, PacketTotals};
use super::materialize::TreeWriter;
use super::tree::{NodeKind, Tree, normalize_name};

/// Read buffer over the archive: large enough that a 1 GiB packet is a few thousand
/// reads, small enough not to matter for memory.
const ARCHIVE_BUFFER: usize = 256 * 1024;
/// Buffer between the inflater and the archive reader.
const COMPRESSED_BUFFER: usize = 64 * 1024;
/// Buffer in front of each extracted file.
const FILE_BUFFER: usize = 128 * 1024;

/// Unix hosts in the "version made by" field whose external attributes carry a mode.
const HOST_UNIX: u8 = 3;
const HOST_DARWIN: u8 = 19;
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// MS-DOS directory attribute.
const DOS_DIRECTORY: u32 = 0x10;

/// A packet that passed intake.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedPacket {
    /// SHA-256 of the uploaded bytes, exactly as received.
    pub archive_sha256: Digest,
    /// Size of the upload.
    pub archive_bytes: u64,
    /// The manifest body (`workstream.submission_bundle_manifest.v1`).
    pub manifest: Value,
    /// Canonical-JSON digest of [`manifest`](Self::manifest).
    pub manifest_digest: Digest,
    /// Every file, sorted by path; directories are in the manifest only.
    pub files: Vec<PacketFile>,
    /// The manifest's aggregates.
    pub totals: PacketTotals,
}

/// Inspects the ZIP at `archive`, extracting the verified tree into `tree` (an empty
/// directory the caller owns).
///
/// Synchronous and CPU/IO-bound: call it from `spawn_blocking`. On any error the
/// contents of `tree` are removed (the directory itself stays, it is the caller's);
/// on success `tree` holds exactly the manifest's files and directories, with default
/// permissions (archive modes are never applied).
pub fn inspect(
    archive: &Path,
    tree: &Path,
    limits: &PacketLimits,
) -> Result<InspectedPacket, IntakeError> {
    let empty = fs::read_dir(tree)
        .map(|mut entries| entries.next().is_none())
        .map_err(|e| IntakeError::infrastructure(format!("opening the scratch tree: {e}")))?;
    if !empty {
        return Err(IntakeError::infrastructure("the scratch tree is not empty"));
    }
    let result = inspect_into(archive, tree, limits);
    if result.is_err()
        && let Err(e) = clear_directory(tree)
    {
        tracing::warn!(tree = %tree.display(), error = %e, "could not clean packet scratch");
    }
    result
}

/// An entry that passed the first pass.
struct Planned {
    entry: CentralEntry,
    path: String,
    directory: bool,
    executable: bool,
}

fn inspect_into(
    archive: &Path,
    tree: &Path,
    limits: &PacketLimits,
) -> Result<InspectedPacket, IntakeError> {
    let deadline = Deadline::after(limits.maximum_inspection_time);
    let mut file = File::open(archive)
        .map_err(|e| IntakeError::infrastructure(format!("opening the archive: {e}")))?;
    let archive_bytes = file
        .metadata()
        .map_err(|e| IntakeError::infrastructure(format!("reading the archive: {e}")))?
        .len();
    if archive_bytes > limits.maximum_archive_bytes {
        return Err(IntakeError::limit(
            "maximum_archive_bytes",
            limits.maximum_archive_bytes,
            archive_bytes,
        ));
    }
    let directory = archive::read_central_directory(&mut file, archive_bytes, limits)?;

    // Pass 1: judge from metadata only.
    let mut nodes = Tree::default();
    let mut planned = Vec::with_capacity(directory.entries.len());
    let mut expanded = 0u64;
    for entry in directory.entries {
        deadline.check()?;
        let index = entry.index;
        let plan = judge(entry, limits).map_err(|e| e.at_entry(index))?;
        if !plan.directory {
            expanded = expanded.saturating_add(plan.entry.uncompressed_size);
            if expanded > limits.maximum_expanded_bytes {
                return Err(IntakeError::limit(
                    "maximum_expanded_bytes",
                    limits.maximum_expanded_bytes,
                    expanded,
                )
                .at_entry(index));
            }
        }
        let kind = if plan.directory {
            NodeKind::Directory { explicit: true }
        } else {
            NodeKind::File { entry: index }
        };
        nodes
            .add(&plan.path, kind, limits)
            .map_err(|e| e.at_entry(index))?;
        planned.push(plan);
    }

    let nodes = nodes.sorted();
    let directories: Vec<&str> = nodes
        .iter()
        .filter(|(_, kind)| matches!(kind, NodeKind::Directory { .. }))
        .map(|(path, _)| *path)
        .collect();
    // Written through a directory capability (see `materialize`). Sorted order
    // creates every parent before its children.
    let writer = TreeWriter::open(tree)
        .map_err(|e| IntakeError::infrastructure(format!("opening the scratch tree: {e}")))?;
    for path in &directories {
        writer
            .create_dir(path)
            .map_err(|e| IntakeError::infrastructure(format!("creating a directory: {e}")))?;
    }

    // Pass 2: expand in file order, while another thread hashes the whole upload.
    planned.sort_unstable_by_key(|plan| plan.entry.local_header_offset);
    file.seek(SeekFrom::Start(0))
        .map_err(|e| IntakeError::infrastructure(format!("reading the archive: {e}")))?;
    let whole = File::open(archive)
        .map_err(|e| IntakeError::infrastructure(format!("opening the archive: {e}")))?;
    let stop = AtomicBool::new(false);
    let (files, digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| archive_digest(whole, &stop));
        let files = expand_all(file, &planned, directory.offset, &writer, &deadline);
        if files.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let digest = digest
            .join()
            .unwrap_or_else(|_| Err(IntakeError::infrastructure("hashing the archive panicked")));
        (files, digest)
    });
    let mut files = files?;
    let (archive_sha256, hashed) = digest?;
    if hashed != archive_bytes {
        return Err(IntakeError::infrastructure(
            "the archive changed while it was read",
        ));
    }

    files.sort_unstable_by(|a: &PacketFile, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let (manifest, manifest_digest, totals) = manifest::build(&directories, &files)?;
    Ok(InspectedPacket {
        archive_sha256,
        archive_bytes,
        manifest,
        manifest_digest,
        files,
        totals,
    })
}

/// Pass 1 for one entry: everything the central directory alone can refuse.
fn judge(entry: CentralEntry, limits: &PacketLimits) -> Result<Planned, IntakeError> {
    if entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0
        || entry.method == METHOD_AES
    {
        return Err(IntakeError::new(
            codes::ENCRYPTED,
            "encrypted",
            "an entry is encrypted",
        ));
    }
    if entry.method != METHOD_STORED && entry.method != METHOD_DEFLATED {
        return Err(IntakeError::malformed(
            "compression_method_unsupported",
            "an entry uses a compression method other than stored or deflate",
        ));
    }
    let (path, named_directory) = normalize_name(&entry.name, limits)?;

    let host = (entry.version_made_by >> 8) as u8;
    let (mode_directory, executable) = if host == HOST_UNIX || host == HOST_DARWIN {
        let mode = entry.external_attributes >> 16;
        match mode & S_IFMT {
            // No type bits: a writer that stored permissions only.
            0 | S_IFREG => (false, mode & 0o111 != 0),
            S_IFDIR => (true, false),
            // Never followed, never created: a link could point anywhere.
            S_IFLNK => {
                return Err(IntakeError::unsafe_entry(
                    "symlink",
                    "an entry is a symbolic link",
                ));
            }
            _ => {
                return Err(IntakeError::unsafe_entry(
                    "special_file",
                    "an entry is neither a regular file nor a directory",
                ));
            }
        }
    } else {
        (entry.external_attributes & DOS_DIRECTORY != 0, false)
    };
    let directory = named_directory || mode_directory;
    if directory {
        if entry.uncompressed_size != 0 {
            return Err(IntakeError::unsafe_entry(
                "directory_with_data",
                "a directory entry has data",
            ));
        }
        return Ok(Planned {
            entry,
            path,
            directory,
            executable: false,
        });
    }

    let (compressed, expanded) = (entry.compressed_size, entry.uncompressed_size);
    if entry.method == METHOD_STORED && compressed != expanded {
        return Err(IntakeError::integrity(
            "stored_sizes_disagree",
            "a stored entry declares different compressed and expanded sizes",
        ));
    }
    if expanded > limits.maximum_entry_bytes {
        return Err(IntakeError::limit(
            "maximum_entry_bytes",
            limits.maximum_entry_bytes,
            expanded,
        ));
    }
    if expanded > compressed.saturating_mul(limits.maximum_compression_ratio) {
        return Err(IntakeError::limit(
            "maximum_compression_ratio",
            limits.maximum_compression_ratio,
            expanded.div_ceil(compressed.max(1)),
        ));
    }
    Ok(Planned {
        entry,
        path,
        directory,
        executable,
    })
}

/// Pass 2 for one entry: check its local record and expand it (a directory's data is
/// checked too, into a sink). `next_record` is where the next record must start.
fn extract<R: Read>(
    reader: &mut CountingReader<R>,
    plan: &Planned,
    next_record: u64,
    tree: &TreeWriter,
    deadline: &Deadline,
) -> Result<Option<PacketFile>, IntakeError> {
    let entry = &plan.entry;
    let offset = entry.local_header_offset;
    let misplaced = || {
        IntakeError::integrity(
            "records_gap_or_overlap",
            "local records do not tile the archive",
        )
    };
    if reader.position != offset || offset + LOCAL_HEADER_LEN > next_record {
        return Err(misplaced());
    }
    let mut fixed = [0u8; LOCAL_HEADER_LEN as usize];
    reader.read_exact(&mut fixed).map_err(read_error)?;
    let variable_len = archive::local_variable_len(&fixed);
    if offset + LOCAL_HEADER_LEN + variable_len > next_record {
        return Err(misplaced());
    }
    let mut variable = vec![0u8; variable_len as usize];
    reader.read_exact(&mut variable).map_err(read_error)?;
    let local = archive::parse_local_header(&fixed, &variable).ok_or_else(|| {
        IntakeError::integrity("local_header_invalid", "a local header cannot be read")
    })?;

    let disagrees = |what: &str| {
        IntakeError::integrity(
            "local_header_mismatch",
            format!("a local header's {what} differs from the central directory"),
        )
    };
    if local.name != entry.name {
        return Err(disagrees("name"));
    }
    if local.flags != entry.flags {
        return Err(disagrees("flags"));
    }
    if local.method != entry.method {
        return Err(disagrees("compression method"));
    }
    let deferred = entry.flags & FLAG_DATA_DESCRIPTOR != 0;
    // With a data descriptor the local fields may be zero (streamed writers); if set
    // they must still agree.
    let agrees = |local: u64, central: u64| local == central || (deferred && local == 0);
    if !agrees(local.crc32.into(), entry.crc32.into()) {
        return Err(disagrees("CRC-32"));
    }
    if !agrees(local.compressed_size, entry.compressed_size)
        || !agrees(local.uncompressed_size, entry.uncompressed_size)
    {
        return Err(disagrees("sizes"));
    }
    let data_end = (offset + local.header_len).checked_add(entry.compressed_size);
    if data_end.is_none_or(|end| end > next_record) {
        return Err(misplaced());
    }

    let extracted = if plan.directory {
        expand(reader, entry, io::sink(), deadline)?;
        None
    } else {
        // New, never through an existing name or a link, never outside the tree.
        let file = tree
            .create_file(&plan.path)
            .map_err(|e| IntakeError::infrastructure(format!("creating a file: {e}")))?;
        let sha256 = expand(
            reader,
            entry,
            BufWriter::with_capacity(FILE_BUFFER, file),
            deadline,
        )?;
        Some(PacketFile {
            path: plan.path.clone(),
            sha256,
            bytes: entry.uncompressed_size,
            executable: plan.executable,
        })
    };

    if deferred {
        let len = next_record - reader.position;
        if len > 24 {
            return Err(misplaced());
        }
        let mut descriptor = [0u8; 24];
        let descriptor = &mut descriptor[..len as usize];
        reader.read_exact(descriptor).map_err(read_error)?;
        let (crc32, compressed, expanded) =
            archive::parse_data_descriptor(descriptor).ok_or_else(misplaced)?;
        if (crc32, compressed, expanded)
            != (entry.crc32, entry.compressed_size, entry.uncompressed_size)
        {
            return Err(IntakeError::integrity(
                "data_descriptor_mismatch",
                "a data descriptor differs from the central directory",
            ));
        }
    }
    Ok(extracted)
}

/// Pass 2: every planned entry, in file order, from one front-to-back read of `file`;
/// the records must tile the archive up to the central directory at `directory`.
fn expand_all(
    file: File,
    planned: &[Planned],
    directory: u64,
    writer: &TreeWriter,
    deadline: &Deadline,
) -> Result<Vec<PacketFile>, IntakeError> {
    let mut reader = CountingReader::new(BufReader::with_capacity(ARCHIVE_BUFFER, file));
    let mut files = Vec::with_capacity(planned.len());
    for (i, plan) in planned.iter().enumerate() {
        deadline.check()?;
        let next_record = planned
            .get(i + 1)
            .map_or(directory, |next| next.entry.local_header_offset);
        let extracted = extract(&mut reader, plan, next_record, writer, deadline)
            .map_err(|e| e.at_entry(plan.entry.index))?;
        files.extend(extracted);
    }
    if reader.position != directory {
        return Err(IntakeError::integrity(
            "gap_before_central_directory",
            "bytes lie between the last local record and the central directory",
        ));
    }
    Ok(files)
}

/// The SHA-256 of everything in `file` and how many bytes that was; gives up (with a
/// placeholder error nobody reads) once `stop` is set.
fn archive_digest(mut file: File, stop: &AtomicBool) -> Result<(Digest, u64), IntakeError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; ARCHIVE_BUFFER];
    let mut total = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(IntakeError::infrastructure("hashing the archive stopped"));
        }
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(IntakeError::infrastructure(format!(
                    "reading the archive: {e}"
                )));
            }
        };
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((Digest::from_sha256(hasher.finalize().into()), total))
}

/// Streams one entry's data from `reader` into `out`, checking its declared size and
/// CRC-32; returns the SHA-256 of the expanded bytes.
fn expand<R: Read, W: Write>(
    reader: &mut CountingReader<R>,
    entry: &CentralEntry,
    out: W,
    deadline: &Deadline,
) -> Result<Digest, IntakeError> {
    let mut writer = EntryWriter {
        out,
        sha256: Sha256::new(),
        crc32: crc32fast::Hasher::new(),
        written: 0,
        declared: entry.uncompressed_size,
        deadline,
        failure: None,
    };
    let mut compressed = reader.take(entry.compressed_size);
    let (copied, unread) = if entry.method == METHOD_STORED {
        let copied = io::copy(&mut compressed, &mut writer);
        (copied, 0)
    } else {
        let mut inflater = flate2::bufread::DeflateDecoder::new(BufReader::with_capacity(
            COMPRESSED_BUFFER,
            &mut compressed,
        ));
        let copied = io::copy(&mut inflater, &mut writer);
        // Compressed bytes read ahead but not consumed by the inflater.
        let unread = inflater.get_ref().buffer().len();
        (copied, unread)
    };
    if let Err(error) = copied {
        return Err(match writer.failure.take() {
            Some(failure) => failure,
            None => read_error(error),
        });
    }
    if unread != 0 || compressed.limit() != 0 {
        return Err(IntakeError::integrity(
            "compressed_length_mismatch",
            "an entry's compressed data does not fill its declared compressed size exactly",
        ));
    }
    if writer.written != entry.uncompressed_size {
        return Err(IntakeError::integrity(
            "expanded_size_mismatch",
            "an entry expands to a size other than the one it declares",
        ));
    }
    if writer.crc32.clone().finalize() != entry.crc32 {
        return Err(IntakeError::integrity(
            "crc_mismatch",
            "an entry's CRC-32 differs from the one it declares",
        ));
    }
    writer
        .out
        .flush()
        .map_err(|e| IntakeError::infrastructure(format!("writing a file: {e}")))?;
    Ok(Digest::from_sha256(writer.sha256.finalize().into()))
}

/// The sink of one entry: hashes, counts, and refuses a byte past the declared size
/// (so a lying header can never expand more than it declared, which pass 1 bounded)
/// or past the deadline.
struct EntryWriter<'d, W> {
    out: W,
    sha256: Sha256,
    crc32: crc32fast::Hasher,
    written: u64,
    declared: u64,
    deadline: &'d Deadline,
    /// Why the last write failed, when it was our refusal rather than the file's.
    failure: Option<IntakeError>,
}

impl<W: Write> Write for EntryWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Err(timeout) = self.deadline.check() {
            self.failure = Some(timeout);
            return Err(io::Error::other("deadline"));
        }
        if self.written + buf.len() as u64 > self.declared {
            self.failure = Some(IntakeError::integrity(
                "expanded_size_mismatch",
                "an entry expands past the size it declares",
            ));
            return Err(io::Error::other("over declared size"));
        }
        if let Err(e) = self.out.write_all(buf) {
            self.failure = Some(IntakeError::infrastructure(format!("writing a file: {e}")));
            return Err(e);
        }
        self.sha256.update(buf);
        self.crc32.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Reads the archive front to back, counting its position.
struct CountingReader<R> {
    inner: R,
    position: u64,
}

impl<R> CountingReader<R> {
    fn new(inner: R) -> Self {
        CountingReader { inner, position: 0 }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

/// A reading error: corrupt compressed data or a short record is the archive's fault;
/// anything else is ours.
fn read_error(error: io::Error) -> IntakeError {
    match error.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
            IntakeError::integrity("compressed_data_invalid", "an entry's data cannot be read")
        }
        _ => IntakeError::infrastructure(format!("reading the archive: {error}")),
    }
}

/// The inspection's wall-clock deadline.
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(budget: Duration) -> Self {
        Deadline(Instant::now().checked_add(budget))
    }

    fn check(&self) -> Result<(), IntakeError> {
        match self.0 {
            Some(at) if Instant::now() >= at => Err(IntakeError::timeout()),
            _ => Ok(()),
        }
    }
}

/// Removes everything inside `dir`, following no link.
fn clear_directory(dir: &Path) -> io::Result<()> {
    for child in fs::read_dir(dir)? {
        let child = child?;
        if child.file_type()?.is_dir() {
            fs::remove_dir_all(child.path())?;
        } else {
            fs::remove_file(child.path())?;
        }
    }
    Ok(())
}
