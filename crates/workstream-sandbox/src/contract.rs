//! The published versions of the checker contract, and how a run crosses each.
//!
//! `workstream:checker` follows semantic versioning, and in the component model adding
//! a field to a record is a breaking change. So a new field means a new version, and a
//! component built against an older one must keep running unchanged: the host binds
//! every version ([`crate::bindings`]) and, when it loads a component, picks the one
//! whose `info` and `check` exports type-check, newest first ([`Bound::new`]). The
//! registry records which version a component targets ([`Contract::as_str`]).
//!
//! A run's input is the host's own [`CheckRequest`], whatever the version: each
//! version's input record is made from it, dropping what that version does not carry
//! (0.1.0 has no `path` or `line` on a prior finding). The request digest is of the
//! host's request, so it names what the host knew; the stored request says which
//! contract the component saw it through.

use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::bindings::{v0_1, v0_2};
use crate::outcome::{Finding, Level, RawReport};
use crate::request::{CheckRequest, Phase};
use crate::wasi::RunState;

/// A published version of the checker contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Contract {
    /// `workstream:checker@0.1.0`, the first contract (`wit/v0.1.0/checker.wit`).
    #[serde(rename = "workstream:checker@0.1.0")]
    V0_1,
    /// `workstream:checker@0.2.0` (`wit/checker.wit`): prior findings carry the
    /// evidence's `path` and `line`.
    #[serde(rename = "workstream:checker@0.2.0")]
    V0_2,
}

impl Contract {
    /// The version new checkers are built against.
    pub const LATEST: Contract = Contract::V0_2;

    /// Every version the host runs, newest first.
    pub const ALL: [Contract; 2] = [Contract::V0_2, Contract::V0_1];

    /// The package name and version, as the registry stores it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Contract::V0_1 => "workstream:checker@0.1.0",
            Contract::V0_2 => "workstream:checker@0.2.0",
        }
    }

    /// The version named `text` (as [`Contract::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Contract> {
        Contract::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pre-linked component bound to the contract version it implements.
pub(crate) enum Bound {
    V0_1(v0_1::CheckerPre<RunState>),
    V0_2(v0_2::CheckerPre<RunState>),
}

/// What a checker says about itself (`info()`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckerInfo {
    /// Stable kebab-case name.
    pub name: String,
    /// Implementation version (semver).
    pub version: String,
    /// What it inspects.
    pub description: String,
    /// JSON Schema of its configuration, as JSON text.
    pub config_schema: String,
}

impl Bound {
    /// Binds `pre` to the newest version whose exports it implements. The error is
    /// the newest version's type-check failure (what an author building today needs).
    pub(crate) fn new(pre: InstancePre<RunState>) -> Result<Bound, String> {
        match v0_2::CheckerPre::new(pre.clone()) {
            Ok(bound) => Ok(Bound::V0_2(bound)),
            Err(newest) => match v0_1::CheckerPre::new(pre) {
                Ok(bound) => Ok(Bound::V0_1(bound)),
                Err(_) => Err(format!("{newest:#}")),
            },
        }
    }

    pub(crate) fn contract(&self) -> Contract {
        match self {
            Bound::V0_1(_) => Contract::V0_1,
            Bound::V0_2(_) => Contract::V0_2,
        }
    }

    /// Instantiates and calls `info()`.
    pub(crate) async fn info(&self, store: &mut Store<RunState>) -> wasmtime::Result<CheckerInfo> {
        macro_rules! info {
            ($pre:expr) => {{
                let info = $pre
                    .instantiate_async(&mut *store)
                    .await?
                    .call_info(&mut *store)
                    .await?;
                CheckerInfo {
                    name: info.name,
                    version: info.version,
                    description: info.description,
                    config_schema: info.config_schema,
                }
            }};
        }
        Ok(match self {
            Bound::V0_1(pre) => info!(pre),
            Bound::V0_2(pre) => info!(pre),
        })
    }

    /// Instantiates and calls `check` with `input`.
    pub(crate) async fn check(
        &self,
        store: &mut Store<RunState>,
        input: &Input,
    ) -> wasmtime::Result<Result<RawReport, String>> {
        macro_rules! check {
            ($pre:expr, $input:expr, $module:ident) => {{
                let instance = $pre.instantiate_async(&mut *store).await?;
                instance
                    .call_check(&mut *store, $input)
                    .await?
                    .map(|report| RawReport {
                        findings: report
                            .findings
                            .into_iter()
                            .map(|f| Finding {
                                code: f.code,
                                level: match f.level {
                                    $module::Level::Info => Level::Info,
                                    $module::Level::Warning => Level::Warning,
                                    $module::Level::Error => Level::Error,
                                },
                                message: f.message,
                                path: f.path,
                                line: f.line,
                                suggested_fix: f.suggested_fix,
                            })
                            .collect(),
                        summary: report.summary,
                    })
            }};
        }
        Ok(match (self, input) {
            (Bound::V0_1(pre), Input::V0_1(input)) => check!(pre, input, v0_1),
            (Bound::V0_2(pre), Input::V0_2(input)) => check!(pre, input, v0_2),
            _ => unreachable!("inputs are made for the component's own contract"),
        })
    }

    /// The input record of this component's contract version for `request`, whose
    /// configuration is `configuration` in canonical form
    /// ([`CheckRequest::canonical_configuration`], computed once per run for the
    /// digest and the guest).
    pub(crate) fn input(&self, request: &CheckRequest, configuration: String) -> Input {
        macro_rules! input {
            ($module:ident, |$p:ident| $prior:expr) => {
                $module::CheckInput {
                    phase: match request.phase {
                        Phase::PreSubmit => $module::Phase::PreSubmit,
                        Phase::PostSubmit => $module::Phase::PostSubmit,
                    },
                    manifest: request
                        .manifest
                        .iter()
                        .map(|f| $module::FileEntry {
                            path: f.path.clone(),
                            size: f.size,
                            sha256: f.sha256.clone(),
                            executable: f.executable,
                        })
                        .collect(),
                    summary: request.summary.clone(),
                    attestation: request.attestation.clone(),
                    acceptance_criteria: request.acceptance_criteria.clone(),
                    configuration,
                    prior_findings: request.prior_findings.iter().map(|$p| $prior).collect(),
                }
            };
        }
        match self {
            Bound::V0_1(_) => Input::V0_1(input!(v0_1, |p| v0_1::PriorFinding {
                finding_id: p.finding_id.clone(),
                area: p.area.clone(),
                issue: p.issue.clone(),
                required_fix: p.required_fix.clone(),
                response: p.response.clone(),
            })),
            Bound::V0_2(_) => Input::V0_2(input!(v0_2, |p| v0_2::PriorFinding {
                finding_id: p.finding_id.clone(),
                area: p.area.clone(),
                issue: p.issue.clone(),
                path: p.path.clone(),
                line: p.line,
                required_fix: p.required_fix.clone(),
                response: p.response.clone(),
            })),
        }
    }
}

/// A `check` input in one contract version's shape.
pub(crate) enum Input {
    V0_1(v0_1::CheckInput),
    V0_2(v0_2::CheckInput),
}
