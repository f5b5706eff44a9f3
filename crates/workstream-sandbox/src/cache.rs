//! Compiled components on disk, keyed by component digest and engine compatibility.
//!
//! Compiling a component to native code takes 40-90 ms for a Rust guest and 6-10 s for
//! a Python or JavaScript one; loading the cached artifact takes about 0.1 ms. Layout:
//!
//! ```text
//! <cache_dir>/<engine key>/<component digest hex>.cwasm
//! ```
//!
//! The engine key is a hash of [`wasmtime::Engine::precompile_compatibility_hash`]
//! (wasmtime version, target, and every setting that changes generated code), so a
//! host upgrade or a config change starts a fresh directory instead of loading code
//! compiled for another engine.
//!
//! Trust: loading native code runs it without validation, so the cache is written only
//! by this host (atomically: a temporary file renamed into place, never a partial
//! artifact) and never filled from outside. A file that fails to load is recompiled
//! and overwritten.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;
use workstream_domain::Digest;

/// The on-disk cache of one engine.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
}

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Compiled now (and written to the cache).
    Compiled,
    /// Loaded from the cache.
    Disk,
}

impl ComponentCache {
    pub(crate) fn new(root: &Path, engine: &Engine) -> std::io::Result<ComponentCache> {
        // `DefaultHasher::new()` uses fixed keys: the same engine settings give the
        // same directory in every process of the same build.
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("wasmtime-{:016x}", hasher.finish()));
        std::fs::create_dir_all(&dir)?;
        Ok(ComponentCache { dir })
    }

    fn path_of(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.to_hex()))
    }

    /// The compiled component for `bytes` (whose digest is `digest`), from the cache if
    /// present, else compiled and stored.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        digest: &Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Source)> {
        let path = self.path_of(digest);
        if path.is_file() {
            match load(engine, &path) {
                Ok(component) => return Ok((component, Source::Disk)),
                Err(error) => tracing::warn!(
                    %error, path = %path.display(), "cached component unusable; recompiling"
                ),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(error) = self.store(&path, &component) {
            // The cache is an optimisation: a read-only or full disk costs time, not
            // correctness.
            tracing::warn!(%error, path = %path.display(), "could not cache compiled component");
        }
        Ok((component, Source::Compiled))
    }

    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        let serialized = component.serialize()?;
        let temp = self.dir.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&serialized)?;
            file.sync_all()?;
            std::fs::rename(&temp, path)
        };
        write().inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })?;
        Ok(())
    }
}

/// Loads a serialized component.
///
/// Reads the file into memory rather than `Component::deserialize_file`, which maps
/// it: a mapped file truncated or rewritten in place (an operator cleaning the cache,
/// a full disk) would crash the process with SIGBUS the next time the code runs. A
/// copy costs a read of a file that is 100s of KiB for Rust guests.
#[allow(unsafe_code)]
fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    let bytes = std::fs::read(path)?;
    // SAFETY: `deserialize` trusts the bytes to be native code produced by
    // `Component::serialize` for a compatible engine. Only this host writes the cache
    // directory (complete files, renamed into place), the directory is keyed by the
    // engine's compatibility hash, and wasmtime re-checks the header's engine
    // compatibility on load.
    unsafe { Component::deserialize(engine, &bytes) }
}
