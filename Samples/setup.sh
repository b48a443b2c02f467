#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Harmony for Swift:
# the C libraries (OpenBLAS, libuv, zlib), numpy for the Python client and the Python packages its tests compare
# with (pytest, anndata, scanpy, scikit-misc, harmonypy). Idempotent.
set -euo pipefail
need=()
for pkg in libopenblas-dev libuv1-dev zlib1g-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# numpy (the Python client) and pytest (its tests): pip, or Debian's packages where pip may not install.
for module in numpy pytest; do
    python3 -c "import $module" 2>/dev/null && continue
    python3 -m pip install -q "$module" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "$module" 2>/dev/null \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; \
             DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "python3-$module" >/dev/null; }
done
# The reference-building parity tests compare with scanpy (its seurat_v3 gene selection needs scikit-misc's loess)
# and harmonypy: pip only (module:package).
for pair in anndata:anndata scanpy:scanpy skmisc:scikit-misc harmonypy:harmonypy; do
    module=${pair%%:*}; package=${pair#*:}
    python3 -c "import $module" 2>/dev/null && continue
    python3 -m pip install -q "$package" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "$package"
done
