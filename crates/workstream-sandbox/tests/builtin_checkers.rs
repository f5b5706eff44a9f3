//! Every built-in checker against real packets: a pass case and a fail case each, with
//! exact finding codes and the derived verdict.

mod common;

use common::{Packet, builtin_checker, run, sandbox};
use serde_json::json;
use workstream_sandbox::{CheckOutcome, PriorFinding, RunResult, Verdict, builtin};

fn assert_outcome(outcome: &CheckOutcome, verdict: Verdict, codes: &[&str]) {
    assert!(
        matches!(outcome.result, RunResult::Completed { .. }),
        "expected a completed run: {:?}",
        outcome.result
    );
    assert_eq!(outcome.codes(), codes, "{:#?}", outcome.result);
    assert_eq!(outcome.result.verdict(), Some(verdict));
}

#[tokio::test]
async fn every_builtin_loads_and_names_itself() {
    assert_eq!(builtin::all().len(), 11);
    for checker in builtin::all() {
        assert_eq!(checker.digest.to_string().len(), 71, "sha256:<64 hex>");
        let loaded = sandbox().load(checker.bytes).unwrap();
        assert_eq!(loaded.digest(), &checker.digest);
        let info = sandbox().info(&loaded).await.unwrap();
        assert_eq!(info.name, checker.name);
        serde_json::from_str::<serde_json::Value>(&info.config_schema).unwrap();
    }
}

#[tokio::test]
async fn packet_fields() {
    let checker = builtin_checker("packet-fields");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let mut request = packet.request();
    request.summary = "  ".into();
    request.attestation = String::new();
    assert_outcome(
        &run(&checker, &packet, request).await,
        Verdict::Failed,
        &["packet_summary_missing", "packet_attestation_missing"],
    );
}

#[tokio::test]
async fn required_files() {
    let checker = builtin_checker("required-files");
    let packet = Packet::good();
    let pass = packet.request_with(json!({"paths": ["answer.md", "evidence/"]}));
    assert_outcome(&run(&checker, &packet, pass).await, Verdict::Passed, &[]);

    let fail = packet.request_with(json!({"paths": ["answer.md", "report.pdf"]}));
    assert_outcome(
        &run(&checker, &packet, fail).await,
        Verdict::Failed,
        &["required_file_missing"],
    );
}

#[tokio::test]
async fn forbidden_files() {
    let checker = builtin_checker("forbidden-files");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let packet = Packet::new(&[("answer.md", common::ANSWER), (".env", "API_KEY=1\n")]);
    let outcome = run(&checker, &packet, packet.request()).await;
    assert_outcome(&outcome, Verdict::Failed, &["forbidden_path_present"]);
    // The contributor message does not echo the path unless configured.
    assert_eq!(outcome.result.findings()[0].path, None);
}

#[tokio::test]
async fn evidence_present() {
    let checker = builtin_checker("evidence-present");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let packet = Packet::new(&[("answer.md", common::ANSWER)]);
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Failed,
        &["evidence_missing"],
    );
}

#[tokio::test]
async fn evidence_integrity() {
    let checker = builtin_checker("evidence-integrity");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    // Same size, other bytes: only the digest can tell. By default the checker trusts
    // the digests the host verified while writing the tree (the host never runs
    // checkers on a tree that differs); with `rehash` it hashes every byte itself.
    let tampered = common::ANSWER.replace("parser", "PARSER");
    std::fs::write(packet.path().join("answer.md"), tampered).unwrap();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );
    let mut request = packet.request();
    request.configuration = serde_json::json!({"rehash": true});
    let outcome = run(&checker, &packet, request).await;
    assert_outcome(&outcome, Verdict::Failed, &["packet_file_digest_mismatch"]);
    assert_eq!(
        outcome.result.findings()[0].path.as_deref(),
        Some("answer.md")
    );
}

#[tokio::test]
async fn confidentiality_attestation() {
    let checker = builtin_checker("confidentiality-attestation");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let mut request = packet.request();
    request.attestation = "OK".into();
    assert_outcome(
        &run(&checker, &packet, request).await,
        Verdict::Failed,
        &["attestation_stock_reply"],
    );
}

#[tokio::test]
async fn placeholder_signal_only_warns() {
    let checker = builtin_checker("placeholder-signal");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let packet = Packet::new(&[
        (
            "answer.md",
            "Intro to the parser and its design.\n// TODO: finish this part\n",
        ),
        ("evidence/test.log", common::TEST_LOG),
    ]);
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Warning,
        &["placeholder_signal"],
    );
}

#[tokio::test]
async fn acceptance_criteria_present() {
    let checker = builtin_checker("acceptance-criteria-present");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let mut request = packet.request();
    request.acceptance_criteria = " \n\t".into();
    assert_outcome(
        &run(&checker, &packet, request).await,
        Verdict::Failed,
        &["acceptance_criteria_missing"],
    );
}

#[tokio::test]
async fn size_limits() {
    let checker = builtin_checker("size-limits");
    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request()).await,
        Verdict::Passed,
        &[],
    );

    let config = json!({"max_file_bytes": 100, "max_file_count": 1});
    assert_outcome(
        &run(&checker, &packet, packet.request_with(config)).await,
        Verdict::Failed,
        &["file_too_large", "packet_too_many_files"],
    );
}

#[tokio::test]
async fn json_schema() {
    let checker = builtin_checker("json-schema");
    let config = json!({
        "path": "out/labels.json",
        "schema": {
            "type": "object",
            "required": ["labels"],
            "properties": {"labels": {"type": "array", "items": {"type": "string"}}}
        }
    });
    let packet = Packet::new(&[("out/labels.json", r#"{"labels": ["cat", "dog"]}"#)]);
    assert_outcome(
        &run(&checker, &packet, packet.request_with(config.clone())).await,
        Verdict::Passed,
        &[],
    );

    let packet = Packet::new(&[("out/labels.json", r#"{"labels": [1]}"#)]);
    assert_outcome(
        &run(&checker, &packet, packet.request_with(config.clone())).await,
        Verdict::Failed,
        &["json_schema_violation"],
    );

    let packet = Packet::good();
    assert_outcome(
        &run(&checker, &packet, packet.request_with(config)).await,
        Verdict::Failed,
        &["json_file_missing"],
    );
}

#[tokio::test]
async fn prior_findings_answered() {
    let checker = builtin_checker("prior-findings-answered");
    let packet = Packet::good();
    let prior = |id: &str, response: Option<&str>| PriorFinding {
        finding_id: id.into(),
        area: "answer.md".into(),
        issue: "The empty-input case is not handled.".into(),
        path: Some("answer.md".into()),
        line: Some(12),
        required_fix: "Handle empty input and add a test.".into(),
        response: response.map(str::to_owned),
    };

    let mut request = packet.request();
    request.prior_findings = vec![prior(
        "F-1",
        Some("Added the empty-input case to answer.md section 2 with a test."),
    )];
    assert_outcome(&run(&checker, &packet, request).await, Verdict::Passed, &[]);

    let mut request = packet.request();
    request.prior_findings = vec![
        prior(
            "F-1",
            Some("Added the empty-input case to answer.md section 2."),
        ),
        prior("F-2", None),
    ];
    assert_outcome(
        &run(&checker, &packet, request).await,
        Verdict::Failed,
        &["prior_finding_unanswered"],
    );
}
