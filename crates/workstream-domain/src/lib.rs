//! Workstream's domain: the rules, with no I/O.
//!
//! Workstream is a ledger of human (and agent-assisted) work: a task is screened into
//! a queue, claimed, answered with an immutable submission packet, checked by sandboxed
//! checkers, decided by a human reviewer, and on acceptance credited with contribution
//! and payment records. This crate holds what that means, as types and pure functions.
//! It knows nothing of SQL, HTTP or WebAssembly; the store, the engine and the API
//! depend on it, never the other way round.
//!
//! Rule numbers (`R1`-`R53`), transitions (`T1`-`T17`) and acceptance scenarios
//! (`AS01`-`AS50`) cited across the workspace are those of `docs/rules.md` and
//! `docs/lifecycle.md`.
//!
//! # How the pieces fit
//!
//! - [`lifecycle`] is the heart: the twelve [`TaskState`]s, the transition table
//!   [`TRANSITIONS`] (T1–T17) as data, and [`decide`], which judges a
//!   [`TaskCommand`] from an actor against the [`GuardFacts`] the store read under its
//!   locks, returning a [`Decision`] (an edge of the table) or a [`Refusal`] with a
//!   stable code. The engine applies a decision, its records and its audit event in
//!   one transaction.
//! - [`machines`] holds the smaller state machines around a task: project and guide,
//!   assignment, admission, checker run and routing, review queue entry and lease,
//!   compensation delivery and fulfilment, contribution policy, lessons. Each is a
//!   status enum plus a table of permitted moves.
//! - [`canonical`] writes JSON in one canonical form, and [`digest`] hashes it (or raw
//!   bytes) into the `sha256:<hex>` [`Digest`] used for packets, policies and the audit
//!   ledger.
//! - [`merkle`] is the audit ledger's tree (Certificate Transparency's): leaf and node
//!   hashes, the growing right edge, inclusion paths and their verification.
//! - [`quantity`], [`currency`] and [`contribution`] describe awards: an exact decimal
//!   [`Quantity`] parsed only from plain decimal strings, an ISO 4217 [`CurrencyCode`],
//!   and the contribution and instrument kinds.
//! - [`gate`] is the pre-review gate: each checker's outcome judged under the locked
//!   checker policy (blocking severities, required checkers, escalated warnings) and
//!   the run's route (`checker_retry` > `task_setup_blocked` > `needs_revision` >
//!   `allow_review`).
//! - [`roles`] names administrative and project roles and the scopes they are granted in.
//! - [`bearer`] holds the rules a bearer token's header and claims must meet (size,
//!   segments, issuer, audience, times, subject, scopes); the API adds keys and
//!   signatures.
//! - [`token`] is the shared shape of every stored enum: one literal gives the Rust
//!   variant, `as_str()`, `FromStr` and the serde form.
//!
//! - [`error_code`] is the catalogue of every error code a server answers: each
//!   [`ErrorCode`] with its HTTP status, its meaning and its fix. Every refusal type
//!   here has a `code()` returning one, which the API reports unchanged.

#![deny(missing_docs)]

pub mod bearer;
pub mod canonical;
pub mod contribution;
pub mod currency;
pub mod digest;
pub mod error_code;
pub mod gate;
pub mod lifecycle;
pub mod machines;
pub mod merkle;
pub mod policy;
pub mod quantity;
pub mod roles;
pub mod token;

pub use canonical::{CanonicalError, to_canonical_bytes, to_canonical_string};
pub use currency::CurrencyCode;
pub use digest::Digest;
pub use error_code::ErrorCode;
pub use lifecycle::{
    ActorContext, Decision, GuardFacts, Refusal, TRANSITIONS, TaskCommand, TaskState, decide,
};
pub use machines::{IllegalMove, StateMachine};
pub use quantity::Quantity;
