//! Host bindings generated from each published version of the checker contract.
//!
//! Private: the public types in [`crate::request`] and [`crate::outcome`] are ours
//! (serde, digests); these exist only to cross the component boundary. Each module is
//! one version of `workstream:checker` (see [`crate::contract`]); a component is bound
//! to the version whose exports it type-checks against.

/// `workstream:checker@0.2.0`: `wit/checker.wit`.
pub(crate) mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../wit/checker.wit",
        world: "checker",
        // The world imports nothing of its own (WASI comes from wasmtime-wasi); exports
        // are called with `call_async` so that fuel/epoch yields and the wall-clock
        // backstop work.
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// `workstream:checker@0.1.0`: `wit/v0.1.0/checker.wit`, kept so that components
/// built against it run unchanged.
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0/checker.wit",
        world: "checker",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}
