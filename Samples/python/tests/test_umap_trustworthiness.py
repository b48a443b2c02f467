"""Cross-check of `harmony umap` with scikit-learn: the trustworthiness of the cell_lines layout (k = 15) as
sklearn.manifold.trustworthiness computes it must reach 0.9, the same bar the Swift test sets with its own
implementation of the formula."""

import gzip
import os
import subprocess

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from binaries import binary

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared")


def read_table(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return header, [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def test_cell_lines_layout_trustworthiness(tmp_path):
    pcs = os.path.join(SHARED, "data", "cell_lines", "pcs.tsv.gz")
    if not os.path.exists(pcs):
        pytest.fail(f"{pcs} is missing: the shared data sets must sit next to the checkout")
    out = tmp_path / "layout.tsv"
    subprocess.run([binary("harmony"), "umap", pcs, "--out", str(out), "--quiet"], check=True)
    _, ids, x = read_table(pcs)
    header, layout_ids, y = read_table(str(out))
    assert header == ["cell_id", "UMAP1", "UMAP2"]
    assert layout_ids == ids
    t = trustworthiness(x, y, n_neighbors=15)
    print(f"sklearn trustworthiness of the cell_lines layout: {t:.4f}")
    assert t >= 0.9
