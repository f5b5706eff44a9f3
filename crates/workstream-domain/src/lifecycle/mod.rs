//! The task lifecycle: twelve states, seventeen transitions, and the guards on them.
//!
//! ```text
//!   draft --T1--> screening --T2--> ready --T4--> claimed --T5--> in_progress
//!     ^               |               ^              |                 |
//!     +------T3-------+               +-----T17------+-----------------+
//!                                                                      | T6
//!                                                                      v
//!   needs_revision -----------------------T14-----------------------> submitted
//!     ^       ^    |                                                   | T7 (same commit)
//!     |       |    |                                                   v
//!     |       +----|-------------------T9----------------------- evaluation_pending
//!     |            |                                                ^       | T8
//!     |            |                                            T10 |       v
//!     +------------|-------------------T12---------------------- review_pending
//!                  |                                          T11 |         | T13
//!                  | T15                                          v         v
//!                  v                                          accepted   rejected
//!              cancelled <--T16-- draft, screening, ready, claimed, in_progress
//! ```
//!
//! - [`TaskState`] is the stored status; [`TRANSITIONS`] is the table of edges, who may
//!   trigger each, and what it means; [`FORBIDDEN_TRANSITIONS`] lists the edges the spec
//!   rules out, which the tests prove absent from the table.
//! - A [`TaskCommand`] is a request; [`ActorContext`] says who asks; [`GuardFacts`] is
//!   what the store read under its locks. [`decide`] turns the three into a
//!   [`Decision`] (an edge from the table) or a [`Refusal`] with a stable code.
//! - Only `decide` knows the guards. The engine applies a decision, its records, its
//!   audit event and its jobs in one transaction, and when the decision names a
//!   follow-up (T7 after a Submission) it decides and applies that in the same commit.
//! - A review's findings have a [`FindingKind`]; a later review answers each prior one
//!   with a [`ResolutionResult`], which gives its [`FindingStatus`]. A needs_revision
//!   review's revision context is prepared with a [`PreparationOutcome`].

mod command;
mod decide;
mod finding;
mod guard;
mod refusal;
mod task_state;
mod transition;

pub use command::{CommandKind, ReviewDecision, RevisionCloseReason, TaskCommand};
pub use decide::{Decision, allowed_commands, decide};
pub use finding::{FindingKind, FindingStatus, PreparationOutcome, ResolutionResult};
pub use guard::{ActorContext, GuardFacts, RevisionOrigin};
pub use refusal::{MAX_OPEN_BLOCKING_FINDINGS, MAX_REASON_CHARS, Refusal, check_reason};
pub use task_state::TaskState;
pub use transition::{
    Actor, FORBIDDEN_TRANSITIONS, ForbiddenEdge, TRANSITIONS, Transition, TransitionId, edge,
    transitions_from,
};
