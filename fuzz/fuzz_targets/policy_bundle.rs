//! The `policy_bundle` fuzz target: [`check::run`] on every input (the properties are in
//! `fuzz/checks/policy_bundle.rs`, which the regular test `tests/tests/fuzz_inputs.rs` also runs
//! on the seed corpus and the committed regressions).
#![no_main]

#[path = "../checks/policy_bundle.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
