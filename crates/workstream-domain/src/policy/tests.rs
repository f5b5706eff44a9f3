//! Unit tests of evaluation, merge, defects and hashing.

use serde_json::{Value, json};

use super::*;

/// A complete, valid project bundle.
pub(crate) fn sample() -> Value {
    json!({
        "artifact_policy": {
            "required_artifacts": [{"key": "answer", "path": "outputs/final-answer.md", "required": true}],
            "required_evidence": [{"key": "tests", "label": "Test output", "required": true}],
            "forbidden_artifacts": [{"pattern": "*.sqlite", "reason": "No databases."}],
            "attestation_terms": ["no client data"],
            "artifact_hash_required": true,
            "maximum_file_size_bytes": 10485760
        },
        "checker_policy": {
            "checkers": [
                {"name": "required-files", "phase": "both", "configuration": {"allow_empty": false}, "blocking": true, "severity": "high"},
                {"name": "acceptance-criteria-present", "phase": "pre_submit", "configuration": {}, "blocking": true, "severity": "high"}
            ],
            "blocking_severities": ["critical", "high", "medium"]
        },
        "review_policy": {
            "review_preference_window_seconds": 3600,
            "review_lease_duration_seconds": 7200,
            "max_active_review_leases_per_reviewer": 1,
            "self_review_allowed": false,
            "reject_policy": "close_task",
            "finding_evidence_requirement": "required_for_blocking",
            "allowed_decisions": ["accept", "needs_revision", "reject"],
            "minimum_finding_fields": ["severity", "message"],
            "human_review_required": true,
            "requires_second_review": false
        },
        "revision_policy": {
            "max_revision_rounds": 3,
            "revision_deadline_hours": 72,
            "allowed_resubmission_states": ["needs_revision"],
            "reviewer_reassignment_rule": "prefer_previous_reviewer"
        }
    })
}

fn refusal(bundle: &Value) -> BundleRefusal {
    evaluate(Some(bundle)).expect_err("the bundle must be refused")
}

fn defect_codes(refusal: &BundleRefusal) -> Vec<&'static str> {
    refusal.errors.iter().filter_map(|e| e.code).collect()
}

#[test]
fn a_complete_bundle_merges_with_the_defaults() {
    let effective = evaluate(Some(&sample())).unwrap();
    let artifacts = &effective.artifact_policy;
    // AS05: the smaller project limit wins, the defaults are all still present.
    assert_eq!(artifacts.maximum_file_size_bytes, Some(10 * 1024 * 1024));
    assert_eq!(
        artifacts.maximum_package_size_bytes,
        Some(100 * 1024 * 1024)
    );
    assert_eq!(artifacts.artifact_hash_required, Some(true));
    assert_eq!(artifacts.manifest_required, Some(true));
    assert_eq!(
        artifacts.artifact_hash_algorithm,
        Some(HashAlgorithm::Sha256)
    );
    let patterns: Vec<&str> = artifacts
        .forbidden_artifacts
        .iter()
        .map(|f| f.pattern.as_str())
        .collect();
    for default in [".env", ".git/", "*.pem", "*.key", "id_rsa*"] {
        assert!(patterns.contains(&default), "{default} missing");
    }
    assert_eq!(patterns.last(), Some(&"*.sqlite"));
    // Defaults first in their order, the project's own checker last.
    let names: Vec<&str> = effective
        .checker_policy
        .checkers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "packet-fields",
            "evidence-integrity",
            "forbidden-files",
            "required-files",
            "evidence-present",
            "confidentiality-attestation",
            "placeholder-signal",
            "acceptance-criteria-present"
        ]
    );
    assert_eq!(
        effective.checker_policy.blocking_severities,
        [Severity::Critical, Severity::High, Severity::Medium]
    );
    // Derived configuration: the checkers enforce the artifact policy.
    let required_files = &effective.checker_policy.checkers[3].configuration;
    assert_eq!(required_files["paths"], json!(["outputs/final-answer.md"]));
    assert_eq!(required_files["allow_empty"], json!(false));
    let attestation = &effective.checker_policy.checkers[5].configuration;
    assert_eq!(attestation["required_terms"], json!(["no client data"]));
}

#[test]
fn a_missing_bundle_or_bad_field_is_invalid_with_paths() {
    assert_eq!(evaluate(None).unwrap_err().code, "policy_bundle_invalid");
    let mut bundle = sample();
    bundle["artifact_policy"]["maximum_package_size_bytes"] = json!(-5);
    bundle["checker_policy"]["checkers"][0]["phase"] = json!("sometimes");
    let refused = refusal(&bundle);
    assert_eq!(refused.code, "policy_bundle_invalid");
    let paths: Vec<&str> = refused.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(
        paths.contains(&"/artifact_policy/maximum_package_size_bytes"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/checker_policy/checkers/0/phase"),
        "{paths:?}"
    );
}

#[test]
fn review_and_revision_policies_must_be_complete() {
    let mut bundle = sample();
    bundle.as_object_mut().unwrap().remove("review_policy");
    assert_eq!(refusal(&bundle).code, "review_policy_incomplete");
    let mut bundle = sample();
    bundle["review_policy"]
        .as_object_mut()
        .unwrap()
        .remove("review_lease_duration_seconds");
    assert_eq!(refusal(&bundle).code, "review_policy_incomplete");
    let mut bundle = sample();
    bundle["review_policy"]["self_review_allowed"] = json!(true);
    assert_eq!(refusal(&bundle).code, "review_policy_incomplete");
    let mut bundle = sample();
    bundle["revision_policy"]["max_revision_rounds"] = json!(0);
    let refused = refusal(&bundle);
    assert_eq!(refused.code, "revision_policy_incomplete");
    assert_eq!(
        refused.errors[0].path,
        "/revision_policy/max_revision_rounds"
    );
    let mut bundle = sample();
    bundle.as_object_mut().unwrap().remove("revision_policy");
    assert_eq!(refusal(&bundle).code, "revision_policy_incomplete");
}

#[test]
fn removing_the_hash_requirement_is_a_weakening() {
    let mut bundle = sample();
    bundle["artifact_policy"]["artifact_hash_required"] = json!(false);
    let refused = refusal(&bundle);
    assert_eq!(refused.code, "platform_default_weakened");
    assert_eq!(
        defect_codes(&refused),
        [merge::ARTIFACT_HASH_REQUIREMENT_REMOVED]
    );
    assert_eq!(
        refused.errors[0].path,
        "/artifact_policy/artifact_hash_required"
    );
}

#[test]
fn requiring_a_default_forbidden_file_is_a_weakening() {
    let mut bundle = sample();
    bundle["artifact_policy"]["required_artifacts"] =
        json!([{"key": "env", "path": "config/.env", "required": true}]);
    let refused = refusal(&bundle);
    assert_eq!(refused.code, "platform_default_weakened");
    assert_eq!(
        defect_codes(&refused),
        [merge::DEFAULT_FORBIDDEN_ARTIFACT_REQUIRED]
    );
}

#[test]
fn downgrading_a_default_checker_is_a_weakening() {
    for (field, value) in [
        ("blocking", json!(false)),
        ("severity", json!("low")),
        ("phase", json!("post_submit")),
    ] {
        let mut bundle = sample();
        bundle["checker_policy"]["checkers"][0][field] = value;
        let refused = refusal(&bundle);
        assert_eq!(refused.code, "platform_default_weakened", "{field}");
        assert_eq!(defect_codes(&refused), [merge::DEFAULT_CHECKER_DOWNGRADED]);
        assert_eq!(refused.errors[0].path, "/checker_policy/checkers/0");
    }
    // Tightening is fine: a warning checker made blocking and more severe.
    let mut bundle = sample();
    bundle["checker_policy"]["checkers"][1] = json!({
        "name": "placeholder-signal", "phase": "both", "configuration": {}, "blocking": true, "severity": "high"
    });
    assert!(evaluate(Some(&bundle)).is_ok());
}

#[test]
fn duplicate_keys_and_self_contradictions_are_invalid() {
    let mut bundle = sample();
    bundle["artifact_policy"]["required_artifacts"] = json!([
        {"key": "a", "path": "a.md", "required": true},
        {"key": "a", "path": "b.md", "required": true}
    ]);
    let refused = refusal(&bundle);
    assert_eq!(refused.code, "policy_bundle_invalid");
    assert_eq!(defect_codes(&refused), [merge::DUPLICATE_KEY]);
    assert_eq!(
        refused.errors[0].path,
        "/artifact_policy/required_artifacts/1"
    );

    let mut bundle = sample();
    let checker = bundle["checker_policy"]["checkers"][1].clone();
    bundle["checker_policy"]["checkers"]
        .as_array_mut()
        .unwrap()
        .push(checker);
    assert_eq!(defect_codes(&refusal(&bundle)), [merge::DUPLICATE_KEY]);

    let mut bundle = sample();
    bundle["artifact_policy"]["required_artifacts"] =
        json!([{"key": "db", "path": "out/data.sqlite", "required": true}]);
    assert_eq!(
        defect_codes(&refusal(&bundle)),
        [merge::REQUIRED_ARTIFACT_FORBIDDEN]
    );
}

#[test]
fn the_hash_is_stable_and_sensitive() {
    let a = evaluate(Some(&sample())).unwrap().hashes().unwrap();
    // Key order in the submission does not matter.
    let reordered: Value = serde_json::from_str(&sample().to_string()).unwrap();
    let b = evaluate(Some(&reordered)).unwrap().hashes().unwrap();
    assert_eq!(a, b);
    // The bundle hash is the digest of the effective bundle's canonical JSON.
    let effective = evaluate(Some(&sample())).unwrap().to_value();
    assert_eq!(
        a.bundle,
        crate::Digest::of_canonical_json(&effective).unwrap()
    );
    let mut changed = sample();
    changed["revision_policy"]["max_revision_rounds"] = json!(4);
    let c = evaluate(Some(&changed)).unwrap().hashes().unwrap();
    assert_ne!(a.bundle, c.bundle);
    assert_ne!(a.revision, c.revision);
    assert_eq!(a.artifact, c.artifact);
    assert_eq!(a.checker, c.checker);
    assert_eq!(a.review, c.review);
}

#[test]
fn review_texts_travel_with_the_bundle_and_leave_older_hashes_alone() {
    let plain = evaluate(Some(&sample())).unwrap();
    assert!(plain.to_value().get("review_templates").is_none());
    // A due time factor and review texts that are absent change no hash.
    assert!(
        plain.to_value()["revision_policy"]
            .get("due_time_factor")
            .is_none()
    );

    let mut with_texts = sample();
    with_texts["review_templates"] = json!({
        "review_packet": "# Review\n\n- [ ] criteria",
        "prior_feedback_checklist": "- [ ] answered",
    });
    let effective = evaluate(Some(&with_texts)).unwrap();
    assert_eq!(
        effective.to_value()["review_templates"],
        with_texts["review_templates"]
    );
    let (a, b) = (plain.hashes().unwrap(), effective.hashes().unwrap());
    assert_ne!(
        a.bundle, b.bundle,
        "the texts are part of the bundle's hash"
    );
    assert_eq!(a.review, b.review, "not of the review policy's");

    // Bounded, non-empty, nothing else.
    for (bad, path) in [
        (
            json!({"review_packet": ""}),
            "/review_templates/review_packet",
        ),
        (
            json!({"review_packet": "x".repeat(65_537)}),
            "/review_templates/review_packet",
        ),
        (json!({"notes": "x"}), "/review_templates"),
    ] {
        let mut bundle = sample();
        bundle["review_templates"] = bad;
        let refused = refusal(&bundle);
        assert_eq!(refused.code, "policy_bundle_invalid");
        assert!(
            refused.errors.iter().any(|e| e.path == path),
            "{path}: {:?}",
            refused.errors
        );
    }
}

#[test]
fn a_calibration_sample_rate_is_optional_bounded_and_hash_neutral_when_absent() {
    let plain = evaluate(Some(&sample())).unwrap();
    assert_eq!(plain.review_policy.calibration_sample_percent, None);
    assert!(
        plain.to_value()["review_policy"]
            .get("calibration_sample_percent")
            .is_none(),
        "absent stays absent, so older bundles keep their hashes"
    );

    let mut sampled = sample();
    sampled["review_policy"]["calibration_sample_percent"] = json!(25);
    let effective = evaluate(Some(&sampled)).unwrap();
    assert_eq!(effective.review_policy.calibration_sample_percent, Some(25));
    assert_eq!(
        effective.to_value()["review_policy"]["calibration_sample_percent"],
        json!(25)
    );
    let (a, b) = (plain.hashes().unwrap(), effective.hashes().unwrap());
    assert_ne!(a.review, b.review, "a rate is part of the review policy");
    assert_eq!(a.checker, b.checker);

    for bad in [json!(101), json!(-1), json!(12.5), json!("10")] {
        let mut bundle = sample();
        bundle["review_policy"]["calibration_sample_percent"] = bad.clone();
        let refused = refusal(&bundle);
        assert!(
            refused
                .errors
                .iter()
                .any(|e| e.path == "/review_policy/calibration_sample_percent"),
            "{bad}: {:?}",
            refused.errors
        );
    }
}
