//! How a command writes its audit event: through the store's ledger, in the command's
//! own transaction, stamped with who asked ([`record`]); the ledger's failures read as
//! command errors. A task transition's event is written by
//! `tasks::transition`, which adds the decision's edge and authorizing role.

use sqlx::PgConnection;
use workstream_store::audit::{self, AuditError, NewAuditEvent};

use crate::error::CommandError;
use crate::requester::Requester;

impl From<AuditError> for CommandError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Sql(err) => err.into(),
            other => CommandError::internal(other),
        }
    }
}

/// Appends one audit event for a change made by `requester`.
pub(crate) async fn record(
    conn: &mut PgConnection,
    requester: &Requester,
    event: NewAuditEvent,
) -> Result<(), CommandError> {
    let event = NewAuditEvent {
        actor_id: Some(requester.actor_id),
        correlation_id: requester.correlation_id.clone(),
        ..event
    };
    audit::append(conn, event).await?;
    Ok(())
}
