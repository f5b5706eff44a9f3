//! Who the caller is on a project, from local grants.
//!
//! Tokens never grant anything: an [`Access`] is read from `admin_role_grants`,
//! `project_role_grants`, the profile and its identity link. A caller who has no
//! relation to a project at all gets the concealed 404 (R48); one who can see the
//! project but lacks the role for an action gets 403 `permission_not_granted` (the code every route uses).

use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{Actor, ActorContext};
use workstream_store::tasks::{self, Authority};

use crate::CommandError;

/// The caller's authority over one project.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The raw grants.
    pub authority: Authority,
}

impl Access {
    /// Reads `actor_id`'s authority over `project_id`; `lock` share-locks the rows (inside
    /// a command, after the task locks).
    pub async fn read(
        conn: &mut PgConnection,
        actor_id: Uuid,
        project_id: Uuid,
        lock: bool,
    ) -> Result<Access, CommandError> {
        Ok(Access {
            authority: tasks::authority(conn, actor_id, project_id, lock).await?,
        })
    }

    /// The grant that lets the caller act as `actor` on this project, if any. Roles count
    /// only for an active human (R47), and administrative roles never imply contributor
    /// roles (R46).
    pub fn grant_for(&self, actor: Actor) -> Option<uuid::Uuid> {
        if !self.authority.active_human {
            return None;
        }
        match actor {
            Actor::ProjectManager => self.authority.admin_grant("project_manager"),
            Actor::Operator => self.authority.admin_grant("operator"),
            Actor::Submitter => self.authority.project_grant("submitter"),
            Actor::Reviewer => self.authority.project_grant("reviewer"),
            Actor::System => None,
        }
    }

    /// A read-only audit grant covering the project.
    pub fn audit_grant(&self) -> Option<Uuid> {
        self.authority
            .active_human
            .then(|| self.authority.admin_grant("audit_authority"))
            .flatten()
    }

    /// The lifecycle's view of this caller.
    pub fn actor_context(&self) -> ActorContext {
        ActorContext {
            is_system: false,
            is_active_human: self.authority.active_human,
            project_manager: self.grant_for(Actor::ProjectManager).is_some(),
            operator: self.grant_for(Actor::Operator).is_some(),
            submitter: self.grant_for(Actor::Submitter).is_some(),
            reviewer: self.grant_for(Actor::Reviewer).is_some(),
        }
    }

    /// Whether the caller may know the project exists: any covering grant except the
    /// Access Administrator's, which manages people, not project work (docs/security.md).
    pub fn sees_project(&self) -> bool {
        self.authority.active_human
            && (self
                .authority
                .admin
                .iter()
                .any(|(role, _)| role != "access_administrator")
                || self
                    .authority
                    .project
                    .iter()
                    .any(|(role, _)| role != "adjudicator"))
    }

    /// The matched grant for `actor`, or the refusal for a caller without it: concealed
    /// 404 if the project is invisible to them, 403 otherwise.
    pub fn require(&self, actor: Actor) -> Result<Uuid, CommandError> {
        self.grant_for(actor).ok_or_else(|| self.denied())
    }

    /// The refusal for a caller who may not do what they asked.
    pub fn denied(&self) -> CommandError {
        if self.sees_project() {
            CommandError::new(
                ErrorCode::PermissionNotGranted,
                "you do not hold the role this action needs on this project",
            )
        } else {
            CommandError::not_found()
        }
    }
}

/// The task's project, or the concealed 404 if the task does not exist.
pub async fn task_project(conn: &mut PgConnection, task_id: Uuid) -> Result<Uuid, CommandError> {
    tasks::find(conn, task_id)
        .await?
        .map(|t| t.project_id)
        .ok_or_else(CommandError::not_found)
}

/// The check a handler makes before an idempotent command runs (so a replay re-checks
/// authority, R15): the task exists and the caller holds `actor` on its project.
/// Returns the project. The command checks again, under its locks.
pub async fn precheck_task(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
    actor: Actor,
) -> Result<Uuid, CommandError> {
    let project_id = task_project(conn, task_id).await?;
    precheck_project(conn, actor_id, project_id, actor).await?;
    Ok(project_id)
}

/// Like [`precheck_task`], for a project: it exists and the caller holds `actor` on it.
pub async fn precheck_project(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
    actor: Actor,
) -> Result<Uuid, CommandError> {
    if tasks::project_status(conn, project_id).await?.is_none() {
        return Err(CommandError::not_found());
    }
    Access::read(conn, actor_id, project_id, false)
        .await?
        .require(actor)
}
