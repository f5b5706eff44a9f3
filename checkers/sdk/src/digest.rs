//! SHA-256 in the packet's notation: `sha256:` and 64 lowercase hex digits.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Prefix of every digest in the packet manifest.
pub const PREFIX: &str = "sha256:";

/// The digest of `bytes`, as `sha256:<hex>`.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    format_digest(&Sha256::digest(bytes))
}

/// The digest and length of everything `reader` yields, read in chunks so
/// that large files do not need to fit in memory.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut length = 0u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buffer[..read]);
        length += read as u64;
    }
    Ok((format_digest(&hasher.finalize()), length))
}

/// True when `text` is a well-formed digest: `sha256:` and exactly 64
/// lowercase hexadecimal digits.
pub fn is_sha256(text: &str) -> bool {
    text.strip_prefix(PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn format_digest(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(PREFIX.len() + digest.len() * 2);
    out.push_str(PREFIX);
    for byte in digest {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_vectors() {
        assert_eq!(sha256_bytes(b""), EMPTY);
        assert_eq!(sha256_bytes(b"abc"), ABC);
        assert_eq!(sha256_reader(&b"abc"[..]).unwrap(), (ABC.to_owned(), 3));
    }

    #[test]
    fn reader_spans_chunks() {
        let big = vec![7u8; 200_000];
        assert_eq!(
            sha256_reader(&big[..]).unwrap(),
            (sha256_bytes(&big), 200_000)
        );
    }

    #[test]
    fn notation() {
        assert!(is_sha256(EMPTY));
        assert!(!is_sha256(&EMPTY.to_uppercase()));
        assert!(!is_sha256(&EMPTY[..EMPTY.len() - 1]));
        assert!(!is_sha256("sha256:fixture-token"));
        assert!(!is_sha256(EMPTY.trim_start_matches(PREFIX)));
    }
}
