//! The component benchmarks that need no database, run as the `cargo bench` binaries
//! of their crates (each also writes a Markdown report of its own under
//! `<target>/bench-reports/`) and read back from the JSON they write beside it.
//!
//! * `workstream-sandbox/benches/checker_invocation.rs`: one `check` call, pooled and
//!   on-demand Wasmtime, against a process per check (native, `python3` and `node`).
//!   Beside the Rust guests it times a trivial Python and a trivial JavaScript checker:
//!   the projects `workstream checker new --lang python|js` writes, built here with
//!   their own `build.sh` (the pinned componentize-py and componentize-js) and run, as
//!   written, on an empty packet, where the sample rule has no file to scan: what one
//!   call of such a component costs at the least. They are kept under
//!   `<target>/bench-checkers/` and rebuilt only when what `checker new` writes changes
//!   (the key is the digest of the scaffold's files). A toolchain that is unavailable
//!   (`build.sh` exits 3) skips those rows, loudly.
//! * `workstream checker test` of the Python component, twice with a fresh per-user
//!   cache (`WORKSTREAM_CHECKER_CACHE_DIR`): the first compiles, the second loads the
//!   native code from the cache; the second's wall time is the author's wait.
//! * `workstream-engine/benches/packet_ingest.rs`: `packets::inspect` of a 1 GiB
//!   packet against `sha256sum` of the same file, and the child's peak RSS.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use workstream_domain::Digest;

use crate::Scale;
use crate::report::{Against, Better, Figure, Report};

/// The peak RSS a 1 GiB packet may cost (architecture: streaming intake).
const RSS_TARGET_MB: f64 = 150.0;
/// the README's Benchmarks section: checker instantiation p50, pooled.
const CHECKER_P50_TARGET_US: f64 = 50.0;
/// The checker speed issue: the trivial Rust guest's pooled p50.
const TRIVIAL_P50_TARGET_US: f64 = 10.0;
/// The checker speed issue: a trivial Python checker's pooled p50 (0.5 ms).
const PYTHON_P50_TARGET_US: f64 = 500.0;
/// The checker speed issue: a trivial JavaScript checker's pooled p50 (0.3 ms).
const JS_P50_TARGET_US: f64 = 300.0;
/// The checker speed issue: the second `checker test` of a Python component.
const SECOND_CHECKER_TEST_TARGET_S: f64 = 1.0;
/// Where the targets of the checker speed issue come from, as the table says it.
const SPEED_ISSUE: &str = "target (checker speed issue)";

/// One language's trivial checker, built from the `checker new` scaffold.
struct LanguageChecker {
    /// The check's name in the sandbox bench (`python`, `js`).
    key: &'static str,
    /// How the table names it.
    label: &'static str,
    /// The target of its pooled p50.
    target_us: f64,
    /// The process row of the `trivial` check that is its peer.
    peer_kind: &'static str,
    /// The built project (its packets are under `tests/`).
    project: PathBuf,
    /// The component.
    wasm: PathBuf,
}

/// The languages: `checker new --lang`, the bench key, the label, the p50 target, the
/// peer process row.
const LANGUAGES: [(&str, &str, f64, &str); 2] = [
    (
        "python",
        "trivial Python checker (componentize-py, `checker new` as written, nothing to scan)",
        PYTHON_P50_TARGET_US,
        "process-python3",
    ),
    (
        "js",
        "trivial JavaScript checker (componentize-js, `checker new` as written, nothing to scan)",
        JS_P50_TARGET_US,
        "process-node",
    ),
];

/// Runs `cargo bench -p <package> --bench <bench>` into `target` and reads
/// `<target>/bench-reports/<bench>.json`.
fn cargo_bench(
    target: &Path,
    package: &str,
    bench: &str,
    env: &[(&str, String)],
) -> anyhow::Result<Value> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("== cargo bench -p {package} --bench {bench}");
    let status = Command::new(cargo)
        .args(["bench", "-p", package, "--bench", bench])
        .env("CARGO_TARGET_DIR", target)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench -p {package} --bench {bench} failed: {status}");
    }
    let path = target.join("bench-reports").join(format!("{bench}.json"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

pub fn checker_invocation(target: &Path, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let cli = release_cli(target)?;
    let mut languages = Vec::new();
    for (key, label, target_us, peer_kind) in LANGUAGES {
        match language_checker(&cli, target, key)? {
            Ok((project, wasm)) => languages.push(LanguageChecker {
                key,
                label,
                target_us,
                peer_kind,
                project,
                wasm,
            }),
            Err(reason) => {
                let line = format!(
                    "{label}: not measured, its toolchain is unavailable on this machine ({reason})"
                );
                eprintln!("\n**********\nSKIPPED: {line}\n**********\n");
                report.note(line);
            }
        }
    }
    let extra = languages
        .iter()
        .map(|l| format!("{}={}", l.key, l.wasm.display()))
        .collect::<Vec<_>>()
        .join(",");
    let env = [
        (
            "WORKSTREAM_BENCH_WASM_ITERATIONS",
            scale.pick(2000, 200).to_string(),
        ),
        (
            "WORKSTREAM_BENCH_PROCESS_ITERATIONS",
            scale.pick(100, 20).to_string(),
        ),
        ("WORKSTREAM_BENCH_EXTRA_COMPONENTS", extra),
    ];
    let mut raw = cargo_bench(target, "workstream-sandbox", "checker_invocation", &env)?;
    let rows = raw["rows"].as_array().context("rows")?;
    let mut checks: Vec<&str> = Vec::new();
    for row in rows {
        let check = row["check"].as_str().unwrap_or_default();
        if !checks.contains(&check) && !languages.iter().any(|l| l.key == check) {
            checks.push(check);
        }
    }
    let find = |check: &str, kind: &str| {
        rows.iter()
            .find(|r| r["check"] == check && r["kind"] == kind)
            .with_context(|| format!("no {kind} row for {check}"))
    };
    let area = "Checker invocation";
    for check in checks {
        let pooled = find(check, "wasm-pooled")?;
        let us = |row: &Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
        let mut compare = |kind: &str, key: &str, reference: String| -> anyhow::Result<()> {
            let other = find(check, kind)?;
            report.figure(Figure {
                area,
                measure: format!("{check}: pooled Wasmtime {}", &key[..3]),
                ours: us(pooled, key),
                unit: "µs",
                reference,
                reference_value: us(other, key),
                better: Better::Lower,
                against: Against::Peer,
            });
            Ok(())
        };
        compare(
            "wasm-on-demand",
            "p50_us",
            "on-demand Wasmtime instance".into(),
        )?;
        compare(
            "process-native",
            "p50_us",
            "process per check, native".into(),
        )?;
        compare(
            "process-native",
            "p99_us",
            "process per check, native".into(),
        )?;
        compare(
            "process-python3",
            "p50_us",
            format!(
                "process per check, python3 ({})",
                raw["python"].as_str().unwrap_or("?")
            ),
        )?;
        if check == "trivial" {
            for (reference, value) in [
                ("target (README, Benchmarks)", CHECKER_P50_TARGET_US),
                (SPEED_ISSUE, TRIVIAL_P50_TARGET_US),
            ] {
                report.figure(Figure {
                    area,
                    measure: "trivial: pooled Wasmtime p50 (instantiate + call)".into(),
                    ours: us(pooled, "p50_us"),
                    unit: "µs",
                    reference: reference.into(),
                    reference_value: value,
                    better: Better::Lower,
                    against: Against::Target,
                });
            }
        }
    }

    let us = |row: &Value, key: &str| row[key].as_f64().unwrap_or(f64::NAN);
    for language in &languages {
        let pooled = find(language.key, "wasm-pooled")?;
        report.figure(Figure {
            area,
            measure: format!("{}: pooled Wasmtime p50", language.label),
            ours: us(pooled, "p50_us"),
            unit: "µs",
            reference: SPEED_ISSUE.into(),
            reference_value: language.target_us,
            better: Better::Lower,
            against: Against::Target,
        });
        // Its peer: the same nothing done by a process of the language's runtime.
        let Ok(peer) = find("trivial", language.peer_kind) else {
            report.note(format!(
                "{}: no `{}` row to compare with (the runtime did not run here)",
                language.label, language.peer_kind
            ));
            continue;
        };
        let peer_name = peer["how"]
            .as_str()
            .unwrap_or(language.peer_kind)
            .trim_start_matches("process: ")
            .to_owned();
        for key in ["p50_us", "p99_us"] {
            report.figure(Figure {
                area,
                measure: format!("{}: pooled Wasmtime {}", language.label, &key[..3]),
                ours: us(pooled, key),
                unit: "µs",
                reference: format!("process per check, {peer_name}"),
                reference_value: us(peer, key),
                better: Better::Lower,
                against: Against::Peer,
            });
        }
    }

    if let Some(python) = languages.iter().find(|l| l.key == "python") {
        let packet = python.project.join("tests/pass");
        let (first, second) = checker_test_twice(&cli, &python.wasm, &packet)?;
        report.figure(Figure {
            area,
            measure: "`checker test` of the Python checker, second run (per-user cache): wall time"
                .into(),
            ours: second.as_secs_f64(),
            unit: "s",
            reference: SPEED_ISSUE.into(),
            reference_value: SECOND_CHECKER_TEST_TARGET_S,
            better: Better::Lower,
            against: Against::Target,
        });
        report.note(format!(
            "`checker test` of the Python checker ({:.1} MB) on its `tests/pass` packet, release \
             CLI, fresh per-user cache: first run (compiles into the cache) {:.1} s, second \
             run (loads from it) {:.2} s.",
            file_megabytes(&python.wasm),
            first.as_secs_f64(),
            second.as_secs_f64()
        ));
        raw["checker_test_python"] = json!({
            "component": python.wasm,
            "component_bytes": std::fs::metadata(&python.wasm).map(|m| m.len()).ok(),
            "packet": packet,
            "first_seconds": first.as_secs_f64(),
            "second_seconds": second.as_secs_f64(),
        });
    }
    report.raw("checker_invocation", raw);
    Ok(())
}

fn file_megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64 / 1e6)
}

/// `<target>/release/workstream`, built (`cargo build --release -p workstream-cli`
/// into the bench's target dir) if it is missing or out of date.
fn release_cli(target: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("== cargo build --release -p workstream-cli");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "workstream-cli"])
        .env("CARGO_TARGET_DIR", target)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p workstream-cli failed: {status}");
    }
    let cli = target.join("release").join("workstream");
    if !cli.is_file() {
        bail!("{} was not built", cli.display());
    }
    Ok(cli)
}

/// The trivial checker of `lang` (`python`, `js`): the project `checker new` writes,
/// built with its own `build.sh` under `<target>/bench-checkers/<lang>/project`, reused
/// while the scaffold's files are the same. `Ok(Err(reason))` when the language's
/// toolchain is unavailable (`build.sh` exit 3); any other failure is an error.
fn language_checker(
    cli: &Path,
    target: &Path,
    lang: &str,
) -> anyhow::Result<Result<(PathBuf, PathBuf), String>> {
    let dir = target.join("bench-checkers").join(lang);
    let name = format!("bench-{lang}");
    let project = dir.join("project");
    let wasm = project.join(format!("{name}.wasm"));
    let fresh = dir.join("scaffold.new");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh)?;
    }
    let out = Command::new(cli)
        .args(["checker", "new", &name, "--lang", lang])
        .arg(&fresh)
        .output()
        .context("running workstream checker new")?;
    if !out.status.success() {
        bail!(
            "workstream checker new {name} --lang {lang} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let key = scaffold_key(&fresh)?;
    let key_file = dir.join("scaffold.key");
    if wasm.is_file() && std::fs::read_to_string(&key_file).ok().as_deref() == Some(key.as_str()) {
        std::fs::remove_dir_all(&fresh)?;
        println!(
            "== {name}: the scaffold is unchanged, reusing {}",
            wasm.display()
        );
        return Ok(Ok((project, wasm)));
    }
    // A changed scaffold: a new project, keeping the installed toolchain (the venv with
    // componentize-py, node_modules with componentize-js) of the previous one.
    let _ = std::fs::remove_file(&key_file);
    for kept in [".venv", "node_modules"] {
        if project.join(kept).is_dir() {
            std::fs::rename(project.join(kept), fresh.join(kept))?;
        }
    }
    if project.exists() {
        std::fs::remove_dir_all(&project)?;
    }
    std::fs::rename(&fresh, &project)?;
    println!("== {name}: ./build.sh (the pinned toolchain, then the component)");
    let started = Instant::now();
    let mut child = Command::new(project.join("build.sh"))
        .current_dir(&project)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running build.sh")?;
    // Shown as it comes, and kept for the reason of an exit 3.
    let mut stderr = Vec::new();
    for line in BufReader::new(child.stderr.take().context("stderr is piped")?).lines() {
        let line = line?;
        eprintln!("{line}");
        stderr.push(line);
    }
    let status = child.wait()?;
    match status.code() {
        Some(0) => {}
        Some(3) => {
            let reason = stderr
                .iter()
                .rev()
                .find(|l| l.contains("toolchain unavailable"))
                .cloned()
                .unwrap_or_else(|| "build.sh exited 3".into());
            return Ok(Err(reason));
        }
        _ => bail!(
            "{}/build.sh failed: {status}\n{}",
            project.display(),
            stderr.join("\n")
        ),
    }
    if !wasm.is_file() {
        bail!("build.sh succeeded but {} is missing", wasm.display());
    }
    println!(
        "== {name}: built in {:.0} s ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        file_megabytes(&wasm)
    );
    std::fs::write(&key_file, &key)?;
    Ok(Ok((project, wasm)))
}

/// The digest of every file of a scaffold, by path: what `checker new` wrote.
fn scaffold_key(root: &Path) -> anyhow::Result<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.sort();
    let mut listing = String::new();
    for file in files {
        let relative = file.strip_prefix(root)?.display().to_string();
        let digest = Digest::of_bytes(&std::fs::read(&file)?);
        listing.push_str(&format!("{digest} {relative}\n"));
    }
    Ok(Digest::of_bytes(listing.as_bytes()).to_string())
}

/// Runs `workstream checker test <wasm> <packet>` twice with a fresh per-user cache and
/// returns the two wall times. Both must pass with no findings; the first must fill
/// the cache and the second must not write to it (it loaded, did not compile).
fn checker_test_twice(
    cli: &Path,
    wasm: &Path,
    packet: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let home = tempfile::tempdir()?;
    // Made by the CLI itself, mode 0700, as a user's cache is.
    let cache = home.path().join("checker-cache");
    // Every file of the cache (`<engine key>/<digest>.cwasm`) with its modification time.
    fn listing(dir: &Path, out: &mut Vec<(PathBuf, SystemTime)>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                listing(&entry.path(), out)?;
            } else {
                out.push((entry.path(), entry.metadata()?.modified()?));
            }
        }
        out.sort();
        Ok(())
    }
    let mut times = Vec::new();
    let mut after_first = Vec::new();
    for run in ["first", "second"] {
        println!(
            "== workstream checker test {} {} ({run} run)",
            wasm.display(),
            packet.display()
        );
        let started = Instant::now();
        let out = Command::new(cli)
            .args(["checker", "test"])
            .arg(wasm)
            .arg(packet)
            .env("WORKSTREAM_CHECKER_CACHE_DIR", &cache)
            .stdin(Stdio::null())
            .output()
            .context("running workstream checker test")?;
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains("no findings") {
            bail!(
                "checker test ({run} run) did not pass with no findings: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut entries = Vec::new();
        listing(&cache, &mut entries)?;
        if run == "first" {
            if entries.is_empty() {
                bail!("the first checker test left nothing in {}", cache.display());
            }
            after_first = entries;
        } else if entries != after_first {
            bail!(
                "the second checker test wrote to the cache {} (it compiled again)",
                cache.display()
            );
        }
        println!("   {:.2} s", elapsed.as_secs_f64());
        times.push(elapsed);
    }
    Ok((times[0], times[1]))
}

pub fn packet_intake(target: &Path, report: &mut Report) -> anyhow::Result<()> {
    let raw = cargo_bench(target, "workstream-engine", "packet_ingest", &[])?;
    let field = |key: &str| raw[key].as_f64().unwrap_or(f64::NAN);
    let archive_mb = field("archive_bytes") / 1e6;
    let area = "Packet intake";
    report.figure(Figure {
        area,
        measure: format!(
            "inspect a {:.0} MB packet ({} files): parse, inflate, SHA-256, CRC-32, write",
            archive_mb,
            field("files")
        ),
        ours: archive_mb / field("inspect_seconds"),
        unit: "MB/s",
        reference: "`sha256sum` of the same file".into(),
        reference_value: archive_mb / field("sha256sum_seconds"),
        better: Better::Higher,
        against: Against::Limit,
    });
    report.figure(Figure {
        area,
        measure: format!("peak RSS inspecting the {archive_mb:.0} MB packet"),
        ours: field("peak_rss_bytes") / 1e6,
        unit: "MB",
        reference: "target (streaming intake)".into(),
        reference_value: RSS_TARGET_MB,
        better: Better::Lower,
        against: Against::Target,
    });
    report.raw("packet_intake", raw);
    Ok(())
}
