//! Hostile test guest: a finding whose message and path hold NUL characters.
//!
//! A checker that echoes what it read (a JSON key, a file name, a line of a
//! packet) can hand the host text that PostgreSQL cannot store. The host must
//! record `invalid_output` for this check on the first attempt, never fail the
//! job that stores the result (which would leave the task waiting for ever).
//! Never registered outside tests.

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

/// The checker.
pub struct NulFinding;

impl Checker for NulFinding {
    const NAME: &'static str = "hostile-nul-finding";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Test guest: reports a finding holding NUL characters.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(ctx: &Context, _config: &NoConfig, out: &mut Findings) -> Result<(), CheckError> {
        // An empty packet gets a clean report, so the component passes the smoke
        // check of publication and misbehaves only on real packets.
        if let Some(first) = ctx.manifest().iter().next() {
            let path = first.path.clone();
            out.error("echoed_key", format!("key \u{0}{path}\u{0} is unknown"))
                .path(format!("{path}\u{0}"));
        }
        Ok(())
    }
}

export_checker!(NulFinding);
