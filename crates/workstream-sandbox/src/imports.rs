//! What a checker component may import, checked before it is compiled.
//!
//! A checker needs only a little of WASI: streams for its (discarded) output, the
//! read-only `/packet` preopen, and clocks and random (both fixed per run). The linker
//! provides the whole WASI 0.2 set (wasmtime-wasi links it as one unit), so without
//! this check a component importing `wasi:sockets` would link and merely be refused
//! at run time. Refusing at registration states the contract instead: a component
//! importing anything else is refused with [`LoadError::ImportNotAllowed`]
//! (code `implementation_unavailable`), naming the import.
//!
//! Only the component's own (top-level) imports are read: nested modules and
//! components can reach nothing their parent does not import. Type imports (the
//! world's own records and enums) carry no capability and are not checked.
//!
//! [`LoadError::ImportNotAllowed`]: crate::LoadError::ImportNotAllowed

use wasmtime::wasmparser::{ComponentTypeRef, Parser, Payload};

/// Interfaces every checker may import (without the `@version` suffix).
const ALWAYS_ALLOWED: &[&str] = &[
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
];

/// `wasi:sockets` interfaces, allowed only with [`ImportPolicy::allow_socket_imports`].
const SOCKETS: &[&str] = &[
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
];

/// Which imports a component may have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPolicy {
    /// Accept components that import `wasi:sockets` (componentize-py output does,
    /// without using it). The network stays denied at run time either way: the WASI
    /// context grants no TCP, UDP or name lookup. Off by default.
    pub allow_socket_imports: bool,
}

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

impl ImportPolicy {
    /// Checks the top-level imports of a component binary against the allow-list.
    pub fn check(&self, bytes: &[u8]) -> Result<(), ImportError> {
        if !Parser::is_component(bytes) {
            return Err(ImportError::Malformed(
                "a core module or something else, not a component".into(),
            ));
        }
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
                        self.check_name(import.name.name)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_name(&self, name: &str) -> Result<(), ImportError> {
        let refused = || ImportError::NotAllowed(name.to_owned());
        let (interface, version) = name.split_once('@').ok_or_else(refused)?;
        // WASI 0.2.x only: the linker provides 0.2 and semver-compatible matching
        // covers every 0.2 patch release.
        if !version.starts_with("0.2.") {
            return Err(refused());
        }
        let allowed = ALWAYS_ALLOWED.contains(&interface)
            || (self.allow_socket_imports && SOCKETS.contains(&interface));
        if allowed { Ok(()) } else { Err(refused()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_by_interface_and_version() {
        let policy = ImportPolicy::default();
        assert!(policy.check_name("wasi:cli/stdout@0.2.6").is_ok());
        assert!(policy.check_name("wasi:filesystem/preopens@0.2.0").is_ok());
        assert!(policy.check_name("wasi:sockets/tcp@0.2.6").is_err());
        assert!(
            policy
                .check_name("wasi:http/outgoing-handler@0.2.6")
                .is_err()
        );
        assert!(policy.check_name("wasi:cli/stdout@0.3.0").is_err());
        assert!(policy.check_name("wasi:cli/stdout").is_err());
        let sockets = ImportPolicy {
            allow_socket_imports: true,
        };
        assert!(sockets.check_name("wasi:sockets/tcp@0.2.6").is_ok());
    }

    #[test]
    fn a_core_module_is_malformed() {
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(
            ImportPolicy::default().check(core),
            Err(ImportError::Malformed(_))
        ));
    }
}
