//! Every published contract version runs: a component built against
//! `workstream:checker@0.1.0` keeps running unchanged beside 0.2.0 components, and each
//! sees the request through its own version's records.

mod common;

use common::{Packet, run, sandbox, test_checker};
use workstream_sandbox::{Contract, Level, PriorFinding, Verdict};

fn prior(id: &str, response: Option<&str>) -> PriorFinding {
    PriorFinding {
        finding_id: id.into(),
        area: "answer".into(),
        issue: "Section 2 is missing.".into(),
        path: Some("answer.md".into()),
        line: Some(3),
        required_fix: "Write section 2.".into(),
        response: response.map(str::to_owned),
    }
}

#[tokio::test]
async fn components_are_bound_to_the_version_they_implement() {
    assert_eq!(test_checker("trivial").contract(), Contract::V0_2);
    assert_eq!(test_checker("legacy_v0_1").contract(), Contract::V0_1);
    assert_eq!(
        Contract::parse("workstream:checker@0.1.0"),
        Some(Contract::V0_1)
    );
    assert_eq!(
        Contract::parse(Contract::LATEST.as_str()),
        Some(Contract::V0_2)
    );
    assert_eq!(Contract::parse("workstream:checker@9.9.9"), None);
}

#[tokio::test]
async fn a_v0_1_component_runs_with_prior_findings_and_reports() {
    let legacy = test_checker("legacy_v0_1");
    let info = sandbox().info(&legacy).await.unwrap();
    assert_eq!(info.name, "legacy-v0-1");

    let packet = Packet::good();
    let mut request = packet.request();
    request.prior_findings = vec![prior("F-1", Some("Wrote section 2.")), prior("F-2", None)];
    let outcome = run(&legacy, &packet, request.clone()).await;
    assert_eq!(outcome.result.verdict(), Some(Verdict::Passed));
    let findings = outcome.result.findings();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].code, "prior_finding_seen");
    assert_eq!(findings[0].level, Level::Info);
    assert_eq!(findings[0].message, "F-1 (answer): Wrote section 2.");
    assert_eq!(findings[1].message, "F-2 (answer): no response");

    // The same request again: the same result digest (the 0.1.0 input is made the
    // same way every time).
    assert_eq!(
        run(&legacy, &packet, request).await.result_digest,
        outcome.result_digest
    );

    let mut empty = packet.request();
    empty.manifest.clear();
    let outcome = run(&legacy, &packet, empty).await;
    assert_eq!(outcome.result.verdict(), Some(Verdict::Failed));
    assert_eq!(outcome.codes(), ["packet_empty"]);
}
