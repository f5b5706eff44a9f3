//! `workstream audit verify`: the whole ledger against the published checkpoints.
//!
//! The checkpoints in the object store are the reference (the database's own copies
//! are only compared with them), and each must be signed by the key given. Then the
//! ledger is read in order: every event's digest is recomputed from its content and
//! compared with what the checkpoints say was sealed at its position, and the tree is
//! rebuilt from those digests and its root compared with every signed root on the way.
//! The first problem names the event; a short tail, a gap, an edit (with or without
//! every later digest recomputed), a replaced event or a rebuilt tree each have their
//! own [`LedgerProblem`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::PgPool;
use uuid::Uuid;
use workstream_domain::merkle::{self, Frontier, Hash};

use super::checkpoint::CheckpointRow;
use super::checkpoint::{self, Checkpoint, PUBLISHED_SCHEMA, Published, SealedEvent, VerifyingKey};
use super::{AuditError, AuditEvent, content_digest};
use crate::objects::ObjectStore;

/// Problems listed at most; the count says how many were found.
const MAX_PROBLEMS: usize = 20;
/// A checkpoint younger than this may not be published yet without it being a problem.
const PUBLICATION_GRACE: chrono::Duration = chrono::Duration::seconds(60);

/// Something verification found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerProblem {
    /// A published checkpoint that cannot be read.
    CheckpointUnreadable {
        /// Its object key.
        key: String,
        /// Why.
        why: String,
    },
    /// A published checkpoint whose signature does not verify under the key given.
    CheckpointNotSigned {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The key id it names.
        key_id: String,
    },
    /// The published checkpoints skip sizes: one was removed from the object store.
    CheckpointsMissing {
        /// The last size before the gap.
        after: u64,
        /// The next published checkpoint's previous size.
        before: u64,
    },
    /// A checkpoint the database records and the object store lacks (and it is old
    /// enough to have been published).
    CheckpointNotPublished {
        /// Its tree size.
        tree_size: u64,
    },
    /// A published checkpoint the database no longer records, or records otherwise.
    CheckpointRewritten {
        /// Its tree size.
        tree_size: u64,
    },
    /// A position the checkpoints sealed has no event in the ledger.
    EventMissing {
        /// The position.
        leaf_index: u64,
        /// The event sealed there, if a published checkpoint names it.
        event_id: Option<Uuid>,
    },
    /// An event whose content does not hash to the digest it was sealed with.
    EventEdited {
        /// Its position.
        leaf_index: u64,
        /// The event.
        event_id: Uuid,
        /// The checkpoint that sealed it, when one is published.
        checkpoint: Option<u64>,
    },
    /// The ledger has another event where a checkpoint sealed this one.
    EventReplaced {
        /// The position.
        leaf_index: u64,
        /// The event the ledger has there.
        found: Uuid,
        /// The event the checkpoint sealed.
        sealed: Uuid,
    },
    /// The tree rebuilt from the ledger does not have a signed checkpoint's root.
    RootMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// The ledger ends before the latest signed checkpoint: its tail was removed.
    TailRemoved {
        /// The first missing position.
        from: u64,
        /// The checkpoint's size.
        tree_size: u64,
        /// The first missing event, as the checkpoint names it.
        event_id: Option<Uuid>,
    },
    /// An event neither sealed nor waiting to be sealed.
    OutsideLedger {
        /// The event.
        event_id: Uuid,
    },
}

impl fmt::Display for LedgerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = |id: &Option<Uuid>| id.map(|id| format!(" (event {id})")).unwrap_or_default();
        match self {
            LedgerProblem::CheckpointUnreadable { key, why } => {
                write!(f, "checkpoint {key} cannot be read: {why}")
            }
            LedgerProblem::CheckpointNotSigned { tree_size, key_id } => write!(
                f,
                "checkpoint {tree_size} is not signed by the key given (it names key {key_id})"
            ),
            LedgerProblem::CheckpointsMissing { after, before } => write!(
                f,
                "published checkpoints jump from {after} events to one that follows {before}: checkpoints were removed"
            ),
            LedgerProblem::CheckpointNotPublished { tree_size } => write!(
                f,
                "checkpoint {tree_size} is in the database but not in the object store"
            ),
            LedgerProblem::CheckpointRewritten { tree_size } => write!(
                f,
                "checkpoint {tree_size} in the database is missing or differs from the published one"
            ),
            LedgerProblem::EventMissing {
                leaf_index,
                event_id,
            } => write!(
                f,
                "event #{leaf_index}{} is missing from the ledger",
                event(event_id)
            ),
            LedgerProblem::EventEdited {
                leaf_index,
                event_id,
                checkpoint,
            } => write!(
                f,
                "event #{leaf_index} (event {event_id}) was changed after it was sealed{}",
                checkpoint
                    .map(|c| format!(" (checkpoint {c})"))
                    .unwrap_or_default()
            ),
            LedgerProblem::EventReplaced {
                leaf_index,
                found,
                sealed,
            } => write!(
                f,
                "event #{leaf_index} is {found}, but the checkpoint sealed {sealed} there"
            ),
            LedgerProblem::RootMismatch { tree_size } => write!(
                f,
                "the tree rebuilt from the first {tree_size} events does not have checkpoint {tree_size}'s signed root"
            ),
            LedgerProblem::TailRemoved {
                from,
                tree_size,
                event_id,
            } => write!(
                f,
                "the ledger ends at #{from}{} but checkpoint {tree_size} sealed {tree_size} events: its tail was removed",
                event(event_id)
            ),
            LedgerProblem::OutsideLedger { event_id } => write!(
                f,
                "event {event_id} is neither sealed nor waiting to be sealed"
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct LedgerReport {
    /// Sealed events read.
    pub events: u64,
    /// Events waiting for the sealer.
    pub unsealed: u64,
    /// Published checkpoints signed by the key.
    pub checkpoints: u64,
    /// The latest of them.
    pub latest: Option<Checkpoint>,
    /// The first problems found, in the ledger's order (at most twenty).
    pub problems: Vec<LedgerProblem>,
    /// How many problems were found in all.
    pub problem_count: u64,
}

impl LedgerReport {
    /// Whether the ledger verifies.
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, problem: LedgerProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        }
    }
}

/// A published checkpoint, read back and checked.
struct Reference {
    checkpoint: Checkpoint,
    events: Vec<SealedEvent>,
}

/// Verifies the ledger in `pool` against the checkpoints in `objects`, which must be
/// signed by `key` (see the module docs).
pub async fn verify(
    pool: &PgPool,
    objects: &ObjectStore,
    key: &VerifyingKey,
) -> Result<LedgerReport, AuditError> {
    let mut report = LedgerReport {
        events: 0,
        unsealed: 0,
        checkpoints: 0,
        latest: None,
        problems: Vec::new(),
        problem_count: 0,
    };
    let published = read_published(objects, key, &mut report).await?;
    compare_database_checkpoints(pool, &published, &mut report).await?;

    // What the checkpoints sealed at each position, and each position's checkpoint.
    let mut sealed: BTreeMap<u64, (SealedEvent, u64)> = BTreeMap::new();
    let mut roots: BTreeMap<u64, Hash> = BTreeMap::new();
    for reference in published.values() {
        roots.insert(reference.checkpoint.tree_size, reference.checkpoint.root);
        for event in &reference.events {
            sealed.insert(
                event.leaf_index,
                (event.clone(), reference.checkpoint.tree_size),
            );
        }
    }

    let mut ledger = event_query!(
        LedgerRow,
        "SELECT l.leaf_index,",
        "FROM audit_ledger l JOIN audit_events e ON e.id = l.event_id ORDER BY l.leaf_index"
    )
    .fetch(pool);
    let mut tree = Frontier::default();
    // Once the ledger and the checkpoints part ways, roots no longer say anything new.
    let mut diverged = false;
    while let Some(row) = ledger.try_next().await? {
        let index = row.leaf_index as u64;
        while tree.size() < index {
            // A gap: the positions before this one are missing.
            let missing = tree.size();
            report.problem(LedgerProblem::EventMissing {
                leaf_index: missing,
                event_id: sealed.get(&missing).map(|(e, _)| e.event_id),
            });
            diverged = true;
            // Keep the positions aligned with what was sealed, where it is known.
            let leaf = sealed
                .get(&missing)
                .and_then(|(e, _)| e.digest.parse::<workstream_domain::Digest>().ok())
                .map_or([0; 32], |d| merkle::leaf_hash(d.as_bytes()));
            tree.push(leaf);
        }
        report.events += 1;
        let event = row.event();
        let digest = content_digest(&event)?;
        let expected = sealed.get(&index);
        match expected {
            Some((sealed_event, _)) if sealed_event.event_id != event.id => {
                report.problem(LedgerProblem::EventReplaced {
                    leaf_index: index,
                    found: event.id,
                    sealed: sealed_event.event_id,
                });
                diverged = true;
            }
            Some((sealed_event, at)) if sealed_event.digest != digest.to_string() => {
                report.problem(LedgerProblem::EventEdited {
                    leaf_index: index,
                    event_id: event.id,
                    checkpoint: Some(*at),
                });
                diverged = true;
            }
            None if digest.to_string() != event.digest => {
                report.problem(LedgerProblem::EventEdited {
                    leaf_index: index,
                    event_id: event.id,
                    checkpoint: None,
                });
                diverged = true;
            }
            _ => {}
        }
        tree.push(merkle::leaf_hash(digest.as_bytes()));
        if let Some(root) = roots.get(&tree.size())
            && tree.root().as_ref() != Some(root)
            && !diverged
        {
            report.problem(LedgerProblem::RootMismatch {
                tree_size: tree.size(),
            });
            diverged = true;
        }
    }
    drop(ledger);
    if let Some(latest) = &report.latest
        && tree.size() < latest.tree_size
    {
        report.problem(LedgerProblem::TailRemoved {
            from: tree.size(),
            tree_size: latest.tree_size,
            event_id: sealed.get(&tree.size()).map(|(e, _)| e.event_id),
        });
    }

    report.unsealed = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM audit_unsealed"#)
        .fetch_one(pool)
        .await? as u64;
    let outside = sqlx::query_scalar!(
        "SELECT e.id FROM audit_events e \
         WHERE NOT EXISTS (SELECT 1 FROM audit_ledger l WHERE l.event_id = e.id) \
           AND NOT EXISTS (SELECT 1 FROM audit_unsealed u WHERE u.event_id = e.id) \
         ORDER BY e.occurred_at, e.id LIMIT $1",
        MAX_PROBLEMS as i64,
    )
    .fetch_all(pool)
    .await?;
    for event_id in outside {
        report.problem(LedgerProblem::OutsideLedger { event_id });
    }
    Ok(report)
}

/// A sealed event and its position: [`AuditEvent`]'s columns after `leaf_index`.
struct LedgerRow {
    leaf_index: i64,
    id: Uuid,
    chain_key: String,
    chain_seq: Option<i64>,
    project_id: Option<Uuid>,
    entity_type: String,
    entity_id: Option<Uuid>,
    event_type: String,
    from_status: Option<String>,
    to_status: Option<String>,
    actor_id: Option<Uuid>,
    reason: Option<String>,
    payload: serde_json::Value,
    request_id: Option<String>,
    correlation_id: Option<String>,
    occurred_at: DateTime<Utc>,
    prev_digest: Option<String>,
    digest: String,
}

impl LedgerRow {
    /// The event, without its position.
    fn event(self) -> AuditEvent {
        AuditEvent {
            id: self.id,
            chain_key: self.chain_key,
            chain_seq: self.chain_seq,
            project_id: self.project_id,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            event_type: self.event_type,
            from_status: self.from_status,
            to_status: self.to_status,
            actor_id: self.actor_id,
            reason: self.reason,
            payload: self.payload,
            request_id: self.request_id,
            correlation_id: self.correlation_id,
            occurred_at: self.occurred_at,
            prev_digest: self.prev_digest,
            digest: self.digest,
        }
    }
}

/// The published checkpoints signed by `key`, by tree size; the others are problems.
async fn read_published(
    objects: &ObjectStore,
    key: &VerifyingKey,
    report: &mut LedgerReport,
) -> Result<BTreeMap<u64, Reference>, AuditError> {
    let keys = objects
        .list(checkpoint::OBJECT_PREFIX)
        .await
        .map_err(|e| AuditError::Checkpoint(format!("listing the checkpoints: {e}")))?;
    let mut published = BTreeMap::new();
    for object in keys {
        let read = match objects.get_bytes(&object).await {
            Ok(bytes) => serde_json::from_slice::<Published>(&bytes).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let checked = read.and_then(|p| {
            if p.schema != PUBLISHED_SCHEMA {
                return Err(format!("schema {:?}", p.schema));
            }
            if object != checkpoint::object_key(p.tree_size) {
                return Err(format!(
                    "it is stored under another size than {}",
                    p.tree_size
                ));
            }
            let c = p.checkpoint().ok_or("malformed root or signature")?;
            Ok((c, p.events))
        });
        let (checkpoint, events) = match checked {
            Ok(read) => read,
            Err(why) => {
                report.problem(LedgerProblem::CheckpointUnreadable { key: object, why });
                continue;
            }
        };
        if !checkpoint.signed_by(key) {
            report.problem(LedgerProblem::CheckpointNotSigned {
                tree_size: checkpoint.tree_size,
                key_id: checkpoint.key_id.clone(),
            });
            continue;
        }
        published.insert(checkpoint.tree_size, Reference { checkpoint, events });
    }
    let mut size = 0;
    for reference in published.values() {
        if reference.checkpoint.previous_size != size {
            report.problem(LedgerProblem::CheckpointsMissing {
                after: size,
                before: reference.checkpoint.previous_size,
            });
        }
        size = reference.checkpoint.tree_size;
    }
    report.checkpoints = published.len() as u64;
    report.latest = published.values().next_back().map(|r| r.checkpoint.clone());
    Ok(published)
}

/// The database's checkpoints against the published ones.
async fn compare_database_checkpoints(
    pool: &PgPool,
    published: &BTreeMap<u64, Reference>,
    report: &mut LedgerReport,
) -> Result<(), AuditError> {
    let rows = checkpoint_query!("SELECT", "FROM audit_checkpoints ORDER BY tree_size")
        .fetch_all(pool)
        .await?;
    let now = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(pool)
        .await?;
    let mut in_database = BTreeSet::new();
    for row in rows {
        let size = row.tree_size as u64;
        match (published.get(&size), row.checkpoint()) {
            (Some(reference), Some(c)) if reference.checkpoint == c => {}
            (Some(_), _) => report.problem(LedgerProblem::CheckpointRewritten { tree_size: size }),
            (None, _) if now - row.signed_at > PUBLICATION_GRACE => {
                report.problem(LedgerProblem::CheckpointNotPublished { tree_size: size })
            }
            (None, _) => {}
        }
        in_database.insert(size);
    }
    for size in published.keys().filter(|size| !in_database.contains(size)) {
        report.problem(LedgerProblem::CheckpointRewritten { tree_size: *size });
    }
    Ok(())
}
