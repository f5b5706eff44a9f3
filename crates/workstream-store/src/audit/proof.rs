//! Inclusion proofs from the stored tree: that an event is the one sealed at its
//! position, checked against a signed checkpoint without reading the ledger.
//!
//! A proof is `log2(size)` subtree hashes (RFC 9162 §2.1.3), each the fold of a few
//! stored perfect nodes, so checking every event of a task's trail reads one batch of
//! nodes however large the ledger grows. The leaf is hashed from the event's content as
//! read now, so an event edited after its seal fails its proof.

use std::collections::HashMap;

use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::merkle::{self, Hash, Node};

use super::checkpoint::CheckpointRow;
use super::checkpoint::{Checkpoint, VerifyingKey};
use super::{AuditError, AuditEvent, content_digest};

/// The stored hashes of `nodes` (those that exist).
pub(crate) async fn node_hashes(
    conn: &mut PgConnection,
    nodes: &[Node],
) -> Result<HashMap<Node, Hash>, AuditError> {
    if nodes.is_empty() {
        return Ok(HashMap::new());
    }
    // One primary-key probe per node, whatever the planner estimates: as a plain join
    // it may hash the whole tree (millions of nodes in a year) to find a few hundred.
    // The LIMIT keeps the lateral subquery from being flattened into such a join.
    let levels: Vec<i16> = nodes.iter().map(|n| i16::from(n.level)).collect();
    let indexes: Vec<i64> = nodes.iter().map(|n| n.index as i64).collect();
    let rows = sqlx::query!(
        r#"SELECT w.level AS "level!", w.index AS "index!", n.hash
           FROM UNNEST($1::smallint[], $2::bigint[]) AS w(level, index)
           CROSS JOIN LATERAL (SELECT hash FROM audit_tree_nodes
                                WHERE level = w.level AND index = w.index LIMIT 1) n"#,
        &levels,
        &indexes,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.level, row.index, row.hash))
        .filter_map(|(level, index, hash)| {
            Some((
                Node {
                    level: u8::try_from(level).ok()?,
                    index: u64::try_from(index).ok()?,
                },
                hash.try_into().ok()?,
            ))
        })
        .collect())
}

/// The latest checkpoint the database records.
pub async fn latest_checkpoint(conn: &mut PgConnection) -> Result<Option<Checkpoint>, AuditError> {
    let row = checkpoint_query!(
        "SELECT",
        "FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        row.checkpoint().ok_or_else(|| {
            AuditError::Checkpoint(format!("checkpoint {} is malformed", row.tree_size))
        })
    })
    .transpose()
}

/// How one event stands against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inclusion {
    /// Sealed at `leaf_index`, and its proof leads to the checkpoint's root.
    Proven {
        /// Its position in the tree.
        leaf_index: u64,
        /// The subtree hashes of the proof, from the leaf up.
        proof: Vec<Hash>,
    },
    /// Sealed at `leaf_index`, but its content or the stored tree do not lead to the
    /// checkpoint's root.
    Failed {
        /// Its position in the tree.
        leaf_index: u64,
    },
    /// Not sealed yet, or sealed after the checkpoint.
    Pending,
}

/// The trail's view of the ledger: the latest checkpoint, whether its signature holds,
/// and each event's inclusion.
#[derive(Debug, Clone)]
pub struct TrailProof {
    /// The checkpoint the events were checked against (`None` before the first seal).
    pub checkpoint: Option<Checkpoint>,
    /// Whether `key` signed it (`None` when no key was given to check with).
    pub signature_valid: Option<bool>,
    /// Per event id.
    pub events: HashMap<Uuid, Inclusion>,
}

/// Checks `events` against the latest checkpoint, with its signature checked under
/// `key` when one is given.
pub async fn prove(
    conn: &mut PgConnection,
    events: &[AuditEvent],
    key: Option<&VerifyingKey>,
) -> Result<TrailProof, AuditError> {
    let checkpoint = latest_checkpoint(conn).await?;
    let signature_valid = match (&checkpoint, key) {
        (Some(c), Some(key)) => Some(c.signed_by(key)),
        _ => None,
    };
    let mut result = TrailProof {
        checkpoint: checkpoint.clone(),
        signature_valid,
        events: events.iter().map(|e| (e.id, Inclusion::Pending)).collect(),
    };
    let Some(checkpoint) = checkpoint else {
        return Ok(result);
    };
    let size = checkpoint.tree_size;
    // By event id only (its unique index): a `leaf_index < size` bound in SQL lets a
    // generic plan walk the ledger's primary key instead. Events sealed after the
    // checkpoint are left out here.
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let positions = sqlx::query!(
        "SELECT event_id, leaf_index FROM audit_ledger WHERE event_id = ANY($1)",
        &ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    let positions: HashMap<Uuid, u64> = positions
        .into_iter()
        .map(|row| (row.event_id, row.leaf_index as u64))
        .filter(|&(_, index)| index < size)
        .collect();

    // Every node any of the proofs needs, read at once.
    let mut wanted: Vec<Node> = positions
        .values()
        .flat_map(|&index| merkle::inclusion_path(index, size))
        .flat_map(|(a, b)| merkle::range_nodes(a, b))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let stored = node_hashes(conn, &wanted).await?;

    for event in events {
        let Some(&leaf_index) = positions.get(&event.id) else {
            continue;
        };
        let proof: Option<Vec<Hash>> = merkle::inclusion_path(leaf_index, size)
            .into_iter()
            .map(|(a, b)| {
                let hashes: Option<Vec<Hash>> = merkle::range_nodes(a, b)
                    .iter()
                    .map(|n| stored.get(n).copied())
                    .collect();
                merkle::fold(&hashes?)
            })
            .collect();
        let leaf = content_digest(event).map(|d| merkle::leaf_hash(d.as_bytes()));
        let inclusion = match (proof, leaf) {
            (Some(proof), Ok(leaf))
                if merkle::verify_inclusion(leaf_index, size, &leaf, &proof, &checkpoint.root) =>
            {
                Inclusion::Proven { leaf_index, proof }
            }
            _ => Inclusion::Failed { leaf_index },
        };
        result.events.insert(event.id, inclusion);
    }
    Ok(result)
}
