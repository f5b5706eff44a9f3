//! The first run in the `local` environment: a token secret and an administrator
//! without any set-up step.
//!
//! `up` serves `local` by default, and local tokens are HS256 tokens signed with
//! `WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET`. Without that variable every authenticated
//! request would answer 503, so a fresh clone could not do anything. Two decisions make
//! the first run just work, both in `local` only (never `test`, `staging` or
//! `production`, where a secret or an administrator appearing by itself would be a
//! hole):
//!
//! * **The secret file.** When the variable is unset (and no JWKS is configured), `up`
//!   creates `<data dir>/local-hmac-secret` once: 32 random bytes from the operating
//!   system, hex-encoded (64 characters), written with `create_new` and mode 0600, and
//!   uses it from then on. `workstream token`, `demo` and `project import` read the
//!   same file when the variable is unset (`--data-dir` / `WORKSTREAM_DATA_DIR`). The
//!   variable always wins, so existing set-ups keep working. A file readable by group
//!   or others is refused rather than trusted: anyone who can read it can sign in as
//!   anyone. The web UI's local sign-in page mints its tokens with this same secret
//!   (the server's).
//! * **The local administrator.** When no active access administrator exists, `up`
//!   bootstraps one for the subject [`LOCAL_ADMIN_SUBJECT`] (`admin`) of the local
//!   issuer through the engine command `workstream admin bootstrap` uses
//!   ([`bootstrap_access_administrator`]), so it is audited the same way (actor: the
//!   system bootstrap principal), and prints how to get its token. Once any
//!   administrator exists (for example one made with `admin bootstrap` beforehand),
//!   nothing is done.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use workstream_api::auth::mint::{LOCAL_DEFAULT_AUDIENCE, LOCAL_DEFAULT_ISSUER};
use workstream_domain::ErrorCode;
use workstream_engine::authority::RequestContext;
use workstream_engine::authority::provisioning::bootstrap_access_administrator;

/// The environment variable holding the local HS256 secret.
pub const SECRET_VARIABLE: &str = "WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET";
/// The secret's file under the data directory.
pub const SECRET_FILE: &str = "local-hmac-secret";
/// The subject of the administrator `up` bootstraps in `local`.
pub const LOCAL_ADMIN_SUBJECT: &str = "admin";

/// Where a local secret came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET`.
    Environment,
    /// The data directory's file, which existed.
    File(PathBuf),
    /// The data directory's file, created now.
    Created(PathBuf),
}

/// A local HS256 secret and its origin.
#[derive(Debug, Clone)]
pub struct LocalSecret {
    /// The secret's bytes as the server uses them.
    pub secret: String,
    /// Where it came from.
    pub source: SecretSource,
}

/// The issuer local tokens carry (`WORKSTREAM_FLOW_AUTH_ISSUER` or the default).
pub fn issuer() -> String {
    std::env::var("WORKSTREAM_FLOW_AUTH_ISSUER").unwrap_or_else(|_| LOCAL_DEFAULT_ISSUER.into())
}

/// The audience local tokens carry (`WORKSTREAM_FLOW_AUTH_AUDIENCE` or the default).
pub fn audience() -> String {
    std::env::var("WORKSTREAM_FLOW_AUTH_AUDIENCE").unwrap_or_else(|_| LOCAL_DEFAULT_AUDIENCE.into())
}

fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The secret for clients (`token`, `demo`, `project import`): the variable, else the
/// data directory's file; `None` when there is neither.
pub fn read_secret(data_dir: &Path) -> anyhow::Result<Option<LocalSecret>> {
    if let Ok(secret) = std::env::var(SECRET_VARIABLE) {
        return Ok(Some(LocalSecret {
            secret,
            source: SecretSource::Environment,
        }));
    }
    let path = secret_path(data_dir);
    match read_file(&path)? {
        Some(secret) => Ok(Some(LocalSecret {
            secret,
            source: SecretSource::File(path),
        })),
        None => Ok(None),
    }
}

/// The secret for clients, or an error saying how to get one.
pub fn require_secret(data_dir: &Path) -> anyhow::Result<LocalSecret> {
    read_secret(data_dir)?.with_context(|| {
        format!(
            "no local token secret: {SECRET_VARIABLE} is unset and {} does not exist \
             (`workstream up` creates it on its first run in the local environment; \
             point --data-dir / WORKSTREAM_DATA_DIR at the server's data directory)",
            secret_path(data_dir).display()
        )
    })
}

/// The secret for `up` in `local`: the variable, else the file, created now if absent.
pub fn ensure_secret(data_dir: &Path) -> anyhow::Result<LocalSecret> {
    if let Some(found) = read_secret(data_dir)? {
        return Ok(found);
    }
    fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = secret_path(data_dir);
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading random bytes for the local secret: {e}"))?;
    let secret = hex::encode(bytes);
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(LocalSecret {
                secret,
                source: SecretSource::Created(path),
            })
        }
        // Another `up` on the same directory won the race: use its secret.
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            let secret = read_file(&path)?.context("the local secret file vanished")?;
            Ok(LocalSecret {
                secret,
                source: SecretSource::File(path),
            })
        }
        Err(err) => Err(err).with_context(|| format!("creating {}", path.display())),
    }
}

fn read_file(path: &Path) -> anyhow::Result<Option<String>> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} is readable by other users; anyone who reads it can sign in as anyone \
             (fix: chmod 600 {0}, or delete it to get a new one)",
            path.display()
        );
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let secret = text.trim().to_owned();
    if secret.is_empty() {
        bail!(
            "{} is empty (delete it and `workstream up` makes a new one)",
            path.display()
        );
    }
    Ok(Some(secret))
}

/// Bootstraps [`LOCAL_ADMIN_SUBJECT`] as the first access administrator unless one
/// exists; `true` when it was made now.
pub async fn ensure_admin(pool: &sqlx::PgPool) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let ctx = RequestContext {
        correlation_id: Some(format!("up-local-bootstrap-{}", uuid::Uuid::now_v7())),
    };
    match bootstrap_access_administrator(&mut tx, &issuer(), LOCAL_ADMIN_SUBJECT, &ctx).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(true)
        }
        Err(err) if err.code == ErrorCode::AccessAdministratorExists => Ok(false),
        Err(err) => bail!(
            "bootstrapping the local administrator: {}: {}",
            err.code,
            err.message
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        // The variable would win; these tests only run where it is unset.
        if std::env::var(SECRET_VARIABLE).is_ok() {
            return;
        }
        assert!(read_secret(dir.path()).unwrap().is_none());
        let first = ensure_secret(dir.path()).unwrap();
        assert!(matches!(first.source, SecretSource::Created(_)));
        assert_eq!(first.secret.len(), 64);
        let mode = fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = ensure_secret(dir.path()).unwrap();
        assert_eq!(second.secret, first.secret);
        assert!(matches!(second.source, SecretSource::File(_)));

        fs::set_permissions(
            dir.path().join(SECRET_FILE),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let err = read_secret(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
