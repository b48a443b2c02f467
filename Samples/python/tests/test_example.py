"""The notebook-style example runs and writes what it says."""

import os
import subprocess
import sys

import anndata

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "integrate_and_map.py")


def test_integrate_and_map_example(tmp_path):
    run = subprocess.run([sys.executable, EXAMPLE, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    accuracy = float(run.stdout.split("label accuracy ")[1].split(";")[0])
    assert accuracy > 0.9
    query = anndata.read_h5ad(tmp_path / "query_mapped.h5ad")
    assert query.n_obs > 0 and query.obsm["X_pca_harmony"].shape == (query.n_obs, 20)
    assert "connectivities" in anndata.read_h5ad(tmp_path / "integrated.h5ad").obsp
    assert (tmp_path / "reference.hmod").stat().st_size > 0


PICTURES = os.path.join(os.path.dirname(__file__), "..", "examples", "pictures.py")


def test_pictures_example(tmp_path):
    run = subprocess.run([sys.executable, PICTURES, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    names = ["convergence.png", "embedding.png", "lisi.png", "mapping.png"]
    for name in names:
        # Named on stdout, written, and a picture (PNG signature) of some size.
        assert f"wrote {tmp_path / name}" in run.stdout
        with open(tmp_path / name, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / name).stat().st_size > 10_000
    assert float(run.stdout.split("label accuracy ")[1].split()[0]) > 0.9
