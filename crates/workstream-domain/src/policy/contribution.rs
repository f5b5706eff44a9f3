//! The terms of a contribution policy version: one rule per contribution type, each
//! unpaid or compensated with at most one money and at most one points award
//! (docs/rules.md).
//!
//! Terms arrive as JSON (`{"rules": [...]}`), are checked against
//! `policies/contribution-policy.schema.json`, then against the rules a schema cannot
//! say, each failure with a stable code and a JSON Pointer. Quantities are parsed with
//! [`Quantity`], so `1e3`, `-1`, `0`, `+1` and 19 fractional digits are refused, never
//! rounded. Whether a unit is enabled for the project and a binding belongs to it is
//! the store's check.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::contribution::{CompensationMode, ContributionType, InstrumentType};
use crate::currency::CurrencyCode;
use crate::quantity::Quantity;

use super::schema::{FieldError, validate_contribution_terms};

/// A version's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContributionTerms {
    /// At most one rule per contribution type.
    pub rules: Vec<RuleTerms>,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTerms {
    /// What it credits.
    pub contribution_type: ContributionType,
    /// Unpaid or compensated.
    pub compensation_mode: CompensationMode,
    /// The awards (none when unpaid; one or two, one per instrument, when compensated).
    pub definitions: Vec<DefinitionTerms>,
}

/// One award definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefinitionTerms {
    /// Money or project points.
    pub instrument_type: InstrumentType,
    /// An ISO 4217 code (money) or a project points unit.
    pub unit_code: String,
    /// The fixed exact quantity.
    pub quantity: Quantity,
    /// The adapter binding that delivers it.
    pub adapter_binding_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerms {
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    contribution_type: ContributionType,
    compensation_mode: CompensationMode,
    definitions: Vec<RawDefinition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    instrument_type: InstrumentType,
    unit_code: String,
    quantity: String,
    adapter_binding_id: String,
}

/// Parses and checks terms; every problem is reported, each with its code.
pub fn parse_terms(value: &Value) -> Result<ContributionTerms, Vec<FieldError>> {
    let schema_errors = validate_contribution_terms(value);
    if !schema_errors.is_empty() {
        return Err(schema_errors);
    }
    let raw: RawTerms = serde_json::from_value(value.clone())
        .map_err(|err| vec![FieldError::new("", err.to_string())])?;
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    for (r, rule) in raw.rules.into_iter().enumerate() {
        let at = format!("/rules/{r}");
        if rules
            .iter()
            .any(|seen: &RuleTerms| seen.contribution_type == rule.contribution_type)
        {
            errors.push(FieldError::coded(
                format!("{at}/contribution_type"),
                "contribution_rule_duplicate",
                format!(
                    "there is already a rule for {}",
                    rule.contribution_type.as_str()
                ),
            ));
        }
        match rule.compensation_mode {
            CompensationMode::Unpaid if !rule.definitions.is_empty() => {
                errors.push(FieldError::coded(
                    format!("{at}/definitions"),
                    "unpaid_rule_has_definitions",
                    "an unpaid rule has no award definitions",
                ))
            }
            CompensationMode::Compensated if rule.definitions.is_empty() => {
                errors.push(FieldError::coded(
                    format!("{at}/definitions"),
                    "compensated_rule_without_definitions",
                    "a compensated rule needs one money or one project_points definition, or both",
                ))
            }
            _ => {}
        }
        let mut definitions: Vec<DefinitionTerms> = Vec::new();
        for (d, definition) in rule.definitions.into_iter().enumerate() {
            let at = format!("{at}/definitions/{d}");
            if definitions
                .iter()
                .any(|seen| seen.instrument_type == definition.instrument_type)
            {
                errors.push(FieldError::coded(
                    format!("{at}/instrument_type"),
                    "duplicate_instrument_definition",
                    format!(
                        "a rule has at most one {} definition",
                        definition.instrument_type.as_str()
                    ),
                ));
            }
            let quantity = definition
                .quantity
                .parse::<Quantity>()
                .and_then(|q| definition.instrument_type.check_quantity(q));
            let quantity = match quantity {
                Ok(q) => Some(q),
                Err(err) => {
                    errors.push(FieldError::coded(
                        format!("{at}/quantity"),
                        err.code().as_str(),
                        err.to_string(),
                    ));
                    None
                }
            };
            if definition.instrument_type == InstrumentType::Money
                && let Err(err) = definition.unit_code.parse::<CurrencyCode>()
            {
                errors.push(FieldError::coded(
                    format!("{at}/unit_code"),
                    err.code().as_str(),
                    err.to_string(),
                ));
            }
            let binding = match Uuid::parse_str(&definition.adapter_binding_id) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::coded(
                        format!("{at}/adapter_binding_id"),
                        "malformed_id",
                        "the adapter binding id is not a UUID",
                    ));
                    None
                }
            };
            if let (Some(quantity), Some(adapter_binding_id)) = (quantity, binding) {
                definitions.push(DefinitionTerms {
                    instrument_type: definition.instrument_type,
                    unit_code: definition.unit_code,
                    quantity,
                    adapter_binding_id,
                });
            }
        }
        rules.push(RuleTerms {
            contribution_type: rule.contribution_type,
            compensation_mode: rule.compensation_mode,
            definitions,
        });
    }
    if errors.is_empty() {
        Ok(ContributionTerms { rules })
    } else {
        Err(errors)
    }
}

impl ContributionTerms {
    /// The terms as JSON, in the request's shape (quantities as written).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("terms always serialize")
    }

    /// Whether there is a rule for every contribution type (needed to publish).
    pub fn is_complete(&self) -> bool {
        [
            ContributionType::AcceptedSubmission,
            ContributionType::CompletedReview,
        ]
        .iter()
        .all(|t| self.rules.iter().any(|r| r.contribution_type == *t))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn terms(quantity: &str) -> Value {
        json!({"rules": [{
            "contribution_type": "accepted_submission",
            "compensation_mode": "compensated",
            "definitions": [{
                "instrument_type": "money", "unit_code": "USD", "quantity": quantity,
                "adapter_binding_id": "0190a0b0-0000-7000-8000-000000000001"
            }]
        }]})
    }

    fn codes(value: &Value) -> Vec<&'static str> {
        parse_terms(value)
            .unwrap_err()
            .iter()
            .filter_map(|e| e.code)
            .collect()
    }

    #[test]
    fn quantities_are_exact_decimals() {
        assert!(parse_terms(&terms("12.50")).is_ok());
        assert_eq!(codes(&terms("1e3")), ["quantity_exponent_not_allowed"]);
        assert_eq!(codes(&terms("-1")), ["quantity_not_positive"]);
        assert_eq!(codes(&terms("0")), ["quantity_not_positive"]);
        assert_eq!(codes(&terms("+1")), ["quantity_sign_not_allowed"]);
        assert_eq!(
            codes(&terms("1.0000000000000000001")),
            ["quantity_too_precise"]
        );
    }

    #[test]
    fn rule_shapes() {
        let two_money = json!({"rules": [{
        "contribution_type": "accepted_submission", "compensation_mode": "compensated",
        "definitions": [
            {"instrument_type": "money", "unit_code": "USD", "quantity": "1", "adapter_binding_id": "0190a0b0-0000-7000-8000-000000000001"},
            {"instrument_type": "money", "unit_code": "EUR", "quantity": "1", "adapter_binding_id": "0190a0b0-0000-7000-8000-000000000001"}
        ]}]});
        assert_eq!(codes(&two_money), ["duplicate_instrument_definition"]);
        let unpaid = json!({"rules": [{
            "contribution_type": "completed_review", "compensation_mode": "unpaid",
            "definitions": [{"instrument_type": "project_points", "unit_code": "pts", "quantity": "1.5", "adapter_binding_id": "0190a0b0-0000-7000-8000-000000000001"}]}]});
        assert_eq!(
            codes(&unpaid),
            ["unpaid_rule_has_definitions", "quantity_not_whole"]
        );
        let twice = json!({"rules": [
            {"contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": []},
            {"contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": []}]});
        assert_eq!(codes(&twice), ["contribution_rule_duplicate"]);
        let ok = json!({"rules": [
            {"contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": []},
            {"contribution_type": "accepted_submission", "compensation_mode": "unpaid", "definitions": []}]});
        assert!(parse_terms(&ok).unwrap().is_complete());
    }
}
