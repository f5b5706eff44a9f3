//! What a run produced: [`CheckOutcome`], the verdict rule, report validation and the
//! result digest.
//!
//! A run either *completed* — the checker returned a report that passed validation —
//! or *failed for an infrastructure reason* with a [`FailureCode`]. The two never mix
//! (docs/checkers.md): a completed run has a verdict and findings; a failed one
//! has a code and no findings, and is never a pass (docs/checkers.md: the task waits for a retry).
//!
//! Verdict rule (the WIT contract): [`Verdict::Failed`] iff some finding is `error`;
//! otherwise [`Verdict::Warning`] iff some finding is `warning`; otherwise
//! [`Verdict::Passed`]. `Warning` is not a failure: it lets the checker policy escalate
//! warnings of required checkers (docs/checkers.md) without re-reading the findings.
//!
//! Failure codes (how each way of going wrong maps):
//!
//! | what happened | code |
//! |---|---|
//! | epoch deadline, fuel exhausted, or the host's wall-clock backstop | `deadline_exceeded` |
//! | memory growth refused by the limiter (then any trap), or stack overflow | `capacity_exceeded` |
//! | report over the caps, breaking the WIT field rules, or text that cannot be stored (a NUL character) | `invalid_output` |
//! | trap or panic, guest returned `err(..)`, missing export, instantiation failed | `implementation_unavailable` |
//! | the packet directory cannot be opened | `material_unavailable` |
//!
//! A guest's `err(message)` means "could not evaluate" (WIT): an infrastructure
//! failure, recorded as `implementation_unavailable`, the message kept for operators
//! in [`RunResult::InfrastructureFailed::detail`] and never shown to contributors.
//!
//! Result digest: SHA-256 of the canonical JSON of
//! `{"schema": "workstream.check_result.v1", "request_digest", "checker_digest",
//! "outcome"}` where `outcome` is `{"status": "completed", "verdict", "findings",
//! "summary"}` or `{"status": "infrastructure_failed", "code"}`. It leaves out
//! duration, fuel consumed (it changes with the compiler version, and a replay on an
//! upgraded host must still match), the limits and the operator detail, so the same
//! input gives the same digest in any process.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use workstream_domain::Digest;
use workstream_domain::ErrorCode;

use crate::canonical::CanonicalWriter;
use crate::limits::Limits;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Neutral observation.
    Info,
    /// For a reviewer to look at; never fails the run on its own.
    Warning,
    /// A defect in the packet: the run fails.
    Error,
}

/// One observation about the packet, as the checker reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable snake_case identifier of the kind of finding.
    pub code: String,
    /// Severity.
    pub level: Level,
    /// Explanation for the contributor.
    pub message: String,
    /// The packet path the finding is about.
    pub path: Option<String>,
    /// 1-based line within `path`.
    pub line: Option<u32>,
    /// A change that resolves the finding.
    pub suggested_fix: Option<String>,
}

/// What `check` returned, before the host validates it.
pub(crate) struct RawReport {
    pub(crate) findings: Vec<Finding>,
    pub(crate) summary: Option<String>,
}

/// The verdict of a completed run: the gate's own type, which the host derives from
/// the findings' levels ([`verdict_of`]).
pub use workstream_domain::gate::Verdict;

/// The verdict for a list of findings: `failed` with any error, else `warning` with
/// any warning, else `passed`.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    match findings.iter().map(|f| f.level).max() {
        Some(Level::Error) => Verdict::Failed,
        Some(Level::Warning) => Verdict::Warning,
        Some(Level::Info) | None => Verdict::Passed,
    }
}

/// Why a run ended without a usable report. Stable codes, stored with the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// Out of time or fuel.
    DeadlineExceeded,
    /// Out of memory (or stack).
    CapacityExceeded,
    /// The report broke the caps or the contract's field rules.
    InvalidOutput,
    /// The checker trapped, returned `err`, or could not be instantiated or called.
    ImplementationUnavailable,
    /// The packet could not be made available to the checker.
    MaterialUnavailable,
}

impl FailureCode {
    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureCode::DeadlineExceeded => "deadline_exceeded",
            FailureCode::CapacityExceeded => "capacity_exceeded",
            FailureCode::InvalidOutput => "invalid_output",
            FailureCode::ImplementationUnavailable => "implementation_unavailable",
            FailureCode::MaterialUnavailable => "material_unavailable",
        }
    }

    /// The catalogue's code of the same text, for answers that carry it.
    pub const fn error_code(self) -> ErrorCode {
        match self {
            FailureCode::DeadlineExceeded => ErrorCode::DeadlineExceeded,
            FailureCode::CapacityExceeded => ErrorCode::CapacityExceeded,
            FailureCode::InvalidOutput => ErrorCode::InvalidOutput,
            FailureCode::ImplementationUnavailable => ErrorCode::ImplementationUnavailable,
            FailureCode::MaterialUnavailable => ErrorCode::MaterialUnavailable,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunResult {
    /// The checker returned a valid report.
    Completed {
        /// Derived from the findings.
        verdict: Verdict,
        /// The findings, in the checker's order.
        findings: Vec<Finding>,
        /// The checker's one-line overview.
        summary: Option<String>,
    },
    /// No usable report: never a pass.
    InfrastructureFailed {
        /// The stable code.
        code: FailureCode,
        /// What happened, for operators only (trap text, the guest's error message,
        /// the broken rule). Not part of the result digest; never show it to
        /// contributors.
        detail: String,
    },
}

impl RunResult {
    /// The verdict, if the run completed.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            RunResult::Completed { verdict, .. } => Some(*verdict),
            RunResult::InfrastructureFailed { .. } => None,
        }
    }

    /// The failure code, if the run did not complete.
    pub fn failure(&self) -> Option<FailureCode> {
        match self {
            RunResult::Completed { .. } => None,
            RunResult::InfrastructureFailed { code, .. } => Some(*code),
        }
    }

    /// Whether the checker itself answered `err(..)` ("could not evaluate": an unusable
    /// configuration, say), as opposed to trapping, timing out or breaking the caps.
    /// Still an infrastructure failure, never a pass.
    pub fn declined(&self) -> bool {
        matches!(self, RunResult::InfrastructureFailed { code: FailureCode::ImplementationUnavailable, detail } if detail.starts_with(DECLINED))
    }

    /// The findings of a completed run (empty for a failed one).
    pub fn findings(&self) -> &[Finding] {
        match self {
            RunResult::Completed { findings, .. } => findings,
            RunResult::InfrastructureFailed { .. } => &[],
        }
    }

    /// A failure with `detail` made storable: NUL characters (which PostgreSQL text
    /// cannot hold, and which a guest's `err` message may contain) become U+FFFD, and
    /// the text is cut at [`MAX_DETAIL_BYTES`].
    pub(crate) fn failed(code: FailureCode, detail: impl Into<String>) -> RunResult {
        let mut detail = detail.into();
        if detail.contains('\0') {
            detail = detail.replace('\0', "\u{FFFD}");
        }
        if detail.len() > MAX_DETAIL_BYTES {
            let mut end = MAX_DETAIL_BYTES;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        RunResult::InfrastructureFailed { code, detail }
    }
}

/// Everything recorded about one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// [`crate::CheckRequest::digest`] of the request.
    pub request_digest: Digest,
    /// Digest of the component's bytes.
    pub checker_digest: Digest,
    /// The report and verdict, or the failure.
    pub result: RunResult,
    /// Fuel the `check` call consumed (deterministic for a given host build).
    pub fuel_consumed: u64,
    /// Wall time from creating the store to validating the report.
    pub duration: Duration,
    /// The limits the run had.
    pub limits: Limits,
    /// Digest of the deterministic part of the outcome (see the module docs).
    pub result_digest: Digest,
}

impl CheckOutcome {
    pub(crate) fn new(
        request_digest: Digest,
        checker_digest: Digest,
        result: RunResult,
        fuel_consumed: u64,
        duration: Duration,
        limits: Limits,
    ) -> CheckOutcome {
        let result_digest = result_digest(&request_digest, &checker_digest, &result);
        CheckOutcome {
            request_digest,
            checker_digest,
            result,
            fuel_consumed,
            duration,
            limits,
            result_digest,
        }
    }

    /// The outcome of a run the host could not even start: the checker or the packet
    /// was not available. Same shape and digest rules as any other failure, so a run
    /// record is uniform; never a pass.
    pub fn unavailable(
        request_digest: Digest,
        checker_digest: Digest,
        code: FailureCode,
        detail: impl Into<String>,
        limits: Limits,
    ) -> CheckOutcome {
        CheckOutcome::new(
            request_digest,
            checker_digest,
            RunResult::failed(code, detail),
            0,
            Duration::ZERO,
            limits,
        )
    }

    /// The finding codes in report order (handy in tests and logs).
    pub fn codes(&self) -> Vec<&str> {
        self.result
            .findings()
            .iter()
            .map(|f| f.code.as_str())
            .collect()
    }
}

/// The result digest (see the module docs), written directly in canonical form
/// ([`crate::canonical`]): the same bytes as the canonical JSON of the document built
/// as a `serde_json::Value`, which the tests check.
fn result_digest(request: &Digest, checker: &Digest, result: &RunResult) -> Digest {
    let capacity = 256
        + result
            .findings()
            .iter()
            .map(|f| {
                96 + f.code.len()
                    + f.message.len()
                    + f.path.as_ref().map_or(0, String::len)
                    + f.suggested_fix.as_ref().map_or(0, String::len)
            })
            .sum::<usize>()
        + match result {
            RunResult::Completed { summary, .. } => summary.as_ref().map_or(0, String::len),
            RunResult::InfrastructureFailed { .. } => 0,
        };
    let mut w = CanonicalWriter::with_capacity(capacity);
    // Members in the byte order of their keys, at every level.
    w.raw("{\"checker_digest\":");
    w.digest_string(checker);
    w.raw(",\"outcome\":");
    match result {
        RunResult::Completed {
            verdict,
            findings,
            summary,
        } => {
            w.raw("{\"findings\":[");
            for (i, f) in findings.iter().enumerate() {
                if i > 0 {
                    w.raw(",");
                }
                w.raw("{\"code\":");
                w.string(&f.code);
                w.raw(",\"level\":");
                w.raw(match f.level {
                    Level::Info => "\"info\"",
                    Level::Warning => "\"warning\"",
                    Level::Error => "\"error\"",
                });
                w.raw(",\"line\":");
                w.optional_integer(f.line);
                w.raw(",\"message\":");
                w.string(&f.message);
                w.raw(",\"path\":");
                w.optional_string(f.path.as_deref());
                w.raw(",\"suggested_fix\":");
                w.optional_string(f.suggested_fix.as_deref());
                w.raw("}");
            }
            w.raw("],\"status\":\"completed\",\"summary\":");
            w.optional_string(summary.as_deref());
            w.raw(",\"verdict\":");
            w.raw(match verdict {
                Verdict::Passed => "\"passed\"",
                Verdict::Warning => "\"warning\"",
                Verdict::Failed => "\"failed\"",
            });
            w.raw("}");
        }
        RunResult::InfrastructureFailed { code, .. } => {
            w.raw("{\"code\":\"");
            w.raw(code.as_str());
            w.raw("\",\"status\":\"infrastructure_failed\"}");
        }
    }
    w.raw(",\"request_digest\":");
    w.digest_string(request);
    w.raw(",\"schema\":\"workstream.check_result.v1\"}");
    w.digest()
}

/// How the detail of a run whose checker answered `err(message)` starts.
pub(crate) const DECLINED: &str = "checker could not evaluate: ";

/// Most bytes of an operator detail kept with a failure.
pub const MAX_DETAIL_BYTES: usize = 4096;

/// Most characters of a finding code.
const MAX_CODE_CHARS: usize = 64;
/// Most characters of a message.
const MAX_MESSAGE_CHARS: usize = 4096;
/// Most characters of a report's summary (what the results table stores).
const MAX_SUMMARY_CHARS: usize = 4000;
/// Most bytes of a finding's path.
const MAX_PATH_BYTES: usize = 1000;

/// Checks a report against the caps.
///
/// The field rules are exactly the ones the WIT contract announces (at most
/// `max_findings` findings, `code` 1-64 characters, `message` 1-4096 characters, `path`
/// at most 1000 bytes, a summary of at most 4000 characters) plus the total size cap,
/// and one rule of storage: no text may hold a NUL character, which PostgreSQL cannot store (a checker echoing a packet's
/// bytes could otherwise make its own result unrecordable, and the task would wait for
/// ever). Nothing stricter, so a checker that follows the published contract is never
/// refused. Other fields (summary, fixes) are bounded by the total size.
pub(crate) fn validate_report(
    report: RawReport,
    limits: &Limits,
) -> Result<(Vec<Finding>, Option<String>), String> {
    if report.findings.len() > limits.max_findings {
        return Err(format!(
            "{} findings, more than the {} allowed",
            report.findings.len(),
            limits.max_findings
        ));
    }
    let nul = |text: &str| text.contains('\0');
    if report.summary.as_deref().is_some_and(nul) {
        return Err("the summary contains a NUL character".into());
    }
    if report
        .summary
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SUMMARY_CHARS)
    {
        return Err(format!(
            "the summary is over {MAX_SUMMARY_CHARS} characters"
        ));
    }
    let mut total = report.summary.as_ref().map_or(0, String::len);
    let mut findings = Vec::with_capacity(report.findings.len());
    for (i, f) in report.findings.into_iter().enumerate() {
        total += f.code.len()
            + f.message.len()
            + f.path.as_ref().map_or(0, String::len)
            + f.suggested_fix.as_ref().map_or(0, String::len);
        if total > limits.max_report_bytes {
            break;
        }
        if !(1..=MAX_CODE_CHARS).contains(&f.code.chars().count()) {
            return Err(format!(
                "finding {i}: code is not 1-{MAX_CODE_CHARS} characters"
            ));
        }
        if !(1..=MAX_MESSAGE_CHARS).contains(&f.message.chars().count()) {
            return Err(format!(
                "finding {i}: message is not 1-{MAX_MESSAGE_CHARS} characters"
            ));
        }
        if f.path.as_ref().is_some_and(|p| p.len() > MAX_PATH_BYTES) {
            return Err(format!("finding {i}: path is over {MAX_PATH_BYTES} bytes"));
        }
        if nul(&f.code)
            || nul(&f.message)
            || f.path.as_deref().is_some_and(nul)
            || f.suggested_fix.as_deref().is_some_and(nul)
        {
            return Err(format!(
                "finding {i}: a text field contains a NUL character, which cannot be stored"
            ));
        }
        findings.push(f);
    }
    if total > limits.max_report_bytes {
        return Err(format!(
            "report text exceeds {} bytes",
            limits.max_report_bytes
        ));
    }
    Ok((findings, report.summary))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::canonical::AWKWARD;

    /// The definition: the canonical JSON of the document as a `serde_json::Value`.
    fn result_digest_by_value(request: &Digest, checker: &Digest, result: &RunResult) -> Digest {
        let outcome = match result {
            RunResult::Completed {
                verdict,
                findings,
                summary,
            } => json!({
                "status": "completed",
                "verdict": verdict,
                "findings": findings,
                "summary": summary,
            }),
            RunResult::InfrastructureFailed { code, .. } => json!({
                "status": "infrastructure_failed",
                "code": code,
            }),
        };
        let value = json!({
            "schema": "workstream.check_result.v1",
            "request_digest": request,
            "checker_digest": checker,
            "outcome": outcome,
        });
        Digest::of_canonical_json(&value).unwrap()
    }

    #[test]
    fn the_written_result_digest_is_the_canonical_json_digest() {
        let request = Digest::of_bytes(b"request");
        let checker = Digest::of_bytes(b"checker");
        let mut results = vec![RunResult::Completed {
            verdict: Verdict::Passed,
            findings: vec![],
            summary: None,
        }];
        for code in [
            FailureCode::DeadlineExceeded,
            FailureCode::CapacityExceeded,
            FailureCode::InvalidOutput,
            FailureCode::ImplementationUnavailable,
            FailureCode::MaterialUnavailable,
        ] {
            results.push(RunResult::failed(code, "detail \0 left out"));
        }
        for (i, text) in AWKWARD.iter().enumerate() {
            let findings: Vec<Finding> = (0..=i)
                .map(|j| Finding {
                    code: format!("code_{j}{text}"),
                    level: [Level::Info, Level::Warning, Level::Error][j % 3],
                    message: format!("{text} message"),
                    path: (j % 2 == 0).then(|| format!("outputs/{text}.md")),
                    line: (j % 3 != 1).then_some(u32::try_from(j).unwrap() * 7 + u32::MAX / 2),
                    suggested_fix: (j % 2 == 1).then(|| (*text).to_owned()),
                })
                .collect();
            results.push(RunResult::Completed {
                verdict: verdict_of(&findings),
                findings,
                summary: (i % 2 == 0).then(|| (*text).to_owned()),
            });
        }
        for result in &results {
            assert_eq!(
                result_digest(&request, &checker, result),
                result_digest_by_value(&request, &checker, result),
                "{result:?}"
            );
        }
    }

    fn finding(level: Level) -> Finding {
        Finding {
            code: "x".into(),
            level,
            message: "m".into(),
            path: None,
            line: None,
            suggested_fix: None,
        }
    }

    #[test]
    fn verdict_follows_the_highest_level() {
        assert_eq!(verdict_of(&[]), Verdict::Passed);
        assert_eq!(verdict_of(&[finding(Level::Info)]), Verdict::Passed);
        assert_eq!(
            verdict_of(&[finding(Level::Info), finding(Level::Warning)]),
            Verdict::Warning
        );
        assert_eq!(
            verdict_of(&[finding(Level::Error), finding(Level::Warning)]),
            Verdict::Failed
        );
    }

    #[test]
    fn failure_codes_serialize_to_their_stable_names() {
        for code in [
            FailureCode::DeadlineExceeded,
            FailureCode::CapacityExceeded,
            FailureCode::InvalidOutput,
            FailureCode::ImplementationUnavailable,
            FailureCode::MaterialUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn reports_breaking_the_field_rules_are_refused() {
        let limits = Limits::default();
        let report = |code: &str, message: &str, line| RawReport {
            findings: vec![Finding {
                code: code.into(),
                level: Level::Info,
                message: message.into(),
                path: None,
                line,
                suggested_fix: None,
            }],
            summary: None,
        };
        assert!(validate_report(report("ok_code", "fine", Some(3)), &limits).is_ok());
        assert!(validate_report(report(&"é".repeat(64), &"m".repeat(4096), None), &limits).is_ok());
        assert!(validate_report(report("", "fine", None), &limits).is_err());
        assert!(validate_report(report(&"a".repeat(65), "fine", None), &limits).is_err());
        assert!(validate_report(report("ok", "", None), &limits).is_err());
        assert!(validate_report(report("ok", &"m".repeat(4097), None), &limits).is_err());
        let small = Limits {
            max_report_bytes: 10,
            ..Limits::default()
        };
        assert!(validate_report(report("ok", "12345678", None), &small).is_ok());
        assert!(validate_report(report("ok", "123456789", None), &small).is_err());
        assert!(validate_report(report("ok", "a\0b", None), &limits).is_err());
        assert!(validate_report(report("o\0k", "fine", None), &limits).is_err());
        let summary = RawReport {
            findings: vec![],
            summary: Some("\0".into()),
        };
        assert!(validate_report(summary, &limits).is_err());
    }

    #[test]
    fn failure_details_are_storable() {
        let RunResult::InfrastructureFailed { detail, .. } =
            RunResult::failed(FailureCode::ImplementationUnavailable, "a\0b".repeat(4000))
        else {
            unreachable!()
        };
        assert!(!detail.contains('\0'));
        assert!(detail.len() <= MAX_DETAIL_BYTES);
    }
}
