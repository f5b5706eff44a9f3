//! `acceptance-criteria-present`: the task can be reviewed at all.
//!
//! A reviewer judges a packet against the task's acceptance criteria. When
//! a task has none (removed after screening, or never written), any verdict
//! would be arbitrary, so the run fails. This is a defect of the task, not
//! of the packet: the message says so, and the policy routes it to the
//! project manager (upstream category `task_configuration`) rather than
//! back to the contributor.
//!
//! Codes (all `error`): `acceptance_criteria_missing`,
//! `acceptance_criteria_too_short`.

use serde::Deserialize;
use workstream_checker_sdk::text::collapse_whitespace;
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Fewest characters of criteria once whitespace is collapsed.
    pub min_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { min_chars: 1 }
    }
}

/// The checker.
pub struct AcceptanceCriteriaPresent;

impl Checker for AcceptanceCriteriaPresent {
    const NAME: &'static str = "acceptance-criteria-present";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that the task carries acceptance criteria to review the packet \
        against (a task setup check).";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let length = collapse_whitespace(ctx.acceptance_criteria())
            .chars()
            .count();
        if length == 0 {
            out.error(
                "acceptance_criteria_missing",
                "The task has no acceptance criteria, so the packet cannot be reviewed against them. This is a \
                 problem with the task's setup, not with your work.",
            )
            .fix("A project manager needs to add acceptance criteria to the task; no change to the packet is needed.");
        } else if length < config.min_chars {
            out.error(
                "acceptance_criteria_too_short",
                format!(
                    "The task's acceptance criteria have {length} characters; this project expects at least {}. \
                     This is a problem with the task's setup, not with your work.",
                    config.min_chars
                ),
            )
            .fix("A project manager needs to complete the task's acceptance criteria; no change to the packet is needed.");
        }
        Ok(())
    }
}

export_checker!(AcceptanceCriteriaPresent);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::run;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};

    fn check(criteria: &str, config: &str) -> Vec<String> {
        let dir = TempDir::new();
        let input = InputBuilder::new()
            .acceptance_criteria(criteria)
            .config(config)
            .build();
        let report = run::<AcceptanceCriteriaPresent>(input, dir.packet()).unwrap();
        codes(&report).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<AcceptanceCriteriaPresent>(&["{}", r#"{"min_chars": 30}"#]);
    }

    #[test]
    fn criteria_must_be_present() {
        assert!(check("- Parses the sample input\n- Has tests", "{}").is_empty());
        assert_eq!(check(" \n\t", "{}"), ["acceptance_criteria_missing"]);
        assert_eq!(
            check("TBD", r#"{"min_chars": 20}"#),
            ["acceptance_criteria_too_short"]
        );
    }
}
