//! The finance authority's side of a project (docs/rules.md).
//!
//! * [`policy`]: contribution policies and their numbered versions: draft terms,
//!   publication into immutable rules and award definitions, retirement.
//! * [`units`]: the compensation units awards are counted in.
//! * [`bindings`]: the adapter that delivers a project's awards of one instrument.
//! * `dependents`: what keeps a unit or a binding in use, which both refuse to retire.

pub mod bindings;
mod dependents;
pub mod policy;
pub mod units;

pub use bindings::{Binding, create_binding, list_bindings, retire_binding, set_binding_status};
pub use policy::{
    DraftReceipt, PolicyPointers, PolicyVersionView, create_draft, current, publish, retire,
    set_terms, view,
};
pub use units::{Unit, create_unit, list_units, retire_unit};
