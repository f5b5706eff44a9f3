#!/usr/bin/env bash
# Builds the fuzz targets and runs each one for a bounded time on its committed seed
# corpus (what .ci/run does). New inputs go to a scratch directory, never into the
# repository; a crash stops the run with the input under fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [seconds per target]      (default: $WORKSTREAM_FUZZ_SECONDS or 60)
#
# Needs cargo-fuzz (`cargo install --locked cargo-fuzz`) and a C++ compiler (libFuzzer
# is built from source by libfuzzer-sys). The toolchain is stable: RUSTC_BOOTSTRAP=1
# lets cargo fuzz pass its nightly flags. No sanitizer: the workspace denies unsafe
# code, so AddressSanitizer would double the cost for little; the builds keep debug
# assertions and overflow checks.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-${WORKSTREAM_FUZZ_SECONDS:-60}}"
export RUSTC_BOOTSTRAP=1
target_dir="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"
fuzz=(cargo fuzz)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
started=$SECONDS
if ! "${fuzz[@]}" build -s none --target-dir "$target_dir" >"$scratch/build.log" 2>&1; then
    cat "$scratch/build.log"
    exit 1
fi
echo "fuzz: targets built in $((SECONDS - started)) s"
for target in $("${fuzz[@]}" list); do
    mkdir -p "$scratch/$target" "artifacts/$target"
    dict=()
    if [[ -f "dicts/$target.dict" ]]; then dict=("-dict=dicts/$target.dict"); fi
    log="$scratch/$target.log"
    if "${fuzz[@]}" run -s none --target-dir "$target_dir" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -artifact_prefix="artifacts/$target/" "${dict[@]}" >"$log" 2>&1; then
        echo "fuzz $target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1) ($(grep -oE 'cov: [0-9]+' "$log" | tail -1))"
    else
        tail -n 60 "$log"
        echo "fuzz $target FAILED: minimize the input above with 'RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none $target <artifact>'," \
             "commit it under fuzz/regressions/$target/ (tests/tests/fuzz_inputs.rs runs it), and fix the bug" >&2
        exit 1
    fi
done
