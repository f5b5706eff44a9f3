//! Cross-site form posts are refused.
//!
//! The session cookie is `SameSite=Strict`, so a browser does not attach it to a
//! request another site starts; this check is the second lock, and the one that does
//! not depend on the browser's cookie policy. Every UI request that is not `GET` or
//! `HEAD` must show it comes from our own pages:
//!
//! * `Sec-Fetch-Site` (sent by every current browser) must be `same-origin` (or
//!   `none`: the user's own action, such as a bookmark);
//! * without it, `Origin` must name this host (`Host`, scheme ignored);
//! * a request with neither is refused too: a page of ours always produces one.
//!
//! The refusal is a 403 page naming `cross_site_request_refused`, so a user who meets
//! it (a form posted from a stale tab of another host name) knows what happened.
//!
//! Every UI answer also carries [`page_headers`]: a content security policy that allows
//! only our own scripts, styles and form targets (no inline script, no framing), and
//! `Referrer-Policy: same-origin`, so ids in our URLs do not leak to other sites.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::templates::render;

/// Whether the request's headers show it comes from this host's own pages.
fn from_own_pages(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST))
    else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// Middleware: refuses a non-GET request that is not from our own origin.
pub(super) async fn same_origin(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) || from_own_pages(&request) {
        return next.run(request).await;
    }
    let page = render(
        "error.html",
        context! {
            title => "Request refused",
            code => "cross_site_request_refused",
            message => "This form was not sent from a Workstream page on this host, so it was \
                        not carried out. Open the page here and submit it again.",
        },
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

/// The content security policy of every page: our own scripts, styles and forms only.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Middleware: the security headers of every UI answer (see the module docs).
pub(super) async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, POLICY),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
