//! Collecting findings into a report the host will accept.
//!
//! The host rejects a whole report (`invalid_output`) that breaks its
//! limits: too many findings, an empty or overlong message, an overlong
//! path. A checker that finds a thousand problems should still produce a
//! report, so [`Findings`] enforces the limits as findings are added:
//! texts are clipped, and past [`Findings::limit`] findings are counted
//! instead of kept and summed up in one last finding whose level is the
//! highest level dropped (so truncation never changes the verdict).

use crate::bindings::{Finding, Level, Report};
use crate::text::truncate_chars;

/// Findings kept by default; the host accepts at most 256 and caps the
/// report's bytes, so this leaves room for long messages.
pub const DEFAULT_LIMIT: usize = 100;
/// Longest message kept, in characters (the host's limit is 4096).
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest suggested fix kept, in characters.
pub const MAX_FIX_CHARS: usize = 1000;
/// Longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Longest path kept, in bytes (the host's limit is 1000). A longer path is
/// left out of the finding rather than clipped into a different path.
pub const MAX_PATH_BYTES: usize = 1000;
/// Code of the finding that stands for findings dropped over the limit.
pub const TRUNCATED_CODE: &str = "findings_truncated";

/// The findings of one run, in the order they were added.
#[derive(Debug, Clone)]
pub struct Findings {
    kept: Vec<Finding>,
    limit: usize,
    dropped: usize,
    dropped_level: Option<Level>,
    summary: Option<String>,
}

impl Default for Findings {
    fn default() -> Self {
        Self::new()
    }
}

impl Findings {
    /// An empty collection keeping up to [`DEFAULT_LIMIT`] findings.
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_LIMIT)
    }

    /// An empty collection keeping up to `limit` findings (at least one).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            kept: Vec::new(),
            limit: limit.max(1),
            dropped: 0,
            dropped_level: None,
            summary: None,
        }
    }

    /// How many findings are kept before the rest are only counted.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Adds an `error` finding: the packet fails this check.
    pub fn error(&mut self, code: &str, message: impl Into<String>) -> FindingMut<'_> {
        self.push(Level::Error, code, message)
    }

    /// Adds a `warning` finding: worth a reviewer's attention.
    pub fn warning(&mut self, code: &str, message: impl Into<String>) -> FindingMut<'_> {
        self.push(Level::Warning, code, message)
    }

    /// Adds an `info` finding: a neutral observation.
    pub fn info(&mut self, code: &str, message: impl Into<String>) -> FindingMut<'_> {
        self.push(Level::Info, code, message)
    }

    /// Adds a finding of any level. `code` should be snake_case
    /// (`[a-z0-9_]`, starting with a letter); `message` should not be empty
    /// (an empty one is replaced by the code so the report stays valid).
    pub fn push(&mut self, level: Level, code: &str, message: impl Into<String>) -> FindingMut<'_> {
        debug_assert!(is_code(code), "finding code {code:?} is not snake_case");
        if self.kept.len() >= self.limit {
            self.dropped += 1;
            self.dropped_level = Some(self.dropped_level.map_or(level, |seen| seen.max(level)));
            return FindingMut(None);
        }
        let mut message = message.into();
        if message.trim().is_empty() {
            message = code.to_owned();
        }
        self.kept.push(Finding {
            code: code.to_owned(),
            level,
            message: truncate_chars(&message, MAX_MESSAGE_CHARS),
            path: None,
            line: None,
            suggested_fix: None,
        });
        FindingMut(self.kept.last_mut())
    }

    /// Sets the report's one-line summary.
    pub fn set_summary(&mut self, summary: impl Into<String>) {
        self.summary = Some(truncate_chars(&summary.into(), MAX_SUMMARY_CHARS));
    }

    /// The findings kept so far.
    pub fn as_slice(&self) -> &[Finding] {
        &self.kept
    }

    /// Number of findings added, kept or not.
    pub fn len(&self) -> usize {
        self.kept.len() + self.dropped
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when some finding added, kept or not, is an error: the run
    /// will fail.
    pub fn has_errors(&self) -> bool {
        self.dropped_level == Some(Level::Error)
            || self.kept.iter().any(|f| f.level == Level::Error)
    }

    /// The report to return from `check`.
    pub fn into_report(mut self) -> Report {
        if let Some(level) = self.dropped_level {
            self.kept.push(Finding {
                code: TRUNCATED_CODE.to_owned(),
                level,
                message: format!(
                    "{} more findings were not listed; fix the ones above and check again to see the rest.",
                    self.dropped
                ),
                path: None,
                line: None,
                suggested_fix: None,
            });
        }
        Report {
            findings: self.kept,
            summary: self.summary,
        }
    }
}

/// Access to a finding just added, to attach a location and a fix.
/// Does nothing when the finding was dropped over the limit. The finding
/// is already recorded: dropping this handle is fine.
pub struct FindingMut<'a>(Option<&'a mut Finding>);

impl FindingMut<'_> {
    /// The packet path the finding is about. Paths longer than
    /// [`MAX_PATH_BYTES`] are left out rather than clipped.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        if let Some(finding) = self.0.as_deref_mut() {
            let path = path.into();
            finding.path = (!path.is_empty() && path.len() <= MAX_PATH_BYTES).then_some(path);
        }
        self
    }

    /// The 1-based line within the path the finding is about.
    pub fn line(mut self, line: u32) -> Self {
        if let Some(finding) = self.0.as_deref_mut() {
            finding.line = (line > 0).then_some(line);
        }
        self
    }

    /// A concrete change that resolves the finding.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        if let Some(finding) = self.0.as_deref_mut() {
            let fix = fix.into();
            finding.suggested_fix =
                (!fix.trim().is_empty()).then(|| truncate_chars(&fix, MAX_FIX_CHARS));
        }
        self
    }
}

/// True for a well-formed finding code: snake_case, 1-64 characters.
pub fn is_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_findings_with_locations() {
        let mut findings = Findings::new();
        findings
            .error("file_missing", "README.md is missing")
            .path("README.md")
            .fix("Add it.");
        findings
            .warning("todo_left", "A TODO is left")
            .path("a.md")
            .line(3);
        findings.info("note", "fine");
        assert!(findings.has_errors());
        assert_eq!(findings.len(), 3);
        let report = findings.into_report();
        assert_eq!(report.findings.len(), 3);
        let first = &report.findings[0];
        assert_eq!(first.code, "file_missing");
        assert_eq!(first.level, Level::Error);
        assert_eq!(first.path.as_deref(), Some("README.md"));
        assert_eq!(first.suggested_fix.as_deref(), Some("Add it."));
        assert_eq!(report.findings[1].line, Some(3));
        assert!(report.summary.is_none());
    }

    #[test]
    fn truncation_keeps_the_verdict() {
        let mut findings = Findings::with_limit(2);
        findings.warning("w", "one");
        findings.warning("w", "two");
        findings.error("e", "three").path("ignored");
        findings.info("i", "four");
        assert_eq!(findings.len(), 4);
        assert!(findings.has_errors());
        let report = findings.into_report();
        assert_eq!(report.findings.len(), 3);
        let last = report.findings.last().unwrap();
        assert_eq!(last.code, TRUNCATED_CODE);
        assert_eq!(
            last.level,
            Level::Error,
            "a dropped error still fails the run"
        );
        assert!(last.message.starts_with("2 more"));
    }

    #[test]
    fn texts_are_kept_within_limits() {
        let mut findings = Findings::new();
        findings
            .error("long", "x".repeat(10_000))
            .path("p".repeat(2_000))
            .line(0)
            .fix("   ");
        findings.error("empty", " ");
        findings.set_summary("s".repeat(5_000));
        let report = findings.into_report();
        let long = &report.findings[0];
        assert_eq!(long.message.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(long.path, None);
        assert_eq!(long.line, None);
        assert_eq!(long.suggested_fix, None);
        assert_eq!(report.findings[1].message, "empty");
        assert_eq!(report.summary.unwrap().chars().count(), MAX_SUMMARY_CHARS);
    }

    #[test]
    fn codes_are_snake_case() {
        assert!(is_code("required_file_missing"));
        assert!(is_code("a1"));
        assert!(!is_code(""));
        assert!(!is_code("Required"));
        assert!(!is_code("kebab-case"));
        assert!(!is_code("_leading"));
        assert!(!is_code(&"a".repeat(65)));
    }
}
