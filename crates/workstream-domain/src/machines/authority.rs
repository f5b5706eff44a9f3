//! The statuses of who an actor is and what they may do (docs/security.md): an actor
//! profile, an identity link, and an administrative or project role grant.
//!
//! ```text
//!   actor:  active --suspend--> suspended --reactivate--> active
//!           active | suspended --deactivate--> deactivated (terminal)
//!   link:   active <--revoke / reactivate--> revoked
//!   grant:  active --revoke--> revoked (terminal)
//! ```
//!
//! The authority commands refuse each move outside these tables with a code of its own
//! (`actor_already_suspended`, `identity_link_not_revoked`, ...); the database's move
//! triggers (`workstream-store`'s `state_moves`) do not guard these columns.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `ActorProfile.status`: a guard on every request, never a role.
    pub enum ActorStatus as "actor_status" {
        /// May act within their grants.
        Active => "active",
        /// Refused on every request (403 `actor_suspended`); keeps their grants.
        Suspended => "suspended",
        /// Refused for good.
        Deactivated => "deactivated",
    }
}

impl StateMachine for ActorStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (ActorStatus::Active, ActorStatus::Suspended),
        (ActorStatus::Suspended, ActorStatus::Active),
        (ActorStatus::Active, ActorStatus::Deactivated),
        (ActorStatus::Suspended, ActorStatus::Deactivated),
    ];
}

token_enum! {
    /// `IdentityLink.status`: whether an (issuer, subject) still signs in as its profile.
    pub enum LinkStatus as "identity_link_status" {
        /// Signs in.
        Active => "active",
        /// Refused (403 `identity_link_revoked`); may be reactivated.
        Revoked => "revoked",
    }
}

impl StateMachine for LinkStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (LinkStatus::Active, LinkStatus::Revoked),
        (LinkStatus::Revoked, LinkStatus::Active),
    ];
}

token_enum! {
    /// `AdminRoleGrant.status` and `ProjectRoleGrant.status`.
    pub enum GrantStatus as "grant_status" {
        /// Authorizes its role.
        Active => "active",
        /// Authorizes nothing, for good.
        Revoked => "revoked",
    }
}

impl StateMachine for GrantStatus {
    const MOVES: &'static [(Self, Self)] = &[(GrantStatus::Active, GrantStatus::Revoked)];
}

#[cfg(test)]
mod tests {
    use super::{ActorStatus, GrantStatus, LinkStatus};
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn authority_moves() {
        use ActorStatus::*;
        assert_exactly(&[
            (Active, Suspended),
            (Suspended, Active),
            (Active, Deactivated),
            (Suspended, Deactivated),
        ]);
        assert!(Deactivated.is_terminal());
        assert_exactly(&[
            (LinkStatus::Active, LinkStatus::Revoked),
            (LinkStatus::Revoked, LinkStatus::Active),
        ]);
        assert_exactly(&[(GrantStatus::Active, GrantStatus::Revoked)]);
        assert!(GrantStatus::Revoked.is_terminal());
    }
}
