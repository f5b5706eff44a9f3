//! Compensation projection: award delivery and fulfilment, adapter bindings.
//!
//! Payment is separate from acceptance (R39): nothing here can change a task, a
//! contribution or an award. Delivery tracks the outbox handing the award to the bound
//! adapter; fulfilment tracks what the adapter reported back. A `failed` award may
//! later be fulfilled once; `fulfilled` is final, which is what makes double payment
//! impossible (R42).

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
