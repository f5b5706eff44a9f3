//! Checker findings across versions: which are new, fixed or persisting.
//!
//! A worker who resubmits and a reviewer who reads version N both want to know what
//! changed since version N-1. A finding's identity must survive edits that move it,
//! so its fingerprint leaves the line number out: the checker's name, the finding's
//! code, its path and its message, hashed. Two findings with the same fingerprint in
//! one run count once.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::machines::checker_run::CheckerRunStatus;

use crate::CommandError;

/// One finding of a submission's current checker run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CheckerFinding {
    /// The checker that reported it.
    pub checker: String,
    /// The finding's stable code.
    pub code: String,
    /// `info`, `warning` or `error`.
    pub level: String,
    /// The contributor-safe message.
    pub message: String,
    /// The packet path it is about.
    pub path: Option<String>,
    /// The 1-based line within `path`.
    pub line: Option<u64>,
    /// How to fix it.
    pub suggested_fix: Option<String>,
    /// The result's severity under the policy.
    pub severity: String,
    /// Whether the result blocks review under the policy.
    pub blocks_review: bool,
    /// Stable across versions: checker, code, path and message, without the line.
    pub fingerprint: String,
}

/// The fingerprint of a finding (see the module docs).
pub fn fingerprint(checker: &str, code: &str, path: Option<&str>, message: &str) -> String {
    let digest = Digest::of_canonical_json(&json!({
        "checker": checker, "code": code, "path": path, "message": message,
    }))
    .expect("a JSON object of strings is canonical");
    format!("fp:{}", &digest.to_hex()[..24])
}

/// The findings of the current, final checker run of `submission_id` (empty when none).
pub async fn of_submission(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<Vec<CheckerFinding>, CommandError> {
    let rows = sqlx::query!(
        "SELECT r.checker_name, r.severity, r.blocks_review, r.findings FROM checker_results r \
         JOIN checker_runs c ON c.id = r.checker_run_id \
         WHERE c.submission_id = $1 AND c.is_current_for_submission AND c.status = $2 \
           AND r.contributor_visible \
         ORDER BY r.ordinal",
        submission_id,
        CheckerRunStatus::Completed.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .flat_map(|row| {
            findings_of(
                &row.checker_name,
                &row.severity,
                row.blocks_review,
                &row.findings,
            )
        })
        .collect())
}

/// One checker result's findings (its `findings` JSON, as `checker_results` stores it
/// and the sandbox reports it) as [`CheckerFinding`]s with their fingerprints: the one
/// flattening of a stored run's results ([`of_submission`]) and of a policy preview's
/// draft results (`crate::previews`), so both compare by identical fingerprints.
pub fn findings_of(
    checker: &str,
    severity: &str,
    blocks_review: bool,
    findings: &serde_json::Value,
) -> Vec<CheckerFinding> {
    findings
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let text = |k: &str| f[k].as_str().map(str::to_owned);
            let code = text("code").unwrap_or_default();
            let message = text("message").unwrap_or_default();
            let path = text("path");
            CheckerFinding {
                fingerprint: fingerprint(checker, &code, path.as_deref(), &message),
                checker: checker.to_owned(),
                code,
                level: text("level").unwrap_or_default(),
                message,
                path,
                line: f["line"].as_u64(),
                suggested_fix: text("suggested_fix"),
                severity: severity.to_owned(),
                blocks_review,
            }
        })
        .collect()
}

/// How the findings of one version compare with its predecessor's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FindingChanges {
    /// In this version only.
    pub new: Vec<CheckerFinding>,
    /// In both versions (shown as this version reports it).
    pub persisting: Vec<CheckerFinding>,
    /// In the predecessor only.
    pub fixed: Vec<CheckerFinding>,
}

/// Compares `current` with `prior` by fingerprint.
pub fn compare(prior: &[CheckerFinding], current: &[CheckerFinding]) -> FindingChanges {
    let index = |list: &[CheckerFinding]| -> BTreeMap<String, CheckerFinding> {
        list.iter()
            .map(|f| (f.fingerprint.clone(), f.clone()))
            .collect()
    };
    let (before, after) = (index(prior), index(current));
    let mut changes = FindingChanges::default();
    for (fp, f) in &after {
        if before.contains_key(fp) {
            changes.persisting.push(f.clone());
        } else {
            changes.new.push(f.clone());
        }
    }
    changes.fixed = before
        .into_iter()
        .filter(|(fp, _)| !after.contains_key(fp))
        .map(|(_, f)| f)
        .collect();
    changes
}

/// Compares `submission_id`'s current run with its predecessor version's; a first
/// version has only new findings.
pub async fn changes_since_predecessor(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<FindingChanges, CommandError> {
    let predecessor = sqlx::query_scalar!(
        "SELECT supersedes_submission_id FROM submissions WHERE id = $1",
        submission_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    let current = of_submission(conn, submission_id).await?;
    let prior = match predecessor {
        Some(p) => of_submission(conn, p).await?,
        None => Vec::new(),
    };
    Ok(compare(&prior, &current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &str, path: &str, line: u64, message: &str) -> CheckerFinding {
        CheckerFinding {
            checker: "required-files".into(),
            code: code.into(),
            level: "warning".into(),
            message: message.into(),
            path: Some(path.into()),
            line: Some(line),
            suggested_fix: None,
            severity: "medium".into(),
            blocks_review: false,
            fingerprint: fingerprint("required-files", code, Some(path), message),
        }
    }

    #[test]
    fn a_moved_finding_persists_and_the_others_are_new_or_fixed() {
        let v1 = [
            finding("todo_marker", "outputs/a.md", 3, "TODO left in the text"),
            finding("empty_file", "evidence/log.txt", 1, "the file is empty"),
        ];
        let v2 = [
            finding("todo_marker", "outputs/a.md", 9, "TODO left in the text"),
            finding("placeholder", "outputs/b.md", 2, "lorem ipsum"),
        ];
        let changes = compare(&v1, &v2);
        assert_eq!(changes.persisting.len(), 1);
        assert_eq!(changes.persisting[0].line, Some(9));
        assert_eq!(changes.new.len(), 1);
        assert_eq!(changes.new[0].code, "placeholder");
        assert_eq!(changes.fixed.len(), 1);
        assert_eq!(changes.fixed[0].code, "empty_file");
    }

    #[test]
    fn the_fingerprint_ignores_the_line_but_not_the_path() {
        let a = fingerprint("c", "x", Some("a.md"), "m");
        assert_eq!(a, fingerprint("c", "x", Some("a.md"), "m"));
        assert_ne!(a, fingerprint("c", "x", Some("b.md"), "m"));
        assert_ne!(a, fingerprint("c", "y", Some("a.md"), "m"));
    }
}
