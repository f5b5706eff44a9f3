//! The registry of checker components (`checker_components`).
//!
//! A component is identified by the sha256 of its bytes (docs/checkers.md): the digest is
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
//!
//! [`registry`] is what the people who write checker policies read: every component
//! with who published it, the active guides whose bundles pin it, and how it has been
//! running ([`RecentRuns`]). It is four queries whatever the number of components (the
//! components, their publishers, the pins, the run statistics), joined here by digest.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use workstream_domain::gate::MemberStatus;

/// A registered component, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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

/// `sqlx::query_as!` of [`CheckerComponent`] rows: `$before` the component's columns
/// `$after`.
macro_rules! component_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            CheckerComponent,
            $before + " digest, name, version, description, config_schema, contract, \
             object_key, byte_count, builtin, registered_by, registered_at " + $after
            $(, $arg)*
        )
    };
}

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
    component_query!(
        "INSERT INTO checker_components (digest, name, version, description, config_schema, \
         wasm_bytes, byte_count, builtin, registered_by, contract) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (digest) DO NOTHING RETURNING",
        "",
        new.digest,
        new.name,
        new.version,
        new.description,
        new.config_schema,
        new.bytes,
        byte_count,
        new.builtin,
        new.registered_by,
        new.contract,
    )
    .fetch_optional(conn)
    .await
}

/// The component with this digest.
pub async fn get(
    executor: impl PgExecutor<'_>,
    digest: &str,
) -> Result<Option<CheckerComponent>, sqlx::Error> {
    component_query!(
        "SELECT",
        "FROM checker_components WHERE digest = $1",
        digest
    )
    .fetch_optional(executor)
    .await
}

/// The most recently registered component with this name.
pub async fn latest_by_name(
    executor: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<CheckerComponent>, sqlx::Error> {
    component_query!(
        "SELECT",
        "FROM checker_components WHERE name = $1 ORDER BY registered_at DESC, digest DESC LIMIT 1",
        name,
    )
    .fetch_optional(executor)
    .await
}

/// Every registered component, by name, then newest first.
pub async fn list(executor: impl PgExecutor<'_>) -> Result<Vec<CheckerComponent>, sqlx::Error> {
    component_query!(
        "SELECT",
        "FROM checker_components ORDER BY name, registered_at DESC, digest"
    )
    .fetch_all(executor)
    .await
}

/// The inline bytes of a component (`None` if it is unknown or kept in the object
/// store).
pub async fn bytes(
    executor: impl PgExecutor<'_>,
    digest: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "SELECT wasm_bytes FROM checker_components WHERE digest = $1",
        digest,
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.flatten())
}

/// A registered component as the registry shows it: the row, who published it, the
/// active guides that pin it and its recent runs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RegistryEntry {
    /// The registry row, its fields flattened into the entry's.
    #[serde(flatten)]
    pub component: CheckerComponent,
    /// Who registered it; `None` for what the platform registered itself (the
    /// built-ins).
    pub published_by: Option<Publisher>,
    /// The active guides whose checker policy pins its digest.
    pub pinned_by: Vec<PinningGuide>,
    /// Its results since the window's start.
    pub runs: RecentRuns,
}

/// The actor who published a component.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Publisher {
    /// Their actor profile.
    pub actor_id: Uuid,
    /// Their display name, or their token subject when the name is blank.
    pub display_name: String,
}

/// An active guide whose policy bundle pins a component
/// (`policy_bundle -> 'checker_policy' -> 'checkers'[*] -> 'digest'`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PinningGuide {
    /// The guide's project.
    pub project_id: Uuid,
    /// The project's slug.
    pub project_slug: String,
    /// The guide version's id.
    pub guide_id: Uuid,
    /// Its version label (`v1`).
    pub guide_version: String,
}

/// How a component has been running: its `checker_results` over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RecentRuns {
    /// Results recorded (one per run and configuration).
    pub count: i64,
    /// Results whose status is `failed`: the component failed the packet.
    pub failed: i64,
    /// Results whose status is `errored` (no verdict), by infrastructure code.
    pub errored_by_code: BTreeMap<String, i64>,
    /// The median of the recorded durations, in microseconds (`None` without runs).
    pub p50_duration_us: Option<i64>,
    /// The 95th percentile of the recorded durations, in microseconds.
    pub p95_duration_us: Option<i64>,
}

/// One row of the run statistics query.
struct RunsRow {
    digest: String,
    count: i64,
    failed: i64,
    errored_by_code: sqlx::types::Json<BTreeMap<String, i64>>,
    p50_duration_us: Option<i64>,
    p95_duration_us: Option<i64>,
}

/// Every registered component in [`list`]'s order, with its publisher, the active
/// guides that pin it (by project slug, then version) and its results recorded since
/// `runs_since` (see the module docs).
pub async fn registry(
    conn: &mut PgConnection,
    runs_since: DateTime<Utc>,
) -> Result<Vec<RegistryEntry>, sqlx::Error> {
    let components = list(&mut *conn).await?;
    let publisher_ids: Vec<Uuid> = components.iter().filter_map(|c| c.registered_by).collect();
    let publishers: HashMap<Uuid, Publisher> = publishers(&mut *conn, &publisher_ids)
        .await?
        .into_iter()
        .map(|p| (p.actor_id, p))
        .collect();
    let mut pins: HashMap<String, Vec<PinningGuide>> = HashMap::new();
    for (digest, guide) in pins_of_active_guides(&mut *conn).await? {
        pins.entry(digest).or_default().push(guide);
    }
    let mut runs: HashMap<String, RecentRuns> = recent_runs(&mut *conn, runs_since)
        .await?
        .into_iter()
        .map(|r| {
            let stats = RecentRuns {
                count: r.count,
                failed: r.failed,
                errored_by_code: r.errored_by_code.0,
                p50_duration_us: r.p50_duration_us,
                p95_duration_us: r.p95_duration_us,
            };
            (r.digest, stats)
        })
        .collect();
    Ok(components
        .into_iter()
        .map(|component| RegistryEntry {
            published_by: component
                .registered_by
                .and_then(|id| publishers.get(&id).cloned()),
            pinned_by: pins.remove(&component.digest).unwrap_or_default(),
            runs: runs.remove(&component.digest).unwrap_or_default(),
            component,
        })
        .collect())
}

/// The actors `ids` as publishers, named as every read names a person
/// (`workstream_actor_label`, migrations/0013).
async fn publishers(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Publisher>, sqlx::Error> {
    sqlx::query_as!(
        Publisher,
        r#"SELECT p.id AS actor_id, workstream_actor_label(p.id) AS "display_name!"
         FROM actor_profiles p WHERE p.id = ANY($1)"#,
        ids,
    )
    .fetch_all(conn)
    .await
}

/// Every (digest, guide) pin of the active guides, by project slug then version.
async fn pins_of_active_guides(
    conn: &mut PgConnection,
) -> Result<Vec<(String, PinningGuide)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT checker ->> 'digest' AS "digest!", g.project_id AS "project_id!", p.slug AS project_slug,
                g.id AS "guide_id!", g.version AS "guide_version!"
         FROM active_project_guides g
         JOIN projects p ON p.id = g.project_id
         CROSS JOIN LATERAL jsonb_array_elements(
             CASE jsonb_typeof(g.policy_bundle -> 'checker_policy' -> 'checkers')
                 WHEN 'array' THEN g.policy_bundle -> 'checker_policy' -> 'checkers'
                 ELSE '[]'::jsonb END
         ) AS checker
         WHERE checker ->> 'digest' IS NOT NULL
         ORDER BY p.slug, g.version, g.id, checker ->> 'digest'"#,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let guide = PinningGuide {
                project_id: row.project_id,
                project_slug: row.project_slug,
                guide_id: row.guide_id,
                guide_version: row.guide_version,
            };
            (row.digest, guide)
        })
        .collect())
}

/// The run statistics of every component with results recorded since `since`.
async fn recent_runs(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
) -> Result<Vec<RunsRow>, sqlx::Error> {
    sqlx::query_as!(
        RunsRow,
        r#"WITH recent AS (
             SELECT checker_digest, status, failure_code, duration_us FROM checker_results
             WHERE created_at >= $1
         ), errored AS (
             SELECT checker_digest, jsonb_object_agg(failure_code, n) AS by_code
             FROM (SELECT checker_digest, failure_code, count(*) AS n FROM recent
                   WHERE status = $2 GROUP BY checker_digest, failure_code) codes
             GROUP BY checker_digest
         )
         SELECT r.checker_digest AS "digest!", count(*) AS "count!",
                count(*) FILTER (WHERE r.status = $3) AS "failed!",
                COALESCE(e.by_code, '{}'::jsonb)
                    AS "errored_by_code!: sqlx::types::Json<BTreeMap<String, i64>>",
                percentile_disc(0.5) WITHIN GROUP (ORDER BY r.duration_us) AS p50_duration_us,
                percentile_disc(0.95) WITHIN GROUP (ORDER BY r.duration_us) AS p95_duration_us
         FROM recent r LEFT JOIN errored e USING (checker_digest)
         GROUP BY r.checker_digest, e.by_code"#,
        since,
        MemberStatus::Errored.as_str(),
        MemberStatus::Failed.as_str(),
    )
    .fetch_all(conn)
    .await
}
