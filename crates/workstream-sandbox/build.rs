//! Builds the checker components (`../../checkers`, a cargo workspace of its own for
//! `wasm32-wasip2`) so that `cargo build` of the host needs no manual step, then copies
//! every component into `OUT_DIR` and writes `components.rs`, which `src/builtin.rs` and
//! `src/testing.rs` include.
//!
//! Why a nested cargo and not a dependency: the components are a different target and a
//! different profile (size-tuned, `panic = "abort"`); cargo cannot express that as a
//! dependency. The nested build uses its own target dir (`checkers/target`), so it never
//! waits on the lock of the outer build dir.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The built-in checkers: crate name (file stem of the component) and checker name.
const BUILTIN: &[(&str, &str)] = &[
    ("packet_fields", "packet-fields"),
    ("required_files", "required-files"),
    ("forbidden_files", "forbidden-files"),
    ("evidence_present", "evidence-present"),
    ("evidence_integrity", "evidence-integrity"),
    ("confidentiality_attestation", "confidentiality-attestation"),
    ("placeholder_signal", "placeholder-signal"),
    ("acceptance_criteria_present", "acceptance-criteria-present"),
    ("size_limits", "size-limits"),
    ("json_schema", "json-schema"),
    ("prior_findings_answered", "prior-findings-answered"),
];

/// Components that are never registered: a baseline and misbehaving guests for tests.
const TEST_ONLY: &[&str] = &[
    "trivial",
    "legacy_v0_1",
    "hostile_nul_finding",
    "hostile_forbidden_import",
    "hostile_infinite_loop",
    "hostile_memory_bomb",
    "hostile_escape_attempt",
    "hostile_oversized_report",
    "hostile_panic",
];

/// Variables a parent cargo (or `cargo clippy`, or a CI wrapper) sets that would change
/// what the nested build does: flags and wrappers meant for host code, a forced target,
/// and the outer target dir.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_PROFILE_RELEASE_LTO",
    "CARGO_INCREMENTAL",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let repo = manifest_dir.join("../..");
    let checkers = repo.join("checkers");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));

    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        "sdk",
        "builtin",
        "trivial",
        "legacy-v0.1",
        "hostile",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            checkers.join(watched).display()
        );
    }
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    println!("cargo:rerun-if-changed=build.rs");

    let target_dir = checkers.join("target");
    build_components(&checkers, &target_dir);

    let built = target_dir.join("wasm32-wasip2/release");
    let mut generated = String::new();
    generated.push_str("/// Built-in checkers: (checker name, component bytes).\n");
    generated.push_str("pub(crate) const BUILTIN: &[(&str, &[u8])] = &[\n");
    for (stem, name) in BUILTIN {
        let copy = copy_component(&built, &out_dir, stem);
        writeln!(generated, "    ({name:?}, include_bytes!({copy:?})),").unwrap();
    }
    generated.push_str("];\n");
    generated.push_str("/// Test-only components: (crate name, path of a copy in OUT_DIR).\n");
    generated.push_str("pub(crate) const TEST_ONLY: &[(&str, &str)] = &[\n");
    for stem in TEST_ONLY {
        let copy = copy_component(&built, &out_dir, stem);
        writeln!(generated, "    ({stem:?}, {copy:?}),").unwrap();
    }
    generated.push_str("];\n");
    fs::write(out_dir.join("components.rs"), generated).expect("write components.rs");
}

/// `rustup target add` (idempotent; needed because RUSTUP_AUTO_INSTALL=0 is set on the
/// project's machines) and then `cargo build --release --locked` of the checker workspace.
fn build_components(checkers: &Path, target_dir: &Path) {
    // A missing rustup is not fatal: the target may have been installed another way,
    // and the build below fails with a clear message if it was not.
    match Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .current_dir(checkers)
        .output()
    {
        Ok(out) if !out.status.success() => println!(
            "cargo:warning=rustup target add wasm32-wasip2 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => {}
        Err(e) => {
            println!("cargo:warning=rustup not run ({e}); assuming wasm32-wasip2 is installed")
        }
    }

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--workspace", "--release", "--locked"])
        .current_dir(checkers)
        .env("CARGO_TARGET_DIR", target_dir);
    for var in SCRUBBED_ENV {
        command.env_remove(var);
    }
    let output = command
        .output()
        .expect("run cargo for the checker components");
    if !output.status.success() {
        panic!(
            "building the checker components failed (run `bash checkers/build.sh` to see why):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Copies one component into OUT_DIR so the embedded bytes are a snapshot of this
/// build, not whatever `checkers/target` holds later. Returns the copy's path.
fn copy_component(built: &Path, out_dir: &Path, stem: &str) -> String {
    let from = built.join(format!("{stem}.wasm"));
    let to = out_dir.join(format!("{stem}.wasm"));
    fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    to.to_str().expect("OUT_DIR is UTF-8").to_owned()
}
