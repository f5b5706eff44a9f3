//! Why intake refused a packet: one stable, content-free code per class of failure
//! (docs/checkers.md), a message for humans and structured details.

use serde_json::{Value, json};

use workstream_domain::ErrorCode;

use crate::error::CommandError;

/// The stable codes [`IntakeError::code`] takes.
pub mod codes {
    use workstream_domain::ErrorCode;

    /// Not a well-formed single-disk ZIP (bad magic, end record, offsets, parse errors).
    pub const MALFORMED: ErrorCode = ErrorCode::SubmissionArchiveMalformed;
    /// A limit of [`PacketLimits`](super::super::PacketLimits) was exceeded, declared
    /// or actual.
    pub const LIMIT_EXCEEDED: ErrorCode = ErrorCode::SubmissionArchiveLimitExceeded;
    /// A name or entry type that could escape or confuse the tree.
    pub const UNSAFE_ENTRY: ErrorCode = ErrorCode::SubmissionArchiveUnsafeEntry;
    /// An entry with the encryption flag.
    pub const ENCRYPTED: ErrorCode = ErrorCode::SubmissionArchiveEncrypted;
    /// Two entries equal after NFC and case folding, or a file that is also a directory.
    pub const COLLISION: ErrorCode = ErrorCode::SubmissionArchiveCollision;
    /// The local records disagree with the central directory or with their own data.
    pub const INTEGRITY_FAILURE: ErrorCode = ErrorCode::SubmissionArchiveIntegrityFailure;
    /// The inspection deadline passed.
    pub const TIMEOUT: ErrorCode = ErrorCode::SubmissionArchiveTimeout;
    /// Our side failed (scratch space, reading the upload): not the contributor's
    /// fault; the upload may be retried.
    pub const INFRASTRUCTURE_UNAVAILABLE: ErrorCode =
        ErrorCode::PreSubmissionInfrastructureUnavailable;
}

/// A refused (or, for [`codes::INFRASTRUCTURE_UNAVAILABLE`], unprocessable) packet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IntakeError {
    /// One of [`codes`].
    pub code: ErrorCode,
    /// A message for humans.
    pub message: String,
    /// Structured details (an object): `reason`, and for limits `limit`, `maximum`
    /// and `value`.
    pub details: Value,
}

impl IntakeError {
    pub(super) fn new(code: ErrorCode, reason: &str, message: impl Into<String>) -> Self {
        IntakeError {
            code,
            message: message.into(),
            details: json!({ "reason": reason }),
        }
    }

    pub(super) fn malformed(reason: &str, message: impl Into<String>) -> Self {
        Self::new(codes::MALFORMED, reason, message)
    }

    pub(super) fn integrity(reason: &str, message: impl Into<String>) -> Self {
        Self::new(codes::INTEGRITY_FAILURE, reason, message)
    }

    pub(super) fn unsafe_entry(reason: &str, message: impl Into<String>) -> Self {
        Self::new(codes::UNSAFE_ENTRY, reason, message)
    }

    pub(super) fn infrastructure(message: impl Into<String>) -> Self {
        Self::new(codes::INFRASTRUCTURE_UNAVAILABLE, "infrastructure", message)
    }

    pub(super) fn timeout() -> Self {
        Self::new(
            codes::TIMEOUT,
            "deadline_exceeded",
            "packet inspection took longer than its deadline",
        )
    }

    /// A limit exceeded: `limit` is the [`PacketLimits`](super::PacketLimits) field.
    pub(super) fn limit(limit: &str, maximum: u64, value: u64) -> Self {
        IntakeError {
            code: codes::LIMIT_EXCEEDED,
            message: format!("{limit} is {maximum}; the packet has {value}"),
            details: json!({ "reason": "limit_exceeded", "limit": limit, "maximum": maximum, "value": value }),
        }
    }

    /// Adds the index of the central-directory entry at fault (never its name: codes
    /// and details stay content-free).
    pub(super) fn at_entry(mut self, index: usize) -> Self {
        if let Some(details) = self.details.as_object_mut() {
            details.insert("entry_index".into(), json!(index));
        }
        self
    }
}

impl From<IntakeError> for CommandError {
    /// A contributor's packet fault is 422; our own failure is 503 (re-upload later):
    /// the catalogue's statuses of [`codes`].
    fn from(error: IntakeError) -> Self {
        CommandError::new(error.code, error.message).with_details(error.details)
    }
}
