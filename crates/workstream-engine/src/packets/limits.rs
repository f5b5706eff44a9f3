//! The budgets one packet inspection may spend (upstream `SubmissionArchiveLimits`).
//!
//! The platform defaults are fixed at start; a guide's artifact policy may only tighten
//! them ([`PacketLimits::for_artifact_policy`]), so a project can never buy a bigger
//! zip bomb than the platform allows.

use std::time::Duration;

use serde_json::Value;

const MIB: u64 = 1024 * 1024;

/// Every limit packet intake enforces (docs/checkers.md).
///
/// The fields are public so that a deployment (and the tests) can set its own values;
/// [`PacketLimits::platform_defaults`] gives the upstream defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketLimits {
    /// Most bytes of the uploaded ZIP itself, metadata included.
    pub maximum_archive_bytes: u64,
    /// Most entries of the normalized tree, implied parent directories included.
    pub maximum_entries: u64,
    /// Longest normalized path, in UTF-8 bytes.
    pub maximum_path_bytes: usize,
    /// Most segments in one path (`a/b/c` is 3).
    pub maximum_path_depth: usize,
    /// Largest central directory; it is read whole, so this bounds intake memory.
    pub maximum_central_directory_bytes: u64,
    /// Largest expanded size of one file.
    pub maximum_entry_bytes: u64,
    /// Largest expanded size of all files together.
    pub maximum_expanded_bytes: u64,
    /// Largest expanded-to-compressed ratio of one entry (a ratio above it is a bomb).
    pub maximum_compression_ratio: u64,
    /// Wall-clock budget of the whole inspection, extraction included.
    pub maximum_inspection_time: Duration,
}

impl PacketLimits {
    /// The upstream defaults.
    pub fn platform_defaults() -> Self {
        PacketLimits {
            // The largest object the packet store takes in one piece (docs/checkers.md).
            maximum_archive_bytes: 512 * MIB,
            maximum_entries: 2_000,
            maximum_path_bytes: 1_024,
            maximum_path_depth: 32,
            maximum_central_directory_bytes: 8 * MIB,
            maximum_entry_bytes: 128 * MIB,
            maximum_expanded_bytes: 512 * MIB,
            maximum_compression_ratio: 100,
            maximum_inspection_time: Duration::from_secs(300),
        }
    }

    /// The platform defaults tightened by an artifact policy: for each policy limit
    /// that is a positive integer, the smaller of the two wins. Null, absent or
    /// malformed values leave the platform limit as it is (the policy schema has
    /// already refused malformed ones), so a policy can never loosen a limit.
    ///
    /// Read: `maximum_file_size_bytes` (one file), `maximum_package_size_bytes` (sum of
    /// expanded bytes), and upstream's `maximum_archive_size_bytes` (the ZIP itself)
    /// and `maximum_archive_entries` (the normalized tree).
    pub fn for_artifact_policy(policy: &Value) -> Self {
        let mut limits = Self::platform_defaults();
        let tighten = |field: &mut u64, key: &str| {
            if let Some(value) = policy.get(key).and_then(Value::as_u64).filter(|v| *v > 0) {
                *field = (*field).min(value);
            }
        };
        tighten(&mut limits.maximum_entry_bytes, "maximum_file_size_bytes");
        tighten(
            &mut limits.maximum_expanded_bytes,
            "maximum_package_size_bytes",
        );
        tighten(
            &mut limits.maximum_archive_bytes,
            "maximum_archive_size_bytes",
        );
        tighten(&mut limits.maximum_entries, "maximum_archive_entries");
        limits
    }
}

impl Default for PacketLimits {
    fn default() -> Self {
        Self::platform_defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_tightens_and_never_loosens() {
        let limits = PacketLimits::for_artifact_policy(&json!({
            "maximum_file_size_bytes": 1024,
            "maximum_package_size_bytes": 1u64 << 40,
            "maximum_archive_entries": null,
        }));
        let defaults = PacketLimits::platform_defaults();
        assert_eq!(limits.maximum_entry_bytes, 1024);
        assert_eq!(
            limits.maximum_expanded_bytes,
            defaults.maximum_expanded_bytes
        );
        assert_eq!(limits.maximum_entries, defaults.maximum_entries);
        assert_eq!(limits.maximum_archive_bytes, defaults.maximum_archive_bytes);
    }
}
