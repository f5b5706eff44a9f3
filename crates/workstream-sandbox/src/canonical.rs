//! Canonical JSON written straight from the host's own types, for the two digests of
//! every run (the request digest, [`crate::request`], and the result digest,
//! [`crate::outcome`]).
//!
//! Both digests are defined as SHA-256 of the canonical JSON
//! ([`workstream_domain::canonical`]) of a small document. Building that document as a
//! `serde_json::Value` and canonicalizing it cost more than the rest of the host's work
//! per run (a map per object, a string per key, every digest formatted through an
//! iterator), so the two documents are written here directly, member by member in
//! canonical order: the same bytes, so the same digests, as the `Value` route. The
//! unit tests of both modules check that against the `Value` route on varied input
//! (escapes, control characters, non-ASCII text, empty and missing fields), and the
//! rules below are the canonical ones:
//!
//! - members in the byte order of their keys (the callers write them so);
//! - strings as raw UTF-8 with only `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and
//!   `\u00xx` (lowercase hex) for the other control characters;
//! - integers in plain decimal; `true`, `false`, `null`; no whitespace.

use workstream_domain::Digest;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A canonical JSON document being written; [`CanonicalWriter::digest`] hashes it.
pub(crate) struct CanonicalWriter {
    out: Vec<u8>,
}

impl CanonicalWriter {
    /// An empty document with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> CanonicalWriter {
        CanonicalWriter {
            out: Vec::with_capacity(capacity),
        }
    }

    /// Writes `text` as it is: punctuation, keys the caller spelled canonically, or a
    /// value that is already canonical JSON.
    pub(crate) fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// Writes `text` as a JSON string with the canonical escapes.
    pub(crate) fn string(&mut self, text: &str) {
        let bytes = text.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        // Every byte that needs an escape is ASCII, and no byte of a multi-byte UTF-8
        // sequence is below 0x80: escaping byte by byte is escaping character by
        // character.
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0C => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x00..=0x1F => &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0x0F)],
                ],
                _ => continue,
            };
            self.out.extend_from_slice(&bytes[start..i]);
            self.out.extend_from_slice(escape);
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
        self.out.push(b'"');
    }

    /// Writes `Some(text)` as a string, `None` as `null`.
    pub(crate) fn optional_string(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.string(text),
            None => self.raw("null"),
        }
    }

    /// Writes a digest as the string it serializes to (`"sha256:<hex>"`).
    pub(crate) fn digest_string(&mut self, digest: &Digest) {
        const PREFIX: &[u8] = b"\"sha256:";
        let mut text = [b'"'; PREFIX.len() + 64 + 1];
        text[..PREFIX.len()].copy_from_slice(PREFIX);
        for (i, &b) in digest.as_bytes().iter().enumerate() {
            text[PREFIX.len() + 2 * i] = HEX[usize::from(b >> 4)];
            text[PREFIX.len() + 2 * i + 1] = HEX[usize::from(b & 0x0F)];
        }
        self.out.extend_from_slice(&text);
    }

    /// Writes an unsigned integer in plain decimal.
    pub(crate) fn integer(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            // The remainder is below 10.
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
    }

    /// Writes `Some(value)` as an integer, `None` as `null`.
    pub(crate) fn optional_integer(&mut self, value: Option<u32>) {
        match value {
            Some(value) => self.integer(u64::from(value)),
            None => self.raw("null"),
        }
    }

    /// Writes `true` or `false`.
    pub(crate) fn boolean(&mut self, value: bool) {
        self.raw(if value { "true" } else { "false" });
    }

    /// SHA-256 of the document.
    pub(crate) fn digest(&self) -> Digest {
        Digest::of_bytes(&self.out)
    }

    /// The document's text (for the tests).
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.out).expect("canonical JSON is UTF-8")
    }
}

/// Strings that exercise every escape rule (for the tests of the digests).
#[cfg(test)]
pub(crate) const AWKWARD: &[&str] = &[
    "",
    "plain",
    "quote \" backslash \\ slash / del \u{7f}",
    "\u{0}\u{1}\u{7}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{e}\u{1b}\u{1f} ",
    "é, ü, 漢字, 🙂, \u{2028}\u{2029}, \u{feff}",
    "ends with an escape\n",
    "\"",
];

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use workstream_domain::canonical::to_canonical_string;

    use super::*;

    #[test]
    fn strings_integers_and_digests_are_written_as_the_value_route_writes_them() {
        for text in AWKWARD {
            let mut writer = CanonicalWriter::with_capacity(0);
            writer.string(text);
            assert_eq!(
                writer.text(),
                to_canonical_string(&json!(text)).unwrap(),
                "{text:?}"
            );
        }
        for n in [0, 7, 10, 99, 1234567890, u64::from(u32::MAX), u64::MAX] {
            let mut writer = CanonicalWriter::with_capacity(0);
            writer.integer(n);
            assert_eq!(writer.text(), to_canonical_string(&json!(n)).unwrap());
        }
        let digest = Digest::of_bytes(b"x");
        let mut writer = CanonicalWriter::with_capacity(0);
        writer.digest_string(&digest);
        assert_eq!(
            writer.text(),
            to_canonical_string(&serde_json::to_value(digest).unwrap()).unwrap()
        );
        let mut writer = CanonicalWriter::with_capacity(0);
        writer.optional_string(None);
        writer.raw(",");
        writer.optional_integer(None);
        writer.raw(",");
        writer.optional_integer(Some(3));
        writer.raw(",");
        writer.boolean(true);
        assert_eq!(writer.text(), "null,null,3,true");
        assert_eq!(
            writer.digest(),
            Digest::of_bytes(b"null,null,3,true"),
            "the digest is of the text"
        );
        let _: Value = serde_json::from_str(&format!("[{}]", writer.text())).unwrap();
    }
}
