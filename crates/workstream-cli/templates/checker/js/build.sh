#!/usr/bin/env bash
# Builds {{name}}.wasm, a Workstream checker component written in JavaScript.
#
#   ./build.sh         npm ci (the pinned componentize-js), WIT deps, the component
#   ./build.sh test    first the unit tests (node --test), then the same
#
# Idempotent: `npm ci` runs only when node_modules/ is missing or older than
# package-lock.json. Needs node (18+) and npm, and the npm registry on the
# first run (about 390 MB into node_modules/).
#
# Exit status 3 means the toolchain is unavailable (no node/npm, node too old,
# or `npm ci` failed: registry unreachable or no prebuilt binaries for this
# platform); the reason is on stderr. Any other non-zero status is a real
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

command -v node >/dev/null || unavailable "node not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' \
    || unavailable "node $(node --version) is older than 18"

# 1. The unit tests, under Node: the SDK needs no WASI and no component host.
if [[ "$mode" == test ]]; then
    echo "== unit tests"
    node --test tests/*.test.js
fi

# 2. The pinned toolchain (package-lock.json), in this directory only.
if [[ ! -x node_modules/.bin/componentize-js \
      || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null || unavailable "npm not found"
    echo "== npm ci (componentize-js)"
    npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 \
        || unavailable "npm ci failed (registry unreachable or unsupported platform)"
fi

# 3. WIT dependencies of wit/world.wit: the contract is in wit/deps/checker/;
#    WASI 0.2.12 comes from the pinned jco package.
wasi="node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12"
for pkg in io clocks filesystem; do
    rm -rf "wit/deps/$pkg"
    cp -R "$wasi/wasi-$pkg" "wit/deps/$pkg"
done

# 4. The component. `-d http fetch-event` keeps wasi:http out of its imports.
#    The output is written beside the target first: a failed build never
#    leaves a truncated component.
echo "== componentize-js (takes a while)"
node_modules/.bin/componentize-js --wit wit --world-name checker-js \
    -d http fetch-event -o "$out.tmp" src/component.js
mv -f "$out.tmp" "$out"

echo "built $out ($(wc -c <"$out") bytes)"
