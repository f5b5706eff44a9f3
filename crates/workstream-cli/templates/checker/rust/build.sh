#!/usr/bin/env bash
# Builds {{name}}.wasm, a Workstream checker component written in Rust.
#
#   ./build.sh         rustup target add wasm32-wasip2, cargo build --release
#   ./build.sh test    first the unit tests (cargo test, natively), then the same
#
# Idempotent: cargo rebuilds only what changed. Needs Rust 1.95+ (cargo, and
# rustup to add the wasm32-wasip2 target) and crates.io on the first build.
# With the wasm32-wasip2 target a cdylib is already a component: no
# post-processing step.
#
# Exit status 3 means the toolchain is unavailable (no cargo, the
# wasm32-wasip2 target cannot be added, or the dependencies cannot be
# downloaded); the reason is on stderr. Any other non-zero status is a real
# failure.
set -euo pipefail

unavailable() {
    echo "build.sh: toolchain unavailable: $*" >&2
    exit 3
}

mode="${1:-build}"
case "$mode" in
    build|test) ;;
    *) echo "usage: $0 [test]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
out="$here/{{name}}.wasm"

# 1. The toolchain: cargo, and the wasm32-wasip2 target (a no-op when present).
command -v cargo >/dev/null || unavailable "cargo not found (install Rust with rustup: https://rustup.rs)"
if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2 >/dev/null \
        || unavailable "rustup could not add the wasm32-wasip2 target"
elif [[ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2" ]]; then
    unavailable "the wasm32-wasip2 target is not installed and there is no rustup to add it"
fi
cargo fetch --quiet || unavailable "cargo could not download the dependencies (crates.io unreachable?)"

# 2. The unit tests, natively (a component needs a host to run; its logic does
#    not). The host target is explicit so that no cargo configuration in a
#    parent directory can turn them into a wasm build.
if [[ "$mode" == test ]]; then
    echo "== unit tests"
    host="$(rustc -vV | sed -n 's/^host: //p')"
    cargo test --target "$host"
fi

# 3. The component, copied next to this script (beside the target first: a
#    failed build never leaves a truncated component).
echo "== cargo build --release --target wasm32-wasip2"
cargo build --release --target wasm32-wasip2
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
cp "${target_dir:-target}/wasm32-wasip2/release/{{crate_name}}.wasm" "$out.tmp"
mv -f "$out.tmp" "$out"

echo "built $out ($(wc -c <"$out") bytes)"
