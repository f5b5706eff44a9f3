#!/usr/bin/env bash
# Builds word_count.wasm, a Workstream checker component written in Python.
#
#   ./build.sh            venv + pinned componentize-py, bindings, component
#   ./build.sh test       also run the unit tests natively first
#
# Idempotent: reuses .venv/ when the pinned version is already installed.
# Needs python3 (3.9+, with venv and pip) and access to PyPI on the first
# run. Environment: PYTHON (interpreter, default python3), WIT_DIR (default:
# the repository's wit/ directory).
#
# Exit status 3 means the toolchain is unavailable (no suitable python3, no
# venv/pip, PyPI unreachable or no componentize-py wheel for this platform);
# the reason is on stderr. Callers such as test suites can skip on 3 and
# treat any other non-zero status as a real failure.
set -euo pipefail

unavailable() {
    echo "build.sh: toolchain unavailable: $*" >&2
    exit 3
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3}"
wit_dir="${WIT_DIR:-$here/../../../wit}"
venv="$here/.venv"
out="$here/word_count.wasm"

if [[ ! -f "$wit_dir/checker.wit" ]]; then
    echo "build.sh: no checker.wit in $wit_dir (set WIT_DIR)" >&2
    exit 1
fi

# 1. A venv private to this example, with the pinned componentize-py. The
#    wheel carries its own compiler and CPython runtime: nothing else is
#    downloaded.
if [[ ! -x "$venv/bin/python" ]]; then
    command -v "$python" >/dev/null || unavailable "$python not found"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
        || unavailable "$python is older than 3.9"
    "$python" -m venv "$venv" || { rm -rf "$venv"; unavailable "$python -m venv failed"; }
fi
want="$(sed -n 's/^componentize-py==//p' requirements.txt)"
have="$("$venv/bin/python" -m pip show componentize-py 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [[ "$have" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 1 --timeout 30 -r requirements.txt \
        || unavailable "pip could not install componentize-py==$want (PyPI unreachable or no wheel for this platform)"
fi
cpy="$venv/bin/componentize-py"

# 2. Python bindings for the world, for editors, type checkers and the native
#    unit tests. `componentize` generates its own copy; this one is not
#    bundled.
rm -rf bindings
"$cpy" -d "$wit_dir" -w checker bindings bindings

if [[ "${1:-}" == "test" ]]; then
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="src:bindings" \
        "$venv/bin/python" -m unittest discover -s tests -q
fi

# 3. The component: src/ plus the Python stdlib. componentize-py also adds
#    $VIRTUAL_ENV's site-packages to the path; point it at an empty one so
#    nothing from the build venv can end up in the component. The output is
#    written beside the target first: a failed build never leaves a
#    truncated component.
mkdir -p "$venv/empty/lib/python/site-packages"
rm -rf src/__pycache__
VIRTUAL_ENV="$venv/empty" "$cpy" -d "$wit_dir" -w checker componentize -p src app -o "$out.tmp"
mv -f "$out.tmp" "$out"

echo "built $out ($(wc -c <"$out") bytes)"
