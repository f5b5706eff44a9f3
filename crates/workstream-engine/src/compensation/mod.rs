//! What a contribution earns and how the payment side learns of it (upstream-domain
//! §1.9, §5; R39-R45).
//!
//! * [`awards`]: inside the review decision's transaction, the awards a contribution
//!   record earns, copied exactly from its frozen policy version's definitions, with
//!   their status projection and the outbox rows that deliver them to the bound
//!   adapter after commit.

pub mod awards;
