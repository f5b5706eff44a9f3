//! Hostile test guest: `check` spins forever.
//!
//! The host must stop it with its wall-clock deadline (epoch interruption)
//! or its fuel budget, record `deadline_exceeded`, and serve the next run
//! normally. Never registered outside tests.

use std::hint::black_box;

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

/// The checker.
pub struct InfiniteLoop;

impl Checker for InfiniteLoop {
    const NAME: &'static str = "hostile-infinite-loop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Test guest: never returns from check.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(_ctx: &Context, _config: &NoConfig, _out: &mut Findings) -> Result<(), CheckError> {
        // `black_box` keeps the optimizer from proving the loop useless.
        let mut spins: u64 = 0;
        loop {
            spins = black_box(spins.wrapping_add(1));
        }
    }
}

export_checker!(InfiniteLoop);
