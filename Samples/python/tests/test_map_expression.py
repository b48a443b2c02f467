"""`harmony map` of expression queries on real counts (kang_muscat_counts).

The reference is built by `harmony reference` from donor 101's counts (samples ctrl101 and stim101, batch key
sample_id, labels cell_type, 1,000 variable genes); donor 107's counts are then mapped as an .h5ad, as a 10x
directory, and as bad variants of it. Expected values come from the data's own annotations (obs cell_type),
never from the code under test.
"""

import os
import subprocess

import numpy as np
import pytest

from binaries import binary
from shared_data import path as shared_path
from test_map_kang import auroc

GENES = "1000"


def run(*args, timeout=300):
    return subprocess.run([binary("harmony"), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def split(tmp, leave_out=None):
    """Writes ref.h5ad (donor 101, without `leave_out`) and query.h5ad (donor 107); returns the query AnnData."""
    import anndata
    adata = anndata.read_h5ad(shared_path("data/kang_muscat_counts/counts.h5ad"))
    reference = adata[(adata.obs["donor"].astype(str) == "101") & (adata.obs["cell_type"] != leave_out)].copy()
    query = adata[adata.obs["donor"].astype(str) == "107"].copy()
    reference.write_h5ad(tmp / "ref.h5ad")
    query.write_h5ad(tmp / "query.h5ad")
    return query


def build_reference(tmp):
    built = run("reference", tmp / "ref.h5ad", "--vars", "sample_id", "--labels", "cell_type", "--genes", GENES,
                "--out", tmp / "ref.hmod", "--pcs-out", tmp / "ref_pcs.tsv", "--quiet")
    assert built.returncode == 0, built.stderr


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """Reference from donor 101, donor 107 mapped from its .h5ad into an .h5ad with a projection table."""
    tmp = tmp_path_factory.mktemp("kang_expression")
    query = split(tmp)
    build_reference(tmp)
    result = run("map", tmp / "query.h5ad", "--reference", tmp / "ref.hmod", "--batch-key", "sample_id",
                 "--out", tmp / "mapped.h5ad", "--predictions", tmp / "pred.tsv", "--projection-out", tmp / "proj.tsv")
    assert result.returncode == 0, result.stderr
    return {"dir": tmp, "query": query, "stderr": result.stderr}


def test_labels_transfer_from_counts(mapped):
    import anndata
    out = anndata.read_h5ad(mapped["dir"] / "mapped.h5ad")
    query = mapped["query"]
    assert list(out.obs_names) == list(query.obs_names)
    assert "gene overlap: 1000 of the reference's 1000 genes" in mapped["stderr"]
    # obs: the query's columns, then the predictions (cell_type kept, label categorical).
    for column in ["sample_id", "cell_type", "label", "confidence", "cluster", "cluster_prob", "mapping_distance"]:
        assert column in out.obs.columns, column
    assert out.obs["label"].dtype.name == "category"
    assert out.obs["cluster"].dtype.name == "category"
    assert out.obs["mapping_distance"].dtype.kind == "f"
    assert out.obsm["X_pca_harmony"].shape == (query.n_obs, 20)
    assert out.obsm["X_pca_reference"].shape == (query.n_obs, 20)
    assert out.uns["harmony"]["genes_matched_by_id"] == 1000
    accuracy = np.mean(out.obs["label"].astype(str).to_numpy() == query.obs["cell_type"].astype(str).to_numpy())
    print(f"kang donor 101 -> 107 from counts: kNN label accuracy {accuracy:.3f}")
    assert accuracy >= 0.85
    # The uncorrected projection table equals obsm X_pca_reference; the corrected one moved away from it.
    import pandas as pd
    projection = pd.read_csv(mapped["dir"] / "proj.tsv", sep="\t", index_col=0)
    assert list(projection.index) == list(query.obs_names)
    np.testing.assert_allclose(projection.to_numpy(), out.obsm["X_pca_reference"], rtol=1e-6, atol=1e-6)
    assert np.abs(out.obsm["X_pca_harmony"] - out.obsm["X_pca_reference"]).max() > 1e-3


def test_projection_as_embedding_maps_the_same(mapped):
    """An embedding query (the projection table) still maps onto a gene-space reference, identically."""
    import anndata
    tmp = mapped["dir"]
    mapped["query"].obs[["sample_id"]].to_csv(tmp / "query_meta.tsv", sep="\t", index_label="cell_id")
    result = run("map", tmp / "proj.tsv", "--reference", tmp / "ref.hmod", "--meta", tmp / "query_meta.tsv",
                 "--batch-key", "sample_id", "--out", tmp / "from_pcs.npy", "--quiet")
    assert result.returncode == 0, result.stderr
    expected = anndata.read_h5ad(tmp / "mapped.h5ad").obsm["X_pca_harmony"]
    np.testing.assert_allclose(np.load(tmp / "from_pcs.npy"), expected, rtol=1e-5, atol=1e-5)


def test_tenx_directory_query_maps_like_the_h5ad(mapped):
    import anndata
    import pandas as pd
    import scipy.io
    import scipy.sparse
    tmp = mapped["dir"]
    query = mapped["query"]
    folder = tmp / "query_10x"
    folder.mkdir()
    scipy.io.mmwrite(str(folder / "matrix.mtx"), scipy.sparse.csr_matrix(query.X).T.tocoo().astype(np.int64))
    with open(folder / "features.tsv", "w") as fh:
        for gene_id, symbol in zip(query.var["gene_ids"], query.var["gene_symbol"]):
            fh.write(f"{gene_id}\t{symbol}\tGene Expression\n")
    with open(folder / "barcodes.tsv", "w") as fh:
        fh.write("".join(f"{c}\n" for c in query.obs_names))
    query.obs[["sample_id"]].to_csv(tmp / "meta_10x.tsv", sep="\t", index_label="cell_id")
    result = run("map", folder, "--reference", tmp / "ref.hmod", "--meta", tmp / "meta_10x.tsv",
                 "--batch-key", "sample_id", "--out", tmp / "mapped_10x.tsv", "--quiet")
    assert result.returncode == 0, result.stderr
    tenx = pd.read_csv(tmp / "mapped_10x.tsv", sep="\t", index_col=0)
    assert list(tenx.index) == list(query.obs_names)
    expected = anndata.read_h5ad(tmp / "mapped.h5ad").obsm["X_pca_harmony"]
    scale = np.abs(expected).max()
    assert np.abs(tenx.to_numpy() - expected).max() <= 1e-6 * scale


def test_a_left_out_type_has_large_mapping_distances(tmp_path):
    import anndata
    query = split(tmp_path, leave_out="B cells")
    build_reference(tmp_path)
    result = run("map", tmp_path / "query.h5ad", "--reference", tmp_path / "ref.hmod", "--batch-key", "sample_id",
                 "--out", tmp_path / "mapped.h5ad", "--quiet")
    assert result.returncode == 0, result.stderr
    out = anndata.read_h5ad(tmp_path / "mapped.h5ad")
    distance = out.obs["mapping_distance"].to_numpy()
    positive = query.obs["cell_type"].astype(str).to_numpy() == "B cells"
    score = auroc(distance, positive)
    print(f"B cells left out, from counts: mapping_distance AUROC {score:.3f}; median B {np.median(distance[positive]):.2f}, "
          f"others {np.median(distance[~positive]):.2f}")
    assert score >= 0.8


def bad_query(tmp, name, change):
    """The donor-107 .h5ad with `change(adata)` applied, written as NAME.h5ad."""
    import anndata
    adata = anndata.read_h5ad(tmp / "query.h5ad")
    adata = change(adata) or adata
    target = tmp / f"{name}.h5ad"
    adata.write_h5ad(target)
    return target


def set_value(value, cell=3):
    def change(adata):
        x = adata.X.tocsr().astype(np.float32)
        row = slice(x.indptr[cell], x.indptr[cell + 1])
        x.data[row.start] = value
        adata.X = x
    return change


def empty_cell(adata):
    x = adata.X.tocsr().tolil()
    x[5, :] = 0
    adata.X = x.tocsr()
    adata.X.eliminate_zeros()


def duplicated_gene(adata):
    """The first gene again at the end (same gene id, a made-unique var name)."""
    import anndata
    import pandas as pd
    import scipy.sparse
    x = scipy.sparse.hstack([adata.X, adata.X[:, :1]]).tocsr().astype(np.float32)
    var = pd.concat([adata.var, adata.var.iloc[:1]])
    var.index = list(adata.var_names) + [adata.var_names[0] + "-1"]
    return anndata.AnnData(X=x, obs=adata.obs, var=var)


def renamed_genes(adata):
    adata.var["gene_ids"] = ["ENSG%08d" % i for i in range(adata.n_vars)]
    adata.var_names = [f"gene{i}" for i in range(adata.n_vars)]


@pytest.mark.parametrize("name,change,words", [
    ("negative", set_value(-1.0), "negative"),
    ("fraction", set_value(0.5), "integer"),
    ("empty", empty_cell, "empty"),
    ("duplicate", duplicated_gene, "twice"),
    ("renamed", renamed_genes, "symbols vs Ensembl ids"),
])
def test_bad_queries_exit_2_with_one_error_line(mapped, name, change, words):
    tmp = mapped["dir"]
    query = bad_query(tmp, name, change)
    out = tmp / f"bad_{name}.h5ad"
    result = run("map", query, "--reference", tmp / "ref.hmod", "--batch-key", "sample_id", "--out", out, "--quiet")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr
    assert not os.path.exists(out)


def test_expression_onto_an_embedding_reference_is_refused(mapped):
    tmp = mapped["dir"]
    import anndata
    ref = anndata.read_h5ad(tmp / "ref.h5ad")
    ref.obs[["sample_id", "cell_type"]].to_csv(tmp / "ref_meta.tsv", sep="\t", index_label="cell_id")
    fit = run("fit", tmp / "ref_pcs.tsv", "--meta", tmp / "ref_meta.tsv", "--vars", "sample_id", "--labels", "cell_type",
              "--out", tmp / "ref_corrected.tsv", "--reference-out", tmp / "embedding.hmod", "--quiet")
    assert fit.returncode == 0, fit.stderr
    out = tmp / "refused.h5ad"
    result = run("map", tmp / "query.h5ad", "--reference", tmp / "embedding.hmod", "--batch-key", "sample_id",
                 "--out", out)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "built from an embedding" in result.stderr, result.stderr
    assert not os.path.exists(out)
