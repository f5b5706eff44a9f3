//! Checker invocation benchmark: instantiate + check in the sandbox, side by side with
//! the same check done by spawning a process.
//!
//! ```sh
//! cargo bench -p workstream-sandbox --bench checker_invocation
//! ```
//!
//! A bench binary (`harness = false`), not criterion: each call is timed on its own
//! with [`Instant`] and the percentiles are computed here (nearest rank). One run
//! prints a Markdown table and writes it to
//! `<target dir>/bench-reports/checker_invocation.md`.
//!
//! Three checks, each done several ways:
//!
//! - **trivial**: the test-only `trivial` component (reads nothing, finds nothing) on
//!   an empty request — the host's own floor per run. Compared with spawning a native
//!   binary that does nothing (`fn main() {}`, compiled here with `rustc -O`),
//!   `python3 -c pass` (plain, and with `-I -S`) and `node -e ''`.
//! - **required-files, 200 files, 3 required**: the built-in `required-files`
//!   component with a 200-entry manifest and three of its paths required (a typical
//!   policy), so it passes.
//! - **required-files, 200 files, 200 required**: the same packet with every path
//!   required: the guest matches each requirement against the whole manifest, so this
//!   is the heavy end.
//!
//! The required-files checks are compared with a native binary (compiled here with
//! `rustc -O`) and a `python3 -c` script (plain, and with `-I -S`) doing the same
//! check: each reads the manifest (size and path per line) and the required paths from
//! stdin in a tab-separated line protocol, and prints a `required_file_missing` /
//! `required_file_empty` line per unmet path (literal paths only, which is all these
//! configurations use). Before timing, every implementation is run once with one extra
//! missing path and must report exactly that, so no row measures a check that does
//! nothing.
//!
//! The WebAssembly rows are [`Sandbox::run`] exactly as production calls it, with the
//! production [`SandboxConfig`] and [`workstream_sandbox::Limits`]: request digest
//! (canonical JSON of the request), fresh store and instance from the `InstancePre`,
//! `check`, report validation, result digest. They run on a sandbox with the pooling
//! allocator and on one with on-demand allocation (`SandboxConfig::pooling`); the
//! label says which allocator the engine actually got. The process rows time spawn,
//! writing stdin, reading stdout and waiting for exit; the protocol is lighter than the
//! JSON a real process-per-check design would exchange, so they are a lower bound.
//! `python3` is resolved to the real interpreter first (`sys.executable`), so a pyenv
//! or similar shim does not add its own start-up to the figures.
//!
//! Components of other languages can be added (`workstream-bench` adds the Python and
//! JavaScript projects `workstream checker new` writes): each is timed exactly like the
//! `trivial` row (pooled, production configuration, an empty request and an empty
//! packet), after one run that must complete with no findings, so a component that
//! fails or finds something is never timed. They have no process rows of their own;
//! the `trivial` check's `python3 -c pass` and `node -e ''` rows are their peers.
//!
//! Environment:
//!
//! - `WORKSTREAM_BENCH_WASM_ITERATIONS`: timed calls per WebAssembly row (default
//!   2000, after 100 warm-up calls; a tenth of it, at least 10, for the 200-required
//!   check);
//! - `WORKSTREAM_BENCH_PROCESS_ITERATIONS`: timed spawns per process row (default 100,
//!   after 5 warm-up spawns);
//! - `WORKSTREAM_BENCH_EXTRA_COMPONENTS`: more components to time, as
//!   `name=path.wasm` separated by commas (`python=/p/a.wasm,js=/p/b.wasm`); each is a
//!   check of that name;
//! - `WORKSTREAM_BENCH_CHECKS`: only these checks (comma-separated: `trivial`,
//!   `required-files-3`, `required-files-200`, or an extra component's name);
//! - `WORKSTREAM_BENCH_POOLED_ONLY=1`: only the pooled WebAssembly rows (no on-demand,
//!   no processes), for a profiler: `valgrind --tool=callgrind` of this binary with
//!   `WORKSTREAM_BENCH_CHECKS=trivial` profiles `Sandbox::run` and nothing else of note;
//! - `PYTHON`: the interpreter to compare with (default `python3`); `NODE`: the
//!   JavaScript runtime of the `node -e ''` row (default `node`; the row is left out,
//!   with a warning, when it does not run);
//! - `RUSTC`: the compiler for the native binaries (default `rustc`).
//!
//! With the defaults the whole run takes well under two minutes on 2 cores.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_sandbox::{
    AllocatorKind, CheckRequest, FileEntry, LoadedChecker, Phase, RunResult, Sandbox,
    SandboxConfig, Verdict, builtin, testing,
};

/// Files in the packet of the `required-files` rows.
const FILES: usize = 200;
const WASM_WARMUP: usize = 100;
const PROCESS_WARMUP: usize = 5;
const DEFAULT_WASM_ITERATIONS: usize = 2000;
const DEFAULT_PROCESS_ITERATIONS: usize = 100;

/// A path the packet does not have, for the "really checks" run.
const MISSING: &str = "src/not-there.txt";

/// The native `required-files`: manifest and required paths on stdin, one unmet
/// requirement per stdout line.
const NATIVE_REQUIRED: &str = r#"
use std::collections::HashMap;
use std::io::{Read, Write};
fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    let mut required = Vec::new();
    for line in input.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("file") => {
                let size = fields.next().unwrap().parse().unwrap();
                sizes.insert(fields.next().unwrap(), size);
            }
            Some("require") => required.push(fields.next().unwrap()),
            _ => panic!("bad input line {line:?}"),
        }
    }
    let mut out = std::io::stdout().lock();
    for path in required {
        match sizes.get(path) {
            None => writeln!(out, "required_file_missing\t{path}").unwrap(),
            Some(0) => writeln!(out, "required_file_empty\t{path}").unwrap(),
            Some(_) => {}
        }
    }
}
"#;

/// The same check in Python, passed with `-c`.
const PYTHON_REQUIRED: &str = r#"
import sys
sizes = {}
required = []
for line in sys.stdin.read().splitlines():
    fields = line.split("\t")
    if fields[0] == "file":
        sizes[fields[2]] = int(fields[1])
    elif fields[0] == "require":
        required.append(fields[1])
    else:
        raise SystemExit("bad input line %r" % line)
out = []
for path in required:
    size = sizes.get(path)
    if size is None:
        out.append("required_file_missing\t" + path)
    elif size == 0:
        out.append("required_file_empty\t" + path)
if out:
    print("\n".join(out))
"#;

/// One row of the table.
struct Row {
    check: String,
    /// A stable name of `how` for the JSON report (`wasm-pooled`, `process-native`, ...).
    kind: &'static str,
    how: String,
    stats: Stats,
    /// Fuel one run consumed (WebAssembly rows only).
    fuel: Option<u64>,
}

/// Summary of one row's samples.
struct Stats {
    iterations: usize,
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        let n = samples.len();
        // Nearest rank: the smallest sample with at least q·n samples at or below it.
        let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let total: Duration = samples.iter().sum();
        Stats {
            iterations: n,
            p50: rank(0.50),
            p99: rank(0.99),
            mean: total / u32::try_from(n).expect("fewer than 2^32 samples"),
        }
    }
}

fn iterations(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{var} must be a positive integer, not {value:?}")),
        Err(_) => default,
    }
}

/// A packet of [`FILES`] small files, its sorted manifest and its paths.
fn packet() -> (TempDir, Vec<FileEntry>) {
    let dir = TempDir::new().expect("temp dir");
    let mut manifest = Vec::with_capacity(FILES);
    for i in 0..FILES {
        let path = format!("src/module_{:02}/file_{i:03}.txt", i / 20);
        let content = format!("file {i}: some content of the packet\n").repeat(4);
        let full = dir.path().join(&path);
        std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&full, &content).expect("write packet file");
        manifest.push(FileEntry {
            path,
            size: content.len() as u64,
            sha256: Digest::of_bytes(content.as_bytes()).to_string(),
            executable: false,
        });
    }
    manifest.sort_by(|a, b| a.path.cmp(&b.path));
    (dir, manifest)
}

/// The `required-files` request: `required` (literal paths) plus `extra`.
fn required_request(
    manifest: &[FileEntry],
    required: &[&str],
    extra: Option<&str>,
) -> CheckRequest {
    let mut paths = required.to_vec();
    paths.extend(extra);
    CheckRequest {
        manifest: manifest.to_vec(),
        configuration: json!({ "paths": paths }),
        ..CheckRequest::new(Phase::PostSubmit)
    }
}

/// The process rows' stdin: the manifest and the required paths, tab-separated.
fn process_input(manifest: &[FileEntry], required: &[&str], extra: Option<&str>) -> Vec<u8> {
    let mut input = String::new();
    for file in manifest {
        writeln!(input, "file\t{}\t{}", file.size, file.path).expect("write to a String");
    }
    for path in required.iter().copied().chain(extra) {
        writeln!(input, "require\t{path}").expect("write to a String");
    }
    input.into_bytes()
}

fn sandbox(pooling: bool, cache: &Path) -> Sandbox {
    Sandbox::new(SandboxConfig {
        pooling,
        ..SandboxConfig::new(cache)
    })
    .expect("sandbox")
}

fn allocator_label(requested_pooling: bool, got: AllocatorKind) -> String {
    match (requested_pooling, got) {
        (true, AllocatorKind::Pooling) => "wasm, pooled".into(),
        (false, AllocatorKind::OnDemand) => "wasm, on-demand".into(),
        (true, AllocatorKind::OnDemand) => "wasm, on-demand (pooling requested but refused)".into(),
        (false, AllocatorKind::Pooling) => unreachable!("pooling is never used when off"),
    }
}

/// Runs `check` `WASM_WARMUP + runs` times; every run must pass. Returns the samples
/// and the fuel one run consumes (the same every time).
fn wasm_samples(
    runtime: &tokio::runtime::Runtime,
    sandbox: &Sandbox,
    checker: &LoadedChecker,
    request: &CheckRequest,
    packet: &Path,
    runs: usize,
) -> (Vec<Duration>, u64) {
    runtime.block_on(async {
        let mut samples = Vec::with_capacity(runs);
        let mut fuel = None;
        for i in 0..WASM_WARMUP + runs {
            // The request is cloned outside the timed section: `run` takes it by value.
            let request = request.clone();
            let started = Instant::now();
            let outcome = sandbox
                .run(checker, request, packet)
                .await
                .expect("a valid request");
            let elapsed = started.elapsed();
            assert_eq!(
                outcome.result.verdict(),
                Some(Verdict::Passed),
                "{:?}",
                outcome.result
            );
            assert_eq!(
                *fuel.get_or_insert(outcome.fuel_consumed),
                outcome.fuel_consumed,
                "fuel is deterministic"
            );
            if i >= WASM_WARMUP {
                samples.push(elapsed);
            }
        }
        (samples, fuel.unwrap_or(0))
    })
}

/// Spawns `command`, feeds it `stdin`, returns its stdout; it must exit 0.
fn spawn_once(command: &mut Command, stdin: &[u8]) -> Vec<u8> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if !stdin.is_empty() {
        pipe.write_all(stdin).expect("write stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().expect("wait for the child");
    assert!(out.status.success(), "{command:?}: {:?}", out.status);
    out.stdout
}

/// Spawns `PROCESS_WARMUP + runs` times; every run must print nothing (a pass).
fn process_samples(command: &mut Command, stdin: &[u8], runs: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..PROCESS_WARMUP + runs {
        let started = Instant::now();
        let stdout = spawn_once(command, stdin);
        let elapsed = started.elapsed();
        assert!(
            stdout.is_empty(),
            "{command:?} reported: {}",
            String::from_utf8_lossy(&stdout)
        );
        if i >= PROCESS_WARMUP {
            samples.push(elapsed);
        }
    }
    samples
}

/// Compiles a one-file Rust program with `rustc -O`.
fn rustc(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.rs"));
    std::fs::write(&src, source).expect("write source");
    let out = dir.join(name);
    let compiler = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(&compiler)
        .args(["-O", "--edition", "2021", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(status.success(), "{compiler} {name}.rs: {status}");
    out
}

/// The interpreter behind `python` (resolving shims such as pyenv's) and its version.
fn resolve_python(python: &str) -> (PathBuf, String) {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.executable); print(sys.version.split()[0])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    assert!(out.status.success(), "{python}: {:?}", out.status);
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut lines = text.lines();
    let executable = lines.next().expect("sys.executable").to_owned();
    let version = lines.next().expect("sys.version").to_owned();
    (PathBuf::from(executable), version)
}

fn format_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{cpus} cores available ({model}), {} {}, load average {load} at start",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `<target dir>/bench-reports`: the bench binary is `<target dir>/<profile>/deps/<name>`.
fn report_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("bench-reports"))
        .expect("the bench runs from <target>/<profile>/deps")
}

/// One check of the table and how to run it each way.
struct Check {
    /// The name its rows carry (`check` in the JSON report).
    name: String,
    /// The short name `WORKSTREAM_BENCH_CHECKS` selects it by.
    key: String,
    /// The component, its request and its packet directory.
    wasm: (Vec<u8>, CheckRequest, PathBuf),
    wasm_runs: usize,
    /// For required-files: the request and process stdin with [`MISSING`] added.
    missing: Option<(CheckRequest, Vec<u8>)>,
    /// Native binary, process stdin, Python script; `None` for an extra component,
    /// which has no process rows of its own.
    process: Option<(PathBuf, Vec<u8>, &'static str)>,
}

/// `WORKSTREAM_BENCH_EXTRA_COMPONENTS`: `(name, path)` of each extra component.
fn extra_components() -> Vec<(String, PathBuf)> {
    let var = "WORKSTREAM_BENCH_EXTRA_COMPONENTS";
    let Ok(value) = std::env::var(var) else {
        return Vec::new();
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, path) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("{var}: {item:?} is not name=path.wasm"));
            (name.trim().to_owned(), PathBuf::from(path.trim()))
        })
        .collect()
}

/// `WORKSTREAM_BENCH_CHECKS`: the keys of the checks to run (`None`: all of them).
fn selected_checks() -> Option<Vec<String>> {
    std::env::var("WORKSTREAM_BENCH_CHECKS").ok().map(|value| {
        value
            .split(',')
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty())
            .collect()
    })
}

/// The JavaScript runtime of the `node -e ''` row and its version, or `None` (with a
/// warning) when it does not run here.
fn resolve_node() -> Option<(PathBuf, String)> {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Some((PathBuf::from(node), version))
        }
        outcome => {
            eprintln!("warning: `{node} --version` did not run ({outcome:?}): no `node -e ''` row");
            None
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no arguments of its own.
    let started = Instant::now();
    let machine = machine();
    let wasm_runs = iterations("WORKSTREAM_BENCH_WASM_ITERATIONS", DEFAULT_WASM_ITERATIONS);
    let process_runs = iterations(
        "WORKSTREAM_BENCH_PROCESS_ITERATIONS",
        DEFAULT_PROCESS_ITERATIONS,
    );
    let pooled_only = std::env::var("WORKSTREAM_BENCH_POOLED_ONLY").as_deref() == Ok("1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let scratch = TempDir::new().expect("temp dir");
    let native_trivial = rustc(scratch.path(), "trivial_native", "fn main() {}\n");
    let native_required = rustc(scratch.path(), "required_files_native", NATIVE_REQUIRED);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let (python, python_version) = resolve_python(&python);
    let node = if pooled_only { None } else { resolve_node() };

    let (packet_dir, manifest) = packet();
    let empty_packet = TempDir::new().expect("temp dir");
    let required_bytes = builtin::by_name("required-files")
        .expect("the required-files built-in")
        .bytes
        .to_vec();
    let all: Vec<&str> = manifest.iter().map(|f| f.path.as_str()).collect();
    let three = [all[0], all[FILES / 2], all[FILES - 1]];
    let required_check = |required: &[&str], wasm_runs: usize| Check {
        name: format!("required-files, {FILES} files, {} required", required.len()),
        key: format!("required-files-{}", required.len()),
        wasm: (
            required_bytes.clone(),
            required_request(&manifest, required, None),
            packet_dir.path().to_owned(),
        ),
        wasm_runs,
        missing: Some((
            required_request(&manifest, required, Some(MISSING)),
            process_input(&manifest, required, Some(MISSING)),
        )),
        process: Some((
            native_required.clone(),
            process_input(&manifest, required, None),
            PYTHON_REQUIRED,
        )),
    };
    let mut checks = vec![
        Check {
            name: "trivial".into(),
            key: "trivial".into(),
            wasm: (
                testing::component_bytes("trivial"),
                CheckRequest::new(Phase::PostSubmit),
                empty_packet.path().to_owned(),
            ),
            wasm_runs,
            missing: None,
            process: Some((native_trivial.clone(), Vec::new(), "pass")),
        },
        required_check(&three, wasm_runs),
        required_check(&all, (wasm_runs / 10).max(10)),
    ];
    for (name, path) in extra_components() {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("extra component {name}: read {}: {e}", path.display()));
        checks.push(Check {
            name: name.clone(),
            key: name,
            wasm: (
                bytes,
                CheckRequest::new(Phase::PostSubmit),
                empty_packet.path().to_owned(),
            ),
            wasm_runs,
            missing: None,
            process: None,
        });
    }
    if let Some(keys) = selected_checks() {
        for key in &keys {
            assert!(
                checks.iter().any(|c| &c.key == key),
                "WORKSTREAM_BENCH_CHECKS: no check {key:?}"
            );
        }
        checks.retain(|c| keys.contains(&c.key));
    }

    let mut rows = Vec::new();
    let allocators: &[bool] = if pooled_only { &[true] } else { &[true, false] };
    let sandboxes: Vec<(Sandbox, TempDir, String, &'static str)> = allocators
        .iter()
        .map(|&pooling| {
            let cache = TempDir::new().expect("temp dir");
            let sandbox = sandbox(pooling, cache.path());
            let how = allocator_label(pooling, sandbox.allocator());
            let kind = if pooling {
                "wasm-pooled"
            } else {
                "wasm-on-demand"
            };
            (sandbox, cache, how, kind)
        })
        .collect();
    for check in &checks {
        let (bytes, request, packet) = &check.wasm;
        for (sandbox, _cache, how, kind) in &sandboxes {
            if check.process.is_none() && *kind != "wasm-pooled" {
                // Extra components: pooled only (compiling a 15 MB component for a
                // second engine costs more than its row tells).
                continue;
            }
            let checker = sandbox
                .load(bytes)
                .unwrap_or_else(|e| panic!("{}: load the component: {e}", check.name));
            if let Some((request, _)) = &check.missing {
                // The check really checks: one path more than the packet has is reported.
                let outcome = runtime
                    .block_on(sandbox.run(&checker, request.clone(), packet))
                    .expect("a valid request");
                let RunResult::Completed { findings, .. } = &outcome.result else {
                    panic!("{}: {:?}", check.name, outcome.result);
                };
                assert_eq!(findings.len(), 1, "{}: {findings:?}", check.name);
                assert_eq!(findings[0].code, "required_file_missing");
                assert_eq!(findings[0].path.as_deref(), Some(MISSING));
            } else {
                // A check with nothing to find completes with no findings: a component
                // that fails, declines or reports something is never timed.
                let outcome = runtime
                    .block_on(sandbox.run(&checker, request.clone(), packet))
                    .expect("a valid request");
                let RunResult::Completed { findings, .. } = &outcome.result else {
                    panic!("{}: did not complete: {:?}", check.name, outcome.result);
                };
                assert!(
                    findings.is_empty(),
                    "{}: expected no findings: {findings:?}",
                    check.name
                );
            }
            let (samples, fuel) = wasm_samples(
                &runtime,
                sandbox,
                &checker,
                request,
                packet,
                check.wasm_runs,
            );
            rows.push(Row {
                check: check.name.clone(),
                kind,
                how: how.clone(),
                stats: Stats::of(samples),
                fuel: Some(fuel),
            });
        }

        let Some((native, stdin, script)) = &check.process else {
            continue;
        };
        if pooled_only {
            continue;
        }
        let python_command = |flags: &[&str]| {
            let mut command = Command::new(&python);
            command.args(flags).args(["-c", script]);
            command
        };
        let script_label = if check.missing.is_some() {
            "<script>"
        } else {
            script
        };
        let mut processes = vec![
            (
                "process-native",
                if check.missing.is_some() {
                    "process: native binary (Rust, `rustc -O`)".to_owned()
                } else {
                    "process: native `fn main() {}` (Rust, `rustc -O`)".to_owned()
                },
                Command::new(native),
            ),
            (
                "process-python3",
                format!("process: `python3 -c {script_label}` ({python_version})"),
                python_command(&[]),
            ),
            (
                "process-python3-isolated",
                format!("process: `python3 -I -S -c {script_label}` ({python_version})"),
                python_command(&["-I", "-S"]),
            ),
        ];
        if let (Some((node, node_version)), None) = (&node, &check.missing) {
            // The floor of a JavaScript process per check, beside the JavaScript
            // component's row.
            let mut command = Command::new(node);
            command.args(["-e", ""]);
            processes.push((
                "process-node",
                format!("process: `node -e ''` ({node_version})"),
                command,
            ));
        }
        for (kind, how, command) in &mut processes {
            if let Some((_, input_missing)) = &check.missing {
                // The check really checks: one path more than the packet has is reported.
                let stdout = spawn_once(command, input_missing);
                assert_eq!(
                    String::from_utf8_lossy(&stdout),
                    format!("required_file_missing\t{MISSING}\n"),
                    "{}: {how}",
                    check.name
                );
            }
            rows.push(Row {
                check: check.name.clone(),
                kind,
                how: std::mem::take(how),
                stats: Stats::of(process_samples(command, stdin, process_runs)),
                fuel: None,
            });
        }
    }
    drop(sandboxes);

    let mut report = String::new();
    writeln!(report, "# Checker invocation benchmark\n").unwrap();
    writeln!(
        report,
        "Command: `cargo bench -p workstream-sandbox --bench checker_invocation` \
         (WORKSTREAM_BENCH_WASM_ITERATIONS={wasm_runs}, \
         WORKSTREAM_BENCH_PROCESS_ITERATIONS={process_runs}).\n\n\
         Machine: {machine}. Python: {}. Node: {}.\n\n\
         wasm = `Sandbox::run` with the production `SandboxConfig` and limits (request \
         digest, fresh store and instance from `InstancePre`, `check`, report validation, \
         result digest). process = spawn, write stdin, read stdout, wait. Every measured \
         call passed. \"vs pooled\" = p50 / p50 of the pooled wasm row of the same check.\n",
        python.display(),
        node.as_ref()
            .map_or_else(|| "not run".to_owned(), |(_, version)| version.clone()),
    )
    .unwrap();
    for check in checks.iter().filter(|c| c.process.is_none()) {
        writeln!(
            report,
            "Extra component `{}`: {} bytes, digest {}; an empty request on an empty \
             packet.\n",
            check.name,
            check.wasm.0.len(),
            Digest::of_bytes(&check.wasm.0)
        )
        .unwrap();
    }
    writeln!(
        report,
        "| check | how | iterations | p50 | p99 | mean | vs pooled | fuel/run |"
    )
    .unwrap();
    writeln!(report, "|---|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for check in &checks {
        let base = rows
            .iter()
            .find(|r| r.check == check.name)
            .map(|r| r.stats.p50)
            .expect("a pooled row first");
        for row in rows.iter().filter(|r| r.check == check.name) {
            writeln!(
                report,
                "| {} | {} | {} | {} | {} | {} | {:.1}× | {} |",
                row.check,
                row.how,
                row.stats.iterations,
                format_duration(row.stats.p50),
                format_duration(row.stats.p99),
                format_duration(row.stats.mean),
                row.stats.p50.as_secs_f64() / base.as_secs_f64(),
                row.fuel.map_or_else(|| "—".to_owned(), |f| f.to_string()),
            )
            .unwrap();
        }
    }
    writeln!(report, "\nTotal bench time {:.1?}.", started.elapsed()).unwrap();

    let dir = report_dir();
    std::fs::create_dir_all(&dir).expect("create the report directory");
    let path = dir.join("checker_invocation.md");
    std::fs::write(&path, &report).expect("write the report");
    // The same rows for `workstream-bench`, which puts them beside the other benchmarks.
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let json_rows: Vec<_> = rows
        .iter()
        .map(|row| {
            json!({
                "check": row.check,
                "kind": row.kind,
                "how": row.how,
                "iterations": row.stats.iterations,
                "p50_us": micros(row.stats.p50),
                "p99_us": micros(row.stats.p99),
                "mean_us": micros(row.stats.mean),
                "fuel": row.fuel,
            })
        })
        .collect();
    let json = json!({
        "machine": machine,
        "python": python_version,
        "node": node.as_ref().map(|(_, version)| version),
        "rows": json_rows,
    });
    std::fs::write(
        dir.join("checker_invocation.json"),
        serde_json::to_vec_pretty(&json).expect("JSON"),
    )
    .expect("write the JSON report");
    println!("{report}");
    println!("Written to {}", path.display());
}
