#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the whole test suite: the Swift tests (release build, since the
# numerical and end-to-end tests fit real data sets) and the Python client's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
Samples/setup.sh
swift build -c release
swift test -c release -Xswiftc -enable-testing
if [ -d Samples/python/tests ]; then
    HARMONY_BIN_DIR="$(swift build -c release --show-bin-path)" python3 -m pytest -q Samples/python/tests
fi
