//! Guide policy bundles: one immutable set of machine policies per guide version.
//!
//! A guide version carries exactly one bundle (docs/architecture.md) with four parts: the
//! [`ArtifactPolicy`] (what a packet must and must not hold), the [`CheckerPolicy`]
//! (the ordered checker components it runs through), the [`ReviewPolicy`] and the
//! [`RevisionPolicy`]. What a project manager submits is checked and turned into the
//! *effective* bundle in three steps, each with its own refusal code:
//!
//! 1. [`schema`]: the bundle and each part are validated against the JSON Schemas in
//!    `policies/` (embedded here). Errors come back per field as `{path, message}`.
//! 2. [`merge`]: the platform defaults (`policies/platform-defaults.json`) are merged in
//!    by R9 (union by key, OR of requirements, the smallest size limit, defaults first in
//!    the checker order) and every attempt to weaken them is reported as a [`Defect`]
//!    with its own code (R8).
//! 3. The engine resolves every checker reference to a registered component, pins its
//!    digest, validates each checker's configuration against the schema the component
//!    declares, and hashes the result with [`EffectiveBundle::hashes`].
//!
//! [`evaluate`] runs steps 1 and 2 and classifies the failure into the activation
//! gate's codes.

pub mod glob;
pub mod merge;
pub mod schema;
pub mod types;

pub use merge::{Defect, DefectClass, merge};
pub use schema::{FieldError, PLATFORM_DEFAULTS_JSON, platform_defaults};
pub use types::*;

use serde_json::Value;

use crate::canonical::CanonicalError;
use crate::digest::Digest;
use crate::error_code::ErrorCode;

/// Why a submitted bundle cannot become effective, with the gate code it reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRefusal {
    /// `policy_bundle_invalid`, `review_policy_incomplete`, `revision_policy_incomplete`
    /// or `platform_default_weakened`.
    pub code: ErrorCode,
    /// Every problem found, each with a JSON Pointer into the submitted bundle.
    pub errors: Vec<FieldError>,
}

impl BundleRefusal {
    fn new(code: ErrorCode, errors: Vec<FieldError>) -> Self {
        BundleRefusal { code, errors }
    }
}

/// Validates a submitted bundle and merges the platform defaults into it.
///
/// Refusals come in a fixed order so a manager fixes one class of problem at a time:
/// the bundle's shape and the artifact and checker parts (`policy_bundle_invalid`), then
/// the review policy, then the revision policy (`..._incomplete`: a missing part, a
/// missing field or a value the platform does not allow), then weakened defaults.
pub fn evaluate(submitted: Option<&Value>) -> Result<EffectiveBundle, BundleRefusal> {
    let Some(submitted) = submitted else {
        return Err(BundleRefusal::new(
            ErrorCode::PolicyBundleInvalid,
            vec![FieldError::new("", "the guide has no policy bundle")],
        ));
    };
    let errors = schema::validate_bundle(submitted);
    let (review, rest): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|e| schema::is_under(e, "review_policy"));
    let (revision, rest): (Vec<_>, Vec<_>) = rest
        .into_iter()
        .partition(|e| schema::is_under(e, "revision_policy"));
    if !rest.is_empty() {
        return Err(BundleRefusal::new(ErrorCode::PolicyBundleInvalid, rest));
    }
    if !review.is_empty() {
        return Err(BundleRefusal::new(
            ErrorCode::ReviewPolicyIncomplete,
            review,
        ));
    }
    if !revision.is_empty() {
        return Err(BundleRefusal::new(
            ErrorCode::RevisionPolicyIncomplete,
            revision,
        ));
    }
    let bundle: PolicyBundle = serde_json::from_value(submitted.clone()).map_err(|err| {
        // The schema accepted it, so this is a number serde cannot hold (`1.0`, a
        // value above u64).
        BundleRefusal::new(
            ErrorCode::PolicyBundleInvalid,
            vec![FieldError::new("", err.to_string())],
        )
    })?;
    let (effective, defects) = merge(platform_defaults(), bundle);
    let weakened: Vec<FieldError> = defects
        .iter()
        .filter(|d| d.class == DefectClass::Weakening)
        .map(Defect::to_field_error)
        .collect();
    let invalid: Vec<FieldError> = defects
        .iter()
        .filter(|d| d.class == DefectClass::Invalid)
        .map(Defect::to_field_error)
        .collect();
    if !invalid.is_empty() {
        return Err(BundleRefusal::new(ErrorCode::PolicyBundleInvalid, invalid));
    }
    if !weakened.is_empty() {
        return Err(BundleRefusal::new(
            ErrorCode::PlatformDefaultWeakened,
            weakened,
        ));
    }
    Ok(effective)
}

/// The hashes a guide stores and tasks lock: the whole bundle and each part, each the
/// [`Digest`] of the part's canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleHashes {
    /// Of the whole bundle.
    pub bundle: Digest,
    /// Of `artifact_policy`.
    pub artifact: Digest,
    /// Of `checker_policy`.
    pub checker: Digest,
    /// Of `review_policy`.
    pub review: Digest,
    /// Of `revision_policy`.
    pub revision: Digest,
}

/// Hashes a bundle given as JSON: the whole value and each of the four parts (a missing
/// part hashes as `null`, which is what a draft holding an incomplete bundle stores).
pub fn hash_bundle_value(bundle: &Value) -> Result<BundleHashes, CanonicalError> {
    let part = |name: &str| Digest::of_canonical_json(bundle.get(name).unwrap_or(&Value::Null));
    Ok(BundleHashes {
        bundle: Digest::of_canonical_json(bundle)?,
        artifact: part("artifact_policy")?,
        checker: part("checker_policy")?,
        review: part("review_policy")?,
        revision: part("revision_policy")?,
    })
}

pub mod contribution;

#[cfg(test)]
mod tests;
