//! Guide policy bundles (`workstream_domain::policy::evaluate`) on arbitrary JSON.
//!
//! Never a panic; a refusal carries one of the gate's codes and at least one field
//! error; an effective bundle hashes, and is a fixed point: evaluating it again gives
//! the same bundle (merging the platform defaults into a merged bundle changes nothing).
use workstream_domain::policy::{evaluate, hash_bundle_value};

const CODES: [&str; 4] = [
    "policy_bundle_invalid",
    "review_policy_incomplete",
    "revision_policy_incomplete",
    "platform_default_weakened",
];

/// Checks one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let Ok(submitted) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    // Drafts store whatever was sent; hashing it must not panic either.
    let _ = hash_bundle_value(&submitted);
    match evaluate(Some(&submitted)) {
        Ok(effective) => {
            effective.hashes().expect("an effective bundle hashes");
            let value = effective.to_value();
            let again = evaluate(Some(&value)).expect("an effective bundle is valid");
            assert_eq!(again.to_value(), value, "evaluation is a fixed point");
        }
        Err(refusal) => {
            assert!(CODES.contains(&refusal.code.as_str()), "{}", refusal.code);
            assert!(
                !refusal.errors.is_empty(),
                "{} without errors",
                refusal.code
            );
        }
    }
}
