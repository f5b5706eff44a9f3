//! The checker's configuration: a JSON object chosen by the task's policy.
//!
//! The host validates the configuration against the checker's schema before
//! a run, so a parse failure here means the schema and the Rust type
//! disagree, or the host skipped validation. Either way the run cannot be
//! evaluated, which is why this is an error and never a finding.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::glob::{Glob, GlobError};

/// The configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error about the option named `field`.
    pub fn invalid(field: &str, problem: impl fmt::Display) -> Self {
        Self(format!(
            "invalid checker configuration: `{field}`: {problem}"
        ))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Parses configuration JSON into `T`.
///
/// Blank text counts as `{}` (all defaults): the contract says the host
/// passes `{}` when a policy gives no configuration, and being lenient here
/// costs nothing. Anything other than a JSON object is rejected.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, ConfigError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|err| ConfigError(format!("invalid checker configuration: not JSON: {err}")))?;
    if !value.is_object() {
        return Err(ConfigError(
            "invalid checker configuration: expected a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value)
        .map_err(|err| ConfigError(format!("invalid checker configuration: {err}")))
}

/// Compiles the glob patterns of option `field`, naming the option and the
/// pattern in the error.
pub fn globs(
    field: &str,
    patterns: &[String],
    case_insensitive: bool,
) -> Result<Vec<Glob>, ConfigError> {
    patterns
        .iter()
        .map(|pattern| {
            Glob::new(pattern)
                .map(|glob| glob.case_insensitive(case_insensitive))
                .map_err(|err: GlobError| ConfigError::invalid(field, err))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Sample {
        limit: u32,
        names: Vec<String>,
    }

    #[test]
    fn blank_means_defaults() {
        assert_eq!(parse::<Sample>("").unwrap(), Sample::default());
        assert_eq!(parse::<Sample>("  \n").unwrap(), Sample::default());
        assert_eq!(parse::<Sample>("{}").unwrap(), Sample::default());
    }

    #[test]
    fn fields_are_read() {
        let sample: Sample = parse(r#"{"limit": 3, "names": ["a"]}"#).unwrap();
        assert_eq!(sample.limit, 3);
        assert_eq!(sample.names, vec!["a".to_owned()]);
    }

    #[test]
    fn unknown_fields_and_non_objects_are_errors() {
        assert!(parse::<Sample>(r#"{"limt": 3}"#).is_err());
        assert!(parse::<Sample>("[]").is_err());
        assert!(parse::<Sample>("not json").is_err());
    }

    #[test]
    fn globs_name_the_option() {
        let err = globs("paths", &["a/***".to_owned()], false).unwrap_err();
        assert!(err.to_string().contains("`paths`"), "{err}");
        assert_eq!(
            globs("paths", &["*.md".to_owned()], false).unwrap().len(),
            1
        );
    }
}
