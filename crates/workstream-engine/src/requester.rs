//! Who asks for a command: the one caller identity every command takes.

use uuid::Uuid;

/// Who asks for a command, and under which request.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// The acting profile.
    pub actor_id: Uuid,
    /// The request's correlation id, written into the audit event.
    pub correlation_id: Option<String>,
}
