//! Fixtures for native unit tests of checkers (feature `testing`).
//!
//! A test writes a packet into a [`TempDir`], describes the run with
//! [`InputBuilder`] (which computes the manifest from the files, so sizes
//! and digests are right unless a test breaks them on purpose), and calls
//! [`crate::run`].
//!
//! ```ignore
//! let packet = TempDir::new();
//! packet.write("answer.md", b"42");
//! let input = InputBuilder::new().manifest_from(&packet).config(r#"{"paths":["answer.md"]}"#).build();
//! let report = workstream_checker_sdk::run::<RequiredFiles>(input, packet.packet()).unwrap();
//! assert!(report.findings.is_empty());
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bindings::{CheckInput, FileEntry, Phase, PriorFinding};
use crate::digest::sha256_bytes;
use crate::packet::{EntryKind, Packet};

/// A directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, empty directory.
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "workstream-checker-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temporary directory");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A [`Packet`] rooted here.
    pub fn packet(&self) -> Packet {
        Packet::at(&self.path)
    }

    /// Writes `bytes` to packet path `path`, creating parent directories.
    pub fn write(&self, path: &str, bytes: &[u8]) {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).expect("create parent directories");
        }
        fs::write(full, bytes).expect("write fixture file");
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Builds a [`CheckInput`] for a test: post-submit, empty texts, `{}`
/// configuration and no files unless told otherwise.
#[derive(Debug, Clone)]
pub struct InputBuilder {
    input: CheckInput,
}

impl Default for InputBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl InputBuilder {
    /// The defaults described above.
    pub fn new() -> Self {
        Self {
            input: CheckInput {
                phase: Phase::PostSubmit,
                manifest: Vec::new(),
                summary: String::new(),
                attestation: String::new(),
                acceptance_criteria: String::new(),
                configuration: "{}".to_owned(),
                prior_findings: Vec::new(),
            },
        }
    }

    /// Sets the manifest to the files under `dir`, with their real sizes
    /// and digests, sorted by path as the host sorts them.
    pub fn manifest_from(mut self, dir: &TempDir) -> Self {
        let packet = dir.packet();
        let mut manifest = Vec::new();
        for entry in packet.walk().expect("walk fixture packet") {
            if let EntryKind::File { size } = entry.kind {
                let bytes = fs::read(dir.path().join(&entry.path)).expect("read fixture file");
                manifest.push(FileEntry {
                    path: entry.path,
                    size,
                    sha256: sha256_bytes(&bytes),
                    executable: false,
                });
            }
        }
        self.input.manifest = manifest;
        self
    }

    /// Adds a manifest entry as given (for entries without files, or with
    /// wrong sizes or digests).
    pub fn entry(mut self, path: &str, size: u64, sha256: &str) -> Self {
        self.input.manifest.push(FileEntry {
            path: path.to_owned(),
            size,
            sha256: sha256.to_owned(),
            executable: false,
        });
        self
    }

    /// Changes the manifest in place.
    pub fn edit_manifest(mut self, edit: impl FnOnce(&mut Vec<FileEntry>)) -> Self {
        edit(&mut self.input.manifest);
        self
    }

    /// Sets the summary.
    pub fn summary(mut self, text: &str) -> Self {
        self.input.summary = text.to_owned();
        self
    }

    /// Sets the attestation.
    pub fn attestation(mut self, text: &str) -> Self {
        self.input.attestation = text.to_owned();
        self
    }

    /// Sets the acceptance criteria.
    pub fn acceptance_criteria(mut self, text: &str) -> Self {
        self.input.acceptance_criteria = text.to_owned();
        self
    }

    /// Sets the configuration JSON.
    pub fn config(mut self, json: &str) -> Self {
        self.input.configuration = json.to_owned();
        self
    }

    /// Adds a prior finding with the given response (citing `answer.md`, line 1).
    pub fn prior_finding(mut self, id: &str, response: Option<&str>) -> Self {
        self.input.prior_findings.push(PriorFinding {
            finding_id: id.to_owned(),
            area: "answer.md".to_owned(),
            issue: "The answer does not cover the edge case.".to_owned(),
            path: Some("answer.md".to_owned()),
            line: Some(1),
            required_fix: "Cover the edge case.".to_owned(),
            response: response.map(str::to_owned),
        });
        self
    }

    /// Sets the phase.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.input.phase = phase;
        self
    }

    /// The input.
    pub fn build(self) -> CheckInput {
        self.input
    }
}

/// Asserts that `C::CONFIG_SCHEMA` is a JSON Schema object describing an
/// object, that each of `configs` parses into `C::Config`, and that so does
/// the first of `configs` with any property set to the `default` the schema
/// declares for it. Catches schema files
/// that drift from the Rust type.
pub fn assert_config_schema<C: crate::Checker>(configs: &[&str]) {
    let schema: serde_json::Value =
        serde_json::from_str(C::CONFIG_SCHEMA).expect("CONFIG_SCHEMA is JSON");
    assert_eq!(
        schema["type"], "object",
        "CONFIG_SCHEMA describes an object"
    );
    assert!(
        schema.get("$schema").is_some(),
        "CONFIG_SCHEMA names its draft"
    );
    let mut samples: Vec<String> = configs.iter().map(|config| (*config).to_owned()).collect();
    // Each default is tried on top of the first sample, which carries any
    // required options.
    let base: serde_json::Value =
        serde_json::from_str(configs.first().copied().unwrap_or("{}")).expect("sample is JSON");
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            if let Some(default) = property.get("default") {
                let mut sample = base.clone();
                sample[name] = default.clone();
                samples.push(sample.to_string());
            }
        }
    }
    for config in &samples {
        crate::config::parse::<C::Config>(config)
            .unwrap_or_else(|err| panic!("config {config} does not parse: {err}"));
    }
}

/// The codes of a report's findings, in order.
pub fn codes(report: &crate::Report) -> Vec<&str> {
    report
        .findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect()
}
