//! The sealer: committed events into the Merkle tree, in batches, each batch ending in
//! a signed checkpoint that is then published to the object store.
//!
//! One batch is one transaction under an advisory lock, so two sealers never interleave
//! and a sealer killed anywhere leaves either the whole batch or none of it. The events
//! of a batch are those committed and still queued, oldest first; each event's digest is
//! recomputed from its content before it is sealed (an event edited before its seal is
//! left out, and verification reports it). The checkpoint is published after the
//! commit, and whatever a crash left unpublished is published by the next pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::merkle::{self, Frontier, Hash, Node};

use super::checkpoint::{self, Checkpoint, CheckpointRow, Published, SealedEvent, SigningKey};
use super::{AuditError, AuditEvent, content_digest};
use crate::objects::ObjectStore;

/// Events sealed in one batch at most.
pub const BATCH: i64 = 5_000;
/// How often a sealer looks for events by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
/// The environment variable that overrides [`DEFAULT_INTERVAL`], in milliseconds.
pub const INTERVAL_VARIABLE: &str = "WORKSTREAM_AUDIT_SEAL_INTERVAL_MS";
/// The advisory lock that makes one sealer work at a time.
const LOCK: i64 = 0x7773_6175_6469_7431; // "wsaudit1"

/// A sealer that runs until its process stops.
#[derive(Debug, Clone)]
pub struct Sealer {
    pool: PgPool,
    objects: ObjectStore,
    key: SigningKey,
    interval: Duration,
}

impl Sealer {
    /// A sealer over `pool` that signs with `key` and publishes to `objects`, looking
    /// for events every `WORKSTREAM_AUDIT_SEAL_INTERVAL_MS` (default
    /// [`DEFAULT_INTERVAL`]).
    pub fn new(pool: PgPool, objects: ObjectStore, key: SigningKey) -> Sealer {
        let interval = std::env::var(INTERVAL_VARIABLE)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(DEFAULT_INTERVAL, Duration::from_millis);
        Sealer {
            pool,
            objects,
            key,
            interval,
        }
    }

    /// Seals and publishes until the pool is closed. Failures are logged (once each,
    /// until the next different outcome: a process holding another key would otherwise
    /// say so twice a second) and retried on the next pass: nothing here may stop the
    /// process that runs it.
    pub async fn run(self) {
        let mut last_error: Option<String> = None;
        while !self.pool.is_closed() {
            match seal_pending(&self.pool, &self.objects, &self.key).await {
                Ok(_) => {
                    if last_error.take().is_some() {
                        tracing::info!("sealing the audit ledger again");
                    }
                }
                Err(_) if self.pool.is_closed() => break,
                Err(error) => {
                    let text = error.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::warn!(error = %text, "sealing the audit ledger; retrying");
                        last_error = Some(text);
                    }
                }
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

/// Seals every committed event and publishes every checkpoint not yet published;
/// returns how many events were sealed. Another sealer at work is not an error: this
/// one seals nothing.
pub async fn seal_pending(
    pool: &PgPool,
    objects: &ObjectStore,
    key: &SigningKey,
) -> Result<u64, AuditError> {
    let mut sealed = 0;
    loop {
        let mut tx = pool.begin().await?;
        let batch = seal_batch(&mut tx, key).await?;
        tx.commit().await?;
        match batch {
            Some(n) => sealed += n,
            None => break,
        }
    }
    publish_pending(pool, objects).await?;
    Ok(sealed)
}

/// Seals one batch in the caller's transaction; `None` when there is nothing to seal
/// (or another sealer holds the lock).
async fn seal_batch(conn: &mut PgConnection, key: &SigningKey) -> Result<Option<u64>, AuditError> {
    let locked = sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#, LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    let head = sqlx::query!(
        r#"SELECT tree_size, key_id, now() AS "now!" FROM audit_checkpoints
         ORDER BY tree_size DESC LIMIT 1"#,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| (row.tree_size, row.key_id, row.now));
    let ours = key.public().id();
    if let Some((_, key_id, _)) = &head
        && *key_id != ours
    {
        return Err(AuditError::Key(format!(
            "the ledger is signed with key {key_id}; this process holds {ours}, so it does not seal"
        )));
    }
    let size = head.as_ref().map_or(0, |(size, _, _)| *size as u64);

    let events = event_query!(
        AuditEvent,
        "SELECT",
        "FROM audit_events e WHERE e.id IN (SELECT event_id FROM audit_unsealed) \
         ORDER BY e.occurred_at, e.id LIMIT $1",
        BATCH,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut leaves: Vec<(Uuid, Digest)> = Vec::with_capacity(events.len());
    for event in &events {
        let digest = content_digest(event)?;
        if digest.to_string() == event.digest {
            leaves.push((event.id, digest));
        } else {
            tracing::error!(event = %event.id, "an audit event's content does not match its digest; it is not sealed");
        }
    }
    if leaves.is_empty() {
        return Ok(None);
    }

    let mut tree = frontier(&mut *conn, size).await?;
    let mut nodes: Vec<(Node, Hash)> = Vec::new();
    let mut sealed = Vec::with_capacity(leaves.len());
    for (event_id, digest) in &leaves {
        sealed.push(SealedEvent {
            leaf_index: tree.size(),
            event_id: *event_id,
            digest: digest.to_string(),
        });
        nodes.extend(tree.push(merkle::leaf_hash(digest.as_bytes())));
    }
    let root = tree.root().expect("a tree with a leaf has a root");

    let leaf_indexes: Vec<i64> = sealed.iter().map(|s| s.leaf_index as i64).collect();
    let event_ids: Vec<Uuid> = sealed.iter().map(|s| s.event_id).collect();
    sqlx::query!(
        "INSERT INTO audit_ledger (leaf_index, event_id) SELECT * FROM UNNEST($1::bigint[], $2::uuid[])",
        &leaf_indexes,
        &event_ids,
    )
    .execute(&mut *conn)
    .await?;
    let levels: Vec<i16> = nodes.iter().map(|(n, _)| i16::from(n.level)).collect();
    let indexes: Vec<i64> = nodes.iter().map(|(n, _)| n.index as i64).collect();
    let hashes: Vec<Vec<u8>> = nodes.iter().map(|(_, h)| h.to_vec()).collect();
    sqlx::query!(
        "INSERT INTO audit_tree_nodes (level, index, hash) \
         SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])",
        &levels,
        &indexes,
        &hashes,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM audit_unsealed WHERE event_id = ANY($1)",
        &event_ids,
    )
    .execute(&mut *conn)
    .await?;
    let now: DateTime<Utc> = match head {
        Some((_, _, now)) => now,
        None => {
            sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let checkpoint = key.sign(tree.size(), size, root, now);
    insert_checkpoint(conn, &checkpoint).await?;
    Ok(Some(sealed.len() as u64))
}

/// The tree's right edge at `size`, from its stored nodes.
pub(crate) async fn frontier(conn: &mut PgConnection, size: u64) -> Result<Frontier, AuditError> {
    let wanted = merkle::frontier(size);
    let hashes = super::proof::node_hashes(conn, &wanted).await?;
    let ordered: Option<Vec<Hash>> = wanted.iter().map(|n| hashes.get(n).copied()).collect();
    ordered
        .and_then(|hashes| Frontier::resume(size, &hashes))
        .ok_or_else(|| {
            AuditError::Checkpoint(format!(
                "the stored tree of {size} events lacks nodes of its right edge"
            ))
        })
}

/// Stores a signed checkpoint (its object key derived from its size); publishing it to
/// the object store is [`seal_pending`]'s, later.
pub async fn insert_checkpoint(conn: &mut PgConnection, c: &Checkpoint) -> Result<(), AuditError> {
    sqlx::query!(
        "INSERT INTO audit_checkpoints \
         (tree_size, previous_size, root, signed_at, key_id, signature, object_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        c.tree_size as i64,
        c.previous_size as i64,
        &c.root[..],
        c.signed_at,
        c.key_id,
        &c.signature[..],
        checkpoint::object_key(c.tree_size),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Publishes every checkpoint the object store does not have yet, oldest first.
async fn publish_pending(pool: &PgPool, objects: &ObjectStore) -> Result<(), AuditError> {
    let pending = checkpoint_query!(
        "SELECT",
        "FROM audit_checkpoints c \
         WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoint_publications p WHERE p.tree_size = c.tree_size) \
         ORDER BY tree_size"
    )
    .fetch_all(pool)
    .await?;
    for row in pending {
        let checkpoint = row.checkpoint().ok_or_else(|| {
            AuditError::Checkpoint(format!("checkpoint {} is malformed", row.tree_size))
        })?;
        let events = sqlx::query!(
            "SELECT l.leaf_index, l.event_id, e.digest FROM audit_ledger l \
             JOIN audit_events e ON e.id = l.event_id \
             WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index",
            row.previous_size,
            row.tree_size,
        )
        .fetch_all(pool)
        .await?;
        let published = Published::new(
            &checkpoint,
            events
                .into_iter()
                .map(|event| SealedEvent {
                    leaf_index: event.leaf_index as u64,
                    event_id: event.event_id,
                    digest: event.digest,
                })
                .collect(),
        );
        let bytes = serde_json::to_vec_pretty(&published).expect("a checkpoint serializes");
        objects
            .put_new(&checkpoint::object_key(checkpoint.tree_size), bytes)
            .await
            .map_err(|e| {
                AuditError::Checkpoint(format!(
                    "publishing checkpoint {}: {e}",
                    checkpoint.tree_size
                ))
            })?;
        sqlx::query!(
            "INSERT INTO audit_checkpoint_publications (tree_size) VALUES ($1) ON CONFLICT DO NOTHING",
            row.tree_size,
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}
