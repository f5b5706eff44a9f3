//! Hostile test guest: `check` allocates until allocation fails.
//!
//! Memory is allocated in 1 MiB chunks that are written to (so a lazy
//! allocator cannot skip them) and kept. When the host's memory limit
//! refuses to grow linear memory, the allocator fails and the guest aborts
//! (a trap). The host must report `capacity_exceeded`, never a pass, and
//! stay healthy. Never registered outside tests.

use std::hint::black_box;

use workstream_checker_sdk::{CheckError, Checker, Context, Findings, NoConfig, export_checker};

const CHUNK: usize = 1 << 20;

/// The checker.
pub struct MemoryBomb;

impl Checker for MemoryBomb {
    const NAME: &'static str = "hostile-memory-bomb";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Test guest: allocates memory until allocation fails.";
    const CONFIG_SCHEMA: &'static str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false}"#;
    type Config = NoConfig;

    fn check(_ctx: &Context, _config: &NoConfig, _out: &mut Findings) -> Result<(), CheckError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(black_box(vec![0xA5; CHUNK]));
        }
    }
}

export_checker!(MemoryBomb);
