#!/usr/bin/env bash
# Builds link_check.wasm, a Workstream checker component written in JavaScript.
#
#   ./build.sh            npm ci (pinned componentize-js), WIT deps, component
#   ./build.sh test       also run the unit tests under Node first
#
# Idempotent: `npm ci` runs only when node_modules/ is missing or older than
# package-lock.json. Needs node (18+) and npm with access to the npm registry
# on the first run. Environment: WIT_DIR (default: the repository's wit/).
#
# Exit status 3 means the toolchain is unavailable (no node/npm, node too
# old, or `npm ci` failed: registry unreachable or no prebuilt binaries for
# this platform); the reason is on stderr. Callers such as test suites can
# skip on 3 and treat any other non-zero status as a real failure.
set -euo pipefail

unavailable() {
    echo "build.sh: toolchain unavailable: $*" >&2
    exit 3
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
wit_dir="${WIT_DIR:-$here/../../../wit}"
out="$here/link_check.wasm"

if [[ ! -f "$wit_dir/checker.wit" ]]; then
    echo "build.sh: no checker.wit in $wit_dir (set WIT_DIR)" >&2
    exit 1
fi

# 1. The pinned toolchain (package-lock.json), in this directory only.
command -v node >/dev/null || unavailable "node not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' \
    || unavailable "node $(node --version) is older than 18"
if [[ ! -x node_modules/.bin/componentize-js \
      || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null || unavailable "npm not found"
    npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 \
        || unavailable "npm ci failed (registry unreachable or unsupported platform)"
fi

if [[ "${1:-}" == "test" ]]; then
    node --test test/*.test.js
fi

# 2. WIT dependencies of wit/world.wit: the contract, copied from the
#    repository, and WASI 0.2.12 from the pinned jco package.
wasi="node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12"
rm -rf wit/deps
mkdir -p wit/deps/checker
cp "$wit_dir/checker.wit" wit/deps/checker/
for pkg in io clocks filesystem; do
    cp -R "$wasi/wasi-$pkg" "wit/deps/$pkg"
done

# 3. The component. `jco componentize` 1.35 fails here ("failed to get path
#    metadata"), so componentize-js is called directly. `-d http fetch-event`
#    keeps wasi:http out of the component's imports.
node_modules/.bin/componentize-js --wit wit --world-name checker-js \
    -d http fetch-event -o "$out.tmp" src/checker.js
mv -f "$out.tmp" "$out"

echo "built $out ($(wc -c <"$out") bytes)"
