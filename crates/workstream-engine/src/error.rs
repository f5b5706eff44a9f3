//! The error every command returns.
//!
//! A command fails for one of a few reasons a client must tell apart (the [`ErrorKind`]),
//! each with a stable snake_case `code`. Three sources feed it:
//!
//! * the domain's typed refusals ([`Refusal`]), mapped by their class;
//! * database errors: a named constraint or a Workstream trigger code (`WS001`
//!   append-only, `WS002` lifecycle backstop) becomes a client error, so that a rule
//!   the database enforces reads like one checked in Rust ([`CONSTRAINT_ERRORS`]), in
//!   words of its own: no database text, constraint name or SQLSTATE reaches a client;
//! * explicit checks in the commands themselves.
//!
//! Anything else is `internal` and never shows its cause to the client.

use serde_json::{Value, json};
use workstream_domain::lifecycle::{Refusal, RefusalClass};

/// How a failure reads to the client; the API maps each kind to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist or the caller may not see it (404, concealed).
    NotFound,
    /// The caller may not do this, or the resource is in the wrong state (403).
    Forbidden,
    /// Another record or an earlier request holds what this needs (409).
    Conflict,
    /// The request is malformed or does not meet a rule (422).
    Invalid,
    /// A dependency is unavailable or the transaction lost a race; retry (503).
    Unavailable,
    /// A bug or an unexpected failure (500).
    Internal,
}

/// A failed command.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    /// How it reads to the client.
    pub kind: ErrorKind,
    /// The stable machine-readable code.
    pub code: &'static str,
    /// A message for humans.
    pub message: String,
    /// Structured details (an object).
    pub details: Value,
}

impl CommandError {
    /// An error of `kind` with no details.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
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
        CommandError::new(
            ErrorKind::NotFound,
            "not_found",
            "the resource does not exist or is not visible to you",
        )
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Forbidden, code, message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Conflict, code, message)
    }

    /// 422 with `code`.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Invalid, code, message)
    }

    /// 500; `cause` is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error in a command");
        CommandError::new(
            ErrorKind::Internal,
            "internal_error",
            "an internal error occurred",
        )
    }
}

impl From<Refusal> for CommandError {
    fn from(refusal: Refusal) -> Self {
        let kind = match refusal.class() {
            RefusalClass::WrongState | RefusalClass::NotPermitted => ErrorKind::Forbidden,
            RefusalClass::InvalidRequest | RefusalClass::PreconditionUnmet => ErrorKind::Invalid,
            RefusalClass::Conflict => ErrorKind::Conflict,
        };
        let error = CommandError::new(kind, refusal.code(), refusal.to_string());
        match refusal {
            Refusal::TaskFieldsIncomplete { missing } => {
                error.with_details(json!({ "fields": missing }))
            }
            _ => error,
        }
    }
}

/// Named constraints whose violation is a client error: the code it reads as and the
/// sentence the client is told (never the database's own text, nor the constraint's
/// name).
///
/// A constraint not listed here still maps by its SQLSTATE (unique -> 409 `conflict`,
/// check -> 422 `constraint_violated`), with a generic sentence; the database's message
/// goes to the log.
pub const CONSTRAINT_ERRORS: &[(&str, ErrorKind, &str, &str)] = &[
    (
        "projects_slug_key",
        ErrorKind::Conflict,
        "project_slug_conflict",
        "a project with this slug already exists",
    ),
    (
        "project_guides_project_version_key",
        ErrorKind::Conflict,
        "guide_version_exists",
        "the project already has a guide with this version",
    ),
    (
        "project_guides_one_active_per_project",
        ErrorKind::Conflict,
        "guide_activation_conflict",
        "another guide of the project was activated at the same time",
    ),
    (
        "tasks_one_active_assignment",
        ErrorKind::Conflict,
        "task_already_claimed",
        "another contributor holds this task",
    ),
    (
        "submissions_task_version_key",
        ErrorKind::Conflict,
        "submission_version_conflict",
        "a submission of this version already exists for the task",
    ),
    (
        "admin_role_grants_one_active",
        ErrorKind::Conflict,
        "admin_role_grant_exists",
        "this person already holds this role with this scope",
    ),
    (
        "project_role_grants_one_active",
        ErrorKind::Conflict,
        "project_role_grant_exists",
        "this person already holds this role in the project",
    ),
    (
        "actor_identity_links_issuer_subject_key",
        ErrorKind::Conflict,
        "identity_already_linked",
        "this identity is already linked to a profile",
    ),
    (
        "contribution_policies_one_active_per_project",
        ErrorKind::Conflict,
        "contribution_policy_exists",
        "the project already has contribution terms",
    ),
    (
        "project_compensation_adapter_bindings_one_active",
        ErrorKind::Conflict,
        "adapter_binding_exists",
        "the project already has an active binding for this instrument",
    ),
    (
        "review_leases_one_active_per_reviewer",
        ErrorKind::Conflict,
        "review_lease_held",
        "you already hold a review lease",
    ),
    (
        "review_leases_one_active_per_entry",
        ErrorKind::Conflict,
        "review_entry_leased",
        "someone else holds the lease of this entry",
    ),
    (
        "final_acceptances_task_key",
        ErrorKind::Conflict,
        "task_already_accepted",
        "the task was already accepted",
    ),
    (
        "compensation_fulfillment_receipts_one_fulfilled_per_award",
        ErrorKind::Conflict,
        "award_already_fulfilled",
        "the award was already fulfilled",
    ),
    (
        "compensation_fulfillment_receipts_award_fulfilled",
        ErrorKind::Conflict,
        "award_already_fulfilled",
        "the award was already fulfilled",
    ),
    (
        "compensation_fulfillment_receipts_binding_event_key",
        ErrorKind::Conflict,
        "external_event_conflict",
        "this external event was already reported with different content",
    ),
    (
        "compensation_fulfillment_receipts_quantity_fk",
        ErrorKind::Invalid,
        "fulfilled_quantity_mismatch",
        "the fulfilled quantity is not the awarded quantity",
    ),
    (
        "project_compensation_units_identity_key",
        ErrorKind::Conflict,
        "compensation_unit_exists",
        "the project already has this compensation unit",
    ),
    (
        "actor_profiles_service_identity_key",
        ErrorKind::Conflict,
        "service_identity_exists",
        "a service actor with this identity already exists",
    ),
    (
        "evaluation_sprints_project_name_key",
        ErrorKind::Conflict,
        "sprint_name_exists",
        "the project already has a sprint with this name",
    ),
    (
        "evaluation_sprints_window",
        ErrorKind::Invalid,
        "sprint_window_invalid",
        "the sprint must end after it starts",
    ),
    (
        "project_lessons_implementation_link",
        ErrorKind::Invalid,
        "lesson_implementation_link_required",
        "an implemented lesson names the guide or checker that implements it",
    ),
    (
        "tasks_project_external_task_key",
        ErrorKind::Conflict,
        "external_task_id_exists",
        "the project already has a task with this external id",
    ),
];

impl From<sqlx::Error> for CommandError {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = || {
            CommandError::new(
                ErrorKind::Unavailable,
                "service_unavailable",
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
            && let Some((_, kind, code, sentence)) =
                CONSTRAINT_ERRORS.iter().find(|(c, _, _, _)| *c == name)
        {
            return CommandError::new(*kind, code, *sentence);
        }
        match db.code().as_deref() {
            Some("WS001") => CommandError::conflict(
                "immutable_record",
                "the record is part of the permanent history and cannot be changed",
            ),
            Some("WS002") => CommandError::conflict(
                "invalid_transition",
                "the record cannot move to that state from where it is",
            ),
            Some("23505") => CommandError::conflict("conflict", "the record already exists"),
            Some("23514") | Some("23502") | Some("23503") | Some("22001") => {
                CommandError::invalid("constraint_violated", "a value breaks a rule of the record")
            }
            // Serialization failures and deadlocks: the client may simply retry.
            Some("40001") | Some("40P01") => CommandError::new(
                ErrorKind::Unavailable,
                "retry_later",
                "the request raced another one; retry",
            ),
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
            assert_eq!(CommandError::from(error).kind, ErrorKind::Unavailable);
        }
        assert_eq!(
            CommandError::from(sqlx::Error::RowNotFound).kind,
            ErrorKind::Internal
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
