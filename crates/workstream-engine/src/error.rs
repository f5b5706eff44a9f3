//! The error every command returns.
//!
//! A command fails with a [`CommandError`]: one code of the catalogue
//! ([`ErrorCode`], `workstream_domain::error_code`, which also fixes the HTTP status
//! the API answers it with), a message for humans and structured details. Three
//! sources feed it:
//!
//! * the domain's typed refusals ([`Refusal`]), each with its code;
//! * database errors: a named constraint or a Workstream trigger code (`WS001`
//!   append-only, `WS002` a state move the domain's tables do not list) becomes a
//!   client error, so that a rule the database enforces reads like one checked in
//!   Rust ([`CONSTRAINT_ERRORS`]), in words of its own: no database text, constraint
//!   name or SQLSTATE reaches a client;
//! * explicit checks in the commands themselves.
//!
//! Anything else is `internal_error` and never shows its cause to the client.

use serde_json::{Value, json};
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Refusal;
use workstream_domain::machines::IllegalMove;

/// A failed command.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    /// The stable code; its status is the catalogue's.
    pub code: ErrorCode,
    /// A message for humans (the catalogue's sentence, or a more precise one).
    pub message: String,
    /// Structured details (an object).
    pub details: Value,
}

impl CommandError {
    /// An error with `code` and a message of its own.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// The concealed 404 (R48).
    pub fn not_found() -> Self {
        ErrorCode::NotFound.into()
    }

    /// 500; `cause` is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error in a command");
        ErrorCode::InternalError.into()
    }

    /// Whether the failure is on our side and the same request may succeed later
    /// (503: a dependency down, a lost race).
    pub fn is_unavailable(&self) -> bool {
        self.code.status() == 503
    }
}

impl From<ErrorCode> for CommandError {
    /// The error with the catalogue's sentence as its message.
    fn from(code: ErrorCode) -> Self {
        CommandError::new(code, code.message())
    }
}

impl From<Refusal> for CommandError {
    fn from(refusal: Refusal) -> Self {
        let error = CommandError::new(refusal.code(), refusal.to_string());
        match refusal {
            Refusal::TaskFieldsIncomplete { missing } => {
                error.with_details(json!({ "fields": missing }))
            }
            _ => error,
        }
    }
}

impl From<IllegalMove> for CommandError {
    /// A smaller machine's refused move reads like the task lifecycle's: 403
    /// `transition_not_allowed`, naming both states.
    fn from(refused: IllegalMove) -> Self {
        CommandError::new(refused.code(), refused.to_string())
            .with_details(json!({ "from": refused.from, "to": refused.to }))
    }
}

/// Named constraints whose violation is a client error, and the code it reads as (the
/// client is told the code's sentence, never the database's own text nor the
/// constraint's name).
///
/// A constraint not listed here still maps by its SQLSTATE (unique -> 409 `conflict`,
/// check -> 422 `constraint_violated`); the database's message goes to the log.
pub const CONSTRAINT_ERRORS: &[(&str, ErrorCode)] = &[
    ("projects_slug_key", ErrorCode::ProjectSlugConflict),
    (
        "project_guides_project_version_key",
        ErrorCode::GuideVersionExists,
    ),
    (
        "project_guides_one_active_per_project",
        ErrorCode::GuideActivationConflict,
    ),
    ("tasks_one_active_assignment", ErrorCode::TaskAlreadyClaimed),
    (
        "submissions_task_version_key",
        ErrorCode::SubmissionVersionConflict,
    ),
    (
        "admin_role_grants_one_active",
        ErrorCode::AdminRoleGrantExists,
    ),
    (
        "project_role_grants_one_active",
        ErrorCode::ProjectRoleGrantExists,
    ),
    (
        "actor_identity_links_issuer_subject_key",
        ErrorCode::IdentityAlreadyLinked,
    ),
    (
        "contribution_policies_one_active_per_project",
        ErrorCode::ContributionPolicyExists,
    ),
    (
        "project_compensation_adapter_bindings_one_active",
        ErrorCode::AdapterBindingExists,
    ),
    (
        "review_leases_one_active_per_reviewer",
        ErrorCode::ReviewLeaseActive,
    ),
    (
        "review_leases_one_active_per_entry",
        ErrorCode::ReviewEntryLeased,
    ),
    ("final_acceptances_task_key", ErrorCode::TaskAlreadyAccepted),
    (
        "compensation_fulfillment_receipts_one_fulfilled_per_award",
        ErrorCode::AwardAlreadyFulfilled,
    ),
    (
        "compensation_fulfillment_receipts_award_fulfilled",
        ErrorCode::AwardAlreadyFulfilled,
    ),
    (
        "compensation_fulfillment_receipts_binding_event_key",
        ErrorCode::ExternalEventConflict,
    ),
    (
        "compensation_fulfillment_receipts_quantity_fk",
        ErrorCode::FulfilledQuantityMismatch,
    ),
    (
        "project_compensation_units_identity_key",
        ErrorCode::CompensationUnitExists,
    ),
    (
        "actor_profiles_service_identity_key",
        ErrorCode::ServiceIdentityExists,
    ),
    (
        "evaluation_sprints_project_name_key",
        ErrorCode::SprintNameExists,
    ),
    ("evaluation_sprints_window", ErrorCode::SprintWindowInvalid),
    (
        "project_lessons_implementation_link",
        ErrorCode::LessonImplementationLinkRequired,
    ),
    (
        "tasks_project_external_task_key",
        ErrorCode::ExternalTaskIdExists,
    ),
];

impl From<sqlx::Error> for CommandError {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = || {
            CommandError::new(
                ErrorCode::ServiceUnavailable,
                "the database is unavailable; retry",
            )
        };
        let sqlx::Error::Database(db) = &err else {
            // A connection that broke (the server restarted, the network dropped) or a
            // pool that had none to give: nothing about the request itself.
            return match err {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed => unavailable(),
                other => CommandError::internal(other),
            };
        };
        if db.code().as_deref().is_some_and(server_unavailable) {
            return unavailable();
        }
        // What the database said stays in the log: its text names tables, columns and
        // constraints, which are no business of the client's.
        tracing::info!(code = ?db.code(), constraint = ?db.constraint(), message = %db.message(),
            "a statement was refused by the database");
        if let Some(name) = db.constraint()
            && let Some((_, code)) = CONSTRAINT_ERRORS.iter().find(|(c, _)| *c == name)
        {
            return (*code).into();
        }
        match db.code().as_deref() {
            Some("WS001") => ErrorCode::ImmutableRecord.into(),
            // The row guard refused a move the domain's tables do not list: the same
            // failure as the domain's own refusal, and the same code.
            Some("WS002") => ErrorCode::TransitionNotAllowed.into(),
            Some("23505") => ErrorCode::Conflict.into(),
            Some("23514") | Some("23502") | Some("23503") | Some("22001") => {
                ErrorCode::ConstraintViolated.into()
            }
            // Serialization failures and deadlocks: the client may simply retry.
            Some("40001") | Some("40P01") => ErrorCode::RetryLater.into(),
            _ => CommandError::internal(err),
        }
    }
}

/// The constraint a database refusal names, for the callers that turn one particular
/// violation into an answer of their own (a lost race that is a replay).
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    err.as_database_error().and_then(|db| db.constraint())
}

/// SQLSTATEs that say the server, not the statement, is the problem: connection
/// exceptions (class 08), insufficient resources (53), the server shutting down or
/// starting up (57P01-57P05) and system errors (58). Another attempt may succeed.
fn server_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code.starts_with("58")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_connection_is_worth_another_attempt() {
        for error in [
            sqlx::Error::Protocol("unexpected end of stream".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(CommandError::from(error).is_unavailable());
        }
        assert_eq!(
            CommandError::from(sqlx::Error::RowNotFound).code,
            ErrorCode::InternalError
        );
    }

    #[test]
    fn server_side_sqlstates_are_unavailable_and_statement_ones_are_not() {
        for code in ["08006", "53300", "57P01", "57P03", "58030"] {
            assert!(server_unavailable(code), "{code}");
        }
        for code in ["23505", "22P02", "57014", "XX000"] {
            assert!(!server_unavailable(code), "{code}");
        }
    }
}
