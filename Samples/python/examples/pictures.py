"""Harmony for Swift from Python, notebook style: the pictures of an integration and of a mapping.

    python3 pictures.py [OUT_DIR]

Uses the repository's sample data (Samples/data: 3,000 simulated cells, 3 batches, 5 cell types) and writes
to OUT_DIR (default: the current directory) the pictures it names as it goes: convergence.png,
embedding.png, lisi.png and mapping.png. Needs `pip install './Samples/python[plot]'` (matplotlib, anndata).
"""

import os
import sys

import anndata
import numpy as np
import pandas as pd

import harmony_swift as hs

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."


def saved(name):
    path = os.path.join(out_dir, name)
    print(f"wrote {path}")
    return path


# %% Load a PCA embedding and its metadata (usually: sc.pp.pca on your counts), then integrate the batches.
pcs = pd.read_csv(os.path.join(SAMPLES, "pcs.tsv.gz"), sep="\t", index_col=0)
meta = pd.read_csv(os.path.join(SAMPLES, "meta.tsv.gz"), sep="\t", index_col=0).loc[pcs.index]
adata = anndata.AnnData(obs=meta.astype(str))
adata.obsm["X_pca"] = pcs.to_numpy(dtype=np.float32)
hs.pp.harmony_integrate(adata, "batch", random_state=0, progress=False)

# %% Did the fit converge? The objective per iteration and per clustering round.
hs.pl.convergence(adata, save=saved("convergence.png"))

# %% UMAP views before and after integration, coloured by batch and by cell type (the layouts are computed
# with hs.tl.umap and kept in obsm["X_umap_pca"] and obsm["X_umap_pca_harmony"]).
hs.pl.embedding(adata, ["X_pca", "X_pca_harmony"], ["batch", "cell_type"], save=saved("embedding.png"))

# %% How well do batches mix, and do cell types stay apart? LISI per cell, before and after.
hs.tl.lisi(adata, ["batch", "cell_type"])   # obs["lisi_batch"], obs["lisi_cell_type"] (on X_pca_harmony)
print(f"median iLISI after integration {adata.obs['lisi_batch'].median():.2f} (of 3 batches); "
      f"median cLISI {adata.obs['lisi_cell_type'].median():.2f}")
hs.pl.lisi(adata, ["batch", "cell_type"], save=saved("lisi.png"))

# %% A reference from two batches that keeps its 2-D view (layout=True: reference.obsm["X_umap"], and in the
# saved model), the third batch mapped onto it, placed on that view (query.obsm["X_umap"]) and drawn.
batches = sorted(adata.obs["batch"].unique())
reference = adata[adata.obs["batch"] != batches[-1]].copy()
query = adata[adata.obs["batch"] == batches[-1]].copy()
model = hs.tl.build_reference(reference, "batch", "X_pca", label_key="cell_type", progress=False, layout=True)
hs.tl.map_query(query, model, "batch")
hs.pl.mapping(reference, query, "cell_type", save=saved("mapping.png"))
accuracy = float((query.obs["harmony_label"].astype(str) == query.obs["cell_type"]).mean())
print(f"mapped {query.n_obs} query cells (placed in obsm['X_umap']); label accuracy {accuracy:.3f}")
