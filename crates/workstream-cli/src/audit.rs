//! `workstream audit verify` and `workstream audit seal`.
//!
//! `verify` checks the audit ledger against the checkpoints published in the object
//! store, which must be signed by the ledger's key: the public half given with
//! `--public-key`, or else the one of the signing key file this deployment uses
//! ([`crate::pipeline::audit_key_path`]). What that proves, and against whom, is in
//! crates/workstream-store/src/audit/mod.rs and the README.

use std::path::Path;

use anyhow::Context as _;
use workstream_store::audit::{self, SigningKey, VerifyingKey};

use crate::database::Database;

/// Verifies the ledger and prints what it found; `Ok(false)` if anything is wrong.
pub async fn verify(
    database: &Database,
    data_dir: &Path,
    public_key: Option<&str>,
) -> anyhow::Result<bool> {
    let key = match public_key {
        Some(hex) => {
            VerifyingKey::parse(hex).map_err(|why| anyhow::anyhow!("--public-key: {why}"))?
        }
        None => {
            let path = crate::pipeline::audit_key_path(data_dir);
            SigningKey::load(&path)
                .with_context(|| {
                    format!(
                        "no audit signing key to verify with at {}; pass the ledger's --public-key",
                        path.display()
                    )
                })?
                .public()
        }
    };
    let objects = crate::pipeline::objects(data_dir)?;
    let report = audit::verify(&database.pool, &objects, &key).await?;
    match &report.latest {
        Some(c) => println!(
            "latest checkpoint: {} events, root {}, signed {} by key {}",
            c.tree_size,
            hex::encode(c.root),
            c.signed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            c.key_id
        ),
        None => println!("no checkpoint signed by key {} yet", key.id()),
    }
    if report.ok() {
        println!(
            "ledger: ok ({} events sealed and checked against {} signed checkpoints, {} waiting to be sealed)",
            report.events, report.checkpoints, report.unsealed
        );
        return Ok(true);
    }
    println!(
        "ledger: BROKEN ({} problems; {} events read, {} waiting to be sealed)",
        report.problem_count, report.events, report.unsealed
    );
    for problem in &report.problems {
        println!("  {problem}");
    }
    if report.problem_count > report.problems.len() as u64 {
        println!(
            "  ... and {} more",
            report.problem_count - report.problems.len() as u64
        );
    }
    Ok(false)
}

/// Seals every event waiting and publishes the checkpoints, as a running server does
/// every second or so; prints how many were sealed.
pub async fn seal(database: &Database, data_dir: &Path) -> anyhow::Result<()> {
    let key = SigningKey::load_or_create(&crate::pipeline::audit_key_path(data_dir))?;
    let objects = crate::pipeline::objects(data_dir)?;
    let sealed = audit::seal_pending(&database.pool, &objects, &key).await?;
    println!("sealed {sealed} events");
    Ok(())
}
