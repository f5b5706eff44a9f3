//! Task commands and task read models (docs/lifecycle.md T1-T5, T16, T17).
//!
//! Every command runs inside the caller's transaction and follows one recipe: lock the
//! task row, then its active assignment, then the actor's authority rows (the fixed
//! order of R50); fill [`GuardFacts`](workstream_domain::GuardFacts) from what was read
//! under those locks; ask [`decide`](workstream_domain::decide); write the change and
//! exactly one audit event. The audit event names the transition, the matched grant and
//! the permission, so every change can be traced to the authority that allowed it.
//! The status written is always the decision's target: the store's task writers take
//! the [`Decision`] itself (and touch the row only in its source state), and
//! `transition` writes the move and its event together; task rows carry their state
//! as a [`TaskState`](workstream_domain::TaskState), so no state is a string here.
//!
//! * [`access`]: who the caller is on a project, read from local grants (never tokens),
//!   and the concealed-404-or-403 rule for callers without the needed role.
//! * [`create`]: a PM creates a draft task with validated fields.
//! * [`screening`]: screen (T1), release (T2), return to draft (T3), cancel (T16).
//! * [`assignment`]: claim (T4), start and the Operator's start override (T5), and the
//!   invalidation of assignments whose contributor lost authority (T17).
//! * [`submission`]: a prepared packet becomes an admission; the assignee's submit
//!   consumes it into an immutable, versioned submission (T6, or T14 after a checker
//!   remediation) and queues its evaluation (T7), all in one commit.
//! * [`views`]: the management view, the contributor-safe view with compensation terms,
//!   the ready queue and the submission requirements.
//! * [`work_context`]: what the caller may do next on a task, judged by the lifecycle.

pub mod access;
pub mod assignment;
pub mod create;
mod reason;
pub mod screening;
pub mod submission;
mod transition;
pub mod views;
pub mod work_context;

pub(crate) use transition::{TaskEvent, audit_transition, transition};

pub use assignment::{
    ACTIVE_TASK_CAP, assign, claim, invalidate_assignments_of_actor, start, start_override,
};
pub use create::{NewTaskInput, create};
pub use screening::{cancel, release, return_to_draft, screen};
