//! Projects: creation and the status moves a manager makes by hand.
//!
//! A project is created `draft`; it becomes `active` only through guide activation
//! ([`crate::guides::activate`]), and from there a manager pauses, resumes and
//! archives it. Each move checks [`ProjectStatus`]'s table, writes the row and one
//! audit event in the caller's transaction. Who may call these is the API's decision
//! (a system project manager creates; a covering one moves).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::StateMachine;
use workstream_domain::machines::project::ProjectStatus;
use workstream_store::audit::NewAuditEvent;

use crate::audit::record;
use crate::error::CommandError;
use crate::requester::Requester;

/// A project row, and its full view (managers, operators, finance and audit).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Project {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique handle.
    pub slug: String,
    /// Free text.
    pub description: String,
    /// draft, active, paused, archived.
    pub status: ProjectStatus,
    /// The system project manager who created it.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// First activation.
    pub activated_at: Option<DateTime<Utc>>,
    /// Archival.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A project's id and status (what a guide's activation reports of it).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectSummaryStatus {
    /// Id.
    pub id: Uuid,
    /// draft, active, paused, archived.
    pub status: ProjectStatus,
}

/// What a contributor (submitter or reviewer) may see of a project.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectSummary {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// draft, active, paused, archived.
    pub status: ProjectStatus,
}

impl From<&Project> for ProjectSummary {
    fn from(project: &Project) -> ProjectSummary {
        ProjectSummary {
            id: project.id,
            name: project.name.clone(),
            status: project.status,
        }
    }
}

/// `sqlx::query_as!` of [`Project`] rows: `$before` the project's columns `$after`.
macro_rules! project_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Project,
            $before + r#" id, name, slug, description, status AS "status: _", created_by,
              created_at, updated_at, activated_at, archived_at "# + $after
            $(, $arg)*
        )
    };
}

/// The input of [`create`].
#[derive(Debug, Clone)]
pub struct NewProject {
    /// 1..=200 characters.
    pub name: String,
    /// Lowercase letters, digits and inner hyphens, 1..=120.
    pub slug: String,
    /// Up to 20000 characters.
    pub description: String,
}

/// Creates a draft project (`project_created`). A taken slug is 409
/// `project_slug_conflict`; a malformed name or slug is 422 by its constraint.
pub async fn create(
    conn: &mut PgConnection,
    acting: &Requester,
    input: NewProject,
) -> Result<Project, CommandError> {
    if input.name.trim().is_empty() || input.name.contains('\0') || input.description.contains('\0')
    {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "the name must not be blank and no text may contain NUL",
        ));
    }
    let project = project_query!(
        "INSERT INTO projects (id, name, slug, description, created_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING",
        "",
        Uuid::now_v7(),
        &input.name,
        &input.slug,
        &input.description,
        acting.actor_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project.id),
            entity_type: "project".into(),
            entity_id: Some(project.id),
            event_type: "project_created".into(),
            to_status: Some(project.status.to_string()),
            payload: json!({ "slug": project.slug, "name": project.name }),
            ..Default::default()
        },
    )
    .await?;
    Ok(project)
}

/// Reads a project.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<Project>, CommandError> {
    Ok(project_query!("SELECT", "FROM projects WHERE id = $1", id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The concealed 404 unless the project exists (a check that reads nothing else).
pub async fn require(conn: &mut PgConnection, id: Uuid) -> Result<(), CommandError> {
    workstream_store::tasks::project_status(conn, id)
        .await?
        .map(|_| ())
        .ok_or_else(CommandError::not_found)
}

/// A page of projects by id: all of them (`among: None`), or only those in `among`.
pub async fn list(
    conn: &mut PgConnection,
    among: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Project>, CommandError> {
    Ok(project_query!(
        "SELECT",
        "FROM projects WHERE ($1::uuid[] IS NULL OR id = ANY($1)) \
         AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        among,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Reads and locks a project for a change.
pub(crate) async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Project, CommandError> {
    project_query!("SELECT", "FROM projects WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(CommandError::not_found)
}

/// A manual status move: pause (active -> paused), resume (paused -> active) or
/// archive (any live state -> archived). Activation is not one of them: a project
/// becomes active only through guide activation. A move the table does not allow is
/// 403 `transition_not_allowed`.
pub async fn change_status(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    to: ProjectStatus,
    reason: Option<String>,
) -> Result<Project, CommandError> {
    let project = lock(conn, project_id).await?;
    let from = project.status;
    let manual = match to {
        ProjectStatus::Active => from == ProjectStatus::Paused,
        ProjectStatus::Paused | ProjectStatus::Archived => true,
        ProjectStatus::Draft => false,
    };
    if !manual || ProjectStatus::transition(from, to).is_err() {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a {} project cannot become {}", from.as_str(), to.as_str()),
        )
        .with_details(json!({ "from": from.as_str(), "to": to.as_str() })));
    }
    let archived = to == ProjectStatus::Archived;
    let updated = project_query!(
        "UPDATE projects SET status = $2, archived_at = CASE WHEN $3 THEN now() ELSE archived_at END \
         WHERE id = $1 RETURNING",
        "",
        project_id,
        to.as_str(),
        archived,
    )
    .fetch_one(&mut *conn)
    .await?;
    let event = match to {
        ProjectStatus::Paused => "project_paused",
        ProjectStatus::Active => "project_resumed",
        _ => "project_archived",
    };
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "project".into(),
            entity_id: Some(project_id),
            event_type: event.into(),
            from_status: Some(from.as_str().into()),
            to_status: Some(to.as_str().into()),
            reason,
            payload: json!({}),
            ..Default::default()
        },
    )
    .await?;
    Ok(updated)
}
