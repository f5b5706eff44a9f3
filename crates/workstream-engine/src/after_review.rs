//! What follows a Review, off its decision's transaction (R53): the `reputation.record`
//! job ([`ReputationArgs`], enqueued by the decision with the idempotency key
//! `reputation.record:<review_id>`).
//!
//! One transaction, fenced by `jobs::complete`, so a replay under a new lease changes
//! nothing:
//!
//! 1. [`crate::reputation::record_review`]: the events the Review earns, folded into the
//!    scores, then lesson detection;
//! 2. [`crate::calibration::sample_after_review`]: whether the Review is offered to a
//!    second reviewer.
//!
//! The steps live with their concepts; this module only orders them, so reputation and
//! calibration (which writes a reputation event of its own) do not call each other.

use sqlx::PgPool;
use workstream_store::jobs::{self, ClaimedJob};

use crate::CommandError;
use crate::jobs::ReputationArgs;
use crate::worker::{BoxFuture, HandlerError, Work};

/// The `reputation.record` job.
#[derive(Debug, Default)]
pub struct AfterReview;

impl Work for AfterReview {
    type Args = ReputationArgs;

    fn work<'a>(
        &'a self,
        ReputationArgs { review_id }: ReputationArgs,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut tx = pool.begin().await?;
            jobs::complete(&mut tx, job).await?;
            crate::reputation::record_review(&mut tx, review_id)
                .await
                .map_err(handler_error)?;
            crate::calibration::sample_after_review(&mut tx, review_id)
                .await
                .map_err(handler_error)?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// Our side (500, 503) may pass on another attempt; a refusal will not.
fn handler_error(error: CommandError) -> HandlerError {
    let why = format!("{}: {}", error.code, error.message);
    if error.code.status() >= 500 {
        HandlerError::retryable(why)
    } else {
        HandlerError::permanent(why)
    }
}
