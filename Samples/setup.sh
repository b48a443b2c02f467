#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Harmony for Swift:
# the C libraries (OpenBLAS, libuv, zlib, cairo and a font for `harmony plot`) and the Python test tools
# (numpy, pytest, scikit-learn for the UMAP cross-check). Idempotent.
set -euo pipefail
need=()
for pkg in libopenblas-dev libuv1-dev zlib1g-dev libcairo2-dev fonts-dejavu-core pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# numpy (the Python client), pytest (its tests) and scikit-learn (the UMAP cross-check): pip, or Debian's
# packages where pip may not install.
# Each entry: import name, pip name, Debian package.
for module in numpy:numpy:python3-numpy pytest:pytest:python3-pytest sklearn:scikit-learn:python3-sklearn; do
    IFS=: read -r import pip_name deb_name <<< "$module"
    python3 -c "import $import" 2>/dev/null && continue
    python3 -m pip install -q "$pip_name" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "$pip_name" 2>/dev/null \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; \
             DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb_name" >/dev/null; }
done
