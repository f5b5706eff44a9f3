//! The API describes itself: `GET /api/v1/openapi.json` (OpenAPI 3.1) and
//! `GET /api/v1/docs` (the same document as a page to read).
//!
//! Routes are mounted only through [`ApiRoutes`], and every mount states what the
//! route is for in a [`Doc`]. One call both registers the handler with axum and records
//! the [`Operation`], so the document cannot miss a route the router serves, nor list
//! one it does not. What a request carries is not restated by hand: it is read off the
//! handler's own extractor types ([`request`]): a [`Caller`](crate::auth::Caller) makes
//! the operation need a bearer token, an
//! [`IdempotencyKey`](crate::idempotency::IdempotencyKey) the `Idempotency-Key` header,
//! [`Ids`](crate::extract::Ids) the path ids, a typed [`Json`](crate::extract::Json) or
//! `Query` the request schema (derived with `schemars` from the same type serde
//! deserializes, so `deny_unknown_fields` becomes `additionalProperties: false`). A new
//! kind of extractor does not compile until it says what it contributes. The success
//! body is read off the handler's return type the same way ([`response`]).
//!
//! The parts:
//!
//! * [`ApiRoutes`]: the router builder every API module returns from its `routes()`.
//! * [`Doc`]: what a route's author states: summary, who may call it, what success
//!   answers, which stable error codes it refuses with.
//! * [`request`]: what each extractor contributes to the request description.
//! * [`response`]: the success body's schema, from the handler's return type.
//! * [`document`]: assembles the OpenAPI document from the operations, with the shared
//!   parts (the error envelope, bearer auth, the idempotency header, the policy schemas
//!   of `policies/`).
//! * [`page`]: renders the document as one self-contained HTML page.
//!
//! Why not `utoipa` or `aide`: both would need an adapter for each of our extractors
//! anyway, and `utoipa` restates every path in an attribute beside the `route` call
//! that mounts it. Here the mount is the documentation, in about as many lines as the
//! route table it replaces.

pub mod doc;
pub mod document;
pub mod page;
pub mod request;
pub mod response;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::handler::Handler;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};

pub use doc::Doc;
pub use request::DescribeRequest;
pub use response::DescribeResponse;

use crate::AppState;

/// The document and its page, rendered once when the router is built.
#[derive(Debug, Clone)]
pub struct ApiDocs {
    /// `openapi.json`.
    pub json: Bytes,
    /// The docs page.
    pub page: Bytes,
}

impl ApiDocs {
    /// The document of `operations` and its page.
    pub fn new(operations: &[Operation]) -> ApiDocs {
        let document = document::build(operations);
        let order: Vec<(String, String)> = operations
            .iter()
            .map(|op| (op.method.to_string(), document::openapi_path(op.path)))
            .collect();
        ApiDocs {
            json: Bytes::from(serde_json::to_vec_pretty(&document).expect("JSON serializes")),
            page: Bytes::from(page::render(&document, &order)),
        }
    }
}

/// The routes that serve the document itself (they are in it, too).
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("API document")
        .get(
            "/openapi.json",
            openapi_json,
            Doc::new("This document (OpenAPI 3.1)").ok("the OpenAPI document"),
        )
        .get(
            "/docs",
            docs_page,
            Doc::new("This document as a page to read")
                .ok("an HTML page")
                .media_type("text/html"),
        )
}

async fn openapi_json(Extension(docs): Extension<Arc<ApiDocs>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        docs.json.clone(),
    )
        .into_response()
}

async fn docs_page(Extension(docs): Extension<Arc<ApiDocs>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        docs.page.clone(),
    )
        .into_response()
}

/// One route of the API: where it is mounted, what its handler reads, and its [`Doc`].
#[derive(Debug, Clone)]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The path relative to `/api/v1`, in axum's syntax (`{id}`, `{*rest}`).
    pub path: &'static str,
    /// The tag (the API module) the operation is listed under.
    pub tag: &'static str,
    /// The handler's Rust path (`workstream_api::tasks::claim`); the operation id is
    /// made from it, so it is unique and stable as long as the handler keeps its name.
    pub handler: &'static str,
    /// Describes the request from the handler's extractors.
    pub describe: request::DescribeFn,
    /// Describes the success body from the handler's return type.
    pub answers: response::DescribeFn,
    /// What the route's author states.
    pub doc: Doc,
}

impl Operation {
    /// The `operationId`: the handler's module path inside the crate and its name,
    /// `tasks.claim`.
    pub fn operation_id(&self) -> String {
        let inner = self
            .handler
            .strip_prefix("workstream_api::")
            .unwrap_or(self.handler);
        inner.replace("::", ".")
    }
}

/// `ApiRoutes::get`, `post`, ...: mount `handler` for one method, describing it from
/// its extractor types `T`.
macro_rules! method {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        pub fn $name<H, T>(self, path: &'static str, handler: H, doc: Doc) -> ApiRoutes
        where
            H: Handler<T, AppState> + response::Returns<T>,
            <H as response::Returns<T>>::Output: DescribeResponse,
            T: DescribeRequest + 'static,
        {
            let described = Described {
                handler: std::any::type_name::<H>(),
                request: T::describe,
                answers: <<H as response::Returns<T>>::Output as DescribeResponse>::describe,
            };
            self.mount(Method::$method, path, $name(handler), described, doc)
        }
    };
}

/// What mounting reads off a handler's type.
struct Described {
    handler: &'static str,
    request: request::DescribeFn,
    answers: response::DescribeFn,
}

/// The routes of one API module: an axum router and the operations it serves.
pub struct ApiRoutes {
    tag: &'static str,
    router: Router<AppState>,
    operations: Vec<Operation>,
}

impl ApiRoutes {
    /// No routes yet; the operations added will be listed under `tag`.
    pub fn new(tag: &'static str) -> ApiRoutes {
        ApiRoutes {
            tag,
            router: Router::new(),
            operations: Vec::new(),
        }
    }

    method!(
        /// Serves `GET path` with `handler`.
        get, GET
    );
    method!(
        /// Serves `POST path` with `handler`.
        post, POST
    );
    method!(
        /// Serves `PUT path` with `handler`.
        put, PUT
    );
    method!(
        /// Serves `PATCH path` with `handler`.
        patch, PATCH
    );
    method!(
        /// Serves `DELETE path` with `handler`.
        delete, DELETE
    );

    /// Adds the routes of another module (keeping their tags).
    pub fn merge(mut self, other: ApiRoutes) -> ApiRoutes {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// The operations mounted so far, in mount order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The router and the operations it serves.
    pub fn into_parts(self) -> (Router<AppState>, Vec<Operation>) {
        (self.router, self.operations)
    }

    fn mount(
        mut self,
        method: Method,
        path: &'static str,
        route: MethodRouter<AppState>,
        described: Described,
        doc: Doc,
    ) -> ApiRoutes {
        let route = if doc.streamed_body {
            route.layer(DefaultBodyLimit::disable())
        } else {
            route
        };
        // axum merges a second method on a known path into the same route, and panics
        // on a method mounted twice: both are what a route table should do.
        self.router = self.router.route(path, route);
        self.operations.push(Operation {
            method,
            path,
            tag: self.tag,
            handler: described.handler,
            describe: described.request,
            answers: described.answers,
            doc,
        });
        self
    }
}
