#!/usr/bin/env bash
# Builds {{name}}.wasm, a Workstream checker component written in Python.
#
#   ./build.sh         venv with the pinned componentize-py, then the component
#   ./build.sh test    first the unit tests (python -m unittest), then the same
#
# Idempotent: reuses .venv/ when the pinned componentize-py (requirements.txt)
# is installed. Needs python3 (3.9+, with venv and pip) and PyPI on the first
# run; the componentize-py wheel carries its own compiler and CPython runtime.
# Environment: PYTHON (interpreter for the venv, default python3).
#
# Exit status 3 means the toolchain is unavailable (no suitable python3, no
# venv/pip, PyPI unreachable or no componentize-py wheel for this platform);
# the reason is on stderr. Any other non-zero status is a real failure.
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
python="${PYTHON:-python3}"
venv="$here/.venv"
out="$here/{{name}}.wasm"
# The app (src/) and the vendored SDK: the component's Python path.
pythonpath="src:workstream-checker-sdk"

# 1. A venv private to this project, with the pinned componentize-py.
if [[ ! -x "$venv/bin/python" ]]; then
    command -v "$python" >/dev/null || unavailable "$python not found"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
        || unavailable "$python is older than 3.9"
    "$python" -m venv "$venv" || { rm -rf "$venv"; unavailable "$python -m venv failed"; }
fi

# 2. The unit tests, natively: the SDK needs no bindings and no component host.
if [[ "$mode" == test ]]; then
    echo "== unit tests"
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$pythonpath" \
        "$venv/bin/python" -m unittest discover -s tests -t tests
fi

want="$(sed -n 's/^componentize-py==//p' requirements.txt)"
have="$("$venv/bin/python" -m pip show componentize-py 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [[ "$have" != "$want" ]]; then
    echo "== installing componentize-py $want into .venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 1 \
        --timeout 60 -r requirements.txt \
        || unavailable "pip could not install componentize-py==$want (PyPI unreachable or no wheel for this platform)"
fi

# 3. The component: the `checker` world of wit/checker.wit, app module `app`.
#    componentize-py also bundles $VIRTUAL_ENV's site-packages: point it at an
#    empty one so nothing from the build venv ends up in the component. The
#    output is written beside the target first: a failed build never leaves a
#    truncated component.
echo "== componentize-py (takes a while)"
mkdir -p "$venv/empty/lib/python/site-packages"
find src workstream-checker-sdk -name __pycache__ -type d -prune -exec rm -rf {} +
VIRTUAL_ENV="$venv/empty" "$venv/bin/componentize-py" -d wit -w checker componentize \
    -p src -p workstream-checker-sdk app -o "$out.tmp"
mv -f "$out.tmp" "$out"

echo "built $out ($(wc -c <"$out") bytes)"
