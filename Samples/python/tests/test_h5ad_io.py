"""`harmony fit` and `harmony lisi` on AnnData .h5ad files: the embedding from obsm, the metadata from obs, and
an .h5ad output that anndata and scanpy read back."""

import os
import subprocess

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from binaries import binary

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Tests", "Fixtures", "expression")


def run(*args):
    return subprocess.run([binary("harmony"), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def data(tmp_path):
    """300 cells in two batches (the second shifted) and three types, as an .h5ad with obsm['X_pca']."""
    rng = np.random.default_rng(7)
    n, d = 300, 10
    types = rng.integers(0, 3, size=n)
    batch = np.where(np.arange(n) % 2 == 0, "b1", "b2")
    centres = rng.normal(scale=4, size=(3, d))
    x = centres[types] + rng.normal(size=(n, d)) + (batch == "b2")[:, None] * 2.5
    obs = pd.DataFrame({"batch": pd.Categorical(batch), "cell_type": [f"t{t}" for t in types],
                        "depth": rng.integers(500, 5000, size=n)},
                       index=pd.Index([f"cell{i}" for i in range(n)]))
    adata = ad.AnnData(obs=obs, obsm={"X_pca": x.astype(np.float32)})
    path = tmp_path / "in.h5ad"
    adata.write_h5ad(path, compression="gzip")
    return path, adata


def test_fit_writes_an_h5ad_that_anndata_and_scanpy_read(tmp_path, data):
    path, adata = data
    out = tmp_path / "out.h5ad"
    r = run("fit", str(path), "--basis", "X_pca", "--vars", "batch", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    # The same fit written as text: the .h5ad's obsm must hold the same numbers (float32 both ways).
    text = tmp_path / "out.tsv"
    r = run("fit", str(path), "--basis", "X_pca", "--vars", "batch", "--out", str(text), "--quiet")
    assert r.returncode == 0, r.stderr
    expected = pd.read_csv(text, sep="\t", index_col=0)

    back = ad.read_h5ad(out)
    assert list(back.obs_names) == list(adata.obs_names)
    assert back.n_vars == 0
    assert isinstance(back.obs["batch"].dtype, pd.CategoricalDtype)
    assert list(back.obs["batch"].astype(str)) == list(adata.obs["batch"].astype(str))
    assert list(back.obs["cell_type"].astype(str)) == list(adata.obs["cell_type"])
    np.testing.assert_array_equal(back.obs["depth"].to_numpy(), adata.obs["depth"].to_numpy().astype(float))
    z = back.obsm["X_pca_harmony"]
    assert z.dtype == np.float32 and z.shape == (300, 10)
    assert list(expected.index) == list(back.obs_names)
    np.testing.assert_allclose(z, expected.to_numpy(), rtol=1e-5, atol=1e-5)
    assert back.uns["harmony"]["vars"] == "batch"
    assert back.uns["harmony"]["basis"] == "X_pca"
    assert '"theta"' in back.uns["harmony"]["parameters"]

    import scanpy as sc
    sc.pp.neighbors(back, use_rep="X_pca_harmony", n_neighbors=10)
    assert back.obsp["connectivities"].shape == (300, 300)


def test_lisi_reads_obs_and_obsm(tmp_path, data):
    path, adata = data
    r = run("lisi", str(path), "--basis", "X_pca", "--vars", "batch,cell_type")
    assert r.returncode == 0, r.stderr
    # The same scores from a text embedding and metadata table.
    emb, meta = tmp_path / "x.tsv", tmp_path / "meta.tsv"
    pd.DataFrame(adata.obsm["X_pca"].astype(np.float64), index=adata.obs_names).to_csv(emb, sep="\t", index_label="cell")
    adata.obs.to_csv(meta, sep="\t", index_label="cell")
    r2 = run("lisi", str(emb), "--meta", str(meta), "--vars", "batch,cell_type")
    assert r2.returncode == 0, r2.stderr
    import json
    a, b = json.loads(r.stdout), json.loads(r2.stdout)
    assert a["median"] == pytest.approx(b["median"], rel=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--vars", "batch"], "needs --basis"),
    (["--basis", "X_umap", "--vars", "batch"], "no obsm array 'X_umap'; it has 'X_pca'"),
    (["--basis", "X_pca", "--vars", "donor"], "no column 'donor'"),
])
def test_bad_h5ad_inputs_exit_2_without_output(tmp_path, data, args, message):
    path, _ = data
    out = tmp_path / "out.h5ad"
    r = run("fit", str(path), *args, "--out", str(out), "--quiet")
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and r.stderr.startswith("error: ")
    assert not out.exists() and os.listdir(tmp_path) == ["in.h5ad"]


@pytest.mark.parametrize("name, message", [
    ("broken_truncated.h5ad", "not a readable HDF5 file"),
    ("tenx_v3.h5", "--basis applies to .h5ad inputs only"),
    ("current_csr.h5ad", "(obs), line 4, column 2 (batch): empty value for cell 'c4'"),
])
def test_broken_files_exit_2(tmp_path, name, message):
    out = tmp_path / "out.h5ad"
    r = run("fit", os.path.join(FIXTURES, name), "--basis", "X_pca", "--vars", "batch", "--out", str(out), "--quiet")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and message in r.stderr
    assert not out.exists()


def test_simulated_counts_as_h5ad_equal_the_10x_directory(tmp_path):
    """`harmony simulate --counts --format h5ad` streams X as CSR; anndata reads the same cells, genes and counts
    that scanpy reads from the 10x directory of the same seed, and the obs columns match meta.tsv.gz."""
    import scanpy as sc
    spec = ["simulate", "--counts", "--cells", "2500", "--genes", "300", "--batches", "3", "--types", "4",
            "--seed", "5"]
    h5ad_dir, tenx_dir = tmp_path / "h5ad", tmp_path / "tenx"
    for extra, directory in ((["--format", "h5ad"], h5ad_dir), ([], tenx_dir)):
        result = run(*spec, *extra, "--out-dir", str(directory))
        assert result.returncode == 0, result.stderr
    adata = ad.read_h5ad(h5ad_dir / "counts.h5ad")
    tenx = sc.read_10x_mtx(str(tenx_dir), var_names="gene_ids", cache=False)
    assert adata.shape == (2500, 300)
    assert list(adata.obs_names) == list(tenx.obs_names)
    assert list(adata.var["gene_ids"]) == list(tenx.var_names)
    assert adata.X.format == "csr" and adata.X.dtype == np.float32
    assert abs(adata.X - tenx.X).max() == 0
    meta = pd.read_csv(h5ad_dir / "meta.tsv.gz", sep="\t", index_col=0)
    assert list(meta.index) == list(adata.obs_names)
    for column in ("batch", "cell_type"):
        assert isinstance(adata.obs[column].dtype, pd.CategoricalDtype)
        assert list(adata.obs[column].astype(str)) == list(meta[column].astype(str))


def test_simulate_rejects_a_counts_format_for_an_embedding(tmp_path):
    result = run("simulate", "--cells", "10", "--dims", "3", "--batches", "2", "--types", "2", "--format", "h5ad",
                 "--out-dir", str(tmp_path / "x"))
    assert result.returncode != 0 and "--format must be tsv or npy" in result.stderr
