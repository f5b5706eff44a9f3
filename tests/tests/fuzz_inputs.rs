//! The fuzz targets' properties (`fuzz/checks/`) on the committed inputs, in the
//! regular suite: every seed of `fuzz/corpus/<target>/` and every minimized crash of
//! `fuzz/regressions/<target>/`. A crash the fuzzer finds is minimized (`cargo fuzz
//! tmin`) and committed under `regressions/`; from then on this test reads it, fails
//! until the bug is fixed, and keeps it fixed. The fuzzing itself runs in `.ci/run`
//! (`fuzz/run.sh`).

#[path = "../../fuzz/checks/packet_intake.rs"]
mod packet_intake;
#[path = "../../fuzz/checks/policy_bundle.rs"]
mod policy_bundle;
#[path = "../../fuzz/checks/token.rs"]
mod token;

use std::path::PathBuf;

/// The committed inputs of `target`: (path, bytes).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut found = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != ".keep") {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    assert!(!found.is_empty(), "no committed inputs for {target}");
    found
}

fn run_all(target: &str, check: fn(&[u8])) {
    for (path, bytes) in inputs(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks a property",
            path.display()
        );
    }
}

#[test]
fn packet_intake_inputs_keep_the_intake_properties() {
    run_all("packet_intake", packet_intake::run);
}

#[test]
fn policy_bundle_inputs_keep_the_bundle_properties() {
    run_all("policy_bundle", policy_bundle::run);
}

#[test]
fn token_inputs_keep_the_token_properties() {
    run_all("token", token::run);
}
