"""`tl.build_reference` from counts against `harmony reference` on the same .h5ad (kang_muscat_counts).

The reference is donor 101 (samples ctrl101 and stim101, batch key sample_id, labels cell_type). The command line
reads the subset from an .h5ad file written here; the package passes the same AnnData's matrix in memory through
the C interface. Same data, parameters and seed: the same model file, byte for byte; the embeddings are also
compared with a tolerance so that a difference is reported by size, not only as "bytes differ".
"""

import os
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp

import harmony_swift as hs
from binaries import binary

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "data",
                    "kang_muscat_counts", "counts.h5ad")
REFERENCE_SAMPLES = ["ctrl101", "stim101"]
GENES = 500   # of the set's 1,267 genes, so that the variable-gene selection really chooses


def kang():
    import anndata
    path = os.path.normpath(DATA)
    if not os.path.exists(path):
        pytest.fail(f"shared data missing: {path}")
    return anndata.read_h5ad(path)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The donor-101 AnnData and what `harmony reference` writes for it."""
    out = tmp_path_factory.mktemp("reference_counts")
    adata = kang()
    ref = adata[adata.obs["sample_id"].isin(REFERENCE_SAMPLES)].copy()
    ref.write_h5ad(out / "ref.h5ad")
    result = subprocess.run(
        [binary("harmony"), "reference", str(out / "ref.h5ad"), "--vars", "sample_id", "--labels", "cell_type",
         "--genes", str(GENES), "--out", str(out / "cli.hmod"), "--pcs-out", str(out / "pcs.npy"),
         "--corrected-out", str(out / "corrected.npy"), "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return ref, out


def relative_error(got, expected):
    return float(np.abs(np.asarray(got, dtype=np.float64) - expected).max() / np.abs(expected).max())


def test_build_reference_from_counts_equals_harmony_reference(cli, tmp_path):
    ref, out = cli
    adata = ref.copy()
    model = hs.tl.build_reference(adata, "sample_id", label_key="cell_type", n_genes=GENES, progress=False)
    assert relative_error(adata.obsm["X_pca_reference"], np.load(out / "pcs.npy")) <= 1e-5
    assert relative_error(adata.obsm["X_pca_harmony"], np.load(out / "corrected.npy")) <= 1e-5
    assert model.has_genes and model.n_genes == GENES and model.n_dims == 20 and model.n_cells == ref.n_obs
    assert model.covariates == {"sample_id": REFERENCE_SAMPLES}
    assert model.label_name == "cell_type" and len(model.labels) == 5
    assert adata.uns["harmony"]["genes"] == GENES and adata.uns["harmony"]["method"] == "build_reference"
    model.save(tmp_path / "py.hmod")
    assert (tmp_path / "py.hmod").read_bytes() == (out / "cli.hmod").read_bytes()


@pytest.mark.parametrize("layout", ["csc", "dense_float64", "csr_int64", "csr_unsorted"])
def test_every_matrix_layout_builds_the_same_model(cli, tmp_path, layout):
    """CSR with int64 indices is read in place like int32; CSC, dense float64 and unsorted indices are
    converted once. Each gives the same model as the command line."""
    ref, out = cli
    adata = ref.copy()
    x = sp.csr_matrix(adata.X)
    if layout == "csc":
        counts = x.tocsc()
    elif layout == "dense_float64":
        counts = x.toarray().astype(np.float64)
    else:
        counts = x.copy()
        counts.indptr = counts.indptr.astype(np.int64)
        counts.indices = counts.indices.astype(np.int64)
        if layout == "csr_unsorted":   # each row's entries reversed: the same matrix, unsorted indices
            for i in range(counts.shape[0]):
                lo, hi = counts.indptr[i], counts.indptr[i + 1]
                counts.indices[lo:hi] = counts.indices[lo:hi][::-1].copy()
                counts.data[lo:hi] = counts.data[lo:hi][::-1].copy()
            counts.has_sorted_indices = False
            counts.has_canonical_format = False
    adata.layers["counts"] = counts
    model = hs.tl.build_reference(adata, "sample_id", label_key="cell_type", layer="counts", n_genes=GENES,
                                  progress=False)
    model.save(tmp_path / "layout.hmod")
    assert (tmp_path / "layout.hmod").read_bytes() == (out / "cli.hmod").read_bytes()


def test_build_reference_from_counts_rejects_bad_values(cli):
    ref, _ = cli
    adata = ref.copy()
    x = sp.csr_matrix(adata.X, dtype=np.float32)
    x.data[x.indptr[7]] = -1.0   # the first stored value of the eighth cell
    adata.X = x
    with pytest.raises(hs.HarmonyError, match=f"cell {adata.obs_names[7]}"):
        hs.tl.build_reference(adata, "sample_id", n_genes=GENES, progress=False)
    assert "X_pca_harmony" not in adata.obsm
    with pytest.raises(hs.HarmonyError, match="layers has no 'counts'"):
        hs.tl.build_reference(ref.copy(), "sample_id", layer="counts", progress=False)


def test_projecting_the_reference_counts_gives_its_pcs(cli):
    """The gene-space projection (query path) applied to the reference's own counts reproduces the PCs the
    build computed (PCA path): an independent route to the same numbers."""
    ref, out = cli
    model = hs.Reference.load(out / "cli.hmod")
    mapped = model.map_expression(ref.X, (None, list(ref.var_names)), ref.obs["sample_id"], "sample_id",
                                  ids=list(ref.obs_names))
    assert relative_error(mapped.projection, np.load(out / "pcs.npy")) <= 1e-5


def test_map_query_from_counts_equals_harmony_map(cli, tmp_path):
    """Donor 107's counts mapped in memory equal `harmony map` of the same .h5ad: the projection, the mapped
    embedding, labels, confidences, clusters and mapping distances."""
    import pandas as pd
    _, out = cli
    adata = kang()
    # Every tenth gene left out of the query: those reference genes stand at the reference mean.
    query = adata[~adata.obs["sample_id"].isin(REFERENCE_SAMPLES), np.arange(adata.n_vars) % 10 != 0].copy()
    query.write_h5ad(tmp_path / "query.h5ad")
    result = subprocess.run(
        [binary("harmony"), "map", str(tmp_path / "query.h5ad"), "--reference", str(out / "cli.hmod"),
         "--batch-key", "sample_id", "--out", str(tmp_path / "z.npy"), "--projection-out", str(tmp_path / "proj.npy"),
         "--predictions", str(tmp_path / "pred.tsv"), "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    hs.tl.map_query(query, hs.Reference.load(out / "cli.hmod"), "sample_id")
    assert relative_error(query.obsm["X_pca_reference"], np.load(tmp_path / "proj.npy")) <= 1e-6
    assert relative_error(query.obsm["X_pca_harmony"], np.load(tmp_path / "z.npy")) <= 1e-6
    expected = pd.read_csv(tmp_path / "pred.tsv", sep="\t", index_col=0, keep_default_na=False).loc[query.obs_names]
    assert list(query.obs["harmony_label"].astype(str)) == list(expected["label"])
    np.testing.assert_allclose(query.obs["harmony_label_confidence"], expected["confidence"], rtol=1e-6)
    assert list(query.obs["harmony_cluster"].astype(int)) == list(expected["cluster"])
    np.testing.assert_allclose(query.obs["harmony_cluster_probability"], expected["cluster_prob"], rtol=1e-6)
    np.testing.assert_allclose(query.obs["harmony_mapping_distance"], expected["mapping_distance"], rtol=1e-6)
    assert query.uns["harmony"]["min_overlap"] == 0.5
    # Donor 107's cell types are recovered from donor 101's reference.
    assert (query.obs["harmony_label"].astype(str) == query.obs["cell_type"].astype(str)).mean() > 0.85


def test_map_query_refuses_a_query_with_other_genes(cli):
    _, out = cli
    adata = kang()
    query = adata[adata.obs["sample_id"] == "ctrl107"].copy()
    query.var_names = [f"OTHER{i}" for i in range(query.n_vars)]
    query.var["gene_ids"] = [f"ID{i}" for i in range(query.n_vars)]
    with pytest.raises(hs.HarmonyError, match="below the minimum overlap"):
        hs.tl.map_query(query, hs.Reference.load(out / "cli.hmod"), "sample_id")


def test_reference_with_layout_equals_harmony_reference_layout(cli, tmp_path):
    """`harmony reference --layout` and `build_reference(layout=True)` write the same format-3 model file; the
    stored layout is `harmony umap` of the corrected reference (same settings and seed)."""
    ref, out = cli
    result = subprocess.run(
        [binary("harmony"), "reference", str(out / "ref.h5ad"), "--vars", "sample_id", "--labels", "cell_type",
         "--genes", str(GENES), "--layout", "--layout-neighbors", "10", "--layout-min-dist", "0.2", "--seed", "3",
         "--out", str(tmp_path / "cli.hmod"), "--corrected-out", str(tmp_path / "corrected.npy"), "--quiet"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    adata = ref.copy()
    model = hs.tl.build_reference(adata, "sample_id", label_key="cell_type", n_genes=GENES, progress=False,
                                  random_state=3, layout=True, layout_params={"n_neighbors": 10, "min_dist": 0.2})
    model.save(tmp_path / "py.hmod")
    assert (tmp_path / "py.hmod").read_bytes() == (tmp_path / "cli.hmod").read_bytes()
    assert (tmp_path / "cli.hmod").read_bytes()[8] == 3
    subprocess.run([binary("harmony"), "umap", str(tmp_path / "corrected.npy"), "--out", str(tmp_path / "umap.npy"),
                    "--neighbors", "10", "--min-dist", "0.2", "--seed", "3", "--quiet"], check=True)
    assert np.array_equal(hs.Reference.load(tmp_path / "cli.hmod").layout, np.load(tmp_path / "umap.npy"))
    assert np.array_equal(adata.obsm["X_umap"], np.load(tmp_path / "umap.npy"))
    # --layout needs the reference cells.
    refused = subprocess.run([binary("harmony"), "reference", str(out / "ref.h5ad"), "--vars", "sample_id",
                              "--compact", "--layout", "--out", str(tmp_path / "x.hmod")], capture_output=True, text=True)
    assert refused.returncode == 2 and "--compact" in refused.stderr and not (tmp_path / "x.hmod").exists()
