#!/bin/sh
# Runs the Python package's tests against the installed package (`pip install ./Samples/python` first).
# HARMONY_BIN_DIR must hold the built `harmony` and `harmonyd`; by default the release build of this checkout.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export HARMONY_BIN_DIR="${HARMONY_BIN_DIR:-$root/.build/release}"
exec python3 -m pytest -q "$here/tests" "$@"
