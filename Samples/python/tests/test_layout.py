"""tl.umap, tl.lisi and the placement of query cells on a layout, in process, against the command line on the
same numbers (cell_lines): `harmony umap` bit for bit, `harmony lisi --per-cell` to 1e-12, `harmony plot mapping
--placed-out` bit for bit."""

import subprocess

import numpy as np
import pandas as pd
import pytest

import harmony_swift as hs
from harmony_swift import _core
from binaries import binary
from shared_data import cell_lines, write_meta, write_npy


@pytest.fixture(scope="module")
def data():
    return cell_lines()


def test_umap_equals_harmony_umap(data, tmp_path):
    ids = list(data.obs_names)
    write_npy(tmp_path / "pcs.npy", data.obsm["X_pca"], ids)
    subprocess.run([binary("harmony"), "umap", str(tmp_path / "pcs.npy"), "--out", str(tmp_path / "umap.npy"),
                    "--neighbors", "10", "--min-dist", "0.3", "--epochs", "120", "--seed", "7", "--quiet"], check=True)
    expected = np.load(tmp_path / "umap.npy")
    assert open(tmp_path / "umap.ids.txt").read().split() == ids
    hs.tl.umap(data, use_rep="X_pca", n_neighbors=10, min_dist=0.3, maxiter=120, random_state=7)
    got = data.obsm["X_umap"]
    assert got.dtype == np.float32 and got.shape == (data.n_obs, 2)
    assert np.array_equal(got, expected)   # the same code on the same doubles: the same bits
    assert data.uns["umap"]["params"]["use_rep"] == "X_pca"
    # Another seed gives another layout (the seed reaches the library).
    other = _core.umap_layout(data.obsm["X_pca"], n_neighbors=10, min_dist=0.3, maxiter=120, random_state=8)
    assert not np.array_equal(other, got)


def test_lisi_equals_harmony_lisi(data, tmp_path):
    ids = list(data.obs_names)
    write_npy(tmp_path / "pcs.npy", data.obsm["X_pca"], ids)
    write_meta(tmp_path / "meta.tsv", data.obs)
    subprocess.run([binary("harmony"), "lisi", str(tmp_path / "pcs.npy"), "--meta", str(tmp_path / "meta.tsv"),
                    "--vars", "dataset,cell_type", "--perplexity", "20", "--per-cell", str(tmp_path / "lisi.tsv")],
                   check=True, capture_output=True)
    expected = pd.read_csv(tmp_path / "lisi.tsv", sep="\t", index_col=0, float_precision="round_trip")
    hs.tl.lisi(data, ["dataset", "cell_type"], use_rep="X_pca", perplexity=20)
    for column in ("lisi_dataset", "lisi_cell_type"):
        got = data.obs[column].to_numpy()
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected.loc[ids, column].to_numpy(), rtol=0, atol=1e-12)
    # Before integration the three datasets barely mix (most cells see one batch) and the types stay apart.
    assert np.median(data.obs["lisi_dataset"]) < 1.5 and np.median(data.obs["lisi_cell_type"]) < 1.1


def test_placement_equals_harmony_plot_mapping(data, tmp_path):
    pcs = np.asarray(data.obsm["X_pca"])
    ids = np.asarray(data.obs_names)
    query_rows = np.arange(0, data.n_obs, 5)
    reference_rows = np.setdiff1d(np.arange(data.n_obs), query_rows)
    reference, query = pcs[reference_rows], pcs[query_rows]
    layout = _core.umap_layout(reference, maxiter=100, random_state=1)
    write_npy(tmp_path / "ref.npy", reference, ids[reference_rows])
    write_npy(tmp_path / "layout.npy", layout, ids[reference_rows])
    write_npy(tmp_path / "query.npy", query, ids[query_rows])
    write_meta(tmp_path / "meta.tsv", data.obs.iloc[reference_rows])
    subprocess.run([binary("harmony"), "plot", "mapping", "--reference", str(tmp_path / "ref.npy"),
                    "--reference-meta", str(tmp_path / "meta.tsv"), "--color-by", "cell_type",
                    "--reference-layout", str(tmp_path / "layout.npy"), "--query", str(tmp_path / "query.npy"),
                    "--seed", "1", "--out", str(tmp_path / "mapping.png"), "--placed-out", str(tmp_path / "placed.npy")],
                   check=True)
    expected = np.load(tmp_path / "placed.npy")
    got = _core.place_on_layout(reference, layout, query, random_state=1)
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    # Each placed cell lands among reference cells of its own type (nearest reference cell in 2-D).
    types = data.obs["cell_type"].to_numpy()
    nearest = np.argmin(((got[:, None, :] - layout[None, :, :]) ** 2).sum(-1), axis=1)
    agree = np.mean(types[reference_rows][nearest] == types[query_rows])
    assert agree >= 0.95


def test_errors_carry_the_library_message(data):
    bad = np.array(data.obsm["X_pca"][:200])
    bad[17, 3] = np.nan
    with pytest.raises(hs.HarmonyError, match="cell 18, dimension 4"):
        _core.umap_layout(bad)
    with pytest.raises(hs.HarmonyError, match="needs more than 15 cells"):
        _core.umap_layout(bad[:10])
    with pytest.raises(hs.HarmonyError, match="perplexity"):
        _core.lisi_scores(data.obsm["X_pca"][:50], [("dataset", data.obs["dataset"][:50])], perplexity=60)
    missing = data.obs["dataset"].astype(object).to_numpy()[:300].copy()
    missing[5] = None
    with pytest.raises(hs.HarmonyError, match="missing value"):
        _core.lisi_scores(data.obsm["X_pca"][:300], [("dataset", missing)])
    with pytest.raises(hs.HarmonyError, match="2 columns|x 2"):
        _core.place_on_layout(data.obsm["X_pca"][:100], np.zeros((100, 3)), data.obsm["X_pca"][:5])
    with pytest.raises(hs.HarmonyError, match="dimensions"):
        _core.place_on_layout(data.obsm["X_pca"][:100], np.zeros((100, 2)), data.obsm["X_pca"][:5, :10])
