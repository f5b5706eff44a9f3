//! Roles and the scopes they are granted in (docs/security.md).
//!
//! A token proves identity only; what an actor may do comes from local grants. An
//! administrative grant carries an [`AdminRole`] in a [`Scope`]; a contributor grant
//! carries a [`ProjectRole`] on exactly one project. The two never imply each other
//! (R46): a system Project Manager cannot claim or review without a project grant.

use crate::error_code::ErrorCode;
use uuid::Uuid;

use crate::token::token_enum;

token_enum! {
    /// An administrative role (`AdminRoleGrant.role`).
    pub enum AdminRole as "admin_role" {
        /// Manages actors, identity links and administrative grants. System only.
        AccessAdministrator => "access_administrator",
        /// Runs the system and performs recovery actions. System only.
        Operator => "operator",
        /// Sets up projects, guides and tasks; grants contributor roles.
        ProjectManager => "project_manager",
        /// Manages contribution policies, units and adapter bindings; reads awards.
        FinanceAuthority => "finance_authority",
        /// Reads everything in scope; changes nothing.
        AuditAuthority => "audit_authority",
    }
}

impl AdminRole {
    /// Roles that exist only at system scope.
    pub const fn is_system_only(self) -> bool {
        matches!(self, AdminRole::AccessAdministrator | AdminRole::Operator)
    }

    /// Whether this role may be granted in `scope` (refused grants get
    /// `invalid_role_scope`).
    pub const fn allows_scope(self, scope: &Scope) -> bool {
        match scope {
            Scope::System => true,
            Scope::Project(_) => !self.is_system_only(),
        }
    }
}

token_enum! {
    /// A contributor role on exactly one project (`ProjectRoleGrant.role`).
    pub enum ProjectRole as "project_role" {
        /// May claim, start and submit tasks.
        Submitter => "submitter",
        /// May take review leases and decide (never on their own chain).
        Reviewer => "reviewer",
        /// Reserved: grantable, but authorizes nothing in v0.1.
        Adjudicator => "adjudicator",
    }
}

impl ProjectRole {
    /// Whether holding this role enables any action in v0.1.
    pub const fn authorizes_anything(self) -> bool {
        !matches!(self, ProjectRole::Adjudicator)
    }
}

token_enum! {
    /// The stored `scope_type` of an administrative grant.
    pub enum ScopeType as "scope_type" {
        /// Covers every project.
        System => "system",
        /// Covers exactly one project.
        Project => "project",
    }
}

/// Where an administrative grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every project.
    System,
    /// Exactly this project.
    Project(Uuid),
}

/// A scope whose type and project id do not agree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a system scope has no project id; a project scope needs one")]
pub struct ScopeMismatch;

impl ScopeMismatch {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::InvalidScope
    }
}

impl Scope {
    /// Builds a scope from its stored columns (`scope_type`, `scope_project_id`).
    pub fn from_parts(
        scope_type: ScopeType,
        project_id: Option<Uuid>,
    ) -> Result<Self, ScopeMismatch> {
        match (scope_type, project_id) {
            (ScopeType::System, None) => Ok(Scope::System),
            (ScopeType::Project, Some(id)) => Ok(Scope::Project(id)),
            _ => Err(ScopeMismatch),
        }
    }

    /// The stored `scope_type`.
    pub const fn scope_type(&self) -> ScopeType {
        match self {
            Scope::System => ScopeType::System,
            Scope::Project(_) => ScopeType::Project,
        }
    }

    /// The stored `scope_project_id`.
    pub const fn project_id(&self) -> Option<Uuid> {
        match self {
            Scope::System => None,
            Scope::Project(id) => Some(*id),
        }
    }

    /// Whether a grant in this scope covers `project`.
    pub fn covers(&self, project: Uuid) -> bool {
        match self {
            Scope::System => true,
            Scope::Project(id) => *id == project,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_only_roles_refuse_project_scope() {
        let p = Scope::Project(Uuid::from_u128(7));
        for &role in AdminRole::ALL {
            assert!(role.allows_scope(&Scope::System));
            assert_eq!(role.allows_scope(&p), !role.is_system_only(), "{role}");
        }
        assert!(AdminRole::Operator.is_system_only());
        assert!(AdminRole::AccessAdministrator.is_system_only());
        assert!(!AdminRole::ProjectManager.is_system_only());
    }

    #[test]
    fn scope_coverage_and_parts() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert!(Scope::System.covers(a));
        assert!(Scope::Project(a).covers(a));
        assert!(!Scope::Project(a).covers(b));
        assert_eq!(
            Scope::from_parts(ScopeType::Project, Some(a)),
            Ok(Scope::Project(a))
        );
        assert_eq!(
            Scope::from_parts(ScopeType::System, None),
            Ok(Scope::System)
        );
        assert_eq!(
            Scope::from_parts(ScopeType::System, Some(a)),
            Err(ScopeMismatch)
        );
        assert_eq!(
            Scope::from_parts(ScopeType::Project, None),
            Err(ScopeMismatch)
        );
        assert_eq!(Scope::Project(a).project_id(), Some(a));
    }

    #[test]
    fn adjudicator_is_inert() {
        assert!(!ProjectRole::Adjudicator.authorizes_anything());
        assert!(ProjectRole::Reviewer.authorizes_anything());
        assert_eq!(AdminRole::FinanceAuthority.as_str(), "finance_authority");
    }
}
