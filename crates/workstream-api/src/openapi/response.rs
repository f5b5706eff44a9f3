//! What a success answers, read off the handler's return type.
//!
//! As [`super::request`] reads the request off the handler's arguments, this module
//! reads the success body off what the handler returns: a handler that answers
//! `Result<axum::Json<TaskEnvelope>, ApiError>` (or an [`Answer<TaskEnvelope>`], what
//! the idempotency layer gives back) is documented as answering the schema `schemars`
//! derives from `TaskEnvelope`, the very type serde serializes. A handler that returns
//! a bare [`Response`] (a file, a CSV export, a page) says what it answers in its
//! [`Doc`](super::Doc) instead.

use std::future::Future;

use axum::Json;
use axum::response::Response;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::error::ApiError;
use crate::idempotency::Answer;

/// Generates the success body's schema, or `None` when the type does not say.
pub type DescribeFn = fn(&mut SchemaGenerator) -> Option<Schema>;

/// What a handler's return type says about its success body.
pub trait DescribeResponse {
    /// The success body's schema (a `$ref` for named types), if the type tells it.
    fn describe(generator: &mut SchemaGenerator) -> Option<Schema>;
}

impl<T: JsonSchema> DescribeResponse for Answer<T> {
    fn describe(generator: &mut SchemaGenerator) -> Option<Schema> {
        Some(generator.subschema_for::<T>())
    }
}

impl<T: JsonSchema> DescribeResponse for Json<T> {
    fn describe(generator: &mut SchemaGenerator) -> Option<Schema> {
        Some(generator.subschema_for::<T>())
    }
}

impl<T: JsonSchema> DescribeResponse for (axum::http::StatusCode, Json<T>) {
    fn describe(generator: &mut SchemaGenerator) -> Option<Schema> {
        Some(generator.subschema_for::<T>())
    }
}

impl DescribeResponse for Response {
    fn describe(_: &mut SchemaGenerator) -> Option<Schema> {
        None
    }
}

impl<R: DescribeResponse> DescribeResponse for Result<R, ApiError> {
    fn describe(generator: &mut SchemaGenerator) -> Option<Schema> {
        R::describe(generator)
    }
}

/// The output of a handler called with the arguments `T` (axum's `Handler<T, S>`
/// tuple: a marker, then the argument types).
pub trait Returns<T> {
    /// What the handler's future resolves to.
    type Output;
}

impl<F, Fut> Returns<((),)> for F
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    type Output = Fut::Output;
}

macro_rules! returns_tuple {
    ($($ty:ident),+) => {
        impl<F, Fut, M, $($ty,)+> Returns<(M, $($ty,)+)> for F
        where
            F: FnOnce($($ty,)+) -> Fut,
            Fut: Future,
        {
            type Output = Fut::Output;
        }
    };
}

returns_tuple!(T1);
returns_tuple!(T1, T2);
returns_tuple!(T1, T2, T3);
returns_tuple!(T1, T2, T3, T4);
returns_tuple!(T1, T2, T3, T4, T5);
returns_tuple!(T1, T2, T3, T4, T5, T6);
returns_tuple!(T1, T2, T3, T4, T5, T6, T7);
returns_tuple!(T1, T2, T3, T4, T5, T6, T7, T8);
