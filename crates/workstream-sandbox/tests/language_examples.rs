//! The Python and JavaScript example checkers (`examples/checkers/`), built with their
//! own toolchains and run through this host on their `testdata/` packets.
//!
//! Each example's `build.sh` installs its pinned toolchain inside the example's
//! directory (git-ignored) and writes the component there; the first run downloads
//! componentize-py from PyPI and componentize-js from npm and takes minutes, later runs
//! reuse them. A script that exits 3 (toolchain unavailable: no suitable interpreter,
//! registry unreachable, no prebuilt binaries) skips its example with
//! `skipped: <reason>` on stderr, or fails the test under
//! `WORKSTREAM_REQUIRE_TOOLCHAINS=1` (which `.ci/run` sets); any other failure fails it.
//!
//! The components are not byte-for-byte reproducible, so nothing here pins their
//! digests. They run on the production host: [`SandboxConfig::new`] with the default
//! [`workstream_sandbox::Limits`] and pooling, the same as the built-ins, under the one
//! import policy every caller uses. The Python component imports `wasi:sockets`
//! (componentize-py always links it): it loads, and the network stays denied at run
//! time.
//!
//! Asserted for each example (expectations from `examples/checkers/README.md`):
//! `info()` (name, version, a JSON Schema object for the configuration), then `check`
//! with the example's `config.json` on each packet under `testdata/`: the exact
//! verdict, findings (code, level, path, line) and summary; a re-run gives the same
//! result digest; and a configuration of the wrong type is an infrastructure failure
//! (`implementation_unavailable`), never a pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_sandbox::{
    CheckRequest, FailureCode, FileEntry, Level, LoadError, LoadedChecker, Phase, RunResult,
    Sandbox, SandboxConfig, Verdict,
};

/// Exit status of `build.sh` meaning "toolchain unavailable".
const TOOLCHAIN_UNAVAILABLE: i32 = 3;

/// The file the word-count example counts.
const ANSWER: &str = "outputs/final-answer.md";

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/checkers")
}

/// Runs `<example>/build.sh`. `Some(component)` when it built, `None` (after printing
/// `skipped: <reason>`) when it exited 3; panics on any other failure.
fn build(example: &str, component: &str) -> Option<PathBuf> {
    let dir = examples_dir().join(example);
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(dir.join("build.sh"))
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("run {example}/build.sh: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            eprintln!("{example}/build.sh: built in {:.1?}", started.elapsed());
            let path = dir.join(component);
            assert!(
                path.is_file(),
                "{example}/build.sh did not write {component}"
            );
            Some(path)
        }
        Some(TOOLCHAIN_UNAVAILABLE) => {
            let reason = stderr
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("build.sh gave no reason");
            // The test suite's rule (`tests/src/toolchains.rs`): skip loudly, past the
            // test harness's capture, or fail under WORKSTREAM_REQUIRE_TOOLCHAINS=1.
            assert!(
                std::env::var("WORKSTREAM_REQUIRE_TOOLCHAINS").as_deref() != Ok("1"),
                "WORKSTREAM_REQUIRE_TOOLCHAINS=1 but {example} cannot be built: {reason}"
            );
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("\n**********\nskipped: {example}: {reason}\n**********\n").as_bytes(),
            );
            None
        }
        _ => panic!(
            "{example}/build.sh failed ({}):\n--- stdout\n{}\n--- stderr\n{stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

/// The manifest of a packet directory, sorted by path.
fn manifest(root: &Path) -> Vec<FileEntry> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<FileEntry>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let relative = path.strip_prefix(root).unwrap();
                out.push(FileEntry {
                    path: relative
                        .components()
                        .map(|c| c.as_os_str().to_str().unwrap())
                        .collect::<Vec<_>>()
                        .join("/"),
                    size: bytes.len() as u64,
                    sha256: Digest::of_bytes(&bytes).to_string(),
                    executable: false,
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// One packet under `testdata/` and what the checker must say about it.
struct Case<'a> {
    packet: &'a str,
    verdict: Verdict,
    /// (code, level, path, line) of each finding, in order.
    findings: &'a [(&'a str, Level, Option<&'a str>, Option<u32>)],
    summary: &'a str,
}

/// What an example must report, besides its cases.
struct Example<'a> {
    dir: &'a str,
    name: &'a str,
    /// A configuration of the wrong type, on which `check` returns `err`.
    bad_config: Value,
    cases: &'a [Case<'a>],
}

fn request(root: &Path, configuration: Value) -> CheckRequest {
    CheckRequest {
        manifest: manifest(root),
        configuration,
        ..CheckRequest::new(Phase::PostSubmit)
    }
}

async fn check_example(sandbox: &Sandbox, checker: &LoadedChecker, example: &Example<'_>) {
    let dir = examples_dir().join(example.dir);
    let info = sandbox
        .info(checker)
        .await
        .unwrap_or_else(|e| panic!("{}: info() failed: {e:?}", example.dir));
    assert_eq!(info.name, example.name, "{}: info().name", example.dir);
    assert_eq!(info.version, "0.1.0", "{}: info().version", example.dir);
    assert!(
        !info.description.is_empty(),
        "{}: no description",
        example.dir
    );
    let schema: Value = serde_json::from_str(&info.config_schema)
        .unwrap_or_else(|e| panic!("{}: config schema is not JSON: {e}", example.dir));
    assert_eq!(
        schema["type"], "object",
        "{}: config schema {schema}",
        example.dir
    );
    assert!(
        schema["properties"].is_object(),
        "{}: config schema {schema}",
        example.dir
    );

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    for case in example.cases {
        let label = format!("{}/testdata/{}", example.dir, case.packet);
        let root = dir.join("testdata").join(case.packet);
        let outcome = sandbox
            .run(checker, request(&root, config.clone()), &root)
            .await
            .unwrap();
        let RunResult::Completed {
            verdict,
            findings,
            summary,
        } = &outcome.result
        else {
            panic!("{label}: {:?}", outcome.result);
        };
        let got: Vec<(&str, Level, Option<&str>, Option<u32>)> = findings
            .iter()
            .map(|f| (f.code.as_str(), f.level, f.path.as_deref(), f.line))
            .collect();
        assert_eq!(got, case.findings, "{label}: {findings:#?}");
        assert_eq!(*verdict, case.verdict, "{label}");
        assert_eq!(summary.as_deref(), Some(case.summary), "{label}");
        eprintln!(
            "{label}: {verdict:?}, {} findings, {:.1?}",
            findings.len(),
            outcome.duration
        );

        // Same component, same request: same result digest.
        let again = sandbox
            .run(checker, request(&root, config.clone()), &root)
            .await
            .unwrap();
        assert_eq!(again.result, outcome.result, "{label}: re-run");
        assert_eq!(
            again.result_digest, outcome.result_digest,
            "{label}: re-run result digest"
        );
    }

    // A configuration of the wrong type: the guest returns `err`, never a pass.
    let root = dir.join("testdata").join(example.cases[0].packet);
    let outcome = sandbox
        .run(checker, request(&root, example.bad_config.clone()), &root)
        .await
        .unwrap();
    assert_eq!(
        outcome.result.failure(),
        Some(FailureCode::ImplementationUnavailable),
        "{}: configuration {}: {:?}",
        example.dir,
        example.bad_config,
        outcome.result
    );
}

/// Loads a component (compiling it takes seconds) without stalling the runtime's other
/// tasks.
fn load(sandbox: &Sandbox, component: &Path) -> Result<LoadedChecker, LoadError> {
    let started = Instant::now();
    let loaded = tokio::task::block_in_place(|| sandbox.load_file(component));
    eprintln!(
        "{}: loaded in {:.1?}",
        component.display(),
        started.elapsed()
    );
    loaded
}

/// A production sandbox (default limits and pooling).
fn sandbox(cache: &Path) -> Sandbox {
    Sandbox::new(SandboxConfig::new(cache)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_javascript_examples_run_through_the_host() {
    let started = Instant::now();
    // The two builds are independent (the README says they may run side by side).
    let python = std::thread::spawn(|| build("python-word-count", "word_count.wasm"));
    let js = std::thread::spawn(|| build("js-link-check", "link_check.wasm"));
    let (python, js) = (python.join().unwrap(), js.join().unwrap());

    let cache = TempDir::new().unwrap();
    let production = sandbox(cache.path());

    if let Some(component) = python {
        // componentize-py links `wasi:sockets` into every component: the one import
        // policy links it (the run's context denies the network).
        let bytes = std::fs::read(&component).unwrap();
        let imports = workstream_sandbox::imports::check(&bytes).unwrap();
        assert!(
            imports
                .interfaces
                .iter()
                .any(|i| i.starts_with("wasi:sockets/")),
            "python-word-count imports {:?}",
            imports.interfaces
        );
        let checker = load(&production, &component).unwrap_or_else(|e| {
            panic!("python-word-count: {} {e}", e.code());
        });
        assert_eq!(checker.contract(), workstream_sandbox::Contract::LATEST);
        check_example(
            &production,
            &checker,
            &Example {
                dir: "python-word-count",
                name: "word-count-py",
                bad_config: json!({ "min_words": "x" }),
                cases: &[
                    Case {
                        packet: "pass",
                        verdict: Verdict::Passed,
                        findings: &[],
                        summary: "outputs/final-answer.md: 78 words (minimum 50)",
                    },
                    Case {
                        packet: "short",
                        verdict: Verdict::Failed,
                        findings: &[("word_count_below_minimum", Level::Error, Some(ANSWER), None)],
                        summary: "outputs/final-answer.md: 5 of 50 words",
                    },
                    Case {
                        packet: "missing",
                        verdict: Verdict::Failed,
                        findings: &[("file_missing", Level::Error, Some(ANSWER), None)],
                        summary: "outputs/final-answer.md is missing",
                    },
                ],
            },
        )
        .await;
    }

    if let Some(component) = js {
        // The JavaScript component imports only allowed WASI interfaces: it loads
        // under the default policy, exactly like a built-in.
        let checker = load(&production, &component)
            .unwrap_or_else(|e| panic!("js-link-check: {} {e}", e.code()));
        check_example(
            &production,
            &checker,
            &Example {
                dir: "js-link-check",
                name: "link-check-js",
                bad_config: json!({ "paths": "x" }),
                cases: &[
                    Case {
                        packet: "clean",
                        verdict: Verdict::Passed,
                        findings: &[],
                        summary: "2 Markdown files scanned, 3 relative links (0 broken), 0 markers",
                    },
                    Case {
                        packet: "broken",
                        verdict: Verdict::Failed,
                        findings: &[
                            (
                                "broken_relative_link",
                                Level::Error,
                                Some("README.md"),
                                Some(3),
                            ),
                            ("todo_marker", Level::Warning, Some("README.md"), Some(4)),
                            (
                                "broken_relative_link",
                                Level::Error,
                                Some("README.md"),
                                Some(6),
                            ),
                            (
                                "todo_marker",
                                Level::Warning,
                                Some("docs/method.md"),
                                Some(3),
                            ),
                            (
                                "broken_relative_link",
                                Level::Error,
                                Some("docs/method.md"),
                                Some(4),
                            ),
                        ],
                        summary: "2 Markdown files scanned, 3 relative links (3 broken), 2 markers",
                    },
                ],
            },
        )
        .await;
    }
    eprintln!("language examples: {:.1?} in all", started.elapsed());
}
