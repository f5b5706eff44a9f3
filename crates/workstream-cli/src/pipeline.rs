//! The packet pipeline of a server or worker process: checkers, object store, scratch.
//!
//! Everything lives under the data directory unless configured otherwise:
//! `<data>/objects` (packet archives; `WORKSTREAM_OBJECT_STORE_URL` points elsewhere,
//! for example `s3://bucket/prefix`, which every process of a deployment must share),
//! `<data>/checker-cache` (compiled components, private to this host),
//! `<data>/scratch` (uploads and extracted trees while they are checked) and
//! `<data>/audit-signing.key` (the key that signs the audit ledger's checkpoints;
//! `WORKSTREAM_AUDIT_SIGNING_KEY` names another file, which every process of a
//! deployment that seals must share: a process holding another key does not seal).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use workstream_engine::evaluation::Checkers;
use workstream_engine::pipeline::Pipeline;
use workstream_sandbox::{Sandbox, SandboxConfig};
use workstream_store::audit::{self, Sealer, SigningKey};
use workstream_store::objects::ObjectStore;

/// The object store: `WORKSTREAM_OBJECT_STORE_URL`, or `<data>/objects`.
pub fn objects(data_dir: &Path) -> anyhow::Result<ObjectStore> {
    Ok(match std::env::var("WORKSTREAM_OBJECT_STORE_URL") {
        Ok(url) => ObjectStore::from_url(&url)
            .with_context(|| "WORKSTREAM_OBJECT_STORE_URL is not a usable object store")?,
        Err(_) => {
            let dir = data_dir.join("objects");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            ObjectStore::local(&dir).with_context(|| format!("opening {}", dir.display()))?
        }
    })
}

/// The audit signing key's file: `WORKSTREAM_AUDIT_SIGNING_KEY`, or
/// `<data>/audit-signing.key`.
pub fn audit_key_path(data_dir: &Path) -> PathBuf {
    std::env::var_os(audit::checkpoint::KEY_VARIABLE)
        .map_or_else(|| data_dir.join(audit::checkpoint::KEY_FILE), PathBuf::from)
}

/// The audit signing key, made on first use.
pub fn audit_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = audit_key_path(data_dir);
    SigningKey::load_or_create(&path)
        .with_context(|| format!("the audit signing key at {}", path.display()))
}

/// Seals the audit ledger in the background for as long as `pool` is open (see
/// `workstream_store::audit::seal`).
pub fn spawn_sealer(pool: &sqlx::PgPool, objects: &ObjectStore, key: SigningKey) {
    tokio::spawn(Sealer::new(pool.clone(), objects.clone(), key).run());
}

/// Opens the pipeline under `data_dir`.
pub fn open(data_dir: &Path) -> anyhow::Result<Arc<Pipeline>> {
    let objects = objects(data_dir)?;
    let sandbox = Sandbox::new(SandboxConfig::new(data_dir.join("checker-cache")))
        .context("starting the checker sandbox")?;
    Ok(Arc::new(Pipeline {
        checkers: Checkers::new(Arc::new(sandbox)),
        objects,
        scratch: data_dir.join("scratch"),
    }))
}
