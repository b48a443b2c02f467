"""The AnnData the package writes survives write_h5ad / read_h5ad and scanpy's neighbour graph."""

import numpy as np
import pandas as pd

import harmony_swift as hs
from shared_data import cell_lines


# Exact neighbours (scikit-learn's transformer): scanpy 1.11.5 picks pynndescent above 4,096 cells, whose sparse
# array lacks `getnnz` under scipy 1.17, a failure inside scanpy that has nothing to do with the AnnData.
NEIGHBORS = dict(use_rep="X_pca_harmony", n_neighbors=10, transformer="sklearn")


def test_h5ad_round_trip_and_scanpy_neighbors(tmp_path):
    import anndata
    import scanpy as sc
    adata = cell_lines()
    ref = adata[adata.obs["dataset"] != "half"].copy()
    query = adata[adata.obs["dataset"] == "half"].copy()
    model = hs.tl.build_reference(ref, "dataset", "X_pca", label_key="cell_type", progress=False)
    hs.tl.map_query(query, model, "dataset")
    hs.pp.harmony_integrate(adata, "dataset", progress=False)
    for name, data in [("full", adata), ("ref", ref), ("query", query)]:
        data.write_h5ad(tmp_path / f"{name}.h5ad")
        back = anndata.read_h5ad(tmp_path / f"{name}.h5ad")
        assert np.array_equal(back.obsm["X_pca_harmony"], data.obsm["X_pca_harmony"])
        assert back.uns["harmony"]["method"] == data.uns["harmony"]["method"]
        sc.pp.neighbors(back, **NEIGHBORS)
        assert back.obsp["connectivities"].shape == (back.n_obs, back.n_obs)
    back = anndata.read_h5ad(tmp_path / "query.h5ad")
    assert isinstance(back.obs["harmony_label"].dtype, pd.CategoricalDtype)
    assert list(back.obs["harmony_label"]) == list(query.obs["harmony_label"])
    assert back.uns["harmony"]["reference"]["label_name"] == "cell_type"
    full = anndata.read_h5ad(tmp_path / "full.h5ad")
    np.testing.assert_array_equal(full.uns["harmony"]["objective"], adata.uns["harmony"]["objective"])
    # After integration the cell lines, not the libraries, define the neighbourhoods: most neighbours of a
    # 'half' jurkat cell are jurkat cells of any library.
    sc.pp.neighbors(full, **NEIGHBORS)
    graph = full.obsp["connectivities"].tocsr()
    types = full.obs["cell_type"].to_numpy()
    same = [np.mean(types[graph[i].indices] == types[i]) for i in range(0, full.n_obs, 50)]
    assert np.mean(same) > 0.9
