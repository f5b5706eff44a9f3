//! The report: one figure per row, each beside the peer or limit it is measured
//! against, written as `bench-report.md` (the table the README carries) and
//! `bench-report.json` (the figures plus each part's raw measurements).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Scale;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Latencies, times.
    Lower,
    /// Rates.
    Higher,
}

/// What the figure is compared with.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// Another system doing the same work: the ratio is Workstream's lead (above 1:
    /// Workstream is ahead).
    Peer,
    /// A physical limit of the machine (the commit ceiling, hashing speed, the
    /// server's floor): the ratio is how close Workstream comes to it (1 = at the limit).
    Limit,
    /// A target of the design (README, Benchmarks): the ratio is the headroom (above 1: the
    /// target is met).
    Target,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The benchmark area (`Checker invocation`, `Durable jobs`, ...).
    pub area: &'static str,
    /// What was measured.
    pub measure: String,
    /// Workstream's value.
    pub ours: f64,
    /// Its unit (`µs`, `jobs/s`, ...).
    pub unit: &'static str,
    /// The peer or the limit, in words.
    pub reference: String,
    /// The peer's or the limit's value, in the same unit.
    pub reference_value: f64,
    /// Which way is better.
    pub better: Better,
    /// Peer or limit.
    pub against: Against,
}

impl Figure {
    /// The ratio the table shows: Workstream's lead over a peer (above 1 is ahead), or
    /// its share of a limit (1 is at the limit).
    pub fn ratio(&self) -> f64 {
        match self.better {
            Better::Lower => self.reference_value / self.ours,
            Better::Higher => self.ours / self.reference_value,
        }
    }
}

/// The report being built.
pub struct Report {
    scale: Scale,
    arguments: Vec<String>,
    machine: String,
    figures: Vec<Figure>,
    parts: serde_json::Map<String, Value>,
    notes: Vec<String>,
    elapsed: Option<Duration>,
}

impl Report {
    /// An empty report for a run with `arguments`.
    pub fn new(scale: Scale, arguments: &[String]) -> Report {
        Report {
            scale,
            arguments: arguments.to_vec(),
            machine: machine(),
            figures: Vec::new(),
            parts: serde_json::Map::new(),
            notes: Vec::new(),
            elapsed: None,
        }
    }

    /// Adds a figure.
    pub fn figure(&mut self, figure: Figure) {
        println!(
            "  {} / {}: {} {} ({} {} {}; ratio {:.2})",
            figure.area,
            figure.measure,
            number(figure.ours),
            figure.unit,
            figure.reference,
            number(figure.reference_value),
            figure.unit,
            figure.ratio()
        );
        self.figures.push(figure);
    }

    /// Keeps a part's raw measurements in the JSON file.
    pub fn raw(&mut self, part: &str, value: Value) {
        self.parts.insert(part.to_owned(), value);
    }

    /// A line printed under the table (how a part was run).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Records the total run time.
    pub fn finish(&mut self, elapsed: Duration) {
        self.elapsed = Some(elapsed);
    }

    /// Writes `bench-report.md` and `bench-report.json` into `target`.
    pub fn write(&self, target: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(target)?;
        let markdown = target.join("bench-report.md");
        let json = target.join("bench-report.json");
        std::fs::write(&markdown, self.markdown())?;
        let value = json!({
            "command": self.command(),
            "quick": self.scale.quick,
            "machine": self.machine,
            "elapsed_seconds": self.elapsed.map(|e| e.as_secs_f64()),
            "figures": self.figures.iter().map(|f| {
                let mut v = serde_json::to_value(f).expect("a figure serializes");
                v["ratio"] = json!(f.ratio());
                v
            }).collect::<Vec<_>>(),
            "notes": self.notes,
            "parts": self.parts,
        });
        std::fs::write(&json, serde_json::to_vec_pretty(&value)?)?;
        Ok((markdown, json))
    }

    fn command(&self) -> String {
        let mut command = "cargo run -p workstream-bench --release".to_owned();
        if !self.arguments.is_empty() {
            command.push_str(" -- ");
            command.push_str(&self.arguments.join(" "));
        }
        command
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Workstream benchmark report\n");
        let _ = writeln!(
            out,
            "Command: `{}`{}{}\n",
            self.command(),
            {
                if self.scale.quick {
                    " (quick: a smoke run, not figures to publish)"
                } else {
                    ""
                }
            },
            if cfg!(debug_assertions) {
                " — run from a debug build: not figures to publish"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "Machine: {}.\n", self.machine);
        let _ = writeln!(
            out,
            "Ratio: against a peer, Workstream's lead (peer ÷ Workstream for times, \
             Workstream ÷ peer for rates; above 1 = Workstream ahead); against a limit, \
             how close Workstream comes to it (1 = at the limit); against a target, the \
             headroom (above 1 = met).\n"
        );
        let _ = writeln!(
            out,
            "| area | measure | Workstream | against | its value | ratio |"
        );
        let _ = writeln!(out, "|---|---|---:|---|---:|---:|");
        for f in &self.figures {
            let ratio = match f.against {
                Against::Peer => format!("{:.2}× {}", f.ratio(), lead_word(f.ratio())),
                Against::Limit => format!("{} of limit", share(f.ratio())),
                Against::Target => format!(
                    "{:.2}× {}",
                    f.ratio(),
                    if f.ratio() >= 1.0 { "met" } else { "missed" }
                ),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} {} | {} | {} {} | {} |",
                f.area,
                f.measure,
                number(f.ours),
                f.unit,
                f.reference,
                number(f.reference_value),
                f.unit,
                ratio
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        if let Some(elapsed) = self.elapsed {
            let _ = writeln!(out, "\nTotal run time {:.0} s.", elapsed.as_secs_f64());
        }
        out
    }
}

/// A share of a limit with two significant digits (0.0042, 0.31).
fn share(ratio: f64) -> String {
    if ratio >= 0.1 || ratio <= 0.0 {
        format!("{ratio:.2}")
    } else {
        let digits = (-ratio.log10()).ceil() as usize + 1;
        format!("{ratio:.digits$}")
    }
}

fn lead_word(ratio: f64) -> &'static str {
    if ratio >= 1.0 { "ahead" } else { "behind" }
}

/// A number with sensible precision for the table.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The `p`th percentile (0 to 100) of `samples`, nearest rank; `samples` is sorted.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `samples` sorted ascending.
pub fn sorted(mut samples: Vec<f64>) -> Vec<f64> {
    samples.sort_by(f64::total_cmp);
    samples
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
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {:.0} GiB", kb / 1048576.0));
    let postgres = std::process::Command::new(
        workstream_store::embedded::find_server_binaries()
            .map(|dir| dir.join("postgres"))
            .unwrap_or_else(|_| "postgres".into()),
    )
    .arg("--version")
    .output()
    .ok()
    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    .unwrap_or_else(|| "PostgreSQL unknown".into());
    format!(
        "{cpus} cores ({model}){memory}, {} {}, {postgres}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
