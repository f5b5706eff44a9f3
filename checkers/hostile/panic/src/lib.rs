//! Hostile test guest: `check` panics.
//!
//! Components are built with `panic = "abort"` (and wasm32 cannot unwind
//! anyway), so the panic becomes a trap after the message is written to the
//! guest's stderr. The host must record an infrastructure failure (never a
//! pass), must not leak the message to contributors, and must serve the next
//! run normally. Never registered outside tests.

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

/// The checker.
pub struct Panic;

impl Checker for Panic {
    const NAME: &'static str = "hostile-panic";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Test guest: panics inside check.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(ctx: &Context, _config: &NoConfig, _out: &mut Findings) -> Result<(), CheckError> {
        // Depends on the input so the compiler cannot hoist it into `info`.
        panic!(
            "hostile-panic: panicking on purpose with {} manifest entries",
            ctx.manifest().len()
        );
    }
}

export_checker!(Panic);
