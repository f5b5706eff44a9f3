//! The peers' programs, installed when missing: graphile-worker from the npm registry
//! (`npm ci` on the committed lockfile), `wrk` from Debian's packages and `oha` from
//! crates.io (`cargo install --locked` at a pinned version, into the target
//! directory). Nothing is downloaded from anywhere else.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// `bench/` in the source tree.
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `bench/graphile`, with its `node_modules` installed.
pub fn graphile() -> anyhow::Result<PathBuf> {
    let dir = bench_dir().join("graphile");
    if !dir.join("node_modules/graphile-worker").is_dir() {
        println!(
            "== installing graphile-worker (npm ci in {})",
            dir.display()
        );
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir))
        .context(
            "installing graphile-worker needs Node.js and npm (Debian: apt-get install nodejs npm)",
        )?;
    }
    Ok(dir)
}

/// The `wrk` load generator.
pub fn wrk() -> anyhow::Result<PathBuf> {
    if let Some(found) = on_path("wrk") {
        return Ok(found);
    }
    if on_path("apt-get").is_some() && is_root() {
        println!("== installing wrk (apt-get install wrk)");
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    on_path("wrk").context("the HTTP benchmark needs wrk on PATH (Debian: apt-get install wrk)")
}

/// The pinned version of the `oha` load generator.
const OHA_VERSION: &str = "1.16.0";

/// The `oha` load generator (constant request rate, latency corrected for coordinated
/// omission): on PATH, or built once into `<target>/bench-tools`.
pub fn oha(target: &Path) -> anyhow::Result<PathBuf> {
    if let Some(found) = on_path("oha") {
        return Ok(found);
    }
    let root = target.join("bench-tools");
    let built = root.join("bin/oha");
    if !built.is_file() {
        println!("== installing oha {OHA_VERSION} (cargo install, a few minutes once)");
        run(Command::new("cargo")
            .args([
                "install",
                "--locked",
                "--quiet",
                "oha",
                "--version",
                OHA_VERSION,
            ])
            .arg("--root")
            .arg(&root))
        .context("installing oha from crates.io")?;
    }
    Ok(built)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    Ok(())
}
