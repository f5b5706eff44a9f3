//! Misbehaving guests: each ends as the right infrastructure failure (never a pass) or
//! is contained, and the same sandbox serves a normal run right after.

mod common;

use std::time::Duration;

use common::{Packet, assert_trivial_passes, run, sandbox, test_checker};
use serde_json::json;
use workstream_sandbox::{FailureCode, Level, RunResult, Verdict};

#[tokio::test]
async fn infinite_loop_is_deadline_exceeded() {
    let packet = Packet::good();
    let outcome = run(
        &test_checker("hostile_infinite_loop"),
        &packet,
        packet.request(),
    )
    .await;
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::DeadlineExceeded),
        "{:?}",
        outcome.result
    );
    assert!(outcome.result.findings().is_empty());
    // Stopped by the epoch deadline in guest code, not by the host's backstop timer.
    let RunResult::InfrastructureFailed { detail, .. } = &outcome.result else {
        unreachable!()
    };
    assert!(!detail.contains("host timer"), "{detail}");
    assert!(
        outcome.duration < Duration::from_secs(5),
        "{:?}",
        outcome.duration
    );
    assert!(outcome.fuel_consumed > 0);
    assert_trivial_passes().await;
}

#[tokio::test]
async fn fuel_exhaustion_is_deadline_exceeded() {
    let packet = Packet::good();
    let limits = workstream_sandbox::Limits {
        fuel: 10_000_000,
        deadline: Duration::from_secs(30),
        ..common::test_limits()
    };
    let outcome = sandbox()
        .run_with_limits(
            &test_checker("hostile_infinite_loop"),
            packet.request(),
            packet.path(),
            &limits,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::DeadlineExceeded)
    );
    assert!(
        outcome.duration < Duration::from_secs(5),
        "{:?}",
        outcome.duration
    );
    assert_eq!(outcome.fuel_consumed, 10_000_000);
    assert_trivial_passes().await;
}

#[tokio::test]
async fn memory_bomb_is_capacity_exceeded() {
    let packet = Packet::good();
    let outcome = run(
        &test_checker("hostile_memory_bomb"),
        &packet,
        packet.request(),
    )
    .await;
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::CapacityExceeded),
        "{:?}",
        outcome.result
    );
    assert_trivial_passes().await;
}

#[tokio::test]
async fn escape_attempts_are_denied() {
    let packet = Packet::good();
    let outcome = run(
        &test_checker("hostile_escape_attempt"),
        &packet,
        packet.request(),
    )
    .await;
    let RunResult::Completed {
        findings, verdict, ..
    } = &outcome.result
    else {
        panic!("expected a report: {:?}", outcome.result);
    };
    assert!(
        findings.iter().all(|f| f.code != "escape_succeeded"),
        "{findings:#?}"
    );
    assert!(findings.iter().any(|f| f.code == "packet_readable"));
    assert!(findings.iter().any(|f| f.code == "escape_denied"));
    assert!(findings.iter().all(|f| f.level == Level::Info));
    assert_eq!(*verdict, Verdict::Passed);
    // Nothing was written into the packet.
    let mut names: Vec<_> = std::fs::read_dir(packet.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["answer.md", "evidence"]);
    assert_trivial_passes().await;
}

#[tokio::test]
async fn oversized_report_is_invalid_output() {
    let packet = Packet::good();
    let checker = test_checker("hostile_oversized_report");
    let outcome = run(&checker, &packet, packet.request()).await;
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::InvalidOutput),
        "{:?}",
        outcome.result
    );
    assert!(outcome.result.findings().is_empty());

    // Exactly at the cap is fine; one over is not.
    let at_cap = packet.request_with(json!({"findings": 256, "message_chars": 10}));
    let outcome = run(&checker, &packet, at_cap).await;
    assert_eq!(
        outcome.result.verdict(),
        Some(Verdict::Passed),
        "{:?}",
        outcome.result
    );
    let over = packet.request_with(json!({"findings": 257, "message_chars": 10}));
    let outcome = run(&checker, &packet, over).await;
    assert_eq!(outcome.result.failure(), Some(FailureCode::InvalidOutput));
    let long_message = packet.request_with(json!({"findings": 1, "message_chars": 4097}));
    let outcome = run(&checker, &packet, long_message).await;
    assert_eq!(outcome.result.failure(), Some(FailureCode::InvalidOutput));
    assert_trivial_passes().await;
}

#[tokio::test]
async fn panic_is_implementation_unavailable() {
    let packet = Packet::good();
    let outcome = run(&test_checker("hostile_panic"), &packet, packet.request()).await;
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::ImplementationUnavailable),
        "{:?}",
        outcome.result
    );
    assert_trivial_passes().await;
}

#[tokio::test]
async fn guest_err_is_an_infrastructure_failure() {
    // The oversized-report guest returns err(..) for a configuration it cannot parse.
    let packet = Packet::good();
    let request = packet.request_with(json!({"findings": "many"}));
    let outcome = run(&test_checker("hostile_oversized_report"), &packet, request).await;
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::ImplementationUnavailable),
        "{:?}",
        outcome.result
    );
}

#[tokio::test]
async fn missing_packet_is_material_unavailable() {
    let packet = Packet::good();
    let gone = packet.path().join("no-such-dir");
    let outcome = sandbox()
        .run(&test_checker("trivial"), packet.request(), &gone)
        .await
        .unwrap();
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::MaterialUnavailable)
    );
}

#[tokio::test]
async fn a_core_module_is_refused_at_load() {
    let error = sandbox().load(b"\0asm\x01\0\0\0").unwrap_err();
    assert_eq!(error.code(), "checker_component_invalid");
    assert_eq!(error.failure_code(), FailureCode::ImplementationUnavailable);
}

#[tokio::test]
async fn nul_characters_in_a_report_are_invalid_output() {
    let packet = Packet::good();
    let outcome = run(
        &test_checker("hostile_nul_finding"),
        &packet,
        packet.request(),
    )
    .await;
    let RunResult::InfrastructureFailed { code, detail } = &outcome.result else {
        panic!("a NUL in a finding must not complete: {:?}", outcome.result)
    };
    assert_eq!(*code, FailureCode::InvalidOutput);
    assert!(detail.contains("NUL"), "{detail}");
    // The failure itself is storable text.
    assert!(!detail.contains('\0'));
    assert!(outcome.result.findings().is_empty());
    assert_trivial_passes().await;
}

#[tokio::test]
async fn an_import_outside_the_policy_is_refused_at_load_naming_it() {
    let bytes = workstream_sandbox::testing::component_bytes("hostile_forbidden_import");
    let before = sandbox().stats();
    match sandbox().load(&bytes) {
        Err(workstream_sandbox::LoadError::ImportNotAllowed(import)) => {
            assert!(
                import.starts_with("hostile:forbidden-import/exfiltrate"),
                "{import}"
            )
        }
        other => panic!("expected ImportNotAllowed, got {other:?}"),
    }
    // Refused before anything was compiled.
    assert_eq!(sandbox().stats(), before);
    let refusal = sandbox().load(&bytes).unwrap_err();
    assert_eq!(refusal.code(), "checker_import_not_allowed");
}
