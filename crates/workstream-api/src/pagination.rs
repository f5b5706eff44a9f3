//! Cursor pagination.
//!
//! Lists are ordered by id (UUIDv7, so by creation time) and paged with an opaque
//! cursor: the last id of the previous page and the list it belongs to, signed with
//! HMAC-SHA256 under the server's cursor secret. A client cannot forge a position, nor
//! carry a cursor from one list (or one project's filters) to another: any such cursor
//! is 422 `invalid_cursor`. There are no totals: counting is the expensive part of
//! paging and nothing here needs it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;
use workstream_domain::ErrorCode;

use crate::error::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 100;
/// The longest cursor accepted.
pub const MAX_CURSOR_BYTES: usize = 512;

/// `?limit=&cursor=` query parameters.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1..=100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; empty or absent for the first page.
    #[schemars(length(max = 512))]
    pub cursor: Option<String>,
}

/// A page of a list: its items and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Paged<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null when this page is the last.
    pub next_cursor: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many items to return.
    pub limit: u32,
    /// Return items with ids after this one.
    pub after: Option<Uuid>,
}

impl Page {
    /// Validates `query` for the list named `scope` (e.g. `project:<id>:tasks:ready`).
    pub fn parse(query: &PageQuery, scope: &str, secret: &[u8]) -> Result<Page, ApiError> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match query.cursor.as_deref() {
            // An empty cursor is the first page, as a client that echoes a missing
            // `next_cursor` back would mean.
            None | Some("") => None,
            Some(cursor) => Some(decode(cursor, scope, secret)?),
        };
        Ok(Page { limit, after })
    }

    /// The `next_cursor` for a page whose last item is `last`, if the page was full.
    pub fn next_cursor(
        &self,
        returned: usize,
        last: Option<Uuid>,
        scope: &str,
        secret: &[u8],
    ) -> Option<String> {
        if returned < self.limit as usize {
            return None;
        }
        last.map(|id| encode(id, scope, secret))
    }
}

fn mac(scope: &str, id: Uuid, secret: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(scope.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    mac
}

/// Encodes a cursor pointing after `id` in the list `scope`.
pub fn encode(id: Uuid, scope: &str, secret: &[u8]) -> String {
    let tag = mac(scope, id, secret).finalize().into_bytes();
    let mut bytes = id.as_bytes().to_vec();
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes and authenticates a cursor of the list `scope`.
pub fn decode(cursor: &str, scope: &str, secret: &[u8]) -> Result<Uuid, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidCursor,
            "the cursor is malformed, expired or belongs to another list",
        )
    };
    if cursor.len() > MAX_CURSOR_BYTES {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    if bytes.len() != 16 + 32 {
        return Err(invalid());
    }
    let id = Uuid::from_slice(&bytes[..16]).map_err(|_| invalid())?;
    mac(scope, id, secret)
        .verify_slice(&bytes[16..])
        .map_err(|_| invalid())?;
    Ok(id)
}

/// `?limit&cursor`, its rejection already a 422 envelope, answered after the caller's
/// access is checked (so a caller without access learns nothing from a bad cursor).
pub fn page_query(
    query: Result<crate::extract::Query<PageQuery>, crate::error::ApiError>,
) -> Result<PageQuery, crate::error::ApiError> {
    query.map(|crate::extract::Query(q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_cursor_round_trips_only_within_its_list() {
        let id = Uuid::now_v7();
        let cursor = encode(id, "project:a:tasks", SECRET);
        assert_eq!(decode(&cursor, "project:a:tasks", SECRET).unwrap(), id);
        let err = decode(&cursor, "project:b:tasks", SECRET).unwrap_err();
        assert_eq!(err.code, "invalid_cursor");
        assert_eq!(
            decode(&cursor, "project:a:tasks", b"another secret")
                .unwrap_err()
                .code,
            "invalid_cursor"
        );
    }

    #[test]
    fn tampered_and_oversized_cursors_are_refused() {
        let cursor = encode(Uuid::now_v7(), "s", SECRET);
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            decode(&tampered, "s", SECRET).unwrap_err().code,
            "invalid_cursor"
        );
        assert_eq!(
            decode(&"A".repeat(600), "s", SECRET).unwrap_err().code,
            "invalid_cursor"
        );
        assert_eq!(
            decode("not base64!", "s", SECRET).unwrap_err().code,
            "invalid_cursor"
        );
    }

    #[test]
    fn limits_are_bounded() {
        let query = |limit| PageQuery {
            limit: Some(limit),
            cursor: None,
        };
        assert_eq!(
            Page::parse(&query(0), "s", SECRET).unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(
            Page::parse(&query(101), "s", SECRET).unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(Page::parse(&query(100), "s", SECRET).unwrap().limit, 100);
        assert_eq!(
            Page::parse(&PageQuery::default(), "s", SECRET)
                .unwrap()
                .limit,
            DEFAULT_LIMIT
        );
    }
}
