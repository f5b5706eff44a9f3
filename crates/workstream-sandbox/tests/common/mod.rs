//! Shared helpers: real packet directories in temp dirs, a sandbox with small limits.

#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_sandbox::{
    CheckOutcome, CheckRequest, FileEntry, Limits, LoadedChecker, Phase, Sandbox, SandboxConfig,
    builtin, testing,
};

pub const SUMMARY: &str =
    "Implemented the CSV parser and documented it in answer.md; the test log is in evidence/.";
pub const ATTESTATION: &str = "I confirm this packet contains no confidential client data, \
    no credentials or API keys, and no copied source code.";
pub const CRITERIA: &str = "- Parses the sample input\n- Has tests";
pub const ANSWER: &str = "The parser reads the sample input line by line and handles quoted \
    fields, embedded commas and empty lines. Section 2 explains the edge cases.\n";
pub const TEST_LOG: &str = "running 12 tests\ntest result: ok. 12 passed; 0 failed\n";

/// Limits small enough for fast tests.
pub fn test_limits() -> Limits {
    Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_secs(1),
        ..Limits::default()
    }
}

pub fn test_config(cache_dir: &Path) -> SandboxConfig {
    SandboxConfig {
        limits: test_limits(),
        pool_instances: 16,
        ..SandboxConfig::new(cache_dir)
    }
}

/// One sandbox per test binary (its cache in a temp dir kept for the process).
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<(Sandbox, TempDir)> = OnceLock::new();
    &SANDBOX
        .get_or_init(|| {
            let cache = TempDir::new().unwrap();
            let sandbox = Sandbox::new(test_config(cache.path())).unwrap();
            (sandbox, cache)
        })
        .0
}

pub fn builtin_checker(name: &str) -> LoadedChecker {
    let builtin = builtin::by_name(name).unwrap_or_else(|| panic!("no built-in {name}"));
    sandbox().load(builtin.bytes).unwrap()
}

pub fn test_checker(name: &str) -> LoadedChecker {
    sandbox().load(&testing::component_bytes(name)).unwrap()
}

/// A packet directory with its manifest (sorted by path, real digests).
pub struct Packet {
    pub dir: TempDir,
    pub manifest: Vec<FileEntry>,
}

impl Packet {
    pub fn new(files: &[(&str, &str)]) -> Packet {
        let dir = TempDir::new().unwrap();
        let mut manifest = Vec::new();
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
            manifest.push(FileEntry {
                path: (*path).to_owned(),
                size: content.len() as u64,
                sha256: Digest::of_bytes(content.as_bytes()).to_string(),
                executable: false,
            });
        }
        manifest.sort_by(|a, b| a.path.cmp(&b.path));
        Packet { dir, manifest }
    }

    /// The good packet every pass case starts from.
    pub fn good() -> Packet {
        Packet::new(&[("answer.md", ANSWER), ("evidence/test.log", TEST_LOG)])
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A complete post-submit request for this packet with `{}` configuration.
    pub fn request(&self) -> CheckRequest {
        CheckRequest {
            manifest: self.manifest.clone(),
            summary: SUMMARY.into(),
            attestation: ATTESTATION.into(),
            acceptance_criteria: CRITERIA.into(),
            ..CheckRequest::new(Phase::PostSubmit)
        }
    }

    pub fn request_with(&self, configuration: Value) -> CheckRequest {
        CheckRequest {
            configuration,
            ..self.request()
        }
    }
}

pub async fn run(checker: &LoadedChecker, packet: &Packet, request: CheckRequest) -> CheckOutcome {
    sandbox()
        .run(checker, request, packet.path())
        .await
        .unwrap()
}

/// Runs `trivial` and asserts it passed: the sandbox still works.
pub async fn assert_trivial_passes() {
    let packet = Packet::good();
    let outcome = run(&test_checker("trivial"), &packet, packet.request()).await;
    assert_eq!(
        outcome.result.verdict(),
        Some(workstream_sandbox::Verdict::Passed),
        "{:?}",
        outcome.result
    );
}
