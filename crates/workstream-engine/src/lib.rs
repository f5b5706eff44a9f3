//! The Workstream workflow engine.
//!
//! Every change to a task, a guide, a grant or a policy is a *command*: it takes the
//! acting caller, its input and an open transaction; locks the rows it reads in a fixed
//! order (task -> assignment -> submission -> review records -> authority); asks
//! `workstream-domain` whether the transition is allowed on the facts it read; then
//! writes the change, its audit event and any jobs, all in the caller's transaction.
//! One commit per transition, or none (docs/architecture.md).
//!
//! * [`error`]: the one error type of every command, [`CommandError`], with a stable
//!   code and a kind the API maps to an HTTP status. Database constraint violations
//!   are translated here, by constraint name, so a rule enforced by PostgreSQL reads
//!   the same to a client as one checked in Rust.
//! * [`tasks`]: the task lifecycle commands (create, screen, release, return to draft,
//!   claim, start and its override, cancel, assignment invalidation) and the task read
//!   models (management view, contributor-safe view with compensation terms, ready
//!   queue, submission requirements).
//! * [`packets`]: packet intake: a strict, streaming inspection of an uploaded ZIP
//!   (limits, unsafe names, bombs, collisions, integrity) that extracts the verified
//!   tree and builds the canonical manifest a submission is identified by.
//! * `checkers`: registering checker components (load in the sandbox, `info()`,
//!   schema checks, the registry row and its audit event) and the built-ins at start;
//!   behind the `checkers` feature (it brings in the Wasmtime host).
//! * `evaluation`: running a task's locked checker policy over one packet in the
//!   sandbox and judging the members with the domain's gate (`checkers` feature too);
//!   the pre-submit upload and the post-submit worker share it.
//! * `pipeline`: what intake and both check phases share (checkers, object store,
//!   scratch) and the `checker.evaluate` job: materialize, check, finalize the run
//!   and route the task (`checkers` feature).
//! * [`reviews`]: human review: the queue and its leases, the review packet, the
//!   one-transaction decision (review, findings, resolutions, contributions, awards,
//!   acceptance) and the revision episode (preparations, responses, close, repair).
//! * [`compensation`]: the awards a contribution record earns (copied exactly from its
//!   frozen policy version) and their delivery to the bound adapter.
//! * [`after_review`]: the `reputation.record` job, what follows each Review off its
//!   decision: its reputation events, lesson detection, the calibration draw.
//! * [`reputation`]: the outcome ledger appended after each Review, never inside the
//!   decision, and the materialized scores with their recompute.
//! * [`calibration`]: reviewer calibration: a sampled share of decided submissions
//!   offered, blind to the first decision, to a second reviewer, and the agreement
//!   figures (never a change to the first Review or what it decided).
//! * [`previews`]: policy previews: a draft guide's checker policy run, both phases, over
//!   the project's stored packets in background jobs (the job with the `checkers`
//!   feature), compared with what each packet met, before the guide is activated.
//! * [`lessons`]: project lessons, recorded by managers or detected from repeated
//!   review and checker failures, and their lifecycle up to the change that carries them.
//! * [`sprints`]: evaluation sprints, a reporting group of tasks with a window and a
//!   report computed from the records.
//! * [`checker_runs`]: a task's checker runs and their results, as stored.
//! * [`submissions`]: reading submitted versions with their current checker run and
//!   their packets' files.
//! * [`jobs`]: every job kind as typed arguments (kind and payload written once).
//! * [`worker`]: the job worker: claims jobs from the queue (`workstream_store::jobs`),
//!   runs their typed handlers under a heartbeat-extended lease, retries and
//!   dead-letters failures, and shuts down gracefully.
//! * `registry`: the one list of the handlers every worker runs (`checkers` feature).
//! * `observed`: what the engine counts for `GET /metrics` (evaluations, checker run
//!   durations, job attempts and dead letters), recorded once the work commits.
#![deny(missing_docs)]

pub mod after_review;
mod audit;
pub mod authority;
pub mod calibration;
pub mod checker_runs;
#[cfg(feature = "checkers")]
pub mod checkers;
pub mod compensation;
pub mod contribution;
pub mod error;
#[cfg(feature = "checkers")]
pub mod evaluation;
pub mod guides;
pub mod jobs;
pub mod lessons;
mod observed;
pub mod packets;
#[cfg(feature = "checkers")]
pub mod pipeline;
pub mod previews;
pub mod projects;
#[cfg(feature = "checkers")]
pub mod registry;
pub mod reputation;
pub mod requester;
pub mod reviews;
pub mod sprints;
pub mod submissions;
pub mod tasks;
pub mod worker;

pub use error::CommandError;
pub use requester::Requester;
