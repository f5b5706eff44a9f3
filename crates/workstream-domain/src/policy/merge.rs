//! The merge of the platform defaults and a project's bundle (R9), and the defects
//! that make a project bundle unacceptable (R8).
//!
//! Merge rules, part by part:
//!
//! - required artifacts and evidence: union by key, defaults first;
//! - forbidden artifacts: union by pattern; attestation terms: union;
//! - `manifest_required`, `artifact_hash_required`: OR; the algorithm is always sha256;
//! - size limits: the smallest value that is set (a larger project value is ignored);
//! - packaging: `package_required` is OR, the formats are the intersection (an empty
//!   intersection is a defect);
//! - checkers: the default checkers first, in their fixed order (R10), each with the
//!   project's settings when the project lists it; then the project's own checkers in
//!   the project's order; blocking severities: union, most serious first;
//! - derived configuration: the required-files checker also requires every required
//!   artifact path, forbidden-files also forbids every forbidden pattern, and
//!   confidentiality-attestation also asks for every attestation term, so the checkers
//!   enforce what the artifact policy says without the manager repeating it.
//!
//! The review and revision policies have no platform defaults: they are taken as the
//! project wrote them (their constants are fixed by the schema).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::glob;
use super::schema::{FieldError, PolicyBundleDefaults};
use super::types::*;

/// Whether a defect weakens the platform defaults or is merely inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefectClass {
    /// R8: the project tries to weaken a default (`platform_default_weakened`).
    Weakening,
    /// The bundle contradicts itself (`policy_bundle_invalid`).
    Invalid,
}

/// A problem found while merging, with a stable code and a JSON Pointer into the
/// submitted bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// Stable code (see the constants of this module's functions).
    pub code: &'static str,
    /// Which gate code it falls under.
    pub class: DefectClass,
    /// JSON Pointer into the submitted bundle.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Defect {
    fn weakening(code: &'static str, path: String, message: String) -> Self {
        Defect {
            code,
            class: DefectClass::Weakening,
            path,
            message,
        }
    }

    fn invalid(code: &'static str, path: String, message: String) -> Self {
        Defect {
            code,
            class: DefectClass::Invalid,
            path,
            message,
        }
    }

    /// As a coded field error for an API response.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::coded(self.path.clone(), self.code, self.message.clone())
    }
}

/// `artifact_hash_required: false` while the platform requires hashes.
pub const ARTIFACT_HASH_REQUIREMENT_REMOVED: &str = "artifact_hash_requirement_removed";
/// A required artifact that a default forbidden pattern rejects.
pub const DEFAULT_FORBIDDEN_ARTIFACT_REQUIRED: &str = "default_forbidden_artifact_required";
/// A default checker made non-blocking, less severe, or run in fewer phases.
pub const DEFAULT_CHECKER_DOWNGRADED: &str = "default_checker_downgraded";
/// Two required artifacts, evidence items or checkers with one key or name.
pub const DUPLICATE_KEY: &str = "duplicate_key";
/// A required artifact that the project's own forbidden patterns reject.
pub const REQUIRED_ARTIFACT_FORBIDDEN: &str = "required_artifact_forbidden";
/// No package format allowed by both the platform and the project.
pub const PACKAGING_CONFLICT: &str = "packaging_conflict";

/// Merges `project` into `defaults`, returning the effective bundle and every defect.
/// The effective bundle is meaningful only when there are no defects.
pub fn merge(
    defaults: &PolicyBundleDefaults,
    project: PolicyBundle,
) -> (EffectiveBundle, Vec<Defect>) {
    let mut defects = Vec::new();
    let artifact_policy = merge_artifacts(
        &defaults.artifact_policy,
        &project.artifact_policy,
        &mut defects,
    );
    let mut checker_policy = merge_checkers(
        &defaults.checker_policy,
        &project.checker_policy,
        &mut defects,
    );
    derive_configuration(&artifact_policy, &mut checker_policy);
    let effective = EffectiveBundle {
        artifact_policy,
        checker_policy,
        review_policy: project.review_policy,
        revision_policy: project.revision_policy,
        review_templates: project.review_templates,
    };
    (effective, defects)
}

fn duplicates<'a>(
    keys: impl Iterator<Item = &'a str>,
    path: &str,
    what: &str,
    defects: &mut Vec<Defect>,
) {
    let mut seen = BTreeSet::new();
    for (index, key) in keys.enumerate() {
        if !seen.insert(key) {
            defects.push(Defect::invalid(
                DUPLICATE_KEY,
                format!("{path}/{index}"),
                format!("{what} `{key}` appears more than once"),
            ));
        }
    }
}

fn union_by<T: Clone>(first: &[T], second: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = BTreeSet::new();
    first
        .iter()
        .chain(second)
        .filter(|item| seen.insert(key(item)))
        .cloned()
        .collect()
}

fn smallest(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn merge_artifacts(
    defaults: &ArtifactPolicy,
    project: &ArtifactPolicy,
    defects: &mut Vec<Defect>,
) -> ArtifactPolicy {
    const BASE: &str = "/artifact_policy";
    duplicates(
        project.required_artifacts.iter().map(|a| a.key.as_str()),
        &format!("{BASE}/required_artifacts"),
        "required artifact key",
        defects,
    );
    duplicates(
        project.required_evidence.iter().map(|e| e.key.as_str()),
        &format!("{BASE}/required_evidence"),
        "required evidence key",
        defects,
    );
    if defaults.artifact_hash_required == Some(true)
        && project.artifact_hash_required == Some(false)
    {
        defects.push(Defect::weakening(
            ARTIFACT_HASH_REQUIREMENT_REMOVED,
            format!("{BASE}/artifact_hash_required"),
            "the platform requires every artifact to be hashed; a project cannot remove that"
                .into(),
        ));
    }
    for (index, artifact) in project.required_artifacts.iter().enumerate() {
        let path = format!("{BASE}/required_artifacts/{index}/path");
        if let Some(rule) = defaults
            .forbidden_artifacts
            .iter()
            .find(|f| glob::forbids(&f.pattern, &artifact.path))
        {
            defects.push(Defect::weakening(
                DEFAULT_FORBIDDEN_ARTIFACT_REQUIRED,
                path,
                format!(
                    "`{}` is forbidden by the platform default `{}`",
                    artifact.path, rule.pattern
                ),
            ));
        } else if let Some(rule) = project
            .forbidden_artifacts
            .iter()
            .find(|f| glob::forbids(&f.pattern, &artifact.path))
        {
            defects.push(Defect::invalid(
                REQUIRED_ARTIFACT_FORBIDDEN,
                path,
                format!(
                    "`{}` is also forbidden by the pattern `{}`",
                    artifact.path, rule.pattern
                ),
            ));
        }
    }
    let packaging = match (&defaults.packaging, &project.packaging) {
        (Some(d), Some(p)) => {
            let formats: Vec<String> = d
                .allowed_package_formats
                .iter()
                .filter(|f| p.allowed_package_formats.contains(f))
                .cloned()
                .collect();
            if formats.is_empty() {
                defects.push(Defect::invalid(
                    PACKAGING_CONFLICT,
                    format!("{BASE}/packaging/allowed_package_formats"),
                    "no package format is allowed by both the platform and the project".into(),
                ));
            }
            Some(Packaging {
                package_required: d.package_required || p.package_required,
                allowed_package_formats: formats,
            })
        }
        (d, p) => d.clone().or_else(|| p.clone()),
    };
    let or = |a: Option<bool>, b: Option<bool>| Some(a.unwrap_or(false) || b.unwrap_or(false));
    ArtifactPolicy {
        required_artifacts: union_by(
            &defaults.required_artifacts,
            &project.required_artifacts,
            |a| a.key.clone(),
        ),
        required_evidence: union_by(
            &defaults.required_evidence,
            &project.required_evidence,
            |e| e.key.clone(),
        ),
        forbidden_artifacts: union_by(
            &defaults.forbidden_artifacts,
            &project.forbidden_artifacts,
            |f| f.pattern.clone(),
        ),
        attestation_terms: union_by(
            &defaults.attestation_terms,
            &project.attestation_terms,
            String::clone,
        ),
        manifest_required: or(defaults.manifest_required, project.manifest_required),
        artifact_hash_required: or(
            defaults.artifact_hash_required,
            project.artifact_hash_required,
        ),
        artifact_hash_algorithm: Some(HashAlgorithm::Sha256),
        maximum_file_size_bytes: smallest(
            defaults.maximum_file_size_bytes,
            project.maximum_file_size_bytes,
        ),
        maximum_package_size_bytes: smallest(
            defaults.maximum_package_size_bytes,
            project.maximum_package_size_bytes,
        ),
        packaging,
    }
}

fn merge_checkers(
    defaults: &CheckerPolicy,
    project: &CheckerPolicy,
    defects: &mut Vec<Defect>,
) -> CheckerPolicy {
    const BASE: &str = "/checker_policy/checkers";
    duplicates(
        project.checkers.iter().map(|c| c.name.as_str()),
        BASE,
        "checker",
        defects,
    );
    let mut checkers = Vec::new();
    for default in &defaults.checkers {
        let Some((index, own)) = project
            .checkers
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == default.name)
        else {
            checkers.push(default.clone());
            continue;
        };
        let mut problems = Vec::new();
        if default.blocking && !own.blocking {
            problems.push("made non-blocking");
        }
        if own.severity > default.severity {
            problems.push("given a lower severity");
        }
        if !own.phase.covers(default.phase) {
            problems.push("run in fewer phases");
        }
        if !problems.is_empty() {
            defects.push(Defect::weakening(
                DEFAULT_CHECKER_DOWNGRADED,
                format!("{BASE}/{index}"),
                format!(
                    "the platform checker `{}` cannot be {}",
                    default.name,
                    problems.join(", ")
                ),
            ));
        }
        checkers.push(CheckerRef {
            name: default.name.clone(),
            digest: own.digest.or(default.digest),
            phase: own.phase,
            configuration: own.configuration.clone(),
            blocking: own.blocking,
            severity: own.severity,
        });
    }
    checkers.extend(
        project
            .checkers
            .iter()
            .filter(|c| !defaults.checkers.iter().any(|d| d.name == c.name))
            .cloned(),
    );
    let mut blocking_severities: Vec<Severity> = defaults
        .blocking_severities
        .iter()
        .chain(&project.blocking_severities)
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    blocking_severities.sort();
    CheckerPolicy {
        checkers,
        blocking_severities,
    }
}

/// Adds `values` to the string array `key` of `configuration`, keeping what is there
/// first and dropping repeats.
fn extend_list(
    configuration: &mut Map<String, Value>,
    key: &str,
    values: impl IntoIterator<Item = String>,
) {
    let mut list: Vec<String> = configuration
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let before = list.len();
    for value in values {
        if !list.contains(&value) {
            list.push(value);
        }
    }
    if list.len() != before || configuration.contains_key(key) {
        configuration.insert(key.to_owned(), Value::from(list));
    }
}

fn derive_configuration(artifacts: &ArtifactPolicy, checkers: &mut CheckerPolicy) {
    for checker in &mut checkers.checkers {
        match checker.name.as_str() {
            "required-files" => extend_list(
                &mut checker.configuration,
                "paths",
                artifacts
                    .required_artifacts
                    .iter()
                    .filter(|a| a.required)
                    .map(|a| a.path.clone()),
            ),
            "forbidden-files" => extend_list(
                &mut checker.configuration,
                "patterns",
                artifacts
                    .forbidden_artifacts
                    .iter()
                    .map(|f| f.pattern.clone()),
            ),
            "confidentiality-attestation" => extend_list(
                &mut checker.configuration,
                "required_terms",
                artifacts.attestation_terms.iter().cloned(),
            ),
            _ => {}
        }
    }
}
