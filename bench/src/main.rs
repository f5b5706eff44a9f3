//! `workstream-bench`: every Workstream benchmark, each beside its peer or the physical
//! limit measured in the same run on the same machine.
//!
//! ```text
//! cargo run -p workstream-bench --release            # the full run (about 10 minutes)
//! cargo run -p workstream-bench --release -- --quick # smaller counts, a smoke run
//! cargo run -p workstream-bench --release -- --only jobs,http
//! ```
//!
//! It writes `<target>/bench-report.md` and `<target>/bench-report.json`. The parts:
//!
//! * [`components`]: the two component benchmarks that need no database, run as
//!   `cargo bench` binaries of their crates: checker invocation (pooled and on-demand
//!   Wasmtime against a process per check, native, `python3` and `node`; the trivial
//!   Python and JavaScript checkers `workstream checker new` writes, built with their
//!   pinned toolchains; the second `workstream checker test` of the Python one) and
//!   packet intake (a 1 GiB packet against `sha256sum`, and its peak RSS).
//! * [`cluster`]: one durable embedded PostgreSQL cluster (the one `workstream up`
//!   runs, `fsync` on) that every database benchmark and its peer share.
//! * [`jobs`]: the durable job queue against graphile-worker (npm) running the same
//!   no-op jobs on the same cluster: throughput and enqueue-to-start latency.
//! * [`lifecycle`]: task transitions per second through the real HTTP API and
//!   pipeline (submission to routing, and full cycles to acceptance) against
//!   `pgbench`'s simple-update TPS on the same cluster, the commit-rate ceiling.
//! * [`preview`]: a policy preview of 200 stored submissions under a draft with a
//!   stricter checker, timed against its 10 s target, and the submission-to-routing
//!   rate while a preview runs over the same rate without one (target 0.8).
//! * [`http`]: p50/p99 of the queue, task and review-packet reads at 500 and 1000
//!   requests/s, from `oha` on loopback at a constant rate, and of submission from
//!   `wrk`, each against the same server's `/health` at the same rate (the floor of
//!   the stack).
//! * [`history`]: cost that does not grow with history: the ready queue, a task, its
//!   audit trail, a claim and an evaluation on a fresh database and again after a busy
//!   year (a million tasks) is written into it in bulk, with the plans behind each.
//! * [`world`]: the product under load (server, project, people) and the client
//!   calls that move tasks, shared by the lifecycle and HTTP parts.
//! * [`report`]: the figures, the Markdown table and the JSON file.
//!
//! Tools the peers need are installed when missing (graphile-worker by `npm ci` from
//! `bench/graphile/package-lock.json`, `wrk` from Debian's packages), and the language
//! checkers' `build.sh` installs componentize-py (PyPI) and componentize-js (npm) into
//! their projects under the target dir; nothing else is fetched.

mod cluster;
mod components;
mod history;
mod http;
mod jobs;
mod lifecycle;
mod preview;
mod report;
mod tools;
mod world;

// The e2e suite's fixtures (projects, guides, grants, packets), shared rather than
// copied: the benchmark drives the product exactly as its tests do.
#[path = "../../tests/tests/projects_support/mod.rs"]
mod projects_support;
#[path = "../../tests/tests/review_support/mod.rs"]
mod review_support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;

use crate::report::Report;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Runs every Workstream benchmark beside its peer and writes the report.")]
struct Options {
    /// Smaller counts and shorter runs: a smoke run, not figures to publish.
    #[arg(long)]
    quick: bool,
    /// Only these parts (comma-separated): checkers, intake, jobs, lifecycle, http,
    /// history, preview.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

const PARTS: [&str; 7] = [
    "checkers",
    "intake",
    "jobs",
    "lifecycle",
    "http",
    "history",
    "preview",
];

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// A smoke run.
    pub quick: bool,
}

impl Scale {
    /// `full` normally, `quick` in a smoke run.
    pub fn pick<T>(self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let parts: BTreeSet<&str> = if options.only.is_empty() {
        PARTS.into_iter().collect()
    } else {
        let mut parts = BTreeSet::new();
        for part in &options.only {
            let Some(known) = PARTS.iter().find(|p| **p == part.as_str()) else {
                bail!("unknown part {part:?}; the parts are {}", PARTS.join(", "));
            };
            parts.insert(*known);
        }
        parts
    };
    let scale = Scale {
        quick: options.quick,
    };
    let target = target_dir()?;
    let started = Instant::now();
    let mut report = Report::new(scale, &std::env::args().skip(1).collect::<Vec<_>>());

    if parts.contains("checkers") {
        components::checker_invocation(&target, scale, &mut report)?;
    }
    if parts.contains("intake") {
        components::packet_intake(&target, &mut report)?;
        // Intake wrote a gigabyte of files; flush it now, or its writeback would slow
        // the commits of the parts that follow.
        std::process::Command::new("sync")
            .status()
            .context("running sync after the intake part")?;
    }
    if ["jobs", "lifecycle", "http", "history", "preview"]
        .iter()
        .any(|part| parts.contains(part))
    {
        // Started before any other thread exists: it sets the environment variable the
        // e2e fixtures read to find their server.
        let cluster = cluster::BenchCluster::start(&target)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        runtime.block_on(async {
            if parts.contains("jobs") {
                jobs::run(&cluster, scale, &mut report).await?;
            }
            if parts.contains("lifecycle") {
                lifecycle::run(&cluster, scale, &mut report).await?;
            }
            if parts.contains("preview") {
                preview::run(scale, &mut report).await?;
            }
            if parts.contains("http") {
                http::run(&target, scale, &mut report).await?;
            }
            if parts.contains("history") {
                history::run(&cluster, scale, &mut report).await?;
            }
            anyhow::Ok(())
        })?;
    }

    report.finish(started.elapsed());
    let (markdown, json) = report.write(&target)?;
    println!("\n{}", std::fs::read_to_string(&markdown)?);
    println!("Written to {} and {}", markdown.display(), json.display());
    Ok(())
}

/// The cargo target directory this binary was built into (`<target>/<profile>/`).
fn target_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("current exe")?;
    exe.ancestors()
        .nth(2)
        .map(PathBuf::from)
        .context("the bench runs from <target>/<profile>/")
}
