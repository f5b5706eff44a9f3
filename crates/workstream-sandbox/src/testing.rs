//! Test-only components: a trivial checker and the hostile guests.
//!
//! They are never registered in production; tests (here and in other crates) load them
//! by path. The files are copies made by `build.rs` in this crate's `OUT_DIR`.

use std::path::PathBuf;

/// The path of a test-only component by crate name: `trivial`, `legacy_v0_1` (built
/// against `workstream:checker@0.1.0`), `hostile_infinite_loop`, `hostile_memory_bomb`,
/// `hostile_escape_attempt`, `hostile_oversized_report`, `hostile_panic`,
/// `hostile_nul_finding` or `hostile_forbidden_import`.
///
/// # Panics
///
/// If `name` is not one of those.
pub fn component_path(name: &str) -> PathBuf {
    crate::builtin::TEST_ONLY
        .iter()
        .find(|(stem, _)| *stem == name)
        .map(|(_, path)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("no test component named {name}"))
}

/// The bytes of a test-only component (see [`component_path`]).
pub fn component_bytes(name: &str) -> Vec<u8> {
    let path = component_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
