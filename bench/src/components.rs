//! The component benchmarks that need no database, run as the `cargo bench` binaries
//! of their crates (each also writes a Markdown report of its own under
//! `<target>/bench-reports/`) and read back from the JSON they write beside it.
//!
//! * `workstream-sandbox/benches/checker_invocation.rs`: one `check` call, pooled and
//!   on-demand Wasmtime, against a process per check (native and `python3`).
//! * `workstream-engine/benches/packet_ingest.rs`: `packets::inspect` of a 1 GiB
//!   packet against `sha256sum` of the same file, and the child's peak RSS.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::Scale;
use crate::report::{Against, Better, Figure, Report};

/// The peak RSS a 1 GiB packet may cost (architecture: streaming intake).
const RSS_TARGET_MB: f64 = 150.0;
/// `anchors.md`: checker instantiation p50, pooled.
const CHECKER_P50_TARGET_US: f64 = 50.0;

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
    let env = [
        (
            "WORKSTREAM_BENCH_WASM_ITERATIONS",
            scale.pick(2000, 200).to_string(),
        ),
        (
            "WORKSTREAM_BENCH_PROCESS_ITERATIONS",
            scale.pick(100, 20).to_string(),
        ),
    ];
    let raw = cargo_bench(target, "workstream-sandbox", "checker_invocation", &env)?;
    let rows = raw["rows"].as_array().context("rows")?;
    let mut checks: Vec<&str> = Vec::new();
    for row in rows {
        let check = row["check"].as_str().unwrap_or_default();
        if !checks.contains(&check) {
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
            report.figure(Figure {
                area,
                measure: "trivial: pooled Wasmtime p50 (instantiate + call)".into(),
                ours: us(pooled, "p50_us"),
                unit: "µs",
                reference: "target (anchors.md)".into(),
                reference_value: CHECKER_P50_TARGET_US,
                better: Better::Lower,
                against: Against::Target,
            });
        }
    }
    report.raw("checker_invocation", raw);
    Ok(())
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
