//! Static assets: embedded, served under a content-hashed name, cached for a year.
//!
//! `app.css` is served as `/ui/static/app.<12 hex of its sha256>.css`. A changed file
//! gets a new name, so the answer can be `Cache-Control: public, max-age=31536000,
//! immutable` and a deployment never serves a stale stylesheet. Any other name is a
//! 404: old hashes are not kept, because the pages that named them are gone too.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    hashed: String,
    content_type: &'static str,
    body: &'static str,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "app.css",
            "text/css; charset=utf-8",
            include_str!("../static/app.css"),
        ),
        (
            "app.js",
            "text/javascript; charset=utf-8",
            include_str!("../static/app.js"),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| {
        let digest = hex::encode(Sha256::digest(body.as_bytes()));
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        Asset {
            name,
            hashed: format!("{stem}.{}.{ext}", &digest[..12]),
            content_type,
            body,
        }
    })
    .collect()
});

/// The URL of asset `name` (`app.css`), or `#missing-asset` for an unknown name.
pub(super) fn url(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| format!("/ui/static/{}", a.hashed))
        .unwrap_or_else(|| "#missing-asset".to_owned())
}

/// `GET /ui/static/{file}`.
pub(super) async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.hashed == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
