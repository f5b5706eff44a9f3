//! Signed checkpoints of the audit ledger, and the key that signs them.
//!
//! A checkpoint says "the ledger had `tree_size` events and its Merkle root was
//! `root` at `signed_at`". Its signature is Ed25519 over a short text (the
//! transparency-log habit: the signed bytes are readable and unambiguous):
//!
//! ```text
//! workstream audit checkpoint v1
//! <tree_size>
//! <previous_size>
//! <root, 64 hex>
//! <signed_at, RFC 3339 UTC to the microsecond>
//! ```
//!
//! The published form ([`Published`], JSON, one object per checkpoint under
//! `audit/checkpoints/<tree_size, 20 digits>.json`, never overwritten) adds the
//! signature, the key's id (the hex of its public half) and the events the batch sealed
//! (position, event id, digest), so that verification can name an event whose content
//! changed after it was sealed.
//!
//! The key is 32 random bytes, hex, in a file only its owner may read: by default
//! `audit-signing.key` in the data directory, or the path in
//! `WORKSTREAM_AUDIT_SIGNING_KEY`. The database never sees it; only its public half is
//! stored, in each checkpoint.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use workstream_domain::merkle::Hash;

use super::AuditError;

/// The environment variable naming the signing key's file.
pub const KEY_VARIABLE: &str = "WORKSTREAM_AUDIT_SIGNING_KEY";
/// The key's file name in a data directory.
pub const KEY_FILE: &str = "audit-signing.key";
/// Where checkpoints are published in the object store.
pub const OBJECT_PREFIX: &str = "audit/checkpoints";

/// The object key of the checkpoint of a tree of `tree_size` events.
pub fn object_key(tree_size: u64) -> String {
    format!("{OBJECT_PREFIX}/{tree_size:020}.json")
}

/// The key that signs checkpoints.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SigningKey")
            .field(&self.public().id())
            .finish()
    }
}

impl SigningKey {
    /// The key in `path`, made (32 random bytes, readable by its owner only) if the
    /// file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SigningKey, AuditError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(text.trim())
                .map_err(|why| AuditError::Key(format!("{}: {why}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed)
                    .map_err(|e| AuditError::Key(format!("no randomness: {e}")))?;
                write_private(path, &format!("{}\n", hex::encode(seed)))
                    .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))?;
                Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
            }
            Err(e) => Err(AuditError::Key(format!("{}: {e}", path.display()))),
        }
    }

    /// The key in `path`, which must exist.
    pub fn load(path: &Path) -> Result<SigningKey, AuditError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))?;
        Self::parse(text.trim())
            .map_err(|why| AuditError::Key(format!("{}: {why}", path.display())))
    }

    /// The key whose 32-byte seed is `hex`.
    pub fn parse(hex: &str) -> Result<SigningKey, String> {
        let seed: [u8; 32] = hex::decode(hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("not 64 hex digits")?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The public half.
    pub fn public(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs a checkpoint of the tree of `tree_size` events with root `root`, grown
    /// from `previous_size`.
    pub fn sign(
        &self,
        tree_size: u64,
        previous_size: u64,
        root: Hash,
        signed_at: DateTime<Utc>,
    ) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            tree_size,
            previous_size,
            root,
            signed_at,
            key_id: self.public().id(),
            signature: [0; 64],
        };
        checkpoint.signature = self.0.sign(checkpoint.text().as_bytes()).to_bytes();
        checkpoint
    }
}

/// The public half of a [`SigningKey`]: what verifies checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// The key's id: the hex of its 32 bytes.
    pub fn id(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The key whose id is `hex`.
    pub fn parse(hex: &str) -> Result<VerifyingKey, String> {
        let bytes: [u8; 32] = hex::decode(hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("not 64 hex digits")?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(VerifyingKey)
            .map_err(|e| format!("not an Ed25519 public key: {e}"))
    }
}

/// A signed statement of the ledger's size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// How many events the tree holds.
    pub tree_size: u64,
    /// The size of the tree at the checkpoint before (0 for the first).
    pub previous_size: u64,
    /// The tree's Merkle root.
    pub root: Hash,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key's id ([`VerifyingKey::id`]).
    pub key_id: String,
    /// Ed25519 over [`Checkpoint::text`].
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The signed text (see the module docs).
    pub fn text(&self) -> String {
        format!(
            "workstream audit checkpoint v1\n{}\n{}\n{}\n{}\n",
            self.tree_size,
            self.previous_size,
            hex::encode(self.root),
            self.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
    }

    /// Whether `key` signed it.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        self.key_id == key.id()
            && key
                .0
                .verify(
                    self.text().as_bytes(),
                    &Signature::from_bytes(&self.signature),
                )
                .is_ok()
    }
}

/// One event a checkpoint's batch sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedEvent {
    /// Its position in the tree.
    pub leaf_index: u64,
    /// The event.
    pub event_id: Uuid,
    /// Its digest when it was sealed (`sha256:<hex>`).
    pub digest: String,
}

/// A checkpoint as published in the object store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Always `workstream.audit_checkpoint.v1`.
    pub schema: String,
    /// See [`Checkpoint::tree_size`].
    pub tree_size: u64,
    /// See [`Checkpoint::previous_size`].
    pub previous_size: u64,
    /// See [`Checkpoint::root`], hex.
    pub root: String,
    /// See [`Checkpoint::signed_at`].
    pub signed_at: DateTime<Utc>,
    /// See [`Checkpoint::key_id`].
    pub key_id: String,
    /// See [`Checkpoint::signature`], hex.
    pub signature: String,
    /// The events from `previous_size` to `tree_size`, in order.
    pub events: Vec<SealedEvent>,
}

/// The schema name of [`Published`].
pub const PUBLISHED_SCHEMA: &str = "workstream.audit_checkpoint.v1";

impl Published {
    /// The published form of `checkpoint` with the events its batch sealed.
    pub fn new(checkpoint: &Checkpoint, events: Vec<SealedEvent>) -> Published {
        Published {
            schema: PUBLISHED_SCHEMA.to_owned(),
            tree_size: checkpoint.tree_size,
            previous_size: checkpoint.previous_size,
            root: hex::encode(checkpoint.root),
            signed_at: checkpoint.signed_at,
            key_id: checkpoint.key_id.clone(),
            signature: hex::encode(checkpoint.signature),
            events,
        }
    }

    /// The checkpoint it carries, if its fields are well formed.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        Some(Checkpoint {
            tree_size: self.tree_size,
            previous_size: self.previous_size,
            root: hex::decode(&self.root).ok()?.try_into().ok()?,
            signed_at: self.signed_at,
            key_id: self.key_id.clone(),
            signature: hex::decode(&self.signature).ok()?.try_into().ok()?,
        })
    }
}

/// Writes `text` to a new file at `path` that only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A checkpoint as its row stores it (`audit_checkpoints`).
pub(crate) struct CheckpointRow {
    pub tree_size: i64,
    pub previous_size: i64,
    pub root: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl CheckpointRow {
    /// The checkpoint, if the row is well formed (the table's checks make it so).
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        Some(Checkpoint {
            tree_size: u64::try_from(self.tree_size).ok()?,
            previous_size: u64::try_from(self.previous_size).ok()?,
            root: self.root.clone().try_into().ok()?,
            signed_at: self.signed_at,
            key_id: self.key_id.clone(),
            signature: self.signature.clone().try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_under_its_key_only_and_only_as_signed() {
        let key = SigningKey::parse(&"11".repeat(32)).unwrap();
        let other = SigningKey::parse(&"22".repeat(32)).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-06T12:00:00.123456Z")
            .unwrap()
            .to_utc();
        let checkpoint = key.sign(7, 3, [9; 32], at);
        assert!(checkpoint.signed_by(&key.public()));
        assert!(!checkpoint.signed_by(&other.public()));
        let published = Published::new(&checkpoint, vec![]);
        assert_eq!(published.checkpoint().as_ref(), Some(&checkpoint));
        for changed in [
            Checkpoint {
                tree_size: 8,
                ..checkpoint.clone()
            },
            Checkpoint {
                previous_size: 2,
                ..checkpoint.clone()
            },
            Checkpoint {
                root: [8; 32],
                ..checkpoint.clone()
            },
            Checkpoint {
                signed_at: at + chrono::Duration::microseconds(1),
                ..checkpoint.clone()
            },
        ] {
            assert!(!changed.signed_by(&key.public()), "{changed:?}");
        }
        assert_eq!(
            checkpoint.text(),
            format!(
                "workstream audit checkpoint v1\n7\n3\n{}\n2026-12-06T12:00:00.123456Z\n",
                "09".repeat(32)
            )
        );
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(KEY_FILE);
        let made = SigningKey::load_or_create(&path).unwrap();
        let read = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(made.public(), read.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(SigningKey::load_or_create(&path).is_err());
        assert_eq!(
            VerifyingKey::parse(&made.public().id()).unwrap(),
            made.public()
        );
    }
}
