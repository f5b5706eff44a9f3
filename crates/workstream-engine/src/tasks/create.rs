//! A Project Manager creates a draft task (docs/lifecycle.md).
//!
//! Creation is not a lifecycle transition (nothing exists before it), but it is audited
//! like one: `task_created`, to `draft`, with the PM grant that allowed it.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Actor;
use workstream_domain::machines::project::ProjectStatus;
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::tasks::{self, NewTask, TaskRow};

use super::access::Access;
use crate::CommandError;
use crate::requester::Requester;

/// The fields a PM may set on a new task. The client never sets status, locks, the
/// creator or source digests.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaskInput {
    /// 1..300 characters, not blank.
    #[schemars(length(min = 1, max = 300))]
    pub title: String,
    /// Up to 20 000 characters.
    #[serde(default)]
    pub description: String,
    /// 1..100 characters.
    pub task_type: Option<String>,
    /// `easy|medium|hard|expert`.
    #[schemars(extend("enum" = ["easy", "medium", "hard", "expert", null]))]
    pub difficulty: Option<String>,
    /// Up to 32 tags of 1..64 characters.
    #[serde(default)]
    pub skill_tags: Vec<String>,
    /// At least 1.
    #[schemars(range(min = 1))]
    pub estimated_time_minutes: Option<i64>,
    /// Up to 20 000 characters; required before screening.
    #[serde(default)]
    pub acceptance_criteria: String,
    /// Up to 20 000 characters; required before screening.
    #[serde(default)]
    pub rejection_criteria: String,
    /// When the work is due (RFC 3339).
    pub deadline_at: Option<DateTime<Utc>>,
    /// `manual` (default), `markdown_import` or `csv_import`.
    #[schemars(extend("enum" = ["manual", "markdown_import", "csv_import", null]))]
    pub source_type: Option<String>,
    /// Where an imported task came from, 1..500 characters.
    pub source_ref: Option<String>,
    /// The task's id in its source system, 1..200 characters, unique per project.
    pub external_task_id: Option<String>,
}

/// The pilot's difficulty scale.
pub const DIFFICULTIES: &[&str] = &["easy", "medium", "hard", "expert"];
/// Where a task can come from.
pub const SOURCE_TYPES: &[&str] = &["manual", "markdown_import", "csv_import"];

fn invalid(field: &str, reason: &str) -> CommandError {
    CommandError::new(ErrorCode::InvalidTaskField, format!("{field}: {reason}"))
        .with_details(json!({ "field": field, "reason": reason }))
}

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), CommandError> {
    let n = value.chars().count();
    if n < min || n > max || (min > 0 && value.trim().is_empty()) {
        return Err(invalid(
            field,
            &format!("must be {min}..{max} characters and not blank"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

impl NewTaskInput {
    /// Checks every field (the same bounds the table's CHECKs enforce, reported per
    /// field instead of as a constraint name).
    pub fn validate(&self) -> Result<(), CommandError> {
        check_len("title", &self.title, 1, 300)?;
        check_len("description", &self.description, 0, 20_000)?;
        if let Some(t) = &self.task_type {
            check_len("task_type", t, 1, 100)?;
        }
        if let Some(d) = &self.difficulty
            && !DIFFICULTIES.contains(&d.as_str())
        {
            return Err(invalid(
                "difficulty",
                "must be easy, medium, hard or expert",
            ));
        }
        if self.skill_tags.len() > 32 {
            return Err(invalid("skill_tags", "at most 32 tags"));
        }
        for tag in &self.skill_tags {
            check_len("skill_tags", tag, 1, 64)?;
        }
        if let Some(m) = self.estimated_time_minutes
            && !(1..=i64::from(i32::MAX)).contains(&m)
        {
            return Err(invalid("estimated_time_minutes", "must be at least 1"));
        }
        check_len("acceptance_criteria", &self.acceptance_criteria, 0, 20_000)?;
        check_len("rejection_criteria", &self.rejection_criteria, 0, 20_000)?;
        if let Some(s) = &self.source_type
            && !SOURCE_TYPES.contains(&s.as_str())
        {
            return Err(invalid(
                "source_type",
                "must be manual, markdown_import or csv_import",
            ));
        }
        if let Some(r) = &self.source_ref {
            check_len("source_ref", r, 1, 500)?;
        }
        if let Some(e) = &self.external_task_id {
            check_len("external_task_id", e, 1, 200)?;
        }
        Ok(())
    }
}

/// Creates a draft task in `project_id` for a covering Project Manager.
pub async fn create(
    conn: &mut PgConnection,
    requester: &Requester,
    project_id: Uuid,
    input: &NewTaskInput,
) -> Result<TaskRow, CommandError> {
    let Some(project_status) = tasks::project_status(conn, project_id).await? else {
        return Err(CommandError::not_found());
    };
    let access = Access::read(conn, requester.actor_id, project_id, true).await?;
    let grant = access.require(Actor::ProjectManager)?;
    if project_status == ProjectStatus::Archived {
        return Err(CommandError::new(
            ErrorCode::ProjectArchived,
            "an archived project takes no new tasks",
        ));
    }
    input.validate()?;
    let task = tasks::insert(
        conn,
        &NewTask {
            id: Uuid::now_v7(),
            project_id,
            title: input.title.trim().to_owned(),
            description: input.description.clone(),
            task_type: input.task_type.clone(),
            difficulty: input.difficulty.clone(),
            skill_tags: input.skill_tags.clone(),
            estimated_time_minutes: input.estimated_time_minutes.map(|m| m as i32),
            acceptance_criteria: input.acceptance_criteria.clone(),
            rejection_criteria: input.rejection_criteria.clone(),
            deadline_at: input.deadline_at,
            source_type: input
                .source_type
                .clone()
                .unwrap_or_else(|| "manual".to_owned()),
            source_ref: input.source_ref.clone(),
            external_task_id: input.external_task_id.clone(),
            created_by: requester.actor_id,
        },
    )
    .await?;
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "task".into(),
            entity_id: Some(task.id),
            event_type: "task_created".into(),
            from_status: None,
            to_status: Some(task.status.to_string()),
            actor_id: Some(requester.actor_id),
            reason: None,
            payload: json!({
                "matched_grant_id": grant,
                "permission": "project.task.create",
            }),
            request_id: None,
            correlation_id: requester.correlation_id.clone(),
        },
    )
    .await?;
    Ok(task)
}
