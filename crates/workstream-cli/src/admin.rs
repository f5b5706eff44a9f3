//! `workstream admin bootstrap`: the first access administrator.
//!
//! There is no bootstrap endpoint (docs/security.md): whoever can run this command
//! against the database already controls the system. It links (issuer, subject) to a
//! profile (creating it if the person never signed in) and issues a system
//! `access_administrator` grant attributed to the principal
//! `workstream:system:bootstrap`, with audit events whose actor is the system. Once an
//! active access administrator exists it refuses, and administrators are made over the
//! API by an administrator.

use anyhow::bail;
use workstream_engine::authority::RequestContext;
use workstream_engine::authority::provisioning::bootstrap_access_administrator;

use crate::DatabaseArgs;
use crate::database::Database;

/// Runs the bootstrap against the database of `database`.
pub async fn bootstrap(database: &DatabaseArgs, issuer: &str, subject: &str) -> anyhow::Result<()> {
    let database = Database::open(database, false).await?;
    let outcome = async {
        let mut tx = database.pool.begin().await?;
        let ctx = RequestContext {
            correlation_id: Some(format!("cli-bootstrap-{}", uuid::Uuid::now_v7())),
        };
        match bootstrap_access_administrator(&mut tx, issuer, subject, &ctx).await {
            Ok(done) => {
                tx.commit().await?;
                Ok(done)
            }
            Err(err) => bail!("{}: {}", err.code, err.message),
        }
    }
    .await;
    database.close().await?;
    let done = outcome?;
    println!(
        "access administrator: actor {} ({}), grant {}",
        done.actor_id,
        if done.created_profile {
            "profile created"
        } else {
            "existing profile"
        },
        done.grant_id
    );
    Ok(())
}
