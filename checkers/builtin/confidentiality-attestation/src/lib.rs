//! `confidentiality-attestation`: the contributor vouched for the right
//! things, in words.
//!
//! An attestation is only worth storing if it says what the platform needs
//! vouched for: that the packet carries no confidential or private data, no
//! credentials, and no copied source material. The rule (upstream
//! `check_confidentiality_attestation`) works on the attestation lowercased
//! with whitespace collapsed:
//! 1. at least `min_chars` (40) characters, and not a stock reply such as
//!    `ok`, `done`, `yes`, `i agree`, `confirmed`;
//! 2. mentions confidentiality (`confidential`, `private`, `client data`,
//!    `proprietary`), credentials (`credential`, `secret`, `token`,
//!    `password`, `api key`) and source material (`source material`,
//!    `source code`, `platform artifact`, `copied artifact`,
//!    `copied platform`); these match inside longer words
//!    (`confidentiality`, `tokens`) and across punctuation (`API-key`);
//! 3. contains every project term in `required_terms`, compared as word
//!    sequences after dropping `a an and for of the exclusion`.
//!
//! All problems are reported at once so that one edit fixes them.
//! Codes (all `error`): `attestation_missing`, `attestation_stock_reply`,
//! `attestation_too_short`, `attestation_confidentiality_missing`,
//! `attestation_credentials_missing`, `attestation_source_missing`,
//! `attestation_term_missing` (one per missing project term).

use serde::Deserialize;
use workstream_checker_sdk::text::{collapse_whitespace, contains_words, is_blank, words};
use workstream_checker_sdk::{CheckError, Checker, Context, Findings, export_checker};

/// Configuration; see `config.schema.json`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Project terms the attestation must contain.
    pub required_terms: Vec<String>,
    /// Fewest characters once whitespace is collapsed.
    pub min_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            required_terms: Vec::new(),
            min_chars: 40,
        }
    }
}

/// Replies that acknowledge without attesting anything.
const STOCK_REPLIES: &[&str] = &[
    "ok",
    "okay",
    "done",
    "yes",
    "y",
    "i agree",
    "agree",
    "agreed",
    "confirmed",
    "i confirm",
    "accepted",
    "true",
];

/// The topics every attestation must cover: code, what to call it, terms.
const TOPICS: &[(&str, &str, &[&str])] = &[
    (
        "attestation_confidentiality_missing",
        "confidential or private data",
        &["confidential", "private", "client data", "proprietary"],
    ),
    (
        "attestation_credentials_missing",
        "credentials (passwords, tokens, API keys, secrets)",
        &["credential", "secret", "token", "password", "api key"],
    ),
    (
        "attestation_source_missing",
        "copied source material (source code or platform artifacts)",
        &[
            "source material",
            "source code",
            "platform artifact",
            "copied artifact",
            "copied platform",
        ],
    ),
];

/// Words that project terms and attestations are compared without.
const IGNORED_WORDS: &[&str] = &["a", "an", "and", "for", "of", "the", "exclusion"];

/// The checker.
pub struct ConfidentialityAttestation;

impl Checker for ConfidentialityAttestation {
    const NAME: &'static str = "confidentiality-attestation";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Checks that the attestation states, in at least 40 characters, that the \
        packet holds no confidential data, credentials or copied source material, and contains the project's \
        required terms.";
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");
    type Config = Config;

    fn check(ctx: &Context, config: &Config, out: &mut Findings) -> Result<(), CheckError> {
        let attestation = ctx.attestation();
        if is_blank(attestation) {
            out.error("attestation_missing", "The packet has no attestation.")
                .fix(example_fix());
            return Ok(());
        }
        let collapsed = collapse_whitespace(&attestation.to_lowercase());
        let bare = words(&collapsed).join(" ");
        if STOCK_REPLIES.contains(&bare.as_str()) {
            out.error(
                "attestation_stock_reply",
                "The attestation is a one-word acknowledgement; it has to state what you are vouching for.",
            )
            .fix(example_fix());
            return Ok(());
        }
        let length = collapsed.chars().count();
        if length < config.min_chars {
            out.error(
                "attestation_too_short",
                format!(
                    "The attestation has {length} characters; it needs at least {}.",
                    config.min_chars
                ),
            )
            .fix(example_fix());
        }

        // Punctuation becomes spaces so that "API-key" reads as "api key".
        for (code, topic, terms) in TOPICS {
            if !terms.iter().any(|term| bare.contains(term)) {
                out.error(code, format!("The attestation does not mention {topic}."))
                    .fix(format!(
                        "Add a sentence stating that the packet contains no {topic}."
                    ));
            }
        }

        let attested = significant_words(attestation);
        for term in &config.required_terms {
            if !contains_words(&attested, &significant_words(term)) {
                out.error(
                    "attestation_term_missing",
                    format!("The attestation does not contain the term \"{}\" that this project requires.", term.trim()),
                )
                .fix(format!("Add a statement that uses the words \"{}\".", term.trim()));
            }
        }
        Ok(())
    }
}

fn significant_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|word| !IGNORED_WORDS.contains(&word.as_str()))
        .collect()
}

fn example_fix() -> &'static str {
    "Write the attestation in your own words, for example: \"This packet contains no confidential or private \
     client data, no credentials such as passwords, tokens or API keys, and no copied source code or platform \
     artifacts.\""
}

export_checker!(ConfidentialityAttestation);

#[cfg(test)]
mod tests {
    use super::*;
    use workstream_checker_sdk::run;
    use workstream_checker_sdk::testing::{InputBuilder, TempDir, assert_config_schema, codes};

    const GOOD: &str = "I confirm this packet contains no confidential client data, no credentials or API keys, \
                        and no copied source code.";

    fn check(attestation: &str, config: &str) -> Vec<String> {
        let dir = TempDir::new();
        let input = InputBuilder::new()
            .attestation(attestation)
            .config(config)
            .build();
        let report = run::<ConfidentialityAttestation>(input, dir.packet()).unwrap();
        codes(&report).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn schema_matches_config() {
        assert_config_schema::<ConfidentialityAttestation>(&[
            "{}",
            r#"{"required_terms": ["client PII"], "min_chars": 80}"#,
        ]);
    }

    #[test]
    fn complete_attestation_passes() {
        assert!(check(GOOD, "{}").is_empty());
        let variant =
            "Nothing PROPRIETARY here;   no secrets / tokens; no copied platform artifacts at all.";
        assert!(check(variant, "{}").is_empty());
    }

    #[test]
    fn missing_and_stock_replies() {
        assert_eq!(check("  ", "{}"), ["attestation_missing"]);
        assert_eq!(check("I agree.", "{}"), ["attestation_stock_reply"]);
        assert_eq!(check("Done!", "{}"), ["attestation_stock_reply"]);
    }

    #[test]
    fn short_attestations_fail_even_when_on_topic() {
        assert_eq!(
            check("private; no token; source code", "{}"),
            ["attestation_too_short"]
        );
    }

    #[test]
    fn each_topic_is_required() {
        let only_confidential =
            "This packet contains no confidential data of any kind whatsoever, I promise.";
        assert_eq!(
            check(only_confidential, "{}"),
            [
                "attestation_credentials_missing",
                "attestation_source_missing"
            ]
        );
        let hyphenated =
            "No private data, no API-keys and no source-code copied from anywhere else.";
        assert!(check(hyphenated, "{}").is_empty());
    }

    #[test]
    fn project_terms_match_as_normalized_words() {
        let config = r#"{"required_terms": ["client PII", "the export-control rules", "HIPAA"]}"#;
        let text = format!("{GOOD} No client-PII is included and I followed export control rules.");
        assert_eq!(check(&text, config), ["attestation_term_missing"]);
        let text = format!("{GOOD} No client PII; export control rules followed; HIPAA respected.");
        assert!(check(&text, config).is_empty());
    }
}
