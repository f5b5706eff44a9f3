//! Durable rate limits: fixed windows counted in `api_rate_control_counters`.
//!
//! Two budgets (docs/security.md):
//!
//! - **first access**: how many new human profiles an issuer's tokens may create per
//!   window (`WORKSTREAM_API_FIRST_ACCESS_RATE_LIMIT` / `_WINDOW_SECONDS`, 10 per 60 s).
//!   We key it on the issuer, not the subject: a subject has only one first access, so
//!   a per-subject budget would never bind, while a flood of made-up subjects from one
//!   issuer is exactly what must not turn into a flood of rows.
//! - **admin mutations**: how many authority changes (grants, revocations, status
//!   changes, service actors) one actor may make per window
//!   (`WORKSTREAM_API_ADMIN_MUTATION_RATE_LIMIT` / `_WINDOW_SECONDS`, 30 per 60 s).
//!
//! The counter lives in PostgreSQL so every server shares one budget and a restart does
//! not reset it; the upsert is one statement outside any transaction, so a refused or
//! failed request still counts. Subjects are stored only as HMAC-SHA256 digests keyed
//! with `WORKSTREAM_API_RATE_LIMIT_KEY_SECRET`. Over budget: 429 `rate_limit_exceeded`,
//! `retryable: true`, with `Retry-After` (seconds to the window's end).

use std::time::Duration;
use workstream_domain::ErrorCode;
use workstream_store::rate_control;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgConnection;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// One budget: at most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed per window (at least 1).
    pub max: u32,
    /// The window length (at least one second).
    pub window: Duration,
}

/// The budgets and the key that hides subjects.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// New profiles per issuer.
    pub first_access: Limit,
    /// Authority mutations per actor.
    pub admin_mutation: Limit,
    /// The HMAC key of subject digests (32..=64 bytes).
    pub key: Vec<u8>,
}

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// A first request that would create a profile; the subject is the issuer.
    FirstAccess,
    /// An authority mutation; the subject is the acting actor's id.
    AdminMutation,
}

impl Bucket {
    fn as_str(self) -> &'static str {
        match self {
            Bucket::FirstAccess => "first_access",
            Bucket::AdminMutation => "admin_mutation",
        }
    }
}

impl RateLimits {
    /// The upstream defaults with `key`.
    pub fn defaults(key: Vec<u8>) -> RateLimits {
        RateLimits {
            first_access: Limit {
                max: 10,
                window: Duration::from_secs(60),
            },
            admin_mutation: Limit {
                max: 30,
                window: Duration::from_secs(60),
            },
            key,
        }
    }

    fn limit(&self, bucket: Bucket) -> Limit {
        match bucket {
            Bucket::FirstAccess => self.first_access,
            Bucket::AdminMutation => self.admin_mutation,
        }
    }

    fn digest(&self, bucket: Bucket, subject: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(bucket.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Counts one hit of `subject` in `bucket`; over budget, the 429.
    pub async fn hit(
        &self,
        conn: &mut PgConnection,
        bucket: Bucket,
        subject: &str,
    ) -> Result<(), ApiError> {
        let limit = self.limit(bucket);
        let digest = self.digest(bucket, subject);
        let window = limit.window.as_secs().max(1) as f64;
        let rate_control::Hit {
            hits,
            remaining_seconds: remaining,
            ..
        } = rate_control::hit(conn, bucket.as_str(), &digest, window).await?;
        if u32::try_from(hits).unwrap_or(u32::MAX) <= limit.max {
            return Ok(());
        }
        let retry_after = remaining.ceil().max(1.0) as u64;
        Err(ApiError::new(
            ErrorCode::RateLimitExceeded,
            "too many requests of this kind; retry after the window ends",
        )
        .with_details(serde_json::json!({
            "limit": limit.max,
            "window_seconds": limit.window.as_secs(),
            "retry_after_seconds": retry_after,
        }))
        .with_retry_after(retry_after))
    }
}

/// Counts an authority mutation by `caller` (after their authority was checked, so
/// only administrators spend the budget).
pub async fn admin_mutation(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let mut conn = state.pool.acquire().await?;
    state
        .config
        .rate_limits
        .hit(
            &mut conn,
            Bucket::AdminMutation,
            &caller.actor_id.to_string(),
        )
        .await
}
