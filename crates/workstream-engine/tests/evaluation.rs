//! A locked checker policy run over real packets by the real built-in components: each
//! route of the gate, reached the way production reaches it.
#![cfg(feature = "checkers")]

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use workstream_domain::gate::MemberStatus;
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_engine::checkers::register_builtins;
use workstream_engine::evaluation::{Checkers, PacketView, plan};
use workstream_sandbox::{FileEntry, Phase, Sandbox, SandboxConfig, builtin};
use workstream_store::testing::TestDatabase;

fn digest(name: &str) -> String {
    builtin::by_name(name).unwrap().digest.to_string()
}

/// required-files (pre and post), acceptance-criteria-present (pre only, a task-setup
/// check), placeholder-signal (post only, a warning).
fn locked_policy() -> Value {
    json!({
        "checkers": [
            {"name": "required-files", "digest": digest("required-files"), "phase": "both",
             "configuration": {"paths": ["outputs/final-answer.md"]}, "blocking": true, "severity": "high"},
            {"name": "acceptance-criteria-present", "digest": digest("acceptance-criteria-present"),
             "phase": "pre_submit", "configuration": {"min_chars": 10}, "blocking": true, "severity": "high"},
            {"name": "placeholder-signal", "digest": digest("placeholder-signal"), "phase": "post_submit",
             "configuration": {}, "blocking": false, "severity": "warning"}
        ],
        "blocking_severities": ["critical", "high"]
    })
}

fn packet(dir: &Path, files: &[(&str, &str)]) -> Vec<FileEntry> {
    let mut entries = Vec::new();
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        entries.push(FileEntry {
            path: (*path).to_owned(),
            size: text.len() as u64,
            sha256: workstream_domain::Digest::of_bytes(text.as_bytes()).to_string(),
            executable: false,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

struct Setup {
    database: TestDatabase,
    checkers: Checkers,
    _cache: tempfile::TempDir,
}

async fn setup() -> Setup {
    let database = TestDatabase::create().await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Arc::new(Sandbox::new(SandboxConfig::new(cache.path())).unwrap());
    register_builtins(database.pool(), &sandbox).await.unwrap();
    Setup {
        database,
        checkers: Checkers::new(sandbox),
        _cache: cache,
    }
}

async fn evaluate(
    s: &Setup,
    policy: &Value,
    phase: Phase,
    files: &[(&str, &str)],
    criteria: &str,
) -> workstream_engine::evaluation::Evaluation {
    let (checks, blocking) = plan(policy, phase).unwrap();
    let tree = tempfile::tempdir().unwrap();
    let view = PacketView {
        tree: tree.path(),
        files: packet(tree.path(), files),
        summary: "A summary.".into(),
        attestation: "No confidential material.".into(),
        acceptance_criteria: criteria.into(),
        prior_findings: Vec::new(),
    };
    let mut conn = s.database.pool().acquire().await.unwrap();
    s.checkers
        .evaluate(&mut conn, &checks, &blocking, phase, &view)
        .await
        .unwrap()
}

const ANSWER: (&str, &str) = ("outputs/final-answer.md", "The proof is complete.\n");
const CRITERIA: &str = "A complete proof of the lemma.";

#[tokio::test]
async fn the_plan_keeps_policy_order_and_phase() {
    let (pre, blocking) = plan(&locked_policy(), Phase::PreSubmit).unwrap();
    let names: Vec<_> = pre.iter().map(|c| (c.ordinal, c.name.as_str())).collect();
    assert_eq!(
        names,
        [(0, "required-files"), (1, "acceptance-criteria-present")]
    );
    assert_eq!(blocking.len(), 2);
    let (post, _) = plan(&locked_policy(), Phase::PostSubmit).unwrap();
    let names: Vec<_> = post.iter().map(|c| (c.ordinal, c.name.as_str())).collect();
    assert_eq!(names, [(0, "required-files"), (2, "placeholder-signal")]);
    // The configuration hash is of the canonical configuration.
    assert_eq!(
        pre[0].config_hash,
        workstream_domain::Digest::of_canonical_json(
            &json!({"paths": ["outputs/final-answer.md"]})
        )
        .unwrap()
    );
    // An unpinned checker cannot run.
    let mut unpinned = locked_policy();
    unpinned["checkers"][0]
        .as_object_mut()
        .unwrap()
        .remove("digest");
    assert_eq!(
        plan(&unpinned, Phase::PreSubmit).unwrap_err().code,
        "locked_context_invalid"
    );
}

#[tokio::test]
async fn each_route_of_the_gate() {
    let s = setup().await;
    let policy = locked_policy();

    let clean = evaluate(&s, &policy, Phase::PreSubmit, &[ANSWER], CRITERIA).await;
    assert_eq!(clean.route, RoutingRecommendation::AllowReview);
    assert_eq!(clean.counts.passed, 2);

    let missing = evaluate(
        &s,
        &policy,
        Phase::PreSubmit,
        &[("notes.md", "x")],
        CRITERIA,
    )
    .await;
    assert_eq!(missing.route, RoutingRecommendation::NeedsRevision);
    let member = &missing.members[0];
    assert_eq!(member.member.status, MemberStatus::Failed);
    assert!(member.member.blocks_review);
    assert_eq!(member.outcome.codes(), ["required_file_missing"]);
    assert_eq!(member.checker_version, "0.1.0");

    // A task without usable criteria is the manager's to fix, even when the packet is
    // also wrong.
    let setup = evaluate(&s, &policy, Phase::PreSubmit, &[("notes.md", "x")], "short").await;
    assert_eq!(setup.route, RoutingRecommendation::TaskSetupBlocked);
    assert_eq!(setup.counts.blocking, 2);

    // A placeholder answer warns (post-submit) but still reaches review.
    let placeholder = evaluate(
        &s,
        &policy,
        Phase::PostSubmit,
        &[("outputs/final-answer.md", "TODO\n")],
        CRITERIA,
    )
    .await;
    assert_eq!(placeholder.route, RoutingRecommendation::AllowReview);
    assert_eq!(placeholder.members[1].member.status, MemberStatus::Warning);

    // A pinned component the registry does not hold: errored, never a pass.
    let mut unknown = policy.clone();
    unknown["checkers"][0]["digest"] = json!(format!("sha256:{}", "0".repeat(64)));
    let retry = evaluate(&s, &unknown, Phase::PreSubmit, &[ANSWER], CRITERIA).await;
    assert_eq!(retry.route, RoutingRecommendation::CheckerRetry);
    assert_eq!(retry.members[0].member.status, MemberStatus::Errored);
    assert_eq!(
        retry.members[0]
            .outcome
            .result
            .failure()
            .map(|c| c.as_str()),
        Some("implementation_unavailable")
    );
    assert_eq!(retry.members[0].checker_version, "unknown");

    // Same input, same result digests.
    let again = evaluate(
        &s,
        &policy,
        Phase::PreSubmit,
        &[("notes.md", "x")],
        CRITERIA,
    )
    .await;
    let digests = |e: &workstream_engine::evaluation::Evaluation| {
        e.members
            .iter()
            .map(|m| m.outcome.result_digest)
            .collect::<Vec<_>>()
    };
    assert_eq!(digests(&again), digests(&missing));
}
