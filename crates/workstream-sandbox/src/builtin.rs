//! The built-in checkers, embedded in the binary at build time.
//!
//! `build.rs` builds `checkers/` for `wasm32-wasip2` and embeds each built-in
//! component's bytes; the digests are computed once, at first use, from the embedded
//! bytes (so they always name exactly what this binary runs). The platform's default
//! policies pin these digests.

use std::sync::OnceLock;

use workstream_domain::Digest;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

/// A checker shipped with the platform.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinChecker {
    /// The checker's name, as its `info()` reports it (for example `required-files`).
    pub name: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
    /// `sha256:<hex>` of `bytes`.
    pub digest: Digest,
}

/// Every built-in checker, in a fixed order.
pub fn all() -> &'static [BuiltinChecker] {
    static ALL: OnceLock<Vec<BuiltinChecker>> = OnceLock::new();
    ALL.get_or_init(|| {
        generated::BUILTIN
            .iter()
            .map(|&(name, bytes)| BuiltinChecker {
                name,
                bytes,
                digest: Digest::of_bytes(bytes),
            })
            .collect()
    })
}

/// The built-in checker with this name.
pub fn by_name(name: &str) -> Option<&'static BuiltinChecker> {
    all().iter().find(|c| c.name == name)
}

pub(crate) use generated::TEST_ONLY;
