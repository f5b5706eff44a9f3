//! Project and guide status.
//!
//! A project becomes `active` only through guide activation (the activation gate lives
//! in the engine); afterwards it can be paused and resumed, and archived from anywhere.
//! A guide is editable only while `draft`; activating a newer guide supersedes the
//! active one without touching its content (R6).

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `Project.status`.
    pub enum ProjectStatus as "project_status" {
        /// Being set up; no task can be screened.
        Draft => "draft",
        /// A guide is active; work flows.
        Active => "active",
        /// Temporarily stopped by its managers; can resume.
        Paused => "paused",
        /// Closed for good.
        Archived => "archived",
    }
}

impl StateMachine for ProjectStatus {
    // The spec writes "→ archived" without a source; we allow it from every live state,
    // so an abandoned draft project can be archived too.
    const MOVES: &'static [(Self, Self)] = &[
        (ProjectStatus::Draft, ProjectStatus::Active),
        (ProjectStatus::Active, ProjectStatus::Paused),
        (ProjectStatus::Paused, ProjectStatus::Active),
        (ProjectStatus::Draft, ProjectStatus::Archived),
        (ProjectStatus::Active, ProjectStatus::Archived),
        (ProjectStatus::Paused, ProjectStatus::Archived),
    ];
}

token_enum! {
    /// `ProjectGuide.status`.
    pub enum GuideStatus as "guide_status" {
        /// Editable; not enforced.
        Draft => "draft",
        /// The project's one enforced guide; immutable.
        Active => "active",
        /// Replaced by a newer activation; immutable, kept for the tasks locked to it.
        Superseded => "superseded",
    }
}

impl GuideStatus {
    /// Only a draft guide may be edited (AS07).
    pub const fn is_editable(self) -> bool {
        matches!(self, GuideStatus::Draft)
    }
}

impl StateMachine for GuideStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (GuideStatus::Draft, GuideStatus::Active),
        (GuideStatus::Active, GuideStatus::Superseded),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn project_moves() {
        use ProjectStatus::*;
        assert_exactly(&[
            (Draft, Active),
            (Active, Paused),
            (Paused, Active),
            (Draft, Archived),
            (Active, Archived),
            (Paused, Archived),
        ]);
        assert!(Archived.is_terminal());
        assert_eq!(
            Archived.transition(Active).unwrap_err().to_string(),
            "project_status cannot move from `archived` to `active`"
        );
    }

    #[test]
    fn guide_moves_and_editability() {
        use GuideStatus::*;
        assert_exactly(&[(Draft, Active), (Active, Superseded)]);
        assert!(Superseded.is_terminal());
        assert!(Draft.is_editable());
        assert!(!Active.is_editable() && !Superseded.is_editable());
    }
}
