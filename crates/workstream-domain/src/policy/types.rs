//! The bundle as Rust types, in the exact shape of the JSON Schemas in `policies/`.
//!
//! Every struct refuses unknown fields, so a value that passed the schema and a value
//! that deserializes here are the same thing. Optional fields of the artifact policy
//! are `None` in a project's submission and always `Some` in an [`EffectiveBundle`]
//! (the platform defaults set every one of them).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical::CanonicalError;
use crate::digest::Digest;

use super::BundleHashes;

/// A bundle as a project submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBundle {
    /// What a packet must and must not hold.
    pub artifact_policy: ArtifactPolicy,
    /// The checkers a packet runs through.
    pub checker_policy: CheckerPolicy,
    /// How human review runs.
    pub review_policy: ReviewPolicy,
    /// How revision rounds run.
    pub revision_policy: RevisionPolicy,
    /// The review packet template and prior-feedback checklist (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_templates: Option<ReviewTemplates>,
}

/// The guide's review texts, in Markdown: what the reviewer works through for every
/// packet, and what a revision must answer. Left out of the serialized bundle when
/// absent, so the hashes of bundles without them are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewTemplates {
    /// Shown to the reviewer beside the packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_packet: Option<String>,
    /// Shown to the reviewer and to the worker on a revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_feedback_checklist: Option<String>,
}

/// The merged bundle a guide is activated with: platform defaults plus the project's
/// policy. Its canonical JSON is what is stored and hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectiveBundle {
    /// Merged artifact policy (every optional field set).
    pub artifact_policy: ArtifactPolicy,
    /// Merged checker policy (defaults first).
    pub checker_policy: CheckerPolicy,
    /// The project's review policy.
    pub review_policy: ReviewPolicy,
    /// The project's revision policy.
    pub revision_policy: RevisionPolicy,
    /// The project's review texts, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_templates: Option<ReviewTemplates>,
}

impl EffectiveBundle {
    /// The bundle as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a bundle always serializes")
    }

    /// The digests of the bundle and of each part.
    pub fn hashes(&self) -> Result<BundleHashes, CanonicalError> {
        super::hash_bundle_value(&self.to_value())
    }
}

/// `artifact_policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ArtifactPolicy {
    /// Files the packet must hold.
    #[serde(default)]
    pub required_artifacts: Vec<RequiredArtifact>,
    /// Evidence items the packet must hold.
    #[serde(default)]
    pub required_evidence: Vec<RequiredEvidence>,
    /// Globs that must never be submitted.
    #[serde(default)]
    pub forbidden_artifacts: Vec<ForbiddenArtifact>,
    /// Terms the attestation must cover.
    #[serde(default)]
    pub attestation_terms: Vec<String>,
    /// Whether the packet must carry a manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_required: Option<bool>,
    /// Whether every artifact must be hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash_required: Option<bool>,
    /// Always `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_hash_algorithm: Option<HashAlgorithm>,
    /// Largest single file, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_file_size_bytes: Option<u64>,
    /// Largest packet, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_package_size_bytes: Option<u64>,
    /// How the packet is packaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packaging: Option<Packaging>,
}

/// The one hash algorithm (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
}

/// A file the packet must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredArtifact {
    /// Unique key within the policy.
    pub key: String,
    /// Packet path or glob.
    pub path: String,
    /// Whether a packet without it fails.
    pub required: bool,
}

/// An evidence item the packet must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredEvidence {
    /// Unique key within the policy.
    pub key: String,
    /// What the contributor is asked for.
    pub label: String,
    /// Whether a packet without it fails.
    pub required: bool,
}

/// A forbidden glob and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenArtifact {
    /// The glob (see [`super::glob`]).
    pub pattern: String,
    /// Shown to the contributor.
    pub reason: String,
}

/// `packaging`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packaging {
    /// Whether files must come in one package.
    pub package_required: bool,
    /// Accepted package formats (`zip`).
    pub allowed_package_formats: Vec<String>,
}

/// `checker_policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckerPolicy {
    /// The checkers, in the order they run.
    pub checkers: Vec<CheckerRef>,
    /// Severities that block (⊇ critical, high).
    pub blocking_severities: Vec<Severity>,
}

/// One checker in the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckerRef {
    /// The component's name.
    pub name: String,
    /// The component's digest; absent for a built-in until activation pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// When it runs.
    pub phase: CheckerPhase,
    /// Its configuration, validated against the component's own schema.
    pub configuration: Map<String, Value>,
    /// Whether its failures block the submission.
    pub blocking: bool,
    /// How serious its findings are.
    pub severity: Severity,
}

/// When a checker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckerPhase {
    /// In the upload request, before a submission exists.
    PreSubmit,
    /// As a durable job after the submission exists.
    PostSubmit,
    /// Both.
    Both,
}

impl CheckerPhase {
    /// Whether this phase runs everywhere `other` does.
    pub fn covers(self, other: CheckerPhase) -> bool {
        self == CheckerPhase::Both || self == other
    }
}

/// Finding severity, from most to least serious (the declaration order is the rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Integrity or confidentiality at stake.
    Critical,
    /// The packet does not meet a requirement.
    High,
    /// A problem a reviewer should weigh.
    Medium,
    /// A minor problem.
    Low,
    /// A signal, never a failure on its own.
    Warning,
    /// Information only.
    Info,
}

/// `review_policy` (every field required; the constants are the platform's rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicy {
    /// How long a queue entry is offered to the preferred reviewer first.
    pub review_preference_window_seconds: u64,
    /// How long a review lease lasts.
    pub review_lease_duration_seconds: u64,
    /// Always 1.
    pub max_active_review_leases_per_reviewer: u8,
    /// Always false.
    pub self_review_allowed: bool,
    /// Always `close_task`.
    pub reject_policy: String,
    /// `optional`, `required_for_blocking` or `required_for_all`.
    pub finding_evidence_requirement: String,
    /// A subset of accept, needs_revision, reject.
    pub allowed_decisions: Vec<String>,
    /// The fields every finding must fill.
    pub minimum_finding_fields: Vec<String>,
    /// Always true.
    pub human_review_required: bool,
    /// Always false: a decision never waits for a second review.
    pub requires_second_review: bool,
    /// Optional, 0-100: the share of decided submissions (in percent) offered, blind to
    /// the first decision, to a second reviewer for calibration (docs/rules.md R52). The
    /// draw is per Review and deterministic (`workstream_engine::calibration`). Left out
    /// of the serialized policy when absent (meaning 0), so the hashes of bundles without
    /// it are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_sample_percent: Option<u32>,
}

/// `revision_policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionPolicy {
    /// Most needs_revision rounds; reaching it blocks, never auto-rejects.
    pub max_revision_rounds: u32,
    /// Hours the contributor has for a revision.
    pub revision_deadline_hours: u32,
    /// States a resubmission may start from.
    pub allowed_resubmission_states: Vec<String>,
    /// Who reviews a resubmission.
    pub reviewer_reassignment_rule: String,
    /// Optional: a claim's first submission is due this many times the task's estimated
    /// time after the claim (and never after the task's `deadline_at`). Left out of the
    /// serialized policy when absent, so the hashes of bundles without it are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_time_factor: Option<u32>,
}
