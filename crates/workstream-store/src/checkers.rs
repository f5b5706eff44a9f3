//! The registry of checker components (`checker_components`).
//!
//! A component is identified by the sha256 of its bytes (architecture §6): the digest is
//! the primary key, policies pin digests, and a row never changes (the table is
//! append-only). Registering the same bytes again is not an error: [`insert`] reports
//! that nothing was inserted and [`get`] returns the row that exists. Names are not
//! unique — a new build of `required-files` is a new row — so "the checker called X"
//! means the most recently registered one ([`latest_by_name`]).
//!
//! Bytes are stored inline (`wasm_bytes`); the `object_key` column is for components
//! kept in the object store, which arrives with packet storage. Reads other than
//! [`bytes`] leave the bytes out: a Python component is 18 MB.
//!
//! Validation (imports, the contract, the configuration schema) happens before this
//! module is called, in `workstream-engine`; the table's constraints are the backstop.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// A registered component, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CheckerComponent {
    /// `sha256:<hex>` of the component's bytes: its identity.
    pub digest: String,
    /// The name its `info()` reports (kebab-case).
    pub name: String,
    /// The version its `info()` reports.
    pub version: String,
    /// What it inspects, from `info()`.
    pub description: String,
    /// The JSON Schema of its configuration, from `info()`.
    pub config_schema: Value,
    /// The WIT contract version it implements (`workstream:checker@0.2.0`, or an
    /// earlier one it was built against).
    pub contract: String,
    /// Where the bytes are when they are not inline.
    pub object_key: Option<String>,
    /// Size of the component in bytes.
    pub byte_count: i64,
    /// Shipped with the platform (embedded in the binary).
    pub builtin: bool,
    /// Who registered it (`None` for the platform itself).
    pub registered_by: Option<Uuid>,
    /// When.
    pub registered_at: DateTime<Utc>,
}

/// The columns of [`CheckerComponent`].
const COLUMNS: &str = "digest, name, version, description, config_schema, contract, \
     object_key, byte_count, builtin, registered_by, registered_at";

/// A component to register; its bytes are stored inline.
#[derive(Debug, Clone)]
pub struct NewCheckerComponent<'a> {
    /// `sha256:<hex>` of `bytes` (the database checks that it matches).
    pub digest: String,
    /// From `info()`.
    pub name: String,
    /// From `info()`.
    pub version: String,
    /// From `info()`.
    pub description: String,
    /// From `info()`, parsed.
    pub config_schema: Value,
    /// The contract version the component implements (`workstream:checker@0.2.0`).
    pub contract: &'a str,
    /// The component.
    pub bytes: &'a [u8],
    /// Shipped with the platform.
    pub builtin: bool,
    /// Who registers it.
    pub registered_by: Option<Uuid>,
}

/// Inserts a component unless one with the same digest exists. Returns the new row, or
/// `None` when the digest was already registered (the existing row is left as it is;
/// read it with [`get`]).
pub async fn insert(
    conn: &mut PgConnection,
    new: &NewCheckerComponent<'_>,
) -> Result<Option<CheckerComponent>, sqlx::Error> {
    let byte_count = i64::try_from(new.bytes.len()).unwrap_or(i64::MAX);
    sqlx::query_as(&format!(
        "INSERT INTO checker_components (digest, name, version, description, config_schema, \
         wasm_bytes, byte_count, builtin, registered_by, contract) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (digest) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(&new.digest)
    .bind(&new.name)
    .bind(&new.version)
    .bind(&new.description)
    .bind(&new.config_schema)
    .bind(new.bytes)
    .bind(byte_count)
    .bind(new.builtin)
    .bind(new.registered_by)
    .bind(new.contract)
    .fetch_optional(conn)
    .await
}

/// The component with this digest.
pub async fn get(
    executor: impl PgExecutor<'_>,
    digest: &str,
) -> Result<Option<CheckerComponent>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM checker_components WHERE digest = $1"
    ))
    .bind(digest)
    .fetch_optional(executor)
    .await
}

/// The most recently registered component with this name.
pub async fn latest_by_name(
    executor: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<CheckerComponent>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM checker_components WHERE name = $1 \
         ORDER BY registered_at DESC, digest DESC LIMIT 1"
    ))
    .bind(name)
    .fetch_optional(executor)
    .await
}

/// Every registered component, by name, then newest first.
pub async fn list(executor: impl PgExecutor<'_>) -> Result<Vec<CheckerComponent>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM checker_components \
         ORDER BY name, registered_at DESC, digest"
    ))
    .fetch_all(executor)
    .await
}

/// The inline bytes of a component (`None` if it is unknown or kept in the object
/// store).
pub async fn bytes(
    executor: impl PgExecutor<'_>,
    digest: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT wasm_bytes FROM checker_components WHERE digest = $1")
            .bind(digest)
            .fetch_optional(executor)
            .await?;
    Ok(row.flatten())
}
