//! The `packet_intake` fuzz target: [`check::run`] on every input (the properties are in
//! `fuzz/checks/packet_intake.rs`, which the regular test `tests/tests/fuzz_inputs.rs` also runs
//! on the seed corpus and the committed regressions).
#![no_main]

#[path = "../checks/packet_intake.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
