//! [`Doc`]: what a route's author states about it, beside the mount.

use axum::http::StatusCode;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use workstream_domain::ErrorCode;

/// Generates a schema (a `$ref` for named types) with the document's generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The stated half of an operation's description (the other half is read off the
/// handler, see [`super::request`]).
///
/// ```ignore
/// Doc::new("Claim a ready task")
///     .who("a submitter of the task's project")
///     .answers(StatusCode::OK, "the task, `claimed`, and the new assignment")
///     .refuses(&[ErrorCode::TaskAlreadyClaimed, ErrorCode::ActiveTaskCapReached])
/// ```
#[derive(Debug, Clone)]
pub struct Doc {
    /// One line: what the operation does.
    pub summary: &'static str,
    /// Who may call it (the authority rule, in the domain's words).
    pub who: Option<&'static str>,
    /// More to say, in Markdown.
    pub notes: Vec<&'static str>,
    /// The success status and what its body holds.
    pub success: (StatusCode, &'static str),
    /// Other success statuses the operation may answer, with the same body.
    pub also: Vec<(StatusCode, &'static str)>,
    /// The media type of the success body (`application/json` unless stated).
    pub success_media_type: &'static str,
    /// Stable error codes the operation answers with (besides the ones every operation
    /// of its shape has, which the document adds itself); the document groups them by
    /// the catalogue's statuses.
    pub refusals: Vec<&'static [ErrorCode]>,
    /// The body's type, for a handler that reads its body as bytes or as a JSON value
    /// and parses it itself (to keep the raw value for the idempotency digest).
    pub body: Option<SchemaFn>,
    /// The parts of a multipart body: name, and what it holds.
    pub parts: &'static [(&'static str, &'static str)],
    /// An empty body is accepted (and read as `{}`).
    pub body_optional: bool,
    /// The handler streams the body and enforces its own cap, so axum's default body
    /// limit is lifted for this route.
    pub streamed_body: bool,
}

impl Doc {
    /// A route that does what `summary` says; success is `200` with a JSON body until
    /// said otherwise.
    pub fn new(summary: &'static str) -> Doc {
        Doc {
            summary,
            who: None,
            notes: Vec::new(),
            success: (StatusCode::OK, "the result"),
            also: Vec::new(),
            success_media_type: "application/json",
            refusals: Vec::new(),
            body: None,
            parts: &[],
            body_optional: false,
            streamed_body: false,
        }
    }

    /// Who may call it.
    pub fn who(mut self, who: &'static str) -> Doc {
        self.who = Some(who);
        self
    }

    /// A paragraph of Markdown for the description.
    pub fn note(mut self, note: &'static str) -> Doc {
        self.notes.push(note);
        self
    }

    /// The success status and what its body holds.
    pub fn answers(mut self, status: StatusCode, body: &'static str) -> Doc {
        self.success = (status, body);
        self
    }

    /// `200` with `body`.
    pub fn ok(self, body: &'static str) -> Doc {
        self.answers(StatusCode::OK, body)
    }

    /// Another success status with the same body, and when it is answered.
    pub fn also(mut self, status: StatusCode, when: &'static str) -> Doc {
        self.also.push((status, when));
        self
    }

    /// `201` with `body`.
    pub fn created(self, body: &'static str) -> Doc {
        self.answers(StatusCode::CREATED, body)
    }

    /// The success body is not JSON but `media_type`.
    pub fn media_type(mut self, media_type: &'static str) -> Doc {
        self.success_media_type = media_type;
        self
    }

    /// The operation may answer with these stable codes.
    pub fn refuses(mut self, codes: &'static [ErrorCode]) -> Doc {
        self.refusals.push(codes);
        self
    }

    /// The JSON body is a `T` (for handlers that parse the body themselves).
    pub fn body<T: JsonSchema>(mut self) -> Doc {
        self.body = Some(|generator| generator.subschema_for::<T>());
        self
    }

    /// The JSON body has the schema `schema` makes (a policy schema of `policies/`, say).
    pub fn body_with(mut self, schema: SchemaFn) -> Doc {
        self.body = Some(schema);
        self
    }

    /// The JSON body is a `T` and may be left out (read as `{}`).
    pub fn optional_body<T: JsonSchema>(mut self) -> Doc {
        self.body_optional = true;
        self.body::<T>()
    }

    /// The body is streamed by the handler under its own cap (a packet upload): axum's
    /// default 2 MB limit does not apply.
    pub fn streamed(mut self) -> Doc {
        self.streamed_body = true;
        self
    }

    /// The multipart body's parts, in the order the handler reads them.
    pub fn parts(mut self, parts: &'static [(&'static str, &'static str)]) -> Doc {
        self.parts = parts;
        self
    }
}
