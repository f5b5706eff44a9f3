//! Reproducibility (same input, same result digest, in any sandbox and process) and the
//! on-disk compiled-code cache.

mod common;

use std::process::Command;

use common::{Packet, test_config};
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_sandbox::{AllocatorKind, Sandbox, SandboxConfig, Verdict, builtin, testing};

/// Set in the child process of `result_digest_matches_a_separate_process`.
const CHILD_ENV: &str = "WORKSTREAM_SANDBOX_DIGEST_CHILD";

/// A run with findings, a summary and a configuration: the digest covers all of them.
async fn reference_digest(sandbox: &Sandbox) -> Digest {
    let checker = sandbox
        .load(builtin::by_name("required-files").unwrap().bytes)
        .unwrap();
    let packet = Packet::good();
    let request = packet.request_with(serde_json::json!({"paths": ["answer.md", "missing.txt"]}));
    let outcome = sandbox.run(&checker, request, packet.path()).await.unwrap();
    assert_eq!(outcome.result.verdict(), Some(Verdict::Failed));
    outcome.result_digest
}

#[tokio::test]
async fn same_request_same_result_digest() {
    let cache = TempDir::new().unwrap();
    let sandbox = Sandbox::new(test_config(cache.path())).unwrap();
    let first = reference_digest(&sandbox).await;
    let second = reference_digest(&sandbox).await;
    assert_eq!(first, second);

    // A fresh sandbox with another cache dir, and one on the on-demand allocator.
    let other_cache = TempDir::new().unwrap();
    let other = Sandbox::new(test_config(other_cache.path())).unwrap();
    assert_eq!(reference_digest(&other).await, first);
    let on_demand_cache = TempDir::new().unwrap();
    let on_demand = Sandbox::new(SandboxConfig {
        pooling: false,
        ..test_config(on_demand_cache.path())
    })
    .unwrap();
    assert_eq!(on_demand.allocator(), AllocatorKind::OnDemand);
    assert_eq!(reference_digest(&on_demand).await, first);
}

#[tokio::test]
async fn different_input_different_digest() {
    let cache = TempDir::new().unwrap();
    let sandbox = Sandbox::new(test_config(cache.path())).unwrap();
    let checker = sandbox.load(&testing::component_bytes("trivial")).unwrap();
    let packet = Packet::good();
    let a = sandbox
        .run(&checker, packet.request(), packet.path())
        .await
        .unwrap();
    let mut request = packet.request();
    request.summary.push('!');
    let b = sandbox.run(&checker, request, packet.path()).await.unwrap();
    assert_eq!(a.result, b.result);
    assert_ne!(a.request_digest, b.request_digest);
    assert_ne!(a.result_digest, b.result_digest);
}

/// In the child process: prints the reference digest. Otherwise: nothing.
#[tokio::test]
async fn child_prints_result_digest() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let cache = TempDir::new().unwrap();
    let sandbox = Sandbox::new(test_config(cache.path())).unwrap();
    println!("RESULT_DIGEST={}", reference_digest(&sandbox).await);
}

#[tokio::test]
async fn result_digest_matches_a_separate_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_prints_result_digest",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let child: Digest = stdout
        .lines()
        // The test harness may print its status on the same line.
        .find_map(|line| {
            line.split_once("RESULT_DIGEST=")
                .map(|(_, rest)| rest.trim())
        })
        .unwrap_or_else(|| panic!("no digest in child output:\n{stdout}"))
        .parse()
        .unwrap();

    let cache = TempDir::new().unwrap();
    let sandbox = Sandbox::new(test_config(cache.path())).unwrap();
    assert_eq!(reference_digest(&sandbox).await, child);
}

#[tokio::test]
async fn second_sandbox_loads_from_the_disk_cache() {
    let cache = TempDir::new().unwrap();
    let bytes = testing::component_bytes("trivial");

    let first = Sandbox::new(test_config(cache.path())).unwrap();
    let digest = *first.load(&bytes).unwrap().digest();
    first.load(&bytes).unwrap(); // in memory: neither compiled nor read again
    assert_eq!(first.stats().compiled, 1);
    assert_eq!(first.stats().loaded_from_disk, 0);
    drop(first);

    let second = Sandbox::new(test_config(cache.path())).unwrap();
    let checker = second.load(&bytes).unwrap();
    assert_eq!(checker.digest(), &digest);
    assert_eq!(second.stats().compiled, 0);
    assert_eq!(second.stats().loaded_from_disk, 1);
    let packet = Packet::good();
    let outcome = second
        .run(&checker, packet.request(), packet.path())
        .await
        .unwrap();
    assert_eq!(outcome.result.verdict(), Some(Verdict::Passed));

    // A corrupt cache entry is recompiled, not trusted.
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    std::fs::write(&entry, b"garbage").unwrap();
    let third = Sandbox::new(test_config(cache.path())).unwrap();
    third.load(&bytes).unwrap();
    assert_eq!(third.stats().compiled, 1);
}
