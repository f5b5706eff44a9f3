//! Packet bytes: a content-addressed, write-once object store.
//!
//! Every object is named by the SHA-256 of its bytes
//! (`sha256/<2 hex>/<2 hex>/<64 hex>`, no actor, project or filename in the key) and
//! is never overwritten. The backend is the `object_store` crate: the local file
//! system by default, S3 (or an S3-compatible store) by `s3://` URL, so API and worker
//! processes on several machines can share one store (docs/scale.md).
//!
//! Why the writes look the way they do:
//!
//! * A packet can be hundreds of MiB, so bytes are streamed in both directions in
//!   fixed-size parts, never held whole in memory.
//! * Digests are computed by us while reading, never taken from the provider (ETags
//!   and provider checksums are not integrity facts, docs/checkers.md).
//! * A streamed upload cannot be conditional everywhere, so it goes to a private
//!   staging name first, is verified, and is then *copied if not exists* to its
//!   content key (a hard link on a local disk, a conditional multipart copy on S3).
//!   An existing key is never assumed to be a replay: its bytes are re-read and
//!   compared, and a mismatch is an integrity failure, never an overwrite.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as Backend, WriteMultipart};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workstream_domain::Digest;
use workstream_domain::ErrorCode;

/// Size of one uploaded part: S3's minimum part size is 5 MiB, and memory in flight is
/// at most [`PARTS_IN_FLIGHT`] of these.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploaded concurrently.
const PARTS_IN_FLIGHT: usize = 2;
/// Read buffer over a local file.
const READ_BYTES: usize = 1024 * 1024;

/// A failed object-store operation. Messages never carry credentials; the [`code`]
/// (`artifact_*`, docs/checkers.md) is what a client may see.
///
/// [`code`]: ObjectError::code
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// No object under this key.
    #[error("no object under {key}")]
    Missing {
        /// The key asked for.
        key: String,
    },
    /// The bytes offered do not hash to the digest they were offered under.
    #[error("the bytes offered hash to {actual}, not {expected}")]
    InputMismatch {
        /// The digest the caller named.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// The object stored under a key does not hash to that key: an incident.
    #[error("the object under {key} does not match its digest")]
    IntegrityFailure {
        /// The key whose object is damaged.
        key: String,
    },
    /// Not a content key of this store.
    #[error("`{key}` is not a content key")]
    InvalidKey {
        /// The key given.
        key: String,
    },
    /// An object-store URL we cannot use.
    #[error("object store URL: {0}")]
    Configuration(String),
    /// A local file could not be read or written.
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
    /// The backend failed (unreachable, refused, ...).
    #[error("object store: {0}")]
    Backend(#[from] object_store::Error),
}

impl ObjectError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ObjectError::Missing { .. } => ErrorCode::ArtifactObjectMissing,
            ObjectError::InputMismatch { .. } => ErrorCode::ArtifactInputMismatch,
            ObjectError::IntegrityFailure { .. } => ErrorCode::ArtifactIntegrityFailure,
            ObjectError::InvalidKey { .. } => ErrorCode::ArtifactInputMismatch,
            ObjectError::Configuration(_) | ObjectError::Io(_) | ObjectError::Backend(_) => {
                ErrorCode::ArtifactStorageUnavailable
            }
        }
    }
}

/// The content key of `digest`: `sha256/<2 hex>/<2 hex>/<64 hex>`.
pub fn content_key(digest: &Digest) -> String {
    let hex = digest.to_hex();
    format!("sha256/{}/{}/{hex}", &hex[..2], &hex[2..4])
}

/// The digest a content key names, if it is one.
fn digest_of_key(key: &str) -> Option<Digest> {
    let mut parts = key.split('/');
    let (scheme, a, b, hex) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || scheme != "sha256" || hex.get(..2)? != a || hex.get(2..4)? != b {
        return None;
    }
    format!("sha256:{hex}").parse().ok()
}

/// The packet object store (see the module docs).
#[derive(Clone)]
pub struct ObjectStore {
    backend: Arc<dyn Backend>,
    /// Where this deployment's objects live inside the backend (an S3 URL's path).
    prefix: ObjectPath,
}

impl std::fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The backend's Debug can include endpoints; keep them out of logs.
        f.debug_struct("ObjectStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ObjectStore {
    /// Opens the store `url` names: `s3://bucket[/prefix]`, `file:///dir`, or a plain
    /// directory path.
    ///
    /// For S3 the region, endpoint and credentials come from the usual `AWS_*`
    /// environment variables. The no-overwrite copy defaults to S3's conditional
    /// multipart copy; `AWS_COPY_IF_NOT_EXISTS` overrides it (e.g. `header:...` for a
    /// store that has its own header).
    pub fn from_url(url: &str) -> Result<Self, ObjectError> {
        Self::from_url_with(url, &[])
    }

    /// [`ObjectStore::from_url`], with S3 settings given here on top of the `AWS_*`
    /// environment (as `(key, value)`, the keys the variables' lowercase names:
    /// `aws_endpoint`, `aws_access_key_id`, ...). A test harness gives its own server's
    /// settings this way, without touching the process environment.
    pub fn from_url_with(url: &str, s3_settings: &[(&str, &str)]) -> Result<Self, ObjectError> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let prefix = rest.split_once('/').map_or("", |(_, path)| path);
            let mut builder = AmazonS3Builder::from_env().with_url(url);
            for (key, value) in s3_settings {
                let key: object_store::aws::AmazonS3ConfigKey = key.parse().map_err(|e| {
                    ObjectError::Configuration(format!("not an S3 setting: {key}: {e}"))
                })?;
                builder = builder.with_config(key, *value);
            }
            let copy_mode_given = std::env::var_os("AWS_COPY_IF_NOT_EXISTS").is_some()
                || s3_settings
                    .iter()
                    .any(|(key, _)| key.eq_ignore_ascii_case("aws_copy_if_not_exists"));
            if !copy_mode_given {
                builder = builder.with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
            }
            let backend = builder.build()?;
            return Ok(ObjectStore {
                backend: Arc::new(backend),
                prefix: ObjectPath::from(prefix),
            });
        }
        if url.starts_with("file:") {
            let parsed = url::Url::parse(url)
                .map_err(|e| ObjectError::Configuration(format!("not a URL: {e}")))?;
            let dir = parsed.to_file_path().map_err(|()| {
                ObjectError::Configuration("a file: URL must name a local directory".into())
            })?;
            return Self::local(dir);
        }
        if url.contains("://") {
            return Err(ObjectError::Configuration(
                "only s3://, file:// and plain paths are supported".into(),
            ));
        }
        Self::local(url)
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: impl AsRef<Path>) -> Result<Self, ObjectError> {
        let dir: PathBuf = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir)?;
        let backend = LocalFileSystem::new_with_prefix(&dir)?;
        Ok(ObjectStore {
            backend: Arc::new(backend),
            prefix: ObjectPath::default(),
        })
    }

    fn location(&self, key: &str) -> ObjectPath {
        self.prefix
            .parts()
            .chain(ObjectPath::from(key).parts())
            .collect()
    }

    /// Stores the file at `path` under the content key of `digest` and returns the key.
    ///
    /// The file is streamed and hashed on the way; if it does not hash to `digest`
    /// nothing is stored ([`ObjectError::InputMismatch`]). If the key already holds
    /// the same bytes this is a no-op; if it holds other bytes, that is an
    /// [`ObjectError::IntegrityFailure`] and the object is left as it is.
    pub async fn put_file(&self, digest: &Digest, path: &Path) -> Result<String, ObjectError> {
        let key = content_key(digest);
        let location = self.location(&key);
        if self.exists(&location).await? {
            // A replay: check what we were given, then what is there.
            let actual = hash_file(path).await?;
            if actual != *digest {
                return Err(ObjectError::InputMismatch {
                    expected: *digest,
                    actual,
                });
            }
            self.verify(&key, &location).await?;
            return Ok(key);
        }

        let staging = self.location(&format!("staging/{}", uuid::Uuid::now_v7()));
        let actual = match self.upload(&staging, path).await {
            Ok(actual) => actual,
            Err(e) => {
                self.discard(&staging).await;
                return Err(e);
            }
        };
        if actual != *digest {
            self.discard(&staging).await;
            return Err(ObjectError::InputMismatch {
                expected: *digest,
                actual,
            });
        }
        let copied = self.backend.copy_if_not_exists(&staging, &location).await;
        self.discard(&staging).await;
        match copied {
            Ok(()) => Ok(key),
            // Someone stored this key between our check and our copy.
            Err(object_store::Error::AlreadyExists { .. }) => {
                self.verify(&key, &location).await?;
                Ok(key)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Streams the object under `key` into a new file at `dest` (which must not exist)
    /// and returns its size. The bytes are hashed on the way: an object that does not
    /// match its key is an [`ObjectError::IntegrityFailure`] and `dest` is removed.
    pub async fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64, ObjectError> {
        let digest = digest_of_key(key).ok_or_else(|| ObjectError::InvalidKey {
            key: key.to_owned(),
        })?;
        let location = self.location(key);
        let result = self
            .backend
            .get(&location)
            .await
            .map_err(|e| missing(e, key))?;
        // `create_new`: never through an existing name or a planted link.
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .await?;
        let copied = async {
            let mut stream = result.into_stream();
            let mut hasher = Sha256::new();
            let mut bytes = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| missing(e, key))?;
                hasher.update(&chunk);
                bytes += chunk.len() as u64;
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
            Ok::<_, ObjectError>((Digest::from_sha256(hasher.finalize().into()), bytes))
        }
        .await;
        let outcome = match copied {
            Ok((actual, bytes)) if actual == digest => return Ok(bytes),
            Ok(_) => Err(ObjectError::IntegrityFailure {
                key: key.to_owned(),
            }),
            Err(e) => Err(e),
        };
        drop(file);
        let _ = tokio::fs::remove_file(dest).await;
        outcome
    }

    /// Writes `bytes` under `key` unless the key exists (a conditional put: `If-None-Match`
    /// on S3, a hard link locally). A key that already holds the same bytes is a replay
    /// and succeeds; other bytes there are an [`ObjectError::IntegrityFailure`], and the
    /// object is left as it is. For small named records (audit checkpoints), not packets.
    pub async fn put_new(&self, key: &str, bytes: Vec<u8>) -> Result<(), ObjectError> {
        let location = self.location(key);
        let options = object_store::PutOptions {
            mode: object_store::PutMode::Create,
            ..Default::default()
        };
        match self
            .backend
            .put_opts(&location, bytes.clone().into(), options)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                if self.get_bytes(key).await? == bytes {
                    Ok(())
                } else {
                    Err(ObjectError::IntegrityFailure {
                        key: key.to_owned(),
                    })
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes under `key` (a small named record; see [`ObjectStore::put_new`]).
    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        let location = self.location(key);
        let result = self
            .backend
            .get(&location)
            .await
            .map_err(|e| missing(e, key))?;
        Ok(result.bytes().await.map_err(|e| missing(e, key))?.to_vec())
    }

    /// The keys under `prefix`, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let location = self.location(prefix);
        let base = self.prefix.parts().count();
        let mut keys: Vec<String> = self
            .backend
            .list(Some(&location))
            .map(|meta| {
                meta.map(|meta| {
                    meta.location
                        .parts()
                        .skip(base)
                        .map(|part| part.as_ref().to_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
            })
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        keys.sort();
        Ok(keys)
    }

    async fn exists(&self, location: &ObjectPath) -> Result<bool, ObjectError> {
        match self.backend.head(location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Uploads `path` to `location` in parts, returning the digest of what was read.
    async fn upload(&self, location: &ObjectPath, path: &Path) -> Result<Digest, ObjectError> {
        let mut file = tokio::fs::File::open(path).await?;
        let upload = self.backend.put_multipart(location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; READ_BYTES];
        let read = async {
            loop {
                let n = file.read(&mut buffer).await?;
                if n == 0 {
                    return Ok::<_, ObjectError>(());
                }
                hasher.update(&buffer[..n]);
                // Bound memory: wait for parts in flight before buffering more.
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.write(&buffer[..n]);
            }
        }
        .await;
        match read {
            Ok(()) => {
                writer.finish().await?;
                Ok(Digest::from_sha256(hasher.finalize().into()))
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Re-reads the object under `key` and checks it hashes to the key.
    async fn verify(&self, key: &str, location: &ObjectPath) -> Result<(), ObjectError> {
        let digest = digest_of_key(key).ok_or_else(|| ObjectError::InvalidKey {
            key: key.to_owned(),
        })?;
        let mut stream = self
            .backend
            .get(location)
            .await
            .map_err(|e| missing(e, key))?
            .into_stream();
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(|e| missing(e, key))?);
        }
        if Digest::from_sha256(hasher.finalize().into()) == digest {
            Ok(())
        } else {
            Err(ObjectError::IntegrityFailure {
                key: key.to_owned(),
            })
        }
    }

    /// Best-effort removal of a staging object: a leftover is garbage, not a fault
    /// (an S3 lifecycle rule on `staging/` collects what a crash leaves).
    async fn discard(&self, staging: &ObjectPath) {
        if let Err(e) = self.backend.delete(staging).await {
            tracing::warn!(error = %e, "could not delete a staging object");
        }
    }
}

fn missing(error: object_store::Error, key: &str) -> ObjectError {
    match error {
        object_store::Error::NotFound { .. } => ObjectError::Missing {
            key: key.to_owned(),
        },
        other => other.into(),
    }
}

/// SHA-256 of a local file, streamed.
async fn hash_file(path: &Path) -> Result<Digest, ObjectError> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_BYTES];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            return Ok(Digest::from_sha256(hasher.finalize().into()));
        }
        hasher.update(&buffer[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_nothing_else_is_a_key() {
        let digest = Digest::of_bytes(b"packet");
        let key = content_key(&digest);
        assert_eq!(
            key,
            format!(
                "sha256/{}/{}/{}",
                &digest.to_hex()[..2],
                &digest.to_hex()[2..4],
                digest.to_hex()
            )
        );
        assert_eq!(digest_of_key(&key), Some(digest));
        for bad in [
            "",
            "sha256/00/00",
            "staging/x",
            &key.replacen("sha256/", "sha1/", 1),
            &format!("{key}/x"),
            &format!("sha256/ff/ff/{}", digest.to_hex()),
        ] {
            if bad != key {
                assert_eq!(digest_of_key(bad), None, "{bad}");
            }
        }
    }
}
