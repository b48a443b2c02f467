#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the whole test suite: the Swift tests (release build, since the
# numerical and end-to-end tests fit real data sets), then installs the Python package (harmony_swift, which
# builds libHarmonyC with SwiftPM) and runs its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1; then
    echo "test: the Swift 6 toolchain is needed and 'swift' is not on the PATH." >&2
    echo "      Install it (https://www.swift.org/install/linux/) and add its usr/bin to PATH, then run again." >&2
    exit 1
fi
Samples/setup.sh
# Code tuned for this machine's CPU (see Package.swift); the tests run here, nothing is distributed.
export HARMONY_NATIVE=1
# Everything is built with the MPI fit (harmony-mpi), whose tests run it under mpirun. The variable is set for
# every SwiftPM call here: a manifest evaluated with and without it would rebuild the package each time.
export HARMONY_MPI=1
swift build -c release
swift test -c release -Xswiftc -enable-testing
# pip refuses to install into Debian's own Python unless told to (PEP 668, an EXTERNALLY-MANAGED marker).
pip_flags=()
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' \
    && pip_flags+=(--break-system-packages)
python3 -m pip install -q "${pip_flags[@]}" ./Samples/python
HARMONY_BIN_DIR="$(swift build -c release --show-bin-path)" python3 -m pytest -q Samples/python/tests
