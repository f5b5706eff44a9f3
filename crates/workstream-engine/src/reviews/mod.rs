//! Human review: the queue and its leases, the review packet, the decision, and the
//! revision episode a `needs_revision` decision opens (docs/lifecycle.md
//! T11-T15, docs/lifecycle.md; R24-R38).
//!
//! How the pieces fit:
//!
//! ```text
//!  checker run allow_review ──> queue entry (pending; open | preferred)
//!        queue::current / queue::claim ──> lease (active, database-time expiry)
//!        packet::view / packet::file     (lease holder only, R27)
//!        decision::decide ──> Review + findings + resolutions, lease consumed,
//!                             entry closed, completed_review (+ awards), then
//!             accept         ──> FinalAcceptance, task accepted, accepted_submission (+ awards)
//!             needs_revision ──> revision::prepare (kept | rebased | blocked), task needs_revision
//!             reject         ──> assignment blocked, task rejected
//!  resubmission (tasks::submission::submit) answers each open finding; the next
//!  review resolves each one; revision::close / revision::repair are the PM's tools.
//! ```
//!
//! * [`queue`]: what a reviewer is offered, claiming it, and how a lease ends
//!   (release, decline, expiry, invalidation, Operator force-release).
//! * [`lease`]: a reviewer's lease, read by id or holder after its own sweep.
//! * [`packet`]: what the lease holder reads: the packet's files, the checker run with
//!   its findings by path and line, the locked guide and policies, prior findings with
//!   the responses, and which checker findings are new, fixed or persisting.
//! * [`decision`]: the one-transaction decision (docs/lifecycle.md).
//! * [`revision`]: revision context preparations (R33), their repair, the revision
//!   obligation's close (T15), and the contributor's revision view.
//! * [`findings`]: stable fingerprints of checker findings across versions.
//! * `policies`: the review and revision policies a guide's bundle locks.

pub mod decision;
pub mod findings;
pub mod lease;
pub mod packet;
mod policies;
pub mod queue;
pub mod revision;

pub use policies::{GuidePolicies, guide_policies};
