//! The web UI: server-rendered pages for the people who use Workstream (docs/architecture.md),
//! served by the same binary under `/ui` (`/` redirects to `/ui/`). The crate sits
//! above `workstream-api` and uses only its public face: the application ([`router`]
//! mounts the pages beside `workstream_api::app`), the state, token minting and the
//! header names.
//!
//! | area | pages | module |
//! |---|---|---|
//! | everyone | sign-in (local mint or pasted token), sign-out, the home page with what the caller's grants open | [`session`], [`home`] |
//! | worker | ready queue with compensation terms and own tasks; task page (criteria, submission requirements, checker results); packet upload with pre-submit feedback inline; the submit page, which for a revision lists every prior finding with a box for its response | [`worker`] |
//! | reviewer | the current lease or the offer and its claim; the review packet: file tree, file viewer with checker findings beside their lines, prior findings with responses and new/fixed/persisting checker marks, the decision form | [`reviewer`] |
//! | reviewer (calibration) | a sampled review offered for a blind second review: its claim, the blind packet and the second decision | [`calibration`] |
//! | manager | projects, the project's people by role (grant, revoke with a reason), guide versions and their policy bundles (activation refusals per field), a draft's policy previews and their reports, activation with the preview it recorded, tasks through create, screening and release, the checker registry (publisher, pinning guides, recent runs) and publishing a component to it, lessons, sprints and their reports | [`manager`] |
//! | finance | contribution policies, units and bindings, awards and their status, the reconciliation report | [`finance`] |
//! | auditor | the audit trail of a task, proven against the signed ledger | [`auditor`] |
//! | access administrator | administrative grants (grant, revoke with a reason), service principals | [`admin`] |
//!
//! Decisions, and why:
//!
//! * **A client of the API, in process.** Every page handler calls the `/api/v1`
//!   router with `tower::ServiceExt::oneshot` ([`api`]), the session's bearer token in
//!   `Authorization`, so a page shows exactly what the API lets that caller see and no
//!   authorization rule is written twice. A concealed 404 from the API is a 404 page;
//!   any other refusal is shown inline with its stable code, message and per-field
//!   details. The UI never reads the database; what a page needed and no route served
//!   became API routes (`GET /tasks/{tid}/audit-trail`, `GET /checkers`,
//!   `GET /me/assignments`). Navigation is derived from `GET /actors/me` and is only a
//!   convenience: a link a caller should not have leads to the API's refusal.
//! * **Templates** are minijinja, embedded in the binary, with HTML autoescaping
//!   ([`templates`]). Pages work without JavaScript; the one small script
//!   (`static/app.js`) only enhances: jump to a finding's line, fill a finding's
//!   evidence from a clicked line, add finding rows, show upload progress. Static assets
//!   are embedded and served under a content-hashed name with a one-year immutable
//!   cache ([`assets`]).
//! * **Session**: the bearer token lives in an `HttpOnly; SameSite=Strict; Path=/`
//!   cookie, `Secure` outside `local`/`test`. In `local`/`test` the sign-in page mints
//!   a token for a chosen subject and subject kind with the server's local HMAC secret
//!   ([`workstream_api::auth::Verifier::mint_local`]); elsewhere it takes a token pasted from
//!   Flow. Either way the token is tried on `GET /actors/me` (a human's first access
//!   provisions the profile) before the cookie is set.
//! * **Mutations** are forms that carry an `Idempotency-Key` generated when the form
//!   was rendered (a hidden field; the packet upload carries it in its action URL,
//!   because the API takes the multipart body as it is), so a double submit replays
//!   instead of doing the work twice. Every non-GET request must come from our own
//!   origin ([`guard`]): a cross-site form post is refused with a page saying so.
//!   Success redirects (303) to the page that shows the result; a refusal re-renders
//!   the form with what was typed and the API's error beside it.
//! * **Packets and components stream through.** An upload form's multipart body is
//!   handed to the API's upload route as it arrives, so the UI never holds a packet or
//!   a checker component in memory.
//! * Lists show the API's first page and follow `next_cursor` with a "more" link.

#![deny(missing_docs)]

mod admin;
mod api;
mod assets;
mod auditor;
mod calibration;
mod failure;
mod file_views;
mod finance;
mod form;
mod guard;
mod home;
mod manager;
mod reviewer;
mod session;
mod templates;
mod urls;
mod worker;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{any, get};

use workstream_api::AppState;
use workstream_api::auth::Verifier;
use workstream_api::config::Environment;

/// What every page handler shares: the API it is a client of, and how to sign in.
#[derive(Clone)]
struct Ui {
    /// The whole application without the UI: `/api/v1` with its correlation layer.
    api: Router,
    /// Where the server runs (local sign-in and the cookie's `Secure` depend on it).
    environment: Environment,
    /// Mints local tokens in `local`/`test` ([`Verifier::mint_local`]).
    verifier: Arc<Verifier>,
    /// The most submissions a policy preview checks on this server
    /// (`WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS`), what the preview form offers by
    /// default.
    preview_submissions: u32,
}

/// The whole application: the API ([`workstream_api::app`]) with the UI mounted beside
/// it, inside the per-request telemetry layer. What `workstream serve` and `up` serve.
pub fn router(state: AppState) -> Router {
    mount(workstream_api::app(state.clone()), &state).layer(axum::middleware::from_fn(
        workstream_api::telemetry::observe,
    ))
}

/// Mounts the UI beside `app` (the API application): `/ui/...` pages, `/` redirecting
/// to `/ui/`, everything else answered by `app`.
pub fn mount(app: Router, state: &AppState) -> Router {
    let ui = Ui {
        api: app.clone(),
        environment: state.config.environment,
        verifier: state.verifier.clone(),
        preview_submissions: state.config.policy_preview_max_submissions,
    };
    let pages = Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(home::home))
        .route("/ui/static/{file}", get(assets::serve))
        .merge(session::routes())
        .merge(worker::routes())
        .merge(reviewer::routes())
        .merge(calibration::routes())
        .merge(manager::routes())
        .merge(finance::routes())
        .merge(auditor::routes())
        .merge(admin::routes())
        .route("/ui/{*rest}", any(home::not_found))
        .route_layer(axum::middleware::from_fn(
            workstream_api::telemetry::name_route,
        ))
        .layer(axum::middleware::from_fn(home::finish))
        .layer(axum::middleware::from_fn(guard::same_origin))
        .layer(axum::middleware::from_fn(guard::page_headers))
        .layer(axum::middleware::from_fn(
            workstream_api::correlation::correlate,
        ))
        .with_state(ui);
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .merge(pages)
        .merge(app)
}
