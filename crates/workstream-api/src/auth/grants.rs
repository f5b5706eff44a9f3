//! The caller's active grants, loaded once per request.

use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole, Scope};

/// An active administrative grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminGrant {
    /// The grant id (recorded as the authority of what the caller does).
    pub id: Uuid,
    /// The role.
    pub role: AdminRole,
    /// Where it applies.
    pub scope: Scope,
}

/// An active project role grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectGrant {
    /// The grant id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The role.
    pub role: ProjectRole,
}

/// Everything the caller may do, as grants. Tokens carry no authority: this is the only
/// source of it (R46).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Active administrative grants, oldest first.
    pub admin: Vec<AdminGrant>,
    /// Active project role grants, oldest first.
    pub project: Vec<ProjectGrant>,
}

impl Grants {
    /// The id of an active grant of `role` covering `project`; `project: None` asks for
    /// a system-scoped grant. A system grant covers every project and is preferred, so
    /// the recorded authority is the broadest one used.
    pub fn admin(&self, role: AdminRole, project: Option<Uuid>) -> Option<Uuid> {
        let system = self
            .admin
            .iter()
            .find(|g| g.role == role && g.scope == Scope::System);
        let covering = || {
            project.and_then(|p| {
                self.admin
                    .iter()
                    .find(|g| g.role == role && g.scope.covers(p))
            })
        };
        system.or_else(covering).map(|g| g.id)
    }

    /// The id of an active grant of `role` on exactly `project`.
    pub fn project_role(&self, project: Uuid, role: ProjectRole) -> Option<Uuid> {
        self.project
            .iter()
            .find(|g| g.project_id == project && g.role == role)
            .map(|g| g.id)
    }

    /// Whether the caller holds no active grant at all.
    pub fn is_empty(&self) -> bool {
        self.admin.is_empty() && self.project.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_grant_covers_every_project_and_a_project_grant_only_its_own() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let grants = Grants {
            admin: vec![
                AdminGrant {
                    id: Uuid::from_u128(10),
                    role: AdminRole::ProjectManager,
                    scope: Scope::Project(a),
                },
                AdminGrant {
                    id: Uuid::from_u128(11),
                    role: AdminRole::FinanceAuthority,
                    scope: Scope::System,
                },
            ],
            project: vec![],
        };
        assert_eq!(
            grants.admin(AdminRole::ProjectManager, Some(a)),
            Some(Uuid::from_u128(10))
        );
        assert_eq!(grants.admin(AdminRole::ProjectManager, Some(b)), None);
        assert_eq!(grants.admin(AdminRole::ProjectManager, None), None);
        assert_eq!(
            grants.admin(AdminRole::FinanceAuthority, Some(b)),
            Some(Uuid::from_u128(11))
        );
        assert_eq!(
            grants.admin(AdminRole::FinanceAuthority, None),
            Some(Uuid::from_u128(11))
        );
        assert!(!grants.is_empty());
        assert!(Grants::default().is_empty());
    }
}
