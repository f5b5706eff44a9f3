//! The Wasmtime host for Workstream checker components.
//!
//! A checker is a WebAssembly component implementing `wit/checker.wit`
//! (`workstream:checker@0.2.0`, or an earlier version of it). This crate loads checkers, runs them against one
//! immutable submission packet under fixed limits, and turns what happened into a
//! [`CheckOutcome`]: a report with a derived [`Verdict`], or an infrastructure failure
//! with a stable [`FailureCode`] — never a pass for a crash, a timeout, a memory blow-up
//! or a malformed report.
//!
//! The parts, and how they fit:
//!
//! - [`engine`]: the one Wasmtime [`wasmtime::Engine`] a [`Sandbox`] owns — component
//!   model, fuel, epoch interruption driven by a ticker thread, and the pooling
//!   allocator (falling back to on-demand allocation). Every knob is documented there.
//! - [`limits`]: the bounds of a run ([`Limits`]): memory, fuel, wall-clock deadline,
//!   report size; and the store's resource limiter, which remembers that it refused
//!   memory so a trap after a refused allocation is reported as `capacity_exceeded`.
//! - [`imports`]: what a component may import, decided once for every caller (WASI
//!   linked and narrowed per run; capabilities never granted linked to traps;
//!   anything else refused at load), checked before anything is compiled.
//! - [`contract`]: the published versions of `workstream:checker` ([`Contract`]); a
//!   component is bound to the one it implements, and each keeps running.
//! - [`cache`]: compiled native code on disk, keyed by component digest and the
//!   engine's compatibility hash, written only by this host.
//! - [`wasi`]: the per-run WASI context: `/packet` read-only, no network, no
//!   environment, no arguments, no stdin, output discarded, clocks and random fixed and
//!   seeded from the request digest.
//! - [`request`]: what a run is asked ([`CheckRequest`]) and its digest.
//! - [`outcome`]: what a run produced ([`CheckOutcome`]), report validation, the verdict
//!   rule and the result digest.
//! - [`sandbox`]: [`Sandbox`] ties them together: [`Sandbox::load`] (import check,
//!   cache, `InstancePre`) and [`Sandbox::run`] (fresh store and instance per run).
//! - [`builtin`]: the built-in checkers, embedded at build time (`build.rs` builds
//!   `checkers/`), with their digests.
//! - [`testing`]: paths of the test-only components (a trivial checker and hostile
//!   guests) for this and other crates' tests.
//!
//! Determinism: given the same component bytes and the same request, a completed run
//! yields the same findings and the same [`CheckOutcome::result_digest`], in any process
//! (see [`outcome`] for what the digest covers).

#![deny(missing_docs)]

mod bindings;
pub mod builtin;
pub mod cache;
mod canonical;
pub mod contract;
pub mod engine;
pub mod imports;
pub mod limits;
pub mod outcome;
pub mod request;
pub mod sandbox;
pub mod testing;
pub mod wasi;

pub use builtin::BuiltinChecker;
pub use contract::CheckerInfo;
pub use contract::Contract;
pub use engine::{AllocatorKind, SandboxConfig};
pub use imports::ImportError;
pub use limits::Limits;
pub use outcome::{CheckOutcome, FailureCode, Finding, Level, RunResult, Verdict, verdict_of};
pub use request::{CheckRequest, FileEntry, Phase, PriorFinding, RequestError};
pub use sandbox::{LoadError, LoadedChecker, Sandbox, SandboxError, SandboxStats};
