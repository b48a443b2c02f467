#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Harmony for Swift:
# the C libraries (OpenBLAS, libuv, zlib), patchelf (makes the Python wheel relocatable), and the Python
# modules of the Python package and its tests (numpy, pytest, anndata, scanpy). Idempotent.
set -euo pipefail
need=()
for pkg in libopenblas-dev libuv1-dev zlib1g-dev pkg-config patchelf; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# numpy (the Python package), pytest, anndata and scanpy (its tests): pip, or Debian's packages where pip may
# not install (Debian's python3-anndata / python3-scanpy where they exist).
for module in numpy pytest anndata scanpy; do
    python3 -c "import $module" 2>/dev/null && continue
    python3 -m pip install -q "$module" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "$module" 2>/dev/null \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; \
             DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "python3-$module" >/dev/null; }
done
# venv with pip (the wheel test installs the wheel into a fresh virtual environment): Debian ships it apart.
if ! python3 -c "import ensurepip" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
