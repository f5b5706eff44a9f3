//! What a contribution earns and how the payment side learns of it (docs/rules.md; R39-R45).
//!
//! Facts and the one derived record:
//!
//! * [`awards`]: inside the review decision's transaction, the awards a contribution
//!   record earns, copied exactly from its frozen policy version's definitions, with
//!   their status projection and the outbox rows that deliver them to the bound
//!   adapter after commit.
//! * [`adapters`]: the port to payment providers: the [`adapters::CompensationAdapter`]
//!   trait, the built-in local adapter, and the registry that picks an adapter by the
//!   binding's route key.
//! * [`delivery`]: the `compensation.deliver` job that carries one outbox row to its
//!   adapter, outside any lock, and records the acknowledgement.
//! * [`fulfillment`]: the bound adapter's callback: one receipt per report, exact
//!   replays recognised, at most one fulfilment per award.
//! * [`projection`]: the per-award status projection, always recomputed from the
//!   facts above, and the project-wide rebuild.
//! * [`reconciliation`]: the finance report of every mismatch between those facts,
//!   and the totals by instrument, unit and status.
//! * [`reads`]: award lists for finance and audit, and a contributor's own awards.
//!
//! Payment never reaches back: nothing here changes a task, an acceptance, a
//! contribution record or an award (R39, AS48).

pub mod adapters;
pub mod awards;
pub mod delivery;
pub mod fulfillment;
pub mod projection;
pub mod reads;
pub mod reconciliation;
