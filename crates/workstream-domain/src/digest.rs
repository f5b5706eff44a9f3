//! Content digests: `sha256:` followed by 64 lowercase hex digits.
//!
//! Every hash Workstream stores or compares (packets, manifests, policies, checker
//! components, audit chain links) is a [`Digest`]. One spelling only: the prefix names
//! the algorithm so the format can grow, and uppercase hex is refused so that string
//! comparison in SQL equals digest comparison.

use crate::error_code::ErrorCode;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::canonical::{CanonicalError, to_canonical_bytes};

const PREFIX: &str = "sha256:";

/// A SHA-256 digest, written `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

/// A string that is not a well-formed digest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a digest is `sha256:` followed by 64 lowercase hex digits")]
pub struct DigestError;

impl DigestError {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::DigestInvalid
    }
}

impl Digest {
    /// The digest of raw bytes.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// The digest of a JSON value's canonical form (see [`crate::canonical`]).
    pub fn of_canonical_json(value: &Value) -> Result<Digest, CanonicalError> {
        to_canonical_bytes(value).map(|bytes| Digest::of_bytes(&bytes))
    }

    /// Wraps an already computed SHA-256 output.
    pub const fn from_sha256(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s.strip_prefix(PREFIX).ok_or(DigestError)?;
        // `hex::decode` accepts uppercase; the format does not.
        let well_formed = hex_part.len() == 64
            && hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(DigestError);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| DigestError)?;
        Ok(Digest(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
