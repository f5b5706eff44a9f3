//! Review queue entry and review lease.
//!
//! A queue entry is created once per admitted Submission and closes once. While it is
//! pending it may prefer one reviewer (the one who asked for the revision) until the
//! preference window ends, the reviewer declines or loses authority; then it opens to
//! everyone, keeping its age. A lease is one reviewer's hold on one entry; it ends
//! exactly once and a new lease is a new row.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `ReviewQueueEntry.state`.
    pub enum QueueEntryState as "queue_entry_state" {
        /// Waiting for a decision.
        Pending => "pending",
        /// Decided, or cancelled by an administrator.
        Closed => "closed",
    }
}

impl StateMachine for QueueEntryState {
    const MOVES: &'static [(Self, Self)] = &[(QueueEntryState::Pending, QueueEntryState::Closed)];
}

token_enum! {
    /// `ReviewQueueEntry` routing: who may be offered the entry.
    pub enum QueueRouting as "queue_routing" {
        /// Offered only to the preferred reviewer, until the preference ends.
        Preferred => "preferred",
        /// Offered to any eligible reviewer.
        Open => "open",
    }
}

impl StateMachine for QueueRouting {
    const MOVES: &'static [(Self, Self)] = &[(QueueRouting::Preferred, QueueRouting::Open)];
}

token_enum! {
    /// `ReviewLease.disposition`.
    pub enum ReviewLeaseDisposition as "review_lease_disposition" {
        /// The reviewer may read the packet and decide.
        Active => "active",
        /// Spent by the reviewer's decision.
        Consumed => "consumed",
        /// Given back by the reviewer, or force-released by an Operator.
        Released => "released",
        /// The reviewer declined the offer; a preferred entry opens.
        Declined => "declined",
        /// Database time passed `expires_at`.
        Expired => "expired",
        /// The reviewer's grant was lost.
        Invalidated => "invalidated",
    }
}

impl StateMachine for ReviewLeaseDisposition {
    const MOVES: &'static [(Self, Self)] = &[
        (
            ReviewLeaseDisposition::Active,
            ReviewLeaseDisposition::Consumed,
        ),
        (
            ReviewLeaseDisposition::Active,
            ReviewLeaseDisposition::Released,
        ),
        (
            ReviewLeaseDisposition::Active,
            ReviewLeaseDisposition::Declined,
        ),
        (
            ReviewLeaseDisposition::Active,
            ReviewLeaseDisposition::Expired,
        ),
        (
            ReviewLeaseDisposition::Active,
            ReviewLeaseDisposition::Invalidated,
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn entry_closes_once() {
        use QueueEntryState::*;
        assert_exactly(&[(Pending, Closed)]);
        assert!(Closed.transition(Pending).is_err());
    }

    #[test]
    fn routing_only_opens() {
        use QueueRouting::*;
        assert_exactly(&[(Preferred, Open)]);
        assert!(Open.transition(Preferred).is_err());
    }

    #[test]
    fn lease_ends_once() {
        use ReviewLeaseDisposition::*;
        assert_exactly(&[
            (Active, Consumed),
            (Active, Released),
            (Active, Declined),
            (Active, Expired),
            (Active, Invalidated),
        ]);
        assert_eq!(
            Expired.transition(Consumed).unwrap_err().to_string(),
            "review_lease_disposition cannot move from `expired` to `consumed`"
        );
    }
}
