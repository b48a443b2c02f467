#!/bin/sh
# Runs the Python client's tests. HARMONY_BIN_DIR must hold the built `harmony` (and, for end-to-end tests,
# `harmonyd`); by default the release build of this checkout.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export HARMONY_BIN_DIR="${HARMONY_BIN_DIR:-$root/.build/release}"
exec python3 -m pytest -q "$here/tests" "$@"
