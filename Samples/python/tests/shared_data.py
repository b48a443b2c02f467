"""The shared test data beside the checkout (`<repo>/../shared`), read as an AnnData; a missing file fails the
test (never skips it)."""

import os

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHARED = os.path.join(REPO, "..", "shared")


def path(relative):
    full = os.path.join(SHARED, relative)
    if not os.path.exists(full):
        pytest.fail(f"shared test data {full} is missing (the tests expect ../shared beside the checkout)")
    return full


def cell_lines():
    """cell_lines as an AnnData: obsm['X_pca'] float64 (the file's exact doubles), obs with dataset and cell_type."""
    import anndata
    import pandas as pd
    pcs = pd.read_csv(path("data/cell_lines/pcs.tsv.gz"), sep="\t", index_col=0)
    meta = pd.read_csv(path("data/cell_lines/meta.tsv.gz"), sep="\t", index_col=0).loc[pcs.index]
    adata = anndata.AnnData(obs=meta[["dataset", "cell_type"]].astype(str))
    adata.obsm["X_pca"] = np.ascontiguousarray(pcs.to_numpy(dtype=np.float64))
    return adata


def write_npy(path_npy, matrix, ids):
    """An embedding the command line reads: NAME.npy plus the NAME.ids.txt sidecar."""
    np.save(path_npy, matrix)
    with open(str(path_npy)[:-4] + ".ids.txt", "w") as fh:
        fh.write("".join(f"{i}\n" for i in ids))


def write_meta(path_tsv, obs):
    obs.to_csv(path_tsv, sep="\t", index_label="cell_id")
