"""`harmony map` of counts against the Python pipeline that users run today: scanpy + harmonypy + symphonypy.

Data: kang_muscat_counts; reference donor 101 (samples ctrl101 and stim101, batch key sample_id), query donor 107.
Our side: `harmony reference` from the reference counts, then `harmony map` of the query's counts with Symphony's
settings (--joint --query-lambda 1 --sigma 0.1). Python side, on the same genes and the same PCs: scanpy's
normalize_total + log1p, the genes our reference chose, their mean and SD computed here with numpy, our
uncorrected reference PCs as X_pca with the loadings that produce them (recovered here by least squares from the
scaled reference matrix, which is exact because the loadings lie in its row space), symphonypy's
pp.harmony_integrate (harmonypy) on the reference and tl.map_embedding of the query. The corrected query must
agree per PC with r >= 0.95; the two corrected references already differ by harmonypy vs our fit
(test_reference_parity), which bounds how close the mapped queries can be.
"""

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from binaries import binary
from shared_data import path as shared_path


def run(*args):
    return subprocess.run([binary("harmony"), *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    import anndata
    import scanpy as sc
    import symphonypy as sp
    tmp = tmp_path_factory.mktemp("symphonypy")
    adata = anndata.read_h5ad(shared_path("data/kang_muscat_counts/counts.h5ad"))
    reference = adata[adata.obs["donor"].astype(str) == "101"].copy()
    query = adata[adata.obs["donor"].astype(str) == "107"].copy()
    reference.write_h5ad(tmp / "ref.h5ad")
    query.write_h5ad(tmp / "query.h5ad")

    built = run("reference", tmp / "ref.h5ad", "--vars", "sample_id", "--genes", "1000", "--out", tmp / "ref.hmod",
                "--pcs-out", tmp / "ref_pcs.tsv", "--genes-out", tmp / "genes.tsv", "--quiet")
    assert built.returncode == 0, built.stderr
    mapped = run("map", tmp / "query.h5ad", "--reference", tmp / "ref.hmod", "--batch-key", "sample_id",
                 "--joint", "--query-lambda", "1", "--sigma", "0.1", "--out", tmp / "mapped.h5ad", "--quiet")
    assert mapped.returncode == 0, mapped.stderr
    ours = anndata.read_h5ad(tmp / "mapped.h5ad")

    genes = pd.read_csv(tmp / "genes.tsv", sep="\t")["gene_id"].astype(str).tolist()
    pcs = pd.read_csv(tmp / "ref_pcs.tsv", sep="\t", index_col=0)
    assert list(pcs.index) == list(reference.obs_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in (reference, query):
            data.var_names = data.var["gene_ids"].astype(str).to_numpy()
            sc.pp.normalize_total(data, target_sum=1e4)
            sc.pp.log1p(data)
        ref = reference[:, genes].copy()
        x = ref.X.toarray() if hasattr(ref.X, "toarray") else np.asarray(ref.X)
        mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
        scaled = np.clip((x - mean) / std, -10, 10)
        scaled -= scaled.mean(axis=0)
        # Singular directions of the reference below 1e-5 of the largest carry only the rounding of the written
        # PCs (7 digits); a full-rank solve would amplify it into the loadings that the query sees.
        loadings, *_ = np.linalg.lstsq(scaled, pcs.to_numpy(), rcond=1e-5)
        assert np.abs(scaled @ loadings - pcs.to_numpy()).max() <= 1e-4 * np.abs(pcs.to_numpy()).max()
        ref.var["mean"], ref.var["std"], ref.var["highly_variable"] = mean, std, True
        ref.varm["PCs"] = loadings
        ref.obsm["X_pca"] = pcs.to_numpy()
        sp.pp.harmony_integrate(ref, key="sample_id", random_seed=0)
        theirs = query[:, genes].copy()
        sp.tl.map_embedding(theirs, ref, key="sample_id")
    assert list(theirs.obs_names) == list(ours.obs_names)
    return ours, theirs


def test_mapped_query_agrees_with_symphonypy_per_pc(both):
    ours, theirs = both
    projected_ours, projected_theirs = ours.obsm["X_pca_reference"], theirs.obsm["X_pca_reference"]
    corrected_ours, corrected_theirs = ours.obsm["X_pca_harmony"], theirs.obsm["X_pca_harmony"]
    d = corrected_ours.shape[1]
    projected = [np.corrcoef(projected_ours[:, j], projected_theirs[:, j])[0, 1] for j in range(d)]
    rs = [np.corrcoef(corrected_ours[:, j], corrected_theirs[:, j])[0, 1] for j in range(d)]
    print("per-PC r of the projection:", " ".join(f"{r:.5f}" for r in projected))
    print("per-PC r of the mapped query against symphonypy:", " ".join(f"{r:.4f}" for r in rs))
    # The projections differ by symphonypy not subtracting the reference's centring (a constant per PC) and by
    # the rounding of the loadings recovered from the written PCs.
    assert min(projected) >= 0.99999, projected
    assert min(rs) >= 0.95, rs
