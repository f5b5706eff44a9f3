#!/usr/bin/env bash
# Builds the checker components; optionally checks them.
#
#   checkers/build.sh          build every component (release, wasm32-wasip2) and list them
#   checkers/build.sh check    also: rustfmt --check, clippy (wasm and native), native unit tests
#
# Idempotent: re-running rebuilds only what changed. The components land in
# ${CARGO_TARGET_DIR:-checkers/target}/wasm32-wasip2/release/<crate_name>.wasm; with the
# wasm32-wasip2 target a `cdylib` is already a component, so no post-processing is needed.
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-build}"
case "$mode" in
  build|check) ;;
  *) echo "usage: $0 [build|check]" >&2; exit 2 ;;
esac

# The toolchain is pinned by ../rust-toolchain.toml and RUSTUP_AUTO_INSTALL=0 may be set,
# so the target is added explicitly (a no-op when present).
rustup target add wasm32-wasip2 >/dev/null

if [[ "$mode" == check ]]; then
  host="$(rustc -vV | sed -n 's/^host: //p')"
  echo "== cargo fmt --check (checkers)"
  cargo fmt --all --check
  echo "== cargo clippy (wasm32-wasip2)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  echo "== cargo clippy ($host, with test fixtures)"
  cargo clippy --workspace --all-targets --all-features --locked --target "$host" -- -D warnings
  echo "== unit tests ($host)"
  # Components cannot run without a host; their logic and the SDK run natively.
  cargo test --workspace --locked --target "$host"
fi

echo "== cargo build --release (wasm32-wasip2)"
cargo build --workspace --release --locked

out="${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release"
echo "== components in $out"
for wasm in "$out"/*.wasm; do
  # A component starts with the magic \0asm and version 0x0d 0x00 0x01 0x00
  # (a core module has 0x01 0x00 0x00 0x00).
  header="$(head -c 8 "$wasm" | od -An -tx1 | tr -d ' \n')"
  if [[ "$header" != 0061736d0d000100 ]]; then
    echo "error: $wasm is not a WebAssembly component (header $header)" >&2
    exit 1
  fi
  printf '%8d  %s\n' "$(stat -c %s "$wasm")" "$(basename "$wasm")"
done
