//! The `token` fuzz target: [`check::run`] on every input (the properties are in
//! `fuzz/checks/token.rs`, which the regular test `tests/tests/fuzz_inputs.rs` also runs
//! on the seed corpus and the committed regressions).
#![no_main]

#[path = "../checks/token.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
