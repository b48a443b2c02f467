"""Writes the small expression files the Swift tests read (run from this folder; the outputs are committed).

One 6 cells x 5 genes count matrix, MATRIX below, stored in every layout the readers accept, plus files broken
on purpose. Current-layout .h5ad files are written by anndata itself; the anndata 0.7 layout and the 10x .h5
files are written with h5py following those writers' layouts. Needs numpy, scipy, pandas, h5py and anndata.
"""
import gzip
import warnings

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from scipy import sparse

MATRIX = np.array([[0, 1, 0, 3, 0],
                   [2, 0, 0, 0, 5],
                   [0, 0, 0, 0, 0],
                   [1, 1, 1, 1, 1],
                   [0, 7, 0, 0, 2],
                   [4, 0, 6, 0, 0]], dtype=np.float32)
CELLS = [f"c{i + 1}" for i in range(6)]
NAMES = [f"G{j + 1}" for j in range(5)]
IDS = [f"ENSG{j + 1:05d}" for j in range(5)]
STR = h5py.string_dtype("utf-8")


def obs_frame():
    return pd.DataFrame({
        "batch": pd.Categorical(["a", "b", "a", None, "b", "a"], categories=["a", "b"]),
        "label": ["x", "y", "z", "x", "y", "z"],
        "n": np.arange(6, dtype=np.int64) * 10,
        "score": np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]),
        "flag": np.array([True, False, True, False, True, False]),
        "nint": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        "nbool": pd.array([True, None, False, True, False, True], dtype="boolean"),
        "name": ["n1", "n2", "n3", "n4", "n5", "n6"],
        "nstr": pd.array(["s1", None, "s3", "s4", "s5", "s6"], dtype="string"),
    }, index=pd.Index(CELLS))


def var_frame(names=NAMES):
    return pd.DataFrame({"gene_ids": IDS}, index=pd.Index(names))


def current_files():
    obsm = {"X_pca": np.arange(18, dtype=np.float32).reshape(6, 3) / 4}
    a = ad.AnnData(X=sparse.csr_matrix(MATRIX), obs=obs_frame(), var=var_frame(), obsm=obsm)
    # A layer of integer counts with int64 indices, and raw with a dense X of twice the counts.
    counts = sparse.csr_matrix(MATRIX.astype(np.int32))
    counts.indices = counts.indices.astype(np.int64)
    counts.indptr = counts.indptr.astype(np.int64)
    a.layers["counts"] = counts
    a.raw = ad.AnnData(X=MATRIX * 2, var=var_frame())
    a.write_h5ad("current_csr.h5ad", compression="gzip")
    ad.AnnData(X=sparse.csc_matrix(MATRIX.astype(np.float64)), obs=obs_frame(), var=var_frame()).write_h5ad("current_csc.h5ad")
    ad.AnnData(X=MATRIX, obs=obs_frame(), var=var_frame()).write_h5ad("current_dense.h5ad", compression="gzip")


def legacy_frame(group, frame, index_name):
    """A dataframe as anndata 0.7 wrote it: plain datasets, categories under __categories with a reference."""
    group.attrs["encoding-type"] = "dataframe"
    group.attrs["encoding-version"] = "0.1.0"
    group.attrs["_index"] = index_name
    group.attrs["column-order"] = np.array(list(frame.columns), dtype=object)
    group.create_dataset(index_name, data=np.array(frame.index, dtype=object), dtype=STR)
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = group.require_group("__categories").create_dataset(
                name, data=np.array(column.cat.categories, dtype=object), dtype=STR)
            codes = group.create_dataset(name, data=column.cat.codes.to_numpy())
            codes.attrs["categories"] = categories.ref
        elif column.dtype == object:
            group.create_dataset(name, data=np.array(column, dtype=object), dtype=STR)
        else:
            group.create_dataset(name, data=column.to_numpy())


def legacy_files():
    obs = obs_frame()[["batch", "label", "n", "score", "flag", "name"]]
    with h5py.File("legacy07.h5ad", "w") as f:
        x = sparse.csr_matrix(MATRIX)
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array(MATRIX.shape)
        g["data"], g["indices"], g["indptr"] = x.data, x.indices, x.indptr
        legacy_frame(f.create_group("obs"), obs, "index")
        legacy_frame(f.create_group("var"), var_frame(), "index")
        f.create_group("obsm")["X_pca"] = np.arange(18, dtype=np.float64).reshape(6, 3) / 4
    # Older still: the sparse matrix marked only by h5sparse attributes, CSC, float64 data.
    with h5py.File("legacy_h5sparse.h5ad", "w") as f:
        x = sparse.csc_matrix(MATRIX.astype(np.float64))
        g = f.create_group("X")
        g.attrs["h5sparse_format"] = "csc"
        g.attrs["h5sparse_shape"] = np.array(MATRIX.shape)
        g["data"], g["indices"], g["indptr"] = x.data, x.indices, x.indptr
        legacy_frame(f.create_group("obs"), obs, "_index")
        legacy_frame(f.create_group("var"), var_frame(), "_index")


def tenx_files():
    # Genes x cells CSC (= CSR over cells) with a sixth feature that is not gene expression.
    full = np.hstack([MATRIX, np.array([[9], [0], [9], [0], [9], [0]], dtype=np.float32)])
    x = sparse.csc_matrix(full.T.astype(np.int32))
    names, ids = NAMES + ["CD3_TotalSeqB"], IDS + ["CD3"]
    types = ["Gene Expression"] * 5 + ["Antibody Capture"]
    S = lambda v: np.array(v, dtype="S")
    with h5py.File("tenx_v3.h5", "w") as f:
        m = f.create_group("matrix")
        m["barcodes"], m["data"], m["indices"], m["indptr"] = S(CELLS), x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)
        m["shape"] = np.array(full.T.shape, dtype=np.int32)
        ft = m.create_group("features")
        ft["id"], ft["name"], ft["feature_type"], ft["genome"] = S(ids), S(names), S(types), S(["GRCh38"] * 6)
    xg = sparse.csc_matrix(MATRIX.T.astype(np.int32))
    with h5py.File("tenx_v2.h5", "w") as f:
        g = f.create_group("GRCh38")
        g["barcodes"], g["data"], g["indices"], g["indptr"] = S(CELLS), xg.data, xg.indices, xg.indptr
        g["shape"], g["genes"], g["gene_names"] = np.array(MATRIX.T.shape, dtype=np.int32), S(IDS), S(NAMES)
    # Cell Ranger v3 directory (gzip; entries in gene-major order, not cell-major, to exercise the sort).
    coo = sparse.coo_matrix(full.T)
    order = np.lexsort((coo.col, coo.row))
    lines = ["%%MatrixMarket matrix coordinate integer general", "%metadata_json: {}",
             f"{full.shape[1]} {full.shape[0]} {coo.nnz}"]
    lines += [f"{coo.row[k] + 1} {coo.col[k] + 1} {int(coo.data[k])}" for k in order]
    import os
    os.makedirs("tenx_v3_dir", exist_ok=True)
    with gzip.open("tenx_v3_dir/matrix.mtx.gz", "wt") as out:
        out.write("\n".join(lines) + "\n")
    with gzip.open("tenx_v3_dir/features.tsv.gz", "wt") as out:
        out.write("".join(f"{i}\t{n}\t{t}\n" for i, n, t in zip(ids, names, types)))
    with gzip.open("tenx_v3_dir/barcodes.tsv.gz", "wt") as out:
        out.write("".join(c + "\n" for c in CELLS))
    # Cell Ranger v2 directory (plain text, genes.tsv, cell-major order, real-valued field).
    coo = sparse.coo_matrix(MATRIX.T)
    order = np.lexsort((coo.row, coo.col))
    os.makedirs("tenx_v2_dir", exist_ok=True)
    with open("tenx_v2_dir/matrix.mtx", "w") as out:
        out.write(f"%%MatrixMarket matrix coordinate real general\n{MATRIX.shape[1]} {MATRIX.shape[0]} {coo.nnz}\n")
        out.write("".join(f"{coo.row[k] + 1} {coo.col[k] + 1} {coo.data[k]:.1f}\n" for k in order))
    with open("tenx_v2_dir/genes.tsv", "w") as out:
        out.write("".join(f"{i}\t{n}\n" for i, n in zip(IDS, NAMES)))
    with open("tenx_v2_dir/barcodes.tsv", "w") as out:
        out.write("".join(c + "\n" for c in CELLS))


def broken_files():
    data = open("current_csr.h5ad", "rb").read()
    open("broken_truncated.h5ad", "wb").write(data[: len(data) // 2])
    ad.AnnData(obs=obs_frame(), var=var_frame()).write_h5ad("broken_no_x.h5ad")
    a = ad.AnnData(X=sparse.csr_matrix(MATRIX), obs=obs_frame(), var=var_frame())
    a.write_h5ad("broken_mismatched.h5ad")
    with h5py.File("broken_mismatched.h5ad", "r+") as f:   # indptr one cell short
        indptr = f["X/indptr"][:-1]
        del f["X/indptr"]
        f["X/indptr"] = indptr
    a.write_h5ad("broken_lzf.h5ad")
    with h5py.File("broken_lzf.h5ad", "r+") as f:
        values = f["X/data"][:]
        del f["X/data"]
        f.create_dataset("X/data", data=values, compression="lzf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ad.AnnData(X=sparse.csr_matrix(MATRIX), obs=obs_frame(),
                   var=pd.DataFrame(index=["G1", "G2", "G3", "G2", "G5"])).write_h5ad("broken_duplicate_genes.h5ad")


if __name__ == "__main__":
    current_files()
    legacy_files()
    tenx_files()
    broken_files()
