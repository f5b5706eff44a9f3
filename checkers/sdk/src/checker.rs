//! The [`Checker`] trait and the glue between it and the WIT exports.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::bindings::{CheckInput, CheckerInfo, Guest, Phase, PriorFinding, Report};
use crate::findings::Findings;
use crate::manifest::Manifest;
use crate::packet::Packet;

/// A checker: its self-description and its check.
///
/// Implement it on a unit struct and pass that struct to
/// [`export_checker!`](crate::export_checker).
pub trait Checker {
    /// Stable kebab-case name (`required-files`); policies refer to it.
    const NAME: &'static str;
    /// Implementation version; usually `env!("CARGO_PKG_VERSION")`. Bump it
    /// whenever the findings for some input could change.
    const VERSION: &'static str;
    /// One or two sentences on what the checker inspects.
    const DESCRIPTION: &'static str;
    /// JSON Schema (draft 2020-12) of [`Checker::Config`], as JSON text.
    /// Keeping it in a file next to the code (`include_str!`) lets tests
    /// check that it parses and matches the defaults.
    const CONFIG_SCHEMA: &'static str;

    /// The configuration, parsed from the JSON object the host passes.
    /// Use `#[serde(default, deny_unknown_fields)]` so that `{}` means
    /// "all defaults" and a misspelt option is an error, not ignored.
    type Config: DeserializeOwned;

    /// Inspects the packet, pushing what it observes into `out`.
    ///
    /// Return `Err` only when the packet cannot be evaluated at all (an
    /// unreadable file, an impossible configuration): the host then
    /// records an infrastructure failure. Everything about the packet's
    /// content is a finding.
    fn check(ctx: &Context, config: &Self::Config, out: &mut Findings) -> Result<(), CheckError>;
}

/// Configuration type for checkers without options: accepts `{}` only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// Why a check could not be evaluated. Becomes the `err` of `check`.
///
/// The text goes to operators, not contributors; still, keep it free of
/// secrets and file contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError(String);

impl CheckError {
    /// An error with the given explanation.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckError {}

impl From<std::io::Error> for CheckError {
    fn from(err: std::io::Error) -> Self {
        Self(format!("packet I/O error: {err}"))
    }
}

impl From<crate::config::ConfigError> for CheckError {
    fn from(err: crate::config::ConfigError) -> Self {
        Self(err.to_string())
    }
}

/// One run's input: what the host passed to `check`, and the packet
/// directory.
pub struct Context {
    input: CheckInput,
    packet: Packet,
}

impl Context {
    /// A context over `input` whose files are under `packet`.
    pub fn new(input: CheckInput, packet: Packet) -> Self {
        Self { input, packet }
    }

    /// Everything the host passed, as generated from the WIT contract.
    pub fn input(&self) -> &CheckInput {
        &self.input
    }

    /// Whether this run is before or after submission.
    pub fn phase(&self) -> Phase {
        self.input.phase
    }

    /// The packet's manifest (its files with sizes and digests).
    pub fn manifest(&self) -> Manifest<'_> {
        Manifest::new(&self.input.manifest)
    }

    /// The packet's files on disk.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// The contributor's summary, as written.
    pub fn summary(&self) -> &str {
        &self.input.summary
    }

    /// The contributor's attestation, as written.
    pub fn attestation(&self) -> &str {
        &self.input.attestation
    }

    /// The task's acceptance criteria, as written.
    pub fn acceptance_criteria(&self) -> &str {
        &self.input.acceptance_criteria
    }

    /// The previous version's blocking findings; empty unless the packet is
    /// a revision.
    pub fn prior_findings(&self) -> &[PriorFinding] {
        &self.input.prior_findings
    }

    /// True when the packet answers blocking findings of a previous version.
    pub fn is_revision(&self) -> bool {
        !self.input.prior_findings.is_empty()
    }
}

/// Runs checker `C` on `input` with its files under `packet`: parses the
/// configuration, calls [`Checker::check`] and turns the findings into a
/// report. This is what the exported `check` does (with the packet at
/// `/packet`); tests call it directly with a temporary packet.
pub fn run<C: Checker>(input: CheckInput, packet: Packet) -> Result<Report, CheckError> {
    let config: C::Config = crate::config::parse(&input.configuration)?;
    let ctx = Context::new(input, packet);
    let mut findings = Findings::new();
    C::check(&ctx, &config, &mut findings)?;
    Ok(findings.into_report())
}

/// The component-side adapter that implements the generated `Guest` trait
/// for a [`Checker`]. Used through [`export_checker!`](crate::export_checker).
pub struct Component<C>(PhantomData<C>);

impl<C: Checker> Guest for Component<C> {
    fn info() -> CheckerInfo {
        CheckerInfo {
            name: C::NAME.to_owned(),
            version: C::VERSION.to_owned(),
            description: C::DESCRIPTION.to_owned(),
            config_schema: C::CONFIG_SCHEMA.to_owned(),
        }
    }

    fn check(input: CheckInput) -> Result<Report, String> {
        run::<C>(input, Packet::mounted()).map_err(|err| err.0)
    }
}
