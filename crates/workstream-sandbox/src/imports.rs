//! What a checker component may import: decided once, here, for every caller.
//!
//! `checker test`, `checker inspect`, `policy validate`, publication, guide activation
//! and the server all load components through [`crate::Sandbox::load`], which calls
//! [`check`]: there is no flag that widens or narrows it, so a component that passes on
//! an author's machine runs unchanged in production.
//!
//! A checker needs only a little of WASI: streams for its (discarded) output, the
//! read-only `/packet` preopen, and clocks and random (both fixed per run). But the
//! toolchains of other languages emit more than they use: componentize-py links
//! `wasi:sockets` into every component, and componentize-js links `wasi:http` unless
//! told not to. Refusing those would refuse ordinary Python and JavaScript checkers
//! for imports they never call, so the allow-list has three parts:
//!
//! - [`LINKED`]: the WASI 0.2 interfaces wasmtime-wasi provides. What they reach is
//!   decided per run by [`crate::wasi`]: sockets are linked but the context grants no
//!   TCP, UDP or name lookup, so a call answers "access denied".
//! - [`REFUSED_AT_CALL`]: interfaces for capabilities a checker is never given
//!   (`wasi:http`). They are linked to functions that trap when called, so the
//!   component loads and runs; a call ends the run as `implementation_unavailable`.
//! - everything else is refused when the component is loaded (registration,
//!   publication, `checker test`), with [`ImportError::NotAllowed`] naming the import
//!   (code `checker_import_not_allowed`), never at run time.
//!
//! Only the component's own (top-level) imports are read: nested modules and
//! components can reach nothing their parent does not import. Type imports (the
//! world's own records and enums) carry no capability and are not checked.

use wasmtime::wasmparser::{ComponentTypeRef, Parser, Payload};

/// Interfaces wasmtime-wasi links (without the `@version` suffix); the per-run WASI
/// context decides what each may reach.
pub const LINKED: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    // Linked, and denied by the context: no network, no name lookup.
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

/// Interfaces of capabilities no checker is ever given, linked to functions that trap
/// when called (componentize-js emits them unless built with `-d http fetch-event`).
pub const REFUSED_AT_CALL: &[&str] = &["wasi:http/types", "wasi:http/outgoing-handler"];

/// Why a component's imports were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not a well-formed component.
    #[error("not a well-formed WebAssembly component: {0}")]
    Malformed(String),
    /// An import outside the allow-list.
    #[error("import `{0}` is not allowed for checkers")]
    NotAllowed(String),
}

/// What a component imports, once checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imports {
    /// Every interface it imports, with its version, in the component's order.
    pub interfaces: Vec<String>,
    /// Those among them that are linked to trapping functions ([`REFUSED_AT_CALL`]).
    pub refused_at_call: Vec<String>,
}

/// Checks the top-level imports of a component binary against the allow-list.
pub fn check(bytes: &[u8]) -> Result<Imports, ImportError> {
    if !Parser::is_component(bytes) {
        return Err(ImportError::Malformed(
            "a core module or something else, not a component".into(),
        ));
    }
    let mut imports = Imports::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| ImportError::Malformed(e.to_string()))? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth == 0 => break,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| ImportError::Malformed(e.to_string()))?;
                    // Types the world defines (`phase`, `finding`, ...) are imported
                    // as plain types: data shapes, no capability.
                    if matches!(import.ty, ComponentTypeRef::Type(_)) {
                        continue;
                    }
                    let name = import.name.name;
                    if classify(name)? == Linking::Trap {
                        imports.refused_at_call.push(name.to_owned());
                    }
                    imports.interfaces.push(name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(imports)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Linking {
    Wasi,
    Trap,
}

fn classify(name: &str) -> Result<Linking, ImportError> {
    let refused = || ImportError::NotAllowed(name.to_owned());
    let (interface, version) = name.split_once('@').ok_or_else(refused)?;
    // WASI 0.2.x only: the linker provides 0.2 and semver-compatible matching covers
    // every 0.2 patch release.
    if !version.starts_with("0.2.") {
        return Err(refused());
    }
    if LINKED.contains(&interface) {
        Ok(Linking::Wasi)
    } else if REFUSED_AT_CALL.contains(&interface) {
        Ok(Linking::Trap)
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_by_interface_and_version() {
        assert_eq!(classify("wasi:cli/stdout@0.2.6"), Ok(Linking::Wasi));
        assert_eq!(
            classify("wasi:filesystem/preopens@0.2.0"),
            Ok(Linking::Wasi)
        );
        assert_eq!(classify("wasi:sockets/tcp@0.2.6"), Ok(Linking::Wasi));
        assert_eq!(
            classify("wasi:http/outgoing-handler@0.2.6"),
            Ok(Linking::Trap)
        );
        for refused in [
            "wasi:cli/stdout@0.3.0",
            "wasi:cli/stdout",
            "wasi:keyvalue/store@0.2.0",
            "wasi:http/incoming-handler@0.2.6",
            "my:own/interface@1.0.0",
        ] {
            assert_eq!(
                classify(refused),
                Err(ImportError::NotAllowed(refused.to_owned())),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_core_module_is_malformed() {
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(check(core), Err(ImportError::Malformed(_))));
    }
}
