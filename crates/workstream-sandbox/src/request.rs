//! What a run is asked: [`CheckRequest`], and its digest.
//!
//! These mirror the WIT `check-input` record but are the host's own types, the same for
//! every contract version ([`crate::contract`] makes each version's record from them):
//! they serialize to JSON (to be stored with the run) and have a digest that binds the
//! result to exactly this input.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_domain::canonical::{CanonicalError, to_canonical_string};

use crate::canonical::CanonicalWriter;

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
    pub const fn code(&self) -> ErrorCode {
        match self {
            RequestError::Configuration(_) => ErrorCode::CheckerConfigurationInvalid,
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
        let configuration = self.canonical_configuration()?;
        Ok(self.digest_with(checker, &configuration))
    }

    /// The configuration as canonical JSON text: what the guest is given, and what the
    /// digest covers. An error names the offending number from the request digest's
    /// document (`/request/configuration/...`).
    pub(crate) fn canonical_configuration(&self) -> Result<String, RequestError> {
        to_canonical_string(&self.configuration).map_err(|error| match error {
            CanonicalError::NonIntegerNumber { pointer, number } => {
                RequestError::Configuration(CanonicalError::NonIntegerNumber {
                    pointer: format!("/request/configuration{pointer}"),
                    number,
                })
            }
        })
    }

    /// [`CheckRequest::digest`] with the configuration already in canonical form
    /// ([`CheckRequest::canonical_configuration`]). The document is written directly
    /// in canonical form ([`crate::canonical`]): the same bytes as the canonical JSON
    /// of `json!({"schema", "checker", "request": self})`, which the tests check.
    pub(crate) fn digest_with(&self, checker: &Digest, configuration: &str) -> Digest {
        let text = |s: &String| s.len() + 2;
        let mut capacity = 256
            + configuration.len()
            + text(&self.summary)
            + text(&self.attestation)
            + text(&self.acceptance_criteria);
        capacity += self
            .manifest
            .iter()
            .map(|f| 64 + text(&f.path) + text(&f.sha256))
            .sum::<usize>();
        let mut w = CanonicalWriter::with_capacity(capacity);
        // Members in the byte order of their keys, at every level.
        w.raw("{\"checker\":");
        w.digest_string(checker);
        w.raw(",\"request\":{\"acceptance_criteria\":");
        w.string(&self.acceptance_criteria);
        w.raw(",\"attestation\":");
        w.string(&self.attestation);
        w.raw(",\"configuration\":");
        w.raw(configuration);
        w.raw(",\"manifest\":[");
        for (i, file) in self.manifest.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.raw("{\"executable\":");
            w.boolean(file.executable);
            w.raw(",\"path\":");
            w.string(&file.path);
            w.raw(",\"sha256\":");
            w.string(&file.sha256);
            w.raw(",\"size\":");
            w.integer(file.size);
            w.raw("}");
        }
        w.raw("],\"phase\":");
        w.raw(match self.phase {
            Phase::PreSubmit => "\"pre_submit\"",
            Phase::PostSubmit => "\"post_submit\"",
        });
        w.raw(",\"prior_findings\":[");
        for (i, prior) in self.prior_findings.iter().enumerate() {
            if i > 0 {
                w.raw(",");
            }
            w.raw("{\"area\":");
            w.string(&prior.area);
            w.raw(",\"finding_id\":");
            w.string(&prior.finding_id);
            w.raw(",\"issue\":");
            w.string(&prior.issue);
            w.raw(",\"line\":");
            w.optional_integer(prior.line);
            w.raw(",\"path\":");
            w.optional_string(prior.path.as_deref());
            w.raw(",\"required_fix\":");
            w.string(&prior.required_fix);
            w.raw(",\"response\":");
            w.optional_string(prior.response.as_deref());
            w.raw("}");
        }
        w.raw("],\"summary\":");
        w.string(&self.summary);
        w.raw("},\"schema\":\"workstream.check_request.v1\"}");
        w.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::AWKWARD;

    /// The definition: the canonical JSON of the document as a `serde_json::Value`.
    fn by_value(request: &CheckRequest, checker: &Digest) -> Result<Digest, CanonicalError> {
        Digest::of_canonical_json(&json!({
            "schema": "workstream.check_request.v1",
            "checker": checker,
            "request": request,
        }))
    }

    fn requests() -> Vec<CheckRequest> {
        let mut out = vec![
            CheckRequest::new(Phase::PostSubmit),
            CheckRequest::new(Phase::PreSubmit),
        ];
        for (i, text) in AWKWARD.iter().enumerate() {
            let text = (*text).to_owned();
            let n = u32::try_from(i).unwrap();
            out.push(CheckRequest {
                phase: if i % 2 == 0 {
                    Phase::PreSubmit
                } else {
                    Phase::PostSubmit
                },
                manifest: (0..i)
                    .map(|j| FileEntry {
                        path: format!("outputs/{text}/{j}.md"),
                        size: [0, 1, u64::MAX, 1 << 40][j % 4],
                        sha256: Digest::of_bytes(text.as_bytes()).to_string(),
                        executable: j % 2 == 1,
                    })
                    .collect(),
                summary: text.clone(),
                attestation: format!("{text}{text}"),
                acceptance_criteria: text.chars().rev().collect(),
                configuration: json!({
                    "paths": [text.clone(), "outputs/**/*.md"],
                    text.clone(): {"z": -3, "a": [true, false, null], "m": u64::MAX},
                    "nested": {"b": {}, "a": []},
                }),
                prior_findings: (0..i)
                    .map(|j| PriorFinding {
                        finding_id: format!("F1-{j}"),
                        area: text.clone(),
                        issue: format!("issue {text}"),
                        path: (j % 2 == 0).then(|| format!("outputs/{text}")),
                        line: (j % 3 != 0).then_some(n * 1000),
                        required_fix: text.to_uppercase(),
                        response: (j % 2 == 1).then(|| text.clone()),
                    })
                    .collect(),
            });
        }
        out
    }

    #[test]
    fn the_written_digest_is_the_canonical_json_digest() {
        let checker = Digest::of_bytes(b"component");
        for request in requests() {
            assert_eq!(
                request.digest(&checker).unwrap(),
                by_value(&request, &checker).unwrap(),
                "{request:?}"
            );
        }
    }

    #[test]
    fn a_configuration_with_a_float_has_no_digest() {
        let request = CheckRequest {
            configuration: json!({"limits": {"ratio": 1.5}}),
            ..CheckRequest::new(Phase::PostSubmit)
        };
        let checker = Digest::of_bytes(b"component");
        let ours = request.digest(&checker).unwrap_err();
        let by_value = by_value(&request, &checker).unwrap_err();
        assert_eq!(ours, RequestError::Configuration(by_value));
        assert_eq!(ours.code(), "checker_configuration_invalid");
        assert!(
            ours.to_string()
                .contains("/request/configuration/limits/ratio")
        );
    }
}
