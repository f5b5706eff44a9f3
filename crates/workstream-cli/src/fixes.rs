//! Errors with a stable code, and the one table of codes to one-line fixes.
//!
//! A command that fails on something the user can act on returns a [`CliError`]: the
//! server's code when the API refused (the envelope's `error.code`), or the CLI's own
//! (`server_unreachable`, `local_secret_missing`, the project directory's codes). `main`
//! prints it as
//!
//! ```text
//! error[pre_submission_checker_failed]: POST /tasks/…/packets answered 422: the packet failed …
//! fix: change the files the checker names (its results are above) and upload again
//! ```
//!
//! The fix of a code the server answers is the catalogue's ([`ErrorCode::fix`],
//! `workstream_domain::error_code`), the same text the API document publishes; the
//! CLI's own codes have theirs in [`FIXES`]. A test keeps every code the CLI itself
//! emits in one or the other, and no code in both.

use serde_json::Value;
use workstream_domain::ErrorCode;

/// A failure with a stable code, a message, and the API's details (if any).
#[derive(Debug, Clone)]
pub struct CliError {
    /// The stable code.
    pub code: String,
    /// What happened (for API refusals: the method, path, status and the server's message).
    pub message: String,
    /// The error envelope's `details` (`Null` when there are none).
    pub details: Value,
}

impl CliError {
    /// An error of the CLI's own.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> CliError {
        CliError {
            code: code.into(),
            message: message.into(),
            details: Value::Null,
        }
    }

    /// With the API's details.
    pub fn with_details(mut self, details: Value) -> CliError {
        self.details = details;
        self
    }

    /// Whether the server answered `code` (or the CLI raised it).
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code.as_str()
    }

    /// The one-line fix of this error's code, if the table has one.
    pub fn fix(&self) -> Option<&'static str> {
        fix_for(&self.code)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)
    }
}

impl std::error::Error for CliError {}

/// Every code the CLI knows a fix for, with that fix.
pub const FIXES: &[(&str, &str)] = &[
    // Reaching the server and signing in.
    (
        "server_unreachable",
        "start the server in another terminal (`cargo run --bin workstream -- up`), pass --server URL, or run `workstream demo --embedded`",
    ),
    (
        "address_in_use",
        "another server (maybe an earlier `workstream up`) listens there: stop it, or pass --bind / WORKSTREAM_BIND",
    ),
    (
        "local_secret_missing",
        "run `workstream up` once (it creates the secret), or set WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET, or point --data-dir at the server's data directory",
    ),
    (
        "local_admin_missing",
        "pass --admin-subject with the subject you made administrator (`workstream admin bootstrap`), or start `up` on a fresh data directory, which makes `admin`",
    ),
    (
        "local_adapter_unknown",
        "pass --adapter-subject with the subject the server's local payment adapter was made with (POST /service-actors)",
    ),
    (
        "adapter_actor_required",
        "pass --adapter-actor with the payment adapter's actor profile id (POST /service-actors makes one)",
    ),
    (
        "unexpected_answer",
        "the server answered something this CLI does not understand: use a CLI of the same version as the server",
    ),
    // The project directory and the activation gate.
    (
        "project_directory_missing",
        "pass the project's directory (`workstream init DIR` makes one)",
    ),
    (
        "project_file_missing",
        "add the file (`workstream init` writes a complete project to start from)",
    ),
    ("project_file_unreadable", "check the file's permissions"),
    (
        "project_file_invalid",
        "fix the JSON or CSV syntax at the position given",
    ),
    (
        "project_field_invalid",
        "fix the field in project.json (slug: lowercase letters, digits and dashes)",
    ),
    (
        "guide_section_missing",
        "add the section to guide.md as a level-2 heading (`## Scope`)",
    ),
    (
        "default_checker_replaced",
        "run the platform checker as its built-in: drop the digest from its reference",
    ),
    (
        "contribution_policy_invalid",
        "correct policies/contribution-policy.json at the path given (quantities are decimal strings like \"12.50\")",
    ),
    (
        "contribution_binding_missing",
        "add a binding for the definition's instrument to `bindings` in policies/contribution-policy.json",
    ),
    (
        "contribution_unit_missing",
        "add the unit to `units` in policies/contribution-policy.json",
    ),
    (
        "task_csv_column_unknown",
        "rename the column to a task field (see the list in the message)",
    ),
    // Policy previews.
    (
        "preview_project_unknown",
        "pass --project with the project's id, or import the directory first (`workstream project import`)",
    ),
    (
        "policy_preview_failed",
        "read the reason above; fix what it names (a checker component, a stored packet) and run the preview again",
    ),
    (
        "policy_preview_timeout",
        "wait longer with --wait-seconds, or read the preview later at the address given; the server goes on checking",
    ),
    // Packets and submissions.
    (
        "packet_layout_missing",
        "create the packet's files (outputs/, evidence/) as the guide's Packet layout says",
    ),
    // The demo.
    (
        "invalid_run_id",
        "pass --run-id with up to 24 lowercase letters, digits and dashes, or leave it out",
    ),
    (
        "demo_project_unusable",
        "give --project a directory with at least two tasks (the example has three)",
    ),
    (
        "demo_unexpected",
        "the server did not behave as the demo's example expects: run the demo with the CLI of the server's version",
    ),
    (
        "io_error",
        "check that the temporary directory is writable and has space",
    ),
    (
        "demo_timeout",
        "the server's job worker did not finish in time: check that `up` runs with --workers 1 or more (the default) and look at its log",
    ),
];

/// The fix for `code`: the catalogue's for a code the server answers, the CLI's own
/// table's for the rest.
pub fn fix_for(code: &str) -> Option<&'static str> {
    ErrorCode::from_code(code)
        .map(ErrorCode::fix)
        .or_else(|| FIXES.iter().find(|(c, _)| *c == code).map(|(_, fix)| *fix))
}

/// Prints `err` as `error[code]: message` and `fix: ...` on stderr; an error without a
/// code prints as `error: ...`.
pub fn print(err: &anyhow::Error) {
    match err.downcast_ref::<CliError>() {
        Some(cli) => {
            eprintln!("{cli}");
            if let Some(errors) = cli.details.get("errors").and_then(Value::as_array) {
                for e in errors {
                    eprintln!(
                        "  at {}: {}",
                        e["path"].as_str().unwrap_or_default(),
                        e["message"].as_str().unwrap_or_default()
                    );
                }
            }
            if let Some(fix) = cli.fix() {
                eprintln!("fix: {fix}");
            }
        }
        None => eprintln!("error: {err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the CLI itself emits (`CliError::new("...")` in its sources) has a fix.
    #[test]
    fn every_code_the_cli_emits_has_a_fix() {
        fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut texts = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut texts,
        );
        let mut emitted = Vec::new();
        for text in &texts {
            for (at, _) in text.match_indices("CliError::new(") {
                let rest = text[at + "CliError::new(".len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let code = &literal[..literal.find('"').unwrap_or(0)];
                    // Codes are snake_case; this test's own text is not one.
                    if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    {
                        emitted.push(code.to_owned());
                    }
                }
            }
        }
        assert!(emitted.len() > 10, "{emitted:?}");
        let missing: Vec<&String> = emitted.iter().filter(|c| fix_for(c).is_none()).collect();
        assert!(missing.is_empty(), "codes without a fix: {missing:?}");
    }

    #[test]
    fn codes_are_unique_and_fixes_are_one_line() {
        let mut codes: Vec<&str> = FIXES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len(), "a code is listed twice");
        for (code, fix) in FIXES {
            assert!(
                ErrorCode::from_code(code).is_none(),
                "{code} is the server's: its fix is the catalogue's"
            );
            assert!(!fix.contains('\n'), "{code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }
}
