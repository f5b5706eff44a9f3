//! What a run is asked: [`CheckRequest`], and its digest.
//!
//! These mirror the WIT `check-input` record but are the host's own types, the same for
//! every contract version ([`crate::contract`] makes each version's record from them):
//! they serialize to JSON (to be stored with the run) and have a digest that binds the
//! result to exactly this input.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use workstream_domain::Digest;
use workstream_domain::canonical::CanonicalError;

/// When a check runs relative to the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before a submission exists.
    PreSubmit,
    /// After the packet was submitted and locked as a numbered version.
    PostSubmit,
}

/// One file of the packet manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the packet root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// `sha256:<hex>` of the file's bytes.
    pub sha256: String,
    /// Whether the file carried a Unix execute bit.
    pub executable: bool,
}

/// An open blocking finding of the previous version's review, with the contributor's
/// answer once the packet is submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorFinding {
    /// Stable identifier shown to the contributor.
    pub finding_id: String,
    /// The part of the work the finding is about.
    pub area: String,
    /// What the reviewer found wrong.
    pub issue: String,
    /// The packet path of the evidence the reviewer cited (contract 0.2.0 and later).
    pub path: Option<String>,
    /// Its 1-based line (contract 0.2.0 and later).
    pub line: Option<u32>,
    /// What the reviewer asked to be changed.
    pub required_fix: String,
    /// The contributor's answer: always `None` before submission.
    pub response: Option<String>,
}

/// Everything a checker is told about one run besides the files under `/packet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRequest {
    /// Before or after submission.
    pub phase: Phase,
    /// The packet's files, sorted by path.
    pub manifest: Vec<FileEntry>,
    /// The contributor's summary.
    pub summary: String,
    /// The contributor's attestation.
    pub attestation: String,
    /// The task's acceptance criteria (empty when none).
    pub acceptance_criteria: String,
    /// The checker's configuration, already validated against its schema. Passed to
    /// the guest as canonical JSON text; must contain integers only (no floats), like
    /// everything that is hashed.
    pub configuration: Value,
    /// The previous version's blocking findings when the packet is a revision.
    pub prior_findings: Vec<PriorFinding>,
}

/// A request the host cannot run because it cannot be bound to a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The configuration has no canonical JSON form (it holds a non-integer number).
    #[error("configuration is not canonical JSON: {0}")]
    Configuration(#[from] CanonicalError),
}

impl RequestError {
    /// The stable error code.
    pub const fn code(&self) -> &'static str {
        match self {
            RequestError::Configuration(_) => "checker_configuration_invalid",
        }
    }
}

impl CheckRequest {
    /// A post-submit request with an empty manifest and texts and `{}` configuration;
    /// fill in what a test or a caller needs.
    pub fn new(phase: Phase) -> CheckRequest {
        CheckRequest {
            phase,
            manifest: Vec::new(),
            summary: String::new(),
            attestation: String::new(),
            acceptance_criteria: String::new(),
            configuration: json!({}),
            prior_findings: Vec::new(),
        }
    }

    /// The request digest: SHA-256 of the canonical JSON of
    /// `{"schema": "workstream.check_request.v1", "checker": <component digest>,
    /// "request": <this request>}`. Binding the component in makes the digest name one
    /// run's input exactly; it also seeds the run's clocks and random.
    pub fn digest(&self, checker: &Digest) -> Result<Digest, RequestError> {
        let value = json!({
            "schema": "workstream.check_request.v1",
            "checker": checker,
            "request": self,
        });
        Ok(Digest::of_canonical_json(&value)?)
    }
}
