//! Host bindings generated from `wit/checker.wit`.
//!
//! Private: the public types in [`crate::request`] and [`crate::outcome`] are ours
//! (serde, digests); these exist only to cross the component boundary.

wasmtime::component::bindgen!({
    path: "../../wit/checker.wit",
    world: "checker",
    // The world imports nothing of its own (WASI comes from wasmtime-wasi); exports
    // are called with `call_async` so that fuel/epoch yields and the wall-clock
    // backstop work.
    imports: { default: async | trappable },
    exports: { default: async },
});
