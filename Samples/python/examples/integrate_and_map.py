"""Harmony for Swift from Python, notebook style: integrate, build a reference, map a query.

    python3 integrate_and_map.py [OUT_DIR]

Uses the repository's sample data (Samples/data: 3,000 simulated cells, 3 batches, 5 cell types) and writes
`integrated.h5ad`, `reference.hmod` and `query_mapped.h5ad` to OUT_DIR (default: the current directory).
Needs `pip install ./Samples/python` plus anndata and scanpy.
"""

import os
import sys

import anndata
import numpy as np
import pandas as pd
import scanpy as sc

import harmony_swift as hs

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
out_dir = sys.argv[1] if len(sys.argv) > 1 else "."

# %% Load a PCA embedding and its metadata into an AnnData (usually: sc.pp.pca on your counts).
pcs = pd.read_csv(os.path.join(SAMPLES, "pcs.tsv.gz"), sep="\t", index_col=0)
meta = pd.read_csv(os.path.join(SAMPLES, "meta.tsv.gz"), sep="\t", index_col=0).loc[pcs.index]
adata = anndata.AnnData(obs=meta.astype(str))
adata.obsm["X_pca"] = pcs.to_numpy(dtype=np.float32)
print(adata)

# %% Integrate all batches: obsm["X_pca_harmony"], as with scanpy's external harmony_integrate.
hs.pp.harmony_integrate(adata, "batch", random_state=0)
print(f"harmony: {adata.uns['harmony']['iterations']} iterations, converged: {adata.uns['harmony']['converged']}")
sc.pp.neighbors(adata, use_rep="X_pca_harmony")
adata.write_h5ad(os.path.join(out_dir, "integrated.h5ad"))

# %% Build a reference from two batches, with labels, and save it for `harmony map` or harmonyd.
batches = sorted(adata.obs["batch"].unique())
reference = adata[adata.obs["batch"] != batches[-1]].copy()
query = adata[adata.obs["batch"] == batches[-1]].copy()
model = hs.tl.build_reference(reference, "batch", "X_pca", label_key="cell_type")
model.save(os.path.join(out_dir, "reference.hmod"))
print(model)

# %% Map the third batch onto the saved reference and transfer its labels.
hs.tl.map_query(query, hs.Reference.load(os.path.join(out_dir, "reference.hmod")), "batch")
accuracy = float((query.obs["harmony_label"].astype(str) == query.obs["cell_type"]).mean())
print(f"mapped {query.n_obs} query cells; label accuracy {accuracy:.3f}; "
      f"median confidence {query.obs['harmony_label_confidence'].median():.2f}")
query.write_h5ad(os.path.join(out_dir, "query_mapped.h5ad"))
