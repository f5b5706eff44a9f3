//! The one registry of job kinds: the handlers every process that works jobs runs.
//!
//! `workstream worker`, `serve` and `up` all register exactly [`handlers`] (the module
//! exists with the `checkers` feature, which evaluation needs). A new kind
//! gets its arguments in [`crate::jobs`], a [`Work`](crate::worker::Work) handler beside
//! the concept it serves, and a line here; the worker itself knows no kind.

use std::sync::Arc;

use crate::worker::{JobHandler, Typed};

/// The handlers of every job kind Workstream runs.
pub fn handlers(pipeline: Arc<crate::pipeline::Pipeline>) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(Typed(crate::pipeline::EvaluateSubmission::new(
            pipeline.clone(),
        ))),
        Arc::new(Typed(crate::previews::run::PreviewSubmissions::new(
            pipeline,
        ))),
        // Awards go out through the default adapters (the built-in local one).
        Arc::new(Typed(crate::compensation::delivery::DeliverAward::default())),
        Arc::new(Typed(crate::after_review::AfterReview)),
    ]
}
