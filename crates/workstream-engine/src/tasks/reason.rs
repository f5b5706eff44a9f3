//! The reasons people give for task commands, as the commands store them.

use workstream_domain::lifecycle::check_reason;

use crate::CommandError;

/// An optional free-text reason: blank is none; one given is checked as every reason
/// is (length, no control characters) and kept trimmed.
pub(super) fn optional_reason(reason: Option<&str>) -> Result<Option<String>, CommandError> {
    match reason.map(str::trim) {
        None | Some("") => Ok(None),
        Some(reason) => {
            check_reason(reason)?;
            Ok(Some(reason.to_owned()))
        }
    }
}

/// An assignment's `status_reason` holds at most 500 characters; the full reason stays
/// in the audit event.
pub(super) fn bounded(reason: &str) -> String {
    reason.trim().chars().take(500).collect()
}
