//! Compensation adapters: the port payment providers plug into (docs/architecture.md).
//!
//! An award reaches its provider through the adapter binding its definition froze: the
//! binding names a service actor (the only caller whose fulfilment callbacks count, R43)
//! and a `route_key`, which picks the [`CompensationAdapter`] that carries the award out
//! of Workstream. The [`AdapterRegistry`] maps route keys to adapters by prefix; the
//! built-in [`LocalAdapter`] serves `local` (and `local.*`, `local:*`) and is in the
//! default registry. A route no adapter serves is a delivery failure the job retries,
//! never a silent drop.
//!
//! Delivery is at-least-once: the worker calls an adapter outside any transaction (no
//! provider I/O under locks, R43) and commits the acknowledgement afterwards, so a crash
//! between the two calls the adapter again. Every [`AwardDelivery`] therefore carries a
//! stable `delivery_id` (the outbox row), and an adapter must treat a repeated id as the
//! same delivery and answer with the same reference.

use std::sync::Arc;

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::worker::BoxFuture;

/// One award event on its way to an adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct AwardDelivery {
    /// The outbox row: the delivery's idempotency key, the same on every attempt.
    pub delivery_id: Uuid,
    /// The award delivered.
    pub award_id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// The binding's route key (which adapter, and where it sends the award).
    pub route_key: String,
    /// The event (`award_created`).
    pub event_type: String,
    /// What the outbox row carries: award, contributor, instrument, unit and exact
    /// quantity (a decimal string).
    pub payload: Value,
}

/// An adapter's acknowledgement: it has the award and will report its fulfilment
/// through the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterAck {
    /// The adapter's own reference for the delivery (1 to 500 characters); the same for
    /// a repeated delivery id.
    pub adapter_reference: String,
}

/// Why an adapter did not take a delivery. Every failure is retried by the job with
/// backoff; the text is kept as the outbox row's `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(pub String);

/// A way out of Workstream for awards: a payment provider, a points ledger.
pub trait CompensationAdapter: Send + Sync + 'static {
    /// A short name for logs and errors.
    fn name(&self) -> &'static str;

    /// Hands `delivery` to the provider. Called outside any transaction; must be
    /// idempotent by `delivery.delivery_id` (see the module docs). `pool` is the
    /// Workstream database, for adapters that keep their ledger beside it (the local
    /// one); an adapter of an outside provider ignores it.
    fn deliver<'a>(
        &'a self,
        pool: &'a PgPool,
        delivery: &'a AwardDelivery,
    ) -> BoxFuture<'a, Result<AdapterAck, AdapterError>>;
}

/// The built-in adapter: records the delivery in `local_adapter_deliveries` and
/// acknowledges it with the reference `local:<delivery_id>`. Fulfilment of a local
/// award is reported by the binding's service actor through the ordinary callback.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalAdapter;

impl LocalAdapter {
    /// The route-key prefix it serves.
    pub const ROUTE_PREFIX: &'static str = "local";
}

impl CompensationAdapter for LocalAdapter {
    fn name(&self) -> &'static str {
        "local"
    }

    fn deliver<'a>(
        &'a self,
        pool: &'a PgPool,
        delivery: &'a AwardDelivery,
    ) -> BoxFuture<'a, Result<AdapterAck, AdapterError>> {
        Box::pin(async move {
            let reference = format!("local:{}", delivery.delivery_id);
            // Keyed by the delivery: a repeat records nothing new and gets the same
            // reference back.
            sqlx::query!(
                "INSERT INTO local_adapter_deliveries \
                 (delivery_id, compensation_award_id, route_key, payload, adapter_reference) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING",
                delivery.delivery_id,
                delivery.award_id,
                &delivery.route_key,
                &delivery.payload,
                &reference,
            )
            .execute(pool)
            .await
            .map_err(|err| AdapterError(format!("local adapter ledger: {err}")))?;
            Ok(AdapterAck {
                adapter_reference: reference,
            })
        })
    }
}

/// Picks the adapter of a route key.
#[derive(Clone)]
pub struct AdapterRegistry {
    /// (prefix, adapter), longest prefix first.
    routes: Vec<(String, Arc<dyn CompensationAdapter>)>,
}

impl std::fmt::Debug for AdapterRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.routes.iter().map(|(prefix, a)| (prefix, a.name())))
            .finish()
    }
}

impl Default for AdapterRegistry {
    /// The built-in [`LocalAdapter`] on `local`.
    fn default() -> Self {
        AdapterRegistry::empty().with(LocalAdapter::ROUTE_PREFIX, Arc::new(LocalAdapter))
    }
}

impl AdapterRegistry {
    /// A registry serving no route.
    pub fn empty() -> Self {
        AdapterRegistry { routes: Vec::new() }
    }

    /// Adds `adapter` for route keys equal to `prefix` or starting with `prefix`
    /// followed by `.` or `:`. A longer prefix wins over a shorter one.
    pub fn with(mut self, prefix: &str, adapter: Arc<dyn CompensationAdapter>) -> Self {
        self.routes.push((prefix.to_owned(), adapter));
        self.routes
            .sort_by_key(|route| std::cmp::Reverse(route.0.len()));
        self
    }

    /// The adapter serving `route_key`, if any.
    pub fn resolve(&self, route_key: &str) -> Option<Arc<dyn CompensationAdapter>> {
        self.routes
            .iter()
            .find(|(prefix, _)| {
                route_key
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', ':']))
            })
            .map(|(_, adapter)| adapter.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_resolve_by_whole_prefix_segments() {
        let registry = AdapterRegistry::default();
        for served in ["local", "local.points", "local:money", "local.a.b"] {
            assert_eq!(
                registry.resolve(served).map(|a| a.name()),
                Some("local"),
                "{served}"
            );
        }
        for unserved in ["localbank", "bank.local", "Local.x", "acme:pay"] {
            assert!(registry.resolve(unserved).is_none(), "{unserved}");
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        struct Other;
        impl CompensationAdapter for Other {
            fn name(&self) -> &'static str {
                "other"
            }
            fn deliver<'a>(
                &'a self,
                _: &'a PgPool,
                _: &'a AwardDelivery,
            ) -> BoxFuture<'a, Result<AdapterAck, AdapterError>> {
                Box::pin(async { Err(AdapterError("unused".into())) })
            }
        }
        let registry = AdapterRegistry::default().with("local.bank", Arc::new(Other));
        assert_eq!(registry.resolve("local.bank.eu").unwrap().name(), "other");
        assert_eq!(registry.resolve("local.points").unwrap().name(), "local");
        assert!(AdapterRegistry::empty().resolve("local").is_none());
    }
}
