#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Harmony for Swift. Idempotent.
# - C libraries: OpenBLAS, libuv, zlib, ISA-L (gzip inflate), HDF5 (AnnData .h5ad and 10x .h5), cairo and a font (`harmony plot`);
#   patchelf (makes the Python wheel relocatable); python3-venv (the wheel test uses a fresh venv); Open MPI
#   (libopenmpi-dev, openmpi-bin: the distributed fit harmony-mpi and its tests).
# - Python modules of the package and its tests: numpy, pytest, h5py, anndata, scanpy, scikit-misc (scanpy's
#   seurat_v3 variable genes), scikit-learn (the UMAP cross-check), harmonypy and symphonypy (parity tests).
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need=()
for pkg in libopenblas-dev libuv1-dev zlib1g-dev libisal-dev libhdf5-dev libcairo2-dev fonts-dejavu-core pkg-config \
           patchelf python3-venv python3-pip libopenmpi-dev openmpi-bin; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# pip, or Debian's package where pip may not install. Each entry: import name, pip name, Debian package.
for module in numpy:numpy:python3-numpy pytest:pytest:python3-pytest h5py:h5py:python3-h5py \
              anndata:anndata:python3-anndata scanpy:scanpy:python3-scanpy skmisc:scikit-misc:- \
              sklearn:scikit-learn:python3-sklearn matplotlib:matplotlib:python3-matplotlib \
              harmonypy:harmonypy:- symphonypy:symphonypy:-; do
    IFS=: read -r import pip_name deb_name <<< "$module"
    python3 -c "import $import" 2>/dev/null && continue
    echo "setup: installing the Python module $pip_name" >&2
    python3 -m pip install -q "$pip_name" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "$pip_name" 2>/dev/null \
        || { [ "$deb_name" != "-" ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb_name" >/dev/null; } \
        || { echo "setup: could not install $pip_name" >&2; exit 1; }
done
