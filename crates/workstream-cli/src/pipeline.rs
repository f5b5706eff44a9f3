//! The packet pipeline of a server or worker process: checkers, object store, scratch.
//!
//! Everything lives under the data directory unless configured otherwise:
//! `<data>/objects` (packet archives; `WORKSTREAM_OBJECT_STORE_URL` points elsewhere,
//! for example `s3://bucket/prefix`, which every process of a deployment must share),
//! `<data>/checker-cache` (compiled components, private to this host) and
//! `<data>/scratch` (uploads and extracted trees while they are checked).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use workstream_engine::evaluation::Checkers;
use workstream_engine::pipeline::Pipeline;
use workstream_sandbox::{Sandbox, SandboxConfig};
use workstream_store::objects::ObjectStore;

/// Opens the pipeline under `data_dir`.
pub fn open(data_dir: &Path) -> anyhow::Result<Arc<Pipeline>> {
    let objects = match std::env::var("WORKSTREAM_OBJECT_STORE_URL") {
        Ok(url) => ObjectStore::from_url(&url)
            .with_context(|| "WORKSTREAM_OBJECT_STORE_URL is not a usable object store")?,
        Err(_) => {
            let dir = data_dir.join("objects");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            ObjectStore::local(&dir).with_context(|| format!("opening {}", dir.display()))?
        }
    };
    let sandbox = Sandbox::new(SandboxConfig::new(data_dir.join("checker-cache")))
        .context("starting the checker sandbox")?;
    Ok(Arc::new(Pipeline {
        checkers: Checkers::new(Arc::new(sandbox)),
        objects,
        scratch: data_dir.join("scratch"),
    }))
}
