//! `trivial`: always passes, finds nothing, reads nothing.
//!
//! The smallest possible checker, for measuring the host's own cost per
//! run (instantiation, input lowering, report lifting) without any work in
//! the guest.

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

/// The checker.
pub struct Trivial;

impl Checker for Trivial {
    const NAME: &'static str = "trivial";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Always passes with no findings; used to benchmark the host.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(_ctx: &Context, _config: &NoConfig, _out: &mut Findings) -> Result<(), CheckError> {
        Ok(())
    }
}

export_checker!(Trivial);
