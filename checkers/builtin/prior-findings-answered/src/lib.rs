//! `prior-findings-answered`: a revision answers each blocking finding.
//!
//! When a reviewer sends a packet back, each blocking finding needs its own
//! answer: what changed, where. "Fixed all" forces the reviewer to rediscover
//! the changes and hides the finding that was skipped, so an aggregate or
//! empty answer fails just like no answer. Only packets that are revisions
//! carry prior findings; for a first version this checker finds nothing.
//!
//! A response is vague when, lowercased with punctuation removed, it is one
//! of the platform's aggregate replies (`done`, `fixed`, `fixed all`,
//! `all done`, `addressed`, `see above`, `as requested`, ...) or a
//! configured one, or when it is shorter than `min_response_chars`.
//!
//! Answers are given when the packet is submitted, so they are judged in the
//! `post-submit` phase. Before submission (`pre-submit`) the checker only
//! reminds: one `info` finding per open finding, `prior_finding_to_answer`,
//! pointing at the evidence the reviewer cited (its path and line, contract
//! 0.2.0), so the contributor sees what the submission must answer while the
//! packet can still change.
//!
//! Codes after submission (all `error`, no path: a finding is about the
//! review, not a file): `prior_finding_unanswered`,
//! `prior_finding_response_vague`. Messages quote the finding id so the
//! contributor knows which answer to write.

use serde::Deserialize;
use workstream_checker_sdk::text::{collapse_whitespace, is_blank, words};
use workstream_checker_sdk::{
    CheckError, Checker, Context, Findings, Phase, PriorFinding, export_checker,
};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Fewest characters of a response.
    pub min_response_chars: usize,
    /// Further aggregate replies.
    pub vague_responses: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_response_chars: 10,
            vague_responses: Vec::new(),
        }
    }
}

/// Replies that do not say what was done, compared as lowercase words.
const VAGUE: &[&str] = &[
    "done",
    "all done",
    "done all",
    "fixed",
    "fixed all",
    "all fixed",
    "fixed everything",
    "fixed it",
    "fixed them",
    "fixed all issues",
    "fixed all comments",
    "all issues fixed",
    "addressed",
    "all addressed",
    "addressed all",
    "addressed all comments",
    "addressed all feedback",
    "all comments addressed",
    "all feedback addressed",
    "resolved",
    "all resolved",
    "updated",
    "changed",
    "corrected",
    "ok",
    "okay",
    "yes",
    "see above",
    "see changes",
    "see the changes",
    "see new version",
    "as requested",
    "done as requested",
    "same as above",
    "same",
    "n a",
    "na",
];

/// The checker.
pub struct PriorFindingsAnswered;

impl Checker for PriorFindingsAnswered {
    const NAME: &'static str = "prior-findings-answered";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "For a revision, checks that every blocking finding of the previous review \
        has its own specific response (not empty, not an aggregate such as \"fixed all\").";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        if ctx.phase() == Phase::PreSubmit {
            remind(ctx, out);
            return Ok(());
        }
        let extra: Vec<String> = config
            .vague_responses
            .iter()
            .map(|reply| words(reply).join(" "))
            .collect();
        let mut answered = 0;
        for finding in ctx.prior_findings() {
            let id = label(finding);
            match finding.response.as_deref() {
                None => unanswered(out, &id),
                Some(response) if is_blank(response) => unanswered(out, &id),
                Some(response) => {
                    let reply = words(response).join(" ");
                    let length = collapse_whitespace(response).chars().count();
                    if VAGUE.contains(&reply.as_str())
                        || extra.contains(&reply)
                        || length < config.min_response_chars
                    {
                        out.error(
                            "prior_finding_response_vague",
                            format!(
                                "The response to finding {id} does not say how it was addressed."
                            ),
                        )
                        .fix(fix(&id));
                    } else {
                        answered += 1;
                    }
                }
            }
        }
        if ctx.is_revision() {
            out.set_summary(format!(
                "{answered} of {} prior findings answered",
                ctx.prior_findings().len()
            ));
        }
        Ok(())
    }
}

/// Before submission: what the submission will have to answer, at the
/// evidence the reviewer cited.
fn remind(ctx: &Context, out: &mut Findings) {
    for finding in ctx.prior_findings() {
        let id = label(finding);
        let issue = finding.issue.trim();
        let mut reminder = out
            .info(
                "prior_finding_to_answer",
                format!("Finding {id} must be answered when you submit: {issue}"),
            )
            .fix(format!(
                "Make the change the reviewer asked for ({}) and describe it in your answer to {id}.",
                finding.required_fix.trim()
            ));
        if let Some(path) = &finding.path {
            reminder = reminder.path(path.clone());
            if let Some(line) = finding.line {
                reminder = reminder.line(line);
            }
        }
    }
    if ctx.is_revision() {
        out.set_summary(format!(
            "{} prior findings to answer on submission",
            ctx.prior_findings().len()
        ));
    }
}

/// How to name the finding: its id, and its area when there is one.
fn label(finding: &PriorFinding) -> String {
    let id = finding.finding_id.trim();
    let id = if id.is_empty() { "(no id)" } else { id };
    match finding.area.trim() {
        "" => id.to_owned(),
        area => format!("{id} ({area})"),
    }
}

fn unanswered(out: &mut Findings, id: &str) {
    out.error(
        "prior_finding_unanswered",
        format!("Finding {id} from the previous review has no response."),
    )
    .fix(fix(id));
}

fn fix(id: &str) -> String {
    format!(
        "Answer finding {id} on its own: say what you changed, where in the packet, and how it meets the required fix."
    )
}

export_checker!(PriorFindingsAnswered);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};
    use workstream_checker_sdk::{Report, run};

    fn check(input: InputBuilder) -> Report {
        let dir = TempDir::new();
        run::<PriorFindingsAnswered>(input.build(), dir.packet()).unwrap()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<PriorFindingsAnswered>(&[
            "{}",
            r#"{"min_response_chars": 30, "vague_responses": ["sorted"]}"#,
        ]);
    }

    #[test]
    fn first_versions_have_nothing_to_answer() {
        let report = check(InputBuilder::new());
        assert!(report.findings.is_empty());
        assert_eq!(report.summary, None);
    }

    #[test]
    fn every_finding_needs_a_specific_answer() {
        let input = InputBuilder::new()
            .prior_finding(
                "F-1",
                Some("Added the empty-input case to answer.md section 2 with a test."),
            )
            .prior_finding("F-2", None)
            .prior_finding("F-3", Some("  "))
            .prior_finding("F-4", Some("Fixed all!"))
            .prior_finding("F-5", Some("ok"))
            .prior_finding("F-6", Some("See above."));
        let report = check(input);
        assert_eq!(
            codes(&report),
            [
                "prior_finding_unanswered",
                "prior_finding_unanswered",
                "prior_finding_response_vague",
                "prior_finding_response_vague",
                "prior_finding_response_vague",
            ]
        );
        assert!(report.findings.iter().all(|finding| finding.path.is_none()));
        assert!(
            report.findings[0].message.contains("F-2 (answer.md)"),
            "{}",
            report.findings[0].message
        );
        assert_eq!(
            report.summary.as_deref(),
            Some("1 of 6 prior findings answered")
        );
    }

    #[test]
    fn before_submission_findings_are_reminders_at_their_evidence() {
        let input = InputBuilder::new()
            .phase(Phase::PreSubmit)
            .prior_finding("F-1", None)
            .prior_finding("F-2", None);
        let report = check(input);
        assert_eq!(
            codes(&report),
            ["prior_finding_to_answer", "prior_finding_to_answer"]
        );
        let first = &report.findings[0];
        assert_eq!(first.level, workstream_checker_sdk::Level::Info);
        assert_eq!(first.path.as_deref(), Some("answer.md"));
        assert_eq!(first.line, Some(1));
        assert!(
            first.message.contains("F-1 (answer.md)"),
            "{}",
            first.message
        );
        assert_eq!(
            report.summary.as_deref(),
            Some("2 prior findings to answer on submission")
        );
    }

    #[test]
    fn configured_vague_replies() {
        let input = InputBuilder::new()
            .prior_finding("F-1", Some("Sorted, thanks"))
            .config(r#"{"vague_responses": ["sorted thanks"]}"#);
        assert_eq!(codes(&check(input)), ["prior_finding_response_vague"]);
    }
}
