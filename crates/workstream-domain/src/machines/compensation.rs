//! Compensation projection: award delivery and fulfilment, adapter bindings.
//!
//! Payment is separate from acceptance (R39): nothing here can change a task, a
//! contribution or an award. Delivery tracks the outbox handing the award to the bound
//! adapter; fulfilment tracks what the adapter reported back. A `failed` award may
//! later be fulfilled once; `fulfilled` is final, which is what makes double payment
//! impossible (R42). Units (what awards are counted in) retire once; the outbox row
//! of an award is retried until the adapter acknowledges it.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `CompensationStatusProjection.delivery_status`.
    pub enum DeliveryStatus as "delivery_status" {
        /// The award waits in the outbox.
        PendingDelivery => "pending_delivery",
        /// The bound adapter acknowledged receipt of the award event.
        AcknowledgedByAdapter => "acknowledged_by_adapter",
    }
}

impl StateMachine for DeliveryStatus {
    const MOVES: &'static [(Self, Self)] = &[(
        DeliveryStatus::PendingDelivery,
        DeliveryStatus::AcknowledgedByAdapter,
    )];
}

token_enum! {
    /// `CompensationStatusProjection.fulfillment_status`.
    pub enum FulfilmentStatus as "fulfillment_status" {
        /// No receipt yet.
        Pending => "pending",
        /// The adapter reported a failure; one later fulfilled receipt is still allowed.
        Failed => "failed",
        /// The adapter reported completion with a receipt. Terminal.
        Fulfilled => "fulfilled",
    }
}

impl StateMachine for FulfilmentStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (FulfilmentStatus::Pending, FulfilmentStatus::Failed),
        (FulfilmentStatus::Pending, FulfilmentStatus::Fulfilled),
        (FulfilmentStatus::Failed, FulfilmentStatus::Fulfilled),
    ];
}

token_enum! {
    /// `ProjectCompensationAdapterBinding.status`. Each change bumps
    /// `binding_lifecycle_version` (done by the store).
    pub enum AdapterBindingStatus as "adapter_binding_status" {
        /// New awards may freeze to this binding and be delivered through it.
        Active => "active",
        /// No new freezes or deliveries; callbacks for issued awards still land (R45).
        Suspended => "suspended",
        /// Closed for good, once nothing routes through it any more. Terminal.
        Retired => "retired",
    }
}

impl StateMachine for AdapterBindingStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (
            AdapterBindingStatus::Active,
            AdapterBindingStatus::Suspended,
        ),
        (
            AdapterBindingStatus::Suspended,
            AdapterBindingStatus::Active,
        ),
        (AdapterBindingStatus::Active, AdapterBindingStatus::Retired),
        (
            AdapterBindingStatus::Suspended,
            AdapterBindingStatus::Retired,
        ),
    ];
}

token_enum! {
    /// `ProjectCompensationUnit.status`: whether new terms may name the unit.
    pub enum UnitStatus as "compensation_unit_status" {
        /// New terms may count awards in this unit.
        Active => "active",
        /// No new terms may name it; retired once nothing depends on it. Terminal.
        Retired => "retired",
    }
}

impl StateMachine for UnitStatus {
    const MOVES: &'static [(Self, Self)] = &[(UnitStatus::Active, UnitStatus::Retired)];
}

token_enum! {
    /// `AwardDeliveryOutbox.state`: one award event on its way to the bound adapter
    /// (the `compensation.deliver` job).
    pub enum OutboxState as "award_delivery_outbox_state" {
        /// Written with the award; no attempt yet.
        Pending => "pending",
        /// An attempt is calling the adapter (committed before the call).
        Dispatched => "dispatched",
        /// The adapter took the event and answered with its reference. Terminal.
        Acknowledged => "acknowledged",
        /// The last attempt failed (no adapter for the route, or an adapter error); the
        /// job retries.
        Failed => "failed",
    }
}

impl StateMachine for OutboxState {
    /// A retry dispatches a failed row again. A failed row may also be acknowledged
    /// directly: two attempts of one row may overlap (a reactivated binding queues a
    /// fresh job while an old one still retries), and one's failure can land between
    /// the other's dispatch and its acknowledgement; acknowledging is what counts.
    const MOVES: &'static [(Self, Self)] = &[
        (OutboxState::Pending, OutboxState::Dispatched),
        (OutboxState::Dispatched, OutboxState::Acknowledged),
        (OutboxState::Dispatched, OutboxState::Failed),
        (OutboxState::Failed, OutboxState::Dispatched),
        (OutboxState::Failed, OutboxState::Acknowledged),
    ];
}

token_enum! {
    /// `CompensationFulfillmentReceipt.reported_status`: what an adapter reported of an
    /// award. A receipt is a fact and never changes, so this is no state machine; the
    /// award's [`FulfilmentStatus`] is derived from its receipts.
    pub enum ReportedStatus as "reported_status" {
        /// The provider paid out the award.
        Fulfilled => "fulfilled",
        /// The provider could not.
        Failed => "failed",
    }
}

token_enum! {
    /// The closed set of failure codes a `failed` receipt may carry (docs/rules.md).
    pub enum FulfilmentFailureCode as "fulfillment_failure_code" {
        /// The adapter refused the award.
        AdapterRejected => "ADAPTER_REJECTED",
        /// The payee's destination could not be used.
        DestinationUnavailable => "DESTINATION_UNAVAILABLE",
        /// The payment provider was down.
        ProviderUnavailable => "PROVIDER_UNAVAILABLE",
        /// The payment provider did not answer in time.
        ProviderTimeout => "PROVIDER_TIMEOUT",
        /// Anything else the provider reported.
        UnknownProviderFailure => "UNKNOWN_PROVIDER_FAILURE",
    }
}

impl FulfilmentFailureCode {
    /// Maps a provider's code onto the closed set: any code we do not know becomes
    /// `UNKNOWN_PROVIDER_FAILURE` rather than an error, because the failure happened
    /// whatever the provider called it.
    pub fn from_provider(code: &str) -> Self {
        code.parse()
            .unwrap_or(FulfilmentFailureCode::UnknownProviderFailure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn delivery_moves() {
        use DeliveryStatus::*;
        assert_exactly(&[(PendingDelivery, AcknowledgedByAdapter)]);
    }

    #[test]
    fn fulfilled_is_final() {
        use FulfilmentStatus::*;
        assert_exactly(&[(Pending, Failed), (Pending, Fulfilled), (Failed, Fulfilled)]);
        assert!(Fulfilled.is_terminal());
        assert!(Fulfilled.transition(Fulfilled).is_err());
        assert!(Fulfilled.transition(Failed).is_err());
    }

    #[test]
    fn binding_toggles_until_retired() {
        use AdapterBindingStatus::*;
        assert_exactly(&[
            (Active, Suspended),
            (Suspended, Active),
            (Active, Retired),
            (Suspended, Retired),
        ]);
        assert!(Retired.is_terminal());
    }

    #[test]
    fn unit_retires_for_good() {
        use UnitStatus::*;
        assert_exactly(&[(Active, Retired)]);
        assert!(Retired.is_terminal());
    }

    #[test]
    fn outbox_retries_until_acknowledged() {
        use OutboxState::*;
        assert_exactly(&[
            (Pending, Dispatched),
            (Dispatched, Acknowledged),
            (Dispatched, Failed),
            (Failed, Dispatched),
            (Failed, Acknowledged),
        ]);
        assert!(Acknowledged.is_terminal());
        assert!(!Failed.is_terminal());
    }

    #[test]
    fn reported_status_tokens() {
        assert_eq!(ReportedStatus::Fulfilled.as_str(), "fulfilled");
        assert_eq!("failed".parse(), Ok(ReportedStatus::Failed));
        assert!("pending".parse::<ReportedStatus>().is_err());
    }

    #[test]
    fn unknown_provider_codes_collapse() {
        assert_eq!(
            FulfilmentFailureCode::from_provider("PROVIDER_TIMEOUT"),
            FulfilmentFailureCode::ProviderTimeout
        );
        assert_eq!(
            FulfilmentFailureCode::from_provider("CARD_DECLINED"),
            FulfilmentFailureCode::UnknownProviderFailure
        );
    }
}
