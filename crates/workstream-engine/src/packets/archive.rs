//! The ZIP container, read strictly: the end record, the central directory, and the
//! local records each entry must agree with.
//!
//! We parse the container ourselves instead of through the `zip` crate because intake
//! must *refuse* what a lenient reader repairs: a second end record hidden in a comment,
//! bytes after the end, a central directory that starts somewhere other than where the
//! end record says, local headers that disagree with it, gaps between records. Only
//! the two compression methods packets use are accepted (stored, deflate); expansion
//! is done by `flate2` in [`super::inspect`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::error::IntakeError;
use super::limits::PacketLimits;

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const DATA_DESCRIPTOR_SIGNATURE: u32 = 0x0807_4b50;
const ZIP64_EXTRA_ID: u16 = 0x0001;

const END_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
/// Fixed part of a local header.
pub(super) const LOCAL_HEADER_LEN: u64 = 30;
const CENTRAL_HEADER_LEN: usize = 46;
const MAX_COMMENT_LEN: u64 = 0xffff;

/// General-purpose flag bits we act on.
pub(super) const FLAG_ENCRYPTED: u16 = 1 << 0;
pub(super) const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
pub(super) const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
/// Central-directory encryption (APPNOTE 7.2): local headers are masked.
pub(super) const FLAG_MASKED_HEADERS: u16 = 1 << 13;

/// Compression methods.
pub(super) const METHOD_STORED: u16 = 0;
pub(super) const METHOD_DEFLATED: u16 = 8;
/// WinZip AES: encrypted, whatever the flags say.
pub(super) const METHOD_AES: u16 = 99;

/// One central-directory record, sizes and offset resolved through ZIP64 extras.
#[derive(Debug, Clone)]
pub(super) struct CentralEntry {
    /// Position in the central directory (used in error details).
    pub index: usize,
    pub name: Vec<u8>,
    pub version_made_by: u16,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_header_offset: u64,
    pub external_attributes: u32,
}

/// The central directory and where it sits.
#[derive(Debug)]
pub(super) struct CentralDirectory {
    pub entries: Vec<CentralEntry>,
    /// Offset of the first central record: local records must end exactly here.
    pub offset: u64,
}

/// Reads the end record(s) and the central directory of `file` (`len` bytes).
///
/// Memory: the tail (at most 64 KiB + 22 bytes) and the central directory, which
/// `maximum_central_directory_bytes` bounds before it is read.
pub(super) fn read_central_directory(
    file: &mut File,
    len: u64,
    limits: &PacketLimits,
) -> Result<CentralDirectory, IntakeError> {
    if len < END_LEN {
        return Err(IntakeError::malformed(
            "too_short",
            "the file is too short to be a ZIP archive",
        ));
    }
    let mut magic = [0u8; 4];
    read_at(file, 0, &mut magic)?;
    let magic = u32::from_le_bytes(magic);
    if ![LOCAL_HEADER_SIGNATURE, END_SIGNATURE, ZIP64_END_SIGNATURE].contains(&magic) {
        return Err(IntakeError::malformed(
            "bad_magic",
            "the file does not start like a ZIP archive",
        ));
    }

    // The end record is the only one whose comment ends exactly at the end of the
    // file. More than one such candidate is ambiguous; none means a missing end record
    // or trailing bytes after its comment.
    let tail_len = len.min(END_LEN + MAX_COMMENT_LEN);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    read_at(file, tail_start, &mut tail)?;
    let mut candidates = (0..=tail.len() - END_LEN as usize).filter(|&i| {
        le32(&tail, i) == END_SIGNATURE
            && i + END_LEN as usize + le16(&tail, i + 20) as usize == tail.len()
    });
    let Some(end_at) = candidates.next() else {
        return Err(IntakeError::malformed(
            "end_record_missing",
            "no end-of-central-directory record ends the file",
        ));
    };
    if candidates.next().is_some() {
        return Err(IntakeError::malformed(
            "end_record_ambiguous",
            "more than one end-of-central-directory record could end the file",
        ));
    }
    let end = &tail[end_at..];
    let end_offset = tail_start + end_at as u64;
    let (disk, cd_disk) = (le16(end, 4), le16(end, 6));
    let (disk_entries, total_entries) = (le16(end, 8) as u64, le16(end, 10) as u64);
    let (mut cd_size, mut cd_offset) = (le32(end, 12) as u64, le32(end, 16) as u64);
    let mut entry_count = total_entries;
    let mut cd_end = end_offset;

    // A ZIP64 locator sits right before the end record when the archive has one.
    let has_locator = end_offset >= ZIP64_LOCATOR_LEN && {
        let mut locator = [0u8; ZIP64_LOCATOR_LEN as usize];
        read_at(file, end_offset - ZIP64_LOCATOR_LEN, &mut locator)?;
        if le32(&locator, 0) == ZIP64_LOCATOR_SIGNATURE {
            let (z64_disk, z64_offset, disks) =
                (le32(&locator, 4), le64(&locator, 8), le32(&locator, 16));
            if z64_disk != 0 || disks > 1 {
                return Err(multi_disk());
            }
            let locator_offset = end_offset - ZIP64_LOCATOR_LEN;
            if z64_offset
                .checked_add(56)
                .is_none_or(|e| e > locator_offset)
            {
                return Err(IntakeError::malformed(
                    "zip64_end_record_offset",
                    "the ZIP64 end record lies outside the archive",
                ));
            }
            let mut record = [0u8; 56];
            read_at(file, z64_offset, &mut record)?;
            if le32(&record, 0) != ZIP64_END_SIGNATURE
                || z64_offset
                    .checked_add(12)
                    .and_then(|o| o.checked_add(le64(&record, 4)))
                    != Some(locator_offset)
            {
                return Err(IntakeError::malformed(
                    "zip64_end_record_invalid",
                    "the ZIP64 end record is not where its locator says",
                ));
            }
            if le32(&record, 16) != 0
                || le32(&record, 20) != 0
                || le64(&record, 24) != le64(&record, 32)
            {
                return Err(multi_disk());
            }
            entry_count = le64(&record, 32);
            cd_size = le64(&record, 40);
            cd_offset = le64(&record, 48);
            cd_end = z64_offset;
            true
        } else {
            false
        }
    };
    if !has_locator
        && (disk_entries == 0xffff
            || total_entries == 0xffff
            || cd_size == 0xffff_ffff
            || cd_offset == 0xffff_ffff)
    {
        return Err(IntakeError::malformed(
            "zip64_locator_missing",
            "the end record defers to a ZIP64 record that is not there",
        ));
    }
    if disk != 0 || cd_disk != 0 || (!has_locator && disk_entries != total_entries) {
        return Err(multi_disk());
    }
    if cd_size > limits.maximum_central_directory_bytes {
        return Err(IntakeError::limit(
            "maximum_central_directory_bytes",
            limits.maximum_central_directory_bytes,
            cd_size,
        ));
    }
    if entry_count > limits.maximum_entries {
        return Err(IntakeError::limit(
            "maximum_entries",
            limits.maximum_entries,
            entry_count,
        ));
    }
    if cd_offset.checked_add(cd_size) != Some(cd_end) {
        return Err(IntakeError::malformed(
            "central_directory_offset",
            "the central directory is not where the end record says",
        ));
    }

    let mut cd = vec![0u8; cd_size as usize];
    read_at(file, cd_offset, &mut cd)?;
    let mut entries = Vec::with_capacity(entry_count as usize);
    let mut at = 0usize;
    for index in 0..entry_count as usize {
        let (entry, next) = parse_central_entry(&cd, at, index)?;
        entries.push(entry);
        at = next;
    }
    if at != cd.len() {
        return Err(IntakeError::malformed(
            "central_directory_length",
            "the central directory holds more than its entry count",
        ));
    }
    Ok(CentralDirectory {
        entries,
        offset: cd_offset,
    })
}

fn parse_central_entry(
    cd: &[u8],
    at: usize,
    index: usize,
) -> Result<(CentralEntry, usize), IntakeError> {
    let truncated = || {
        IntakeError::malformed(
            "central_directory_truncated",
            "a central record is cut short",
        )
        .at_entry(index)
    };
    if at + CENTRAL_HEADER_LEN > cd.len() || le32(cd, at) != CENTRAL_HEADER_SIGNATURE {
        return Err(truncated());
    }
    let h = &cd[at..];
    let (name_len, extra_len, comment_len) = (
        le16(h, 28) as usize,
        le16(h, 30) as usize,
        le16(h, 32) as usize,
    );
    let end = at + CENTRAL_HEADER_LEN + name_len + extra_len + comment_len;
    if end > cd.len() {
        return Err(truncated());
    }
    let name = h[CENTRAL_HEADER_LEN..CENTRAL_HEADER_LEN + name_len].to_vec();
    let extra = &h[CENTRAL_HEADER_LEN + name_len..CENTRAL_HEADER_LEN + name_len + extra_len];
    let mut uncompressed_size = le32(h, 24) as u64;
    let mut compressed_size = le32(h, 20) as u64;
    let mut local_header_offset = le32(h, 42) as u64;
    let mut disk_start = le16(h, 34) as u32;
    if uncompressed_size == 0xffff_ffff
        || compressed_size == 0xffff_ffff
        || local_header_offset == 0xffff_ffff
        || disk_start == 0xffff
    {
        // APPNOTE 4.5.3: only the saturated fields are present, in this order.
        let zip64 = find_extra(extra, ZIP64_EXTRA_ID).ok_or_else(|| {
            IntakeError::malformed("zip64_extra_missing", "a ZIP64 field has no ZIP64 extra")
                .at_entry(index)
        })?;
        let mut reader = FieldReader(zip64);
        let missing = || {
            IntakeError::malformed("zip64_extra_short", "the ZIP64 extra is cut short")
                .at_entry(index)
        };
        if uncompressed_size == 0xffff_ffff {
            uncompressed_size = reader.u64().ok_or_else(missing)?;
        }
        if compressed_size == 0xffff_ffff {
            compressed_size = reader.u64().ok_or_else(missing)?;
        }
        if local_header_offset == 0xffff_ffff {
            local_header_offset = reader.u64().ok_or_else(missing)?;
        }
        if disk_start == 0xffff {
            disk_start = reader.u32().ok_or_else(missing)?;
        }
    }
    if disk_start != 0 {
        return Err(multi_disk().at_entry(index));
    }
    Ok((
        CentralEntry {
            index,
            name,
            version_made_by: le16(h, 4),
            flags: le16(h, 8),
            method: le16(h, 10),
            crc32: le32(h, 16),
            compressed_size,
            uncompressed_size,
            local_header_offset,
            external_attributes: le32(h, 38),
        },
        end,
    ))
}

/// The fixed part of a local header plus its name and ZIP64 sizes.
#[derive(Debug)]
pub(super) struct LocalHeader {
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub name: Vec<u8>,
    /// Bytes from the start of the header to the start of the data.
    pub header_len: u64,
}

/// Parses a local header from `fixed` (its 30 fixed bytes) and `variable` (name and
/// extra, whose lengths [`local_variable_len`] gives).
pub(super) fn parse_local_header(fixed: &[u8; 30], variable: &[u8]) -> Option<LocalHeader> {
    if le32(fixed, 0) != LOCAL_HEADER_SIGNATURE {
        return None;
    }
    let name_len = le16(fixed, 26) as usize;
    let name = variable[..name_len].to_vec();
    let extra = &variable[name_len..];
    let mut compressed_size = le32(fixed, 18) as u64;
    let mut uncompressed_size = le32(fixed, 22) as u64;
    if compressed_size == 0xffff_ffff || uncompressed_size == 0xffff_ffff {
        // The local ZIP64 extra should carry both sizes (APPNOTE 4.5.3); accept one
        // when only one is saturated and the extra is 8 bytes.
        let zip64 = find_extra(extra, ZIP64_EXTRA_ID)?;
        let mut reader = FieldReader(zip64);
        if zip64.len() >= 16 {
            let (u, c) = (reader.u64()?, reader.u64()?);
            if uncompressed_size == 0xffff_ffff {
                uncompressed_size = u;
            }
            if compressed_size == 0xffff_ffff {
                compressed_size = c;
            }
        } else if uncompressed_size == 0xffff_ffff {
            uncompressed_size = reader.u64()?;
        } else {
            compressed_size = reader.u64()?;
        }
    }
    Some(LocalHeader {
        flags: le16(fixed, 6),
        method: le16(fixed, 8),
        crc32: le32(fixed, 14),
        compressed_size,
        uncompressed_size,
        name,
        header_len: LOCAL_HEADER_LEN + variable.len() as u64,
    })
}

/// Name plus extra length of a local header, from its fixed bytes.
pub(super) fn local_variable_len(fixed: &[u8; 30]) -> u64 {
    le16(fixed, 26) as u64 + le16(fixed, 28) as u64
}

/// A data descriptor: CRC and sizes after the data (flag bit 3). Its length tells its
/// shape, since it must fill the gap to the next record exactly: 12 or 20 bytes
/// without the optional signature, 16 or 24 with it (32- or 64-bit sizes).
pub(super) fn parse_data_descriptor(bytes: &[u8]) -> Option<(u32, u64, u64)> {
    let signed = |b: &[u8]| le32(b, 0) == DATA_DESCRIPTOR_SIGNATURE;
    match bytes.len() {
        12 => Some((le32(bytes, 0), le32(bytes, 4) as u64, le32(bytes, 8) as u64)),
        16 if signed(bytes) => Some((
            le32(bytes, 4),
            le32(bytes, 8) as u64,
            le32(bytes, 12) as u64,
        )),
        20 => Some((le32(bytes, 0), le64(bytes, 4), le64(bytes, 12))),
        24 if signed(bytes) => Some((le32(bytes, 4), le64(bytes, 8), le64(bytes, 16))),
        _ => None,
    }
}

fn multi_disk() -> IntakeError {
    IntakeError::malformed("multi_disk", "multi-disk archives are not accepted")
}

fn find_extra(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let (field_id, len) = (le16(extra, 0), le16(extra, 2) as usize);
        let body = extra.get(4..4 + len)?;
        if field_id == id {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

struct FieldReader<'a>(&'a [u8]);

impl FieldReader<'_> {
    fn u64(&mut self) -> Option<u64> {
        let v = self.0.get(..8)?;
        self.0 = &self.0[8..];
        Some(le64(v, 0))
    }
    fn u32(&mut self) -> Option<u32> {
        let v = self.0.get(..4)?;
        self.0 = &self.0[4..];
        Some(le32(v, 0))
    }
}

fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> Result<(), IntakeError> {
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| IntakeError::infrastructure(format!("reading the archive: {e}")))
}

pub(super) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

pub(super) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
