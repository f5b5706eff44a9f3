//! What an actor asks the task lifecycle to do.
//!
//! A [`TaskCommand`] names the request and carries only the input that the rules judge
//! (reasons, the decision, the routing). Everything the store must look up (grants,
//! leases, runs, counts) arrives separately as [`GuardFacts`](super::GuardFacts).

use super::transition::{Actor, TransitionId};
use crate::machines::checker_run::RoutingRecommendation;
use crate::token::token_enum;

token_enum! {
    /// A reviewer's decision, stored on the Review (R24: exactly these three).
    pub enum ReviewDecision as "review_decision" {
        /// The work meets the guide (T11).
        Accept => "accept",
        /// The work must change; at least one blocking finding stays open (T12).
        NeedsRevision => "needs_revision",
        /// The work is refused and the task closes (T13).
        Reject => "reject",
    }
}

token_enum! {
    /// The only reasons accepted for closing a revision obligation (T15).
    pub enum RevisionCloseReason as "revision_close_reason" {
        /// A PM closes: the human revision rounds are used up.
        RevisionLimitReached => "revision_limit_reached",
        /// A PM closes: the revision deadline has passed (database time).
        RevisionDeadlineExpired => "revision_deadline_expired",
        /// An Operator closes a legacy task that has no recoverable Review root.
        LegacyRevisionContextUnrecoverable => "legacy_revision_context_unrecoverable",
    }
}

/// A request to move a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskCommand {
    /// PM screens a draft task (T1).
    Screen,
    /// PM releases a screened task to the queue (T2).
    Release {
        /// Why the task is ready; required, non-blank.
        reason: String,
    },
    /// PM sends a screened task back to draft (T3).
    ReturnToDraft {
        /// The defects screening found; required, non-blank.
        reason: String,
    },
    /// A submitter claims a ready task for themselves (T4).
    Claim,
    /// A PM assigns a ready task to a submitter (T4).
    Assign,
    /// The assignee starts work (T5).
    Start,
    /// An Operator starts the task without changing who owns it (T5).
    StartOverride {
        /// Recorded with the recovery action; required, non-blank.
        reason: String,
    },
    /// The assignee submits a packet: the first Submission (T6) or a revision (T14).
    Submit,
    /// The engine queues the checker run for the new Submission (T7).
    QueueEvaluation,
    /// The engine applies a final checker run's routing (T8 or T9).
    RecordEvaluation {
        /// The run's routing; only `allow_review` and `needs_revision` move the task.
        routing: RoutingRecommendation,
    },
    /// The engine or an Operator sends a task in review back to evaluation (T10).
    RetryEvaluation {
        /// Why re-evaluation is needed; required, non-blank.
        reason: String,
    },
    /// The reviewer holding the lease decides (T11, T12 or T13).
    ReviewDecision {
        /// The decision.
        decision: ReviewDecision,
        /// Required for `reject` (bounded and guide-grounded); ignored otherwise.
        reject_reason: Option<String>,
    },
    /// PM (or Operator, legacy) closes an exhausted revision obligation (T15).
    CloseRevision {
        /// Which proven condition justifies the close.
        reason: RevisionCloseReason,
    },
    /// PM cancels a task before anything was submitted (T16).
    Cancel {
        /// Why; required, non-blank.
        reason: String,
    },
    /// The engine returns a task whose assignee lost submitter authority (T17).
    InvalidateAssignment,
}

token_enum! {
    /// The kind of a [`TaskCommand`], without its payload: what a UI lists as the
    /// actions available in a state, and what an audit event names.
    pub enum CommandKind as "task_command" {
        /// [`TaskCommand::Screen`].
        Screen => "screen",
        /// [`TaskCommand::Release`].
        Release => "release",
        /// [`TaskCommand::ReturnToDraft`].
        ReturnToDraft => "return_to_draft",
        /// [`TaskCommand::Claim`].
        Claim => "claim",
        /// [`TaskCommand::Assign`].
        Assign => "assign",
        /// [`TaskCommand::Start`].
        Start => "start",
        /// [`TaskCommand::StartOverride`].
        StartOverride => "start_override",
        /// [`TaskCommand::Submit`].
        Submit => "submit",
        /// [`TaskCommand::QueueEvaluation`].
        QueueEvaluation => "queue_evaluation",
        /// [`TaskCommand::RecordEvaluation`].
        RecordEvaluation => "record_evaluation",
        /// [`TaskCommand::RetryEvaluation`].
        RetryEvaluation => "retry_evaluation",
        /// [`TaskCommand::ReviewDecision`].
        ReviewDecision => "review_decision",
        /// [`TaskCommand::CloseRevision`].
        CloseRevision => "close_revision",
        /// [`TaskCommand::Cancel`].
        Cancel => "cancel",
        /// [`TaskCommand::InvalidateAssignment`].
        InvalidateAssignment => "invalidate_assignment",
    }
}

impl CommandKind {
    /// Every transition a command of this kind can take, whatever its payload.
    pub const fn transitions(self) -> &'static [TransitionId] {
        use TransitionId::*;
        match self {
            CommandKind::Screen => &[T1],
            CommandKind::Release => &[T2],
            CommandKind::ReturnToDraft => &[T3],
            CommandKind::Claim | CommandKind::Assign => &[T4],
            CommandKind::Start | CommandKind::StartOverride => &[T5],
            CommandKind::Submit => &[T6, T14],
            CommandKind::QueueEvaluation => &[T7],
            CommandKind::RecordEvaluation => &[T8, T9],
            CommandKind::RetryEvaluation => &[T10],
            CommandKind::ReviewDecision => &[T11, T12, T13],
            CommandKind::CloseRevision => &[T15],
            CommandKind::Cancel => &[T16],
            CommandKind::InvalidateAssignment => &[T17],
        }
    }
}

impl TaskCommand {
    /// This command's kind.
    pub const fn kind(&self) -> CommandKind {
        match self {
            TaskCommand::Screen => CommandKind::Screen,
            TaskCommand::Release { .. } => CommandKind::Release,
            TaskCommand::ReturnToDraft { .. } => CommandKind::ReturnToDraft,
            TaskCommand::Claim => CommandKind::Claim,
            TaskCommand::Assign => CommandKind::Assign,
            TaskCommand::Start => CommandKind::Start,
            TaskCommand::StartOverride { .. } => CommandKind::StartOverride,
            TaskCommand::Submit => CommandKind::Submit,
            TaskCommand::QueueEvaluation => CommandKind::QueueEvaluation,
            TaskCommand::RecordEvaluation { .. } => CommandKind::RecordEvaluation,
            TaskCommand::RetryEvaluation { .. } => CommandKind::RetryEvaluation,
            TaskCommand::ReviewDecision { .. } => CommandKind::ReviewDecision,
            TaskCommand::CloseRevision { .. } => CommandKind::CloseRevision,
            TaskCommand::Cancel { .. } => CommandKind::Cancel,
            TaskCommand::InvalidateAssignment => CommandKind::InvalidateAssignment,
        }
    }

    /// The transitions this exact command may take; the payload narrows the kind's set
    /// (a routing or a decision picks one edge). Empty for a routing that leaves the task
    /// where it is.
    pub fn transitions(&self) -> &'static [TransitionId] {
        use TransitionId::*;
        match self {
            TaskCommand::RecordEvaluation { routing } => match routing {
                RoutingRecommendation::AllowReview => &[T8],
                RoutingRecommendation::NeedsRevision => &[T9],
                _ => &[],
            },
            TaskCommand::ReviewDecision { decision, .. } => match decision {
                ReviewDecision::Accept => &[T11],
                ReviewDecision::NeedsRevision => &[T12],
                ReviewDecision::Reject => &[T13],
            },
            other => other.kind().transitions(),
        }
    }

    /// Who may issue this command. Always a subset of each of its transitions'
    /// `triggered_by`; narrower where the command is one actor's way in (a claim is a
    /// submitter's, an override an Operator's, a legacy close an Operator's).
    pub const fn permitted_actors(&self) -> &'static [Actor] {
        match self {
            TaskCommand::Screen
            | TaskCommand::Release { .. }
            | TaskCommand::ReturnToDraft { .. }
            | TaskCommand::Assign
            | TaskCommand::Cancel { .. } => &[Actor::ProjectManager],
            TaskCommand::Claim | TaskCommand::Start | TaskCommand::Submit => &[Actor::Submitter],
            TaskCommand::StartOverride { .. } => &[Actor::Operator],
            TaskCommand::QueueEvaluation
            | TaskCommand::RecordEvaluation { .. }
            | TaskCommand::InvalidateAssignment => &[Actor::System],
            TaskCommand::RetryEvaluation { .. } => &[Actor::System, Actor::Operator],
            TaskCommand::ReviewDecision { .. } => &[Actor::Reviewer],
            TaskCommand::CloseRevision { reason } => match reason {
                RevisionCloseReason::LegacyRevisionContextUnrecoverable => &[Actor::Operator],
                _ => &[Actor::ProjectManager],
            },
        }
    }
}
