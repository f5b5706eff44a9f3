//! What a request carries, read off the handler's extractor types.
//!
//! axum calls a handler `Handler<(M, T1, .., Tn), S>`, where `T1..Tn` are its argument
//! types; [`DescribeRequest`] is implemented for those tuples when every argument type
//! implements [`DescribeExtractor`]. So mounting a handler whose arguments include an
//! extractor nobody described fails to compile, instead of leaving a hole in the
//! document.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Multipart, Query, State};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::IdempotencyKey;

/// The request side of an operation, as its extractors describe it.
#[derive(Debug, Default, Clone)]
pub struct RequestShape {
    /// A bearer token is required ([`Caller`]).
    pub authenticated: bool,
    /// The `Idempotency-Key` header is required ([`IdempotencyKey`]).
    pub idempotency_key: bool,
    /// The path ids, as one schema: a single id, or a tuple (`prefixItems`) matched to
    /// the path's parameters in order.
    pub path: Option<Schema>,
    /// The query string, as an object schema whose properties are the parameters.
    pub query: Option<Schema>,
    /// The body.
    pub body: Option<Body>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// `application/json` with this schema (often a `$ref` into the components).
    Json(Schema),
    /// `multipart/form-data`; the route's [`Doc`](super::Doc) names the parts.
    Multipart,
    /// Bytes the handler parses itself; the route's [`Doc`](super::Doc) gives the type.
    Raw,
}

/// Describes an operation's request into `shape`, generating schemas with `generator`.
pub type DescribeFn = fn(&mut RequestShape, &mut SchemaGenerator);

/// What one extractor type contributes to the request description.
pub trait DescribeExtractor {
    /// Adds this extractor's part to `shape`.
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator);
}

/// A handler's whole argument list (see the module docs).
pub trait DescribeRequest {
    /// Adds every argument's part to `shape`.
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator);
}

impl DescribeRequest for ((),) {
    fn describe(_: &mut RequestShape, _: &mut SchemaGenerator) {}
}

macro_rules! describe_tuple {
    ($($ty:ident),+) => {
        impl<M, $($ty: DescribeExtractor),+> DescribeRequest for (M, $($ty,)+) {
            fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
                $($ty::describe(shape, generator);)+
            }
        }
    };
}

describe_tuple!(T1);
describe_tuple!(T1, T2);
describe_tuple!(T1, T2, T3);
describe_tuple!(T1, T2, T3, T4);
describe_tuple!(T1, T2, T3, T4, T5);
describe_tuple!(T1, T2, T3, T4, T5, T6);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7);
describe_tuple!(T1, T2, T3, T4, T5, T6, T7, T8);

/// Shared state is not part of the request.
impl<S> DescribeExtractor for State<S> {
    fn describe(_: &mut RequestShape, _: &mut SchemaGenerator) {}
}

/// Request extensions (the correlation id) are set by our own middleware.
impl<T> DescribeExtractor for Extension<T> {
    fn describe(_: &mut RequestShape, _: &mut SchemaGenerator) {}
}

impl DescribeExtractor for Caller {
    fn describe(shape: &mut RequestShape, _: &mut SchemaGenerator) {
        shape.authenticated = true;
    }
}

impl DescribeExtractor for IdempotencyKey {
    fn describe(shape: &mut RequestShape, _: &mut SchemaGenerator) {
        shape.idempotency_key = true;
    }
}

impl<T: JsonSchema> DescribeExtractor for Ids<T> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        // Inline, not a `$ref`: the document splits it into one parameter per id.
        shape.path = Some(inline::<T>(generator));
    }
}

impl<T: JsonSchema> DescribeExtractor for Json<T> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        shape.body = Some(Body::Json(generator.subschema_for::<T>()));
    }
}

/// A handler that answers an extractor's rejection itself (the fulfilment callback
/// refuses people before it looks at their key or body) still reads the same input.
impl<T: DescribeExtractor> DescribeExtractor for Result<T, ApiError> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        T::describe(shape, generator);
    }
}

impl<T: JsonSchema> DescribeExtractor for Query<T> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        shape.query = Some(inline::<T>(generator));
    }
}

impl<T: JsonSchema> DescribeExtractor for Result<Query<T>, QueryRejection> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        Query::<T>::describe(shape, generator);
    }
}

impl<T: JsonSchema> DescribeExtractor for crate::extract::Query<T> {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        Query::<T>::describe(shape, generator);
    }
}

impl DescribeExtractor for crate::extract::Multipart {
    fn describe(shape: &mut RequestShape, generator: &mut SchemaGenerator) {
        Multipart::describe(shape, generator);
    }
}

impl DescribeExtractor for Multipart {
    fn describe(shape: &mut RequestShape, _: &mut SchemaGenerator) {
        shape.body = Some(Body::Multipart);
    }
}

impl DescribeExtractor for axum::body::Bytes {
    fn describe(shape: &mut RequestShape, _: &mut SchemaGenerator) {
        shape.body = Some(Body::Raw);
    }
}

/// `T`'s own schema, not a `$ref` to it (nested named types still go to the
/// generator's definitions), so that it can be taken apart into path or query
/// parameters.
fn inline<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}
